package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
)

// fakeWorker records the calls runWorker makes; Run also records whether the ready file was there by then.
type fakeWorker struct {
	worker.Worker // the methods runWorker does not call panic (nil interface)
	startErr      error
	runErr        error
	readyFile     string
	calls         []string
	readyAtRun    string
}

func (f *fakeWorker) Start() error { f.calls = append(f.calls, "Start"); return f.startErr }
func (f *fakeWorker) Stop()        { f.calls = append(f.calls, "Stop") }
func (f *fakeWorker) Run(<-chan any) error {
	f.calls = append(f.calls, "Run")
	if b, err := os.ReadFile(f.readyFile); err == nil {
		f.readyAtRun = string(b)
	}
	return f.runErr
}

func TestRunWorkerWritesTheReadyFileAfterStartAndRemovesItOnReturn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "worker.ready")
	runErr := errors.New("fatal: namespace gone")
	w := &fakeWorker{readyFile: path, runErr: runErr}
	require.ErrorIs(t, runWorker(w, path, nil), runErr, "Run's error (a fatal worker error) is returned")
	require.Equal(t, []string{"Start", "Run"}, w.calls)
	require.Equal(t, strconv.Itoa(os.Getpid())+"\n", w.readyAtRun, "the file holds the PID while the worker runs")
	require.NoFileExists(t, path, "removed when the worker returns")
}

func TestRunWorkerWritesNoReadyFileWhenStartFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "worker.ready")
	startErr := errors.New("connection refused")
	w := &fakeWorker{readyFile: path, startErr: startErr}
	require.ErrorIs(t, runWorker(w, path, nil), startErr)
	require.Equal(t, []string{"Start"}, w.calls)
	require.NoFileExists(t, path)
}

func TestRunWorkerStopsTheWorkerWhenTheReadyFileCannotBeWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "worker.ready")
	w := &fakeWorker{readyFile: path}
	require.ErrorContains(t, runWorker(w, path, nil), "ready file")
	require.Equal(t, []string{"Start", "Stop"}, w.calls)
}

func TestRunWorkerWithoutReadyFileIsRun(t *testing.T) {
	w := &fakeWorker{}
	require.NoError(t, runWorker(w, "", nil))
	require.Equal(t, []string{"Start", "Run"}, w.calls)
}

func TestRunWorkerIsReadyOnlyAfterItsBuildIsMadeCurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "worker.ready")
	w := &fakeWorker{readyFile: path}
	current := func() error {
		require.NoFileExists(t, path, "not ready before the build is current")
		w.calls = append(w.calls, "makeCurrent")
		return nil
	}
	require.NoError(t, runWorker(w, path, current))
	require.Equal(t, []string{"Start", "makeCurrent", "Run"}, w.calls)

	failed := errors.New("deployment not found")
	w = &fakeWorker{readyFile: path}
	require.ErrorIs(t, runWorker(w, path, func() error { return failed }), failed)
	require.Equal(t, []string{"Start", "Stop"}, w.calls, "a worker that cannot become current stops")
	require.NoFileExists(t, path)
}

func TestWriteReadyFileReplacesTheFileAndLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.ready")
	require.NoError(t, os.WriteFile(path, []byte("stale"), 0o644))
	require.NoError(t, writeReadyFile(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the ready file itself")
}
