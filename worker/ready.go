package main

import (
	"fmt"
	"os"

	"go.temporal.io/sdk/worker"

	"github.com/vektagraf/slipway/internal/fsutil"
)

// runWorker runs w until SIGINT/SIGTERM or a fatal worker error, as w.Run does. It starts w first, then runs
// started (nil is allowed: making the build current), and with readyFile set then writes that file, so scripts
// wait for a file instead of matching the SDK's log text, and the file means the worker polls and can take
// releases. Run then reuses that start (the SDK memoizes Start) and still returns a fatal worker error. The SDK
// declares a poll error fatal only after it has retried it for minutes, so no fatal stop can fall between the
// two calls. The file is removed on return, so a stale file does not announce a worker that is gone.
func runWorker(w worker.Worker, readyFile string, started func() error) error {
	if err := w.Start(); err != nil {
		return err
	}
	if started != nil {
		if err := started(); err != nil {
			w.Stop()
			return err
		}
	}
	if readyFile != "" {
		if err := writeReadyFile(readyFile); err != nil {
			w.Stop()
			return err
		}
		defer os.Remove(readyFile)
	}
	return w.Run(worker.InterruptCh())
}

// writeReadyFile writes the worker's PID to path atomically, so whoever sees the file sees all of it.
func writeReadyFile(path string) error {
	if err := fsutil.WriteFileAtomic(path, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	return nil
}
