package main

import (
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/worker"
)

// runWorker runs w until SIGINT/SIGTERM or a fatal worker error, as w.Run does, and with readyFile set it first
// writes that file once the worker polls its task queue, so scripts wait for a file instead of matching the
// SDK's log text. Start comes first, so the file means Start returned nil; Run then reuses that start (the SDK
// memoizes Start) and still returns a fatal worker error. The SDK declares a poll error fatal only after it
// has retried it for minutes, so no fatal stop can fall between the two calls. The file is removed on return,
// so a stale file does not announce a worker that is gone.
func runWorker(w worker.Worker, readyFile string) error {
	if readyFile != "" {
		if err := w.Start(); err != nil {
			return err
		}
		if err := writeReadyFile(readyFile); err != nil {
			w.Stop()
			return err
		}
		defer os.Remove(readyFile)
	}
	return w.Run(worker.InterruptCh())
}

// writeReadyFile writes the worker's PID to path atomically (a temporary file in the same directory, then a
// rename), so whoever sees the file sees all of it.
func writeReadyFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	_, err = fmt.Fprintf(tmp, "%d\n", os.Getpid())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("ready file: %w", err)
	}
	return nil
}
