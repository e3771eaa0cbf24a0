package scanners

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/scan"
)

// TestEnvironDoesNotPassTheWorkersSecrets: the scanners get PATH and friends, not the worker's tokens or keys.
func TestEnvironDoesNotPassTheWorkersSecrets(t *testing.T) {
	t.Setenv("SLIPWAY_SLACK_TOKEN", "xoxb-secret")
	t.Setenv("SLIPWAY_DEMO_SIGNING_KEY", "-----BEGIN PRIVATE KEY-----")
	t.Setenv("TRIVY_SEVERITY", "LOW")
	env := strings.Join(environ([]string{"GRYPE_DB_AUTO_UPDATE=false"}), "\n")
	require.NotContains(t, env, "xoxb-secret")
	require.NotContains(t, env, "PRIVATE KEY")
	require.NotContains(t, env, "TRIVY_SEVERITY")
	require.Contains(t, env, "PATH=")
	require.Contains(t, env, "GRYPE_DB_AUTO_UPDATE=false")
}

// echoBackend is a scanner that is not Trivy or Grype: a shell script printing a fixed line, parsed as one
// finding, to show Run needs nothing but the Backend.
type echoBackend struct{ path string }

func (echoBackend) Name() string  { return "echo" }
func (b echoBackend) CLI() string { return b.path }
func (echoBackend) Command(t Target) ([]string, []string) {
	return []string{t.Path}, []string{"ECHO_MODE=test"}
}
func (echoBackend) CheckDatabase() error                { return nil }
func (echoBackend) Database() (scan.ScannerInfo, error) { return scan.ScannerInfo{}, nil }
func (echoBackend) DatabaseFiles() []string             { return nil }
func (echoBackend) Parse(r []byte) ([]scan.Finding, scan.ScannerInfo, error) {
	id, ok := strings.CutPrefix(strings.TrimSpace(string(r)), "found ")
	if !ok {
		return nil, scan.ScannerInfo{}, errors.New("no report")
	}
	return []scan.Finding{{ID: id}}, scan.ScannerInfo{Version: "1.0"}, nil
}

func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scanner")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755))
	return path
}

func TestRunAnyBackend(t *testing.T) {
	dir := t.TempDir()
	b := echoBackend{script(t, `[ "$ECHO_MODE" = test ] && [ "$1" = "$PWD" ] && echo found CVE-1; echo done >&2; exit 3`)}
	out, err := Run(context.Background(), b, Target{Path: dir}, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, []scan.Finding{{ID: "CVE-1"}}, out.Findings, "run in the target with its args and env")
	require.Equal(t, "1.0", out.Info.Version)
	require.Equal(t, "found CVE-1\n", string(out.Report))
	require.Equal(t, "echo: exit status 3, but its report is valid and was used", out.Note)

	_, err = Run(context.Background(), echoBackend{script(t, "echo garbage; echo broken >&2; exit 1")}, Target{Path: dir}, 10*time.Second)
	require.EqualError(t, err, "echo: exit status 1, and its output is not a report (no report); stderr:\nbroken")

	_, err = Run(context.Background(), echoBackend{}, Target{Path: dir}, 10*time.Second)
	require.EqualError(t, err, "echo: the worker has no path to the echo CLI configured")
}

func TestRunTimesOut(t *testing.T) {
	b := echoBackend{script(t, "echo stuck >&2\nexec sleep 30\n")}
	start := time.Now()
	_, err := Run(context.Background(), b, Target{Path: t.TempDir()}, 200*time.Millisecond)
	require.EqualError(t, err, "echo: timed out after 200ms; stderr:\nstuck")
	require.Less(t, time.Since(start), 10*time.Second)
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 8}
	_, _ = b.Write([]byte("0123456789"))
	_, _ = b.Write([]byte("ab"))
	require.Equal(t, "; stderr:\n…456789ab", b.quote())
	require.Empty(t, (&tailBuffer{max: 8}).quote())
}
