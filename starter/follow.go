package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/releases"
)

// printRun says which run the command started or attached to, with its workflow ID, run ID and Web UI link,
// so that a person or CI can find it again.
func (c *command) printRun(what string, run releases.Run) {
	verb := "started"
	if run.Attached {
		verb = "attached to running"
	}
	fmt.Fprintf(c.stdout, "%s %s\n  workflow ID: %s\n  run ID:      %s\n", verb, what, run.ID, run.RunID)
	if run.URL != "" {
		fmt.Fprintf(c.stdout, "  Web UI:      %s\n", run.URL)
	}
}

// follow streams stage changes until the run ends and maps its outcome to the exit code.
func (c *command) follow(ctx context.Context, rc *releases.Client, run releases.Run, result any) int {
	if ok, err := rc.HasWorker(ctx); err == nil && !ok {
		fmt.Fprintf(c.stderr, "starter %s: warning: no worker polls task queue %q; the workflow waits until one does (SLIPWAY_TASK_QUEUE must match the worker's --task-queue)\n",
			c.name, cmp.Or(rc.TaskQueue, releaseapi.TaskQueue))
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	seen := map[string]string{}
	show := func(name string, state releaseapi.StageState, msg string) {
		key := string(state) + "|" + msg
		if seen[name] == key || state == releaseapi.StatePending {
			return
		}
		seen[name] = key
		line := fmt.Sprintf("  %-26s %-11s %s", name, state, oneLine(msg))
		fmt.Fprintln(c.stdout, strings.TrimRight(line, " "))
	}
	err := rc.Follow(ctx, run, result, func(st releaseapi.Status) {
		for _, s := range st.Stages {
			show(s.Name, s.State, s.Message)
		}
		for _, s := range st.Compensations {
			show("undo "+s.Name, s.State, s.Message)
		}
	})
	if err != nil {
		var wfErr *temporal.WorkflowExecutionError
		switch {
		case errors.As(err, &wfErr):
			return c.fail(exitFailed, "%s", outcome(err))
		case ctx.Err() != nil:
			return c.fail(exitError, "stopped waiting; the workflow goes on: %s", run.URL)
		default:
			return c.fail(exitError, "lost track of %s (%v); the workflow goes on: %s", run.ID, err, run.URL)
		}
	}
	if c.asJSON {
		out, _ := json.MarshalIndent(result, "", "  ")
		fmt.Fprintln(c.stdout, string(out))
		return exitOK
	}
	switch r := result.(type) {
	case *releaseapi.ReleaseResult:
		was := ""
		if r.PreviousColor != "" {
			was = fmt.Sprintf(" (was %s)", r.PreviousColor)
		}
		fmt.Fprintf(c.stdout, "released %s of %s: %s serves %s%s\n", r.Version, r.App, r.ActiveColor, r.Image, was)
		printScan(c.stdout, r.Scan)
	case *releaseapi.RollbackResult:
		fmt.Fprintf(c.stdout, "rolled %s back from %s to %s (%s)\n", r.App, r.FromColor, r.ToColor, r.ToVersion)
	}
	return exitOK
}

// printScan shows the security gate's outcome: the verdict, the counts, the top findings and where the
// reports are.
func printScan(w io.Writer, sc *releaseapi.ScanSummary) {
	if sc == nil {
		return
	}
	fmt.Fprintf(w, "  scan of %s: %s\n", sc.Image, oneLine(sc.Summary))
	t := sc.Counts.Total
	fmt.Fprintf(w, "    found %d critical, %d high, %d medium, %d low, %d unknown; %d blocking, %d ignored; scanners: %s%s\n",
		t.Critical, t.High, t.Medium, t.Low, t.Unknown, sc.Counts.Blocking.Sum(), sc.Counts.Ignored.Sum(),
		strings.Join(sc.Scanners, ", "), map[bool]string{true: " (cached findings)"}[sc.Cached])
	for _, f := range sc.Top {
		fixed := f.FixedVersion
		if fixed == "" {
			fixed = "no fix"
		}
		fmt.Fprintf(w, "    %-9s %-20s %s %s (fixed: %s) [%s]\n", f.Severity, f.ID, f.Package, f.InstalledVersion, fixed, strings.Join(f.Scanners, ", "))
	}
	if sc.ReportsDir != "" {
		fmt.Fprintf(w, "    reports on the worker: %s (report.json %s)\n", sc.ReportsDir, sc.ReportDigests.JSON)
	}
}

// outcome is the workflow's own message (e.g. "release v1.2.0 of app rolled back: stage verify failed: ...")
// without the SDK's wrapping of it.
func outcome(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

// oneLine folds the whitespace of s, newlines included, into single spaces, so a multi-line message keeps a
// stage on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
