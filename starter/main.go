// Command starter is what CI and people call to drive releases:
//
//	starter release  --spec deploy/slipway.yaml --version v1.2.3 [--wait] [--image-layout DIR | --image-tarball FILE]
//	starter status   --spec deploy/slipway.yaml
//	starter abort    --spec deploy/slipway.yaml --reason "wrong build"
//	starter approve  --spec deploy/slipway.yaml --actor alice [--comment "looks good"]
//	starter reject   --spec deploy/slipway.yaml --actor alice [--comment "wrong build"]
//	starter rollback --spec deploy/slipway.yaml --reason "latency regression" [--wait]
//	starter input    --spec deploy/slipway.yaml --version v1.2.3   (prints release.json for `temporal workflow start`)
//	starter compliance --spec deploy/slipway.yaml [--image REF] [--scanned] [--signed]   (the rules, locally)
//
// Exit codes: 0 done (or started, without --wait); 1 the release or rollback failed or was rolled back (for
// compliance: the rules block); 2 bad input, nothing started; 3 another release of the app is running;
// 4 Temporal unreachable or other error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// The exit codes are the starter's contract with CI (see the package doc): a script tells a failed release
// from bad input, a conflict and an unreachable server by the code alone.
const (
	// exitOK means the command did what was asked: done, or started without --wait.
	exitOK = 0
	// exitFailed means that the release or rollback failed or was rolled back, or that local compliance
	// blocks.
	exitFailed = 1
	// exitUsage means bad input or a refused request: nothing was started and nothing changed.
	exitUsage = 2
	// exitConflict means that another release of the app is running.
	exitConflict = 3
	// exitError means Temporal is unreachable, waiting stopped or lost track, or another error; a started
	// workflow goes on.
	exitError = 4
)

// main runs the command with SIGINT and SIGTERM cancelling its context, so an interrupted --wait stops
// waiting (the workflow goes on), and exits with run's code.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// usage is the help printed for no command, -h, --help, help and an unknown command; each command's own
// flags are in its -h.
const usage = `usage: starter <command> [flags]

commands:
  release   start a release of one version (attaches to a running release of the same version)
  status    show the stages of the running or last release or rollback
  abort     stop the running release at the next safe point and roll it back
  approve   approve the running release at its approval gate (--actor must be in approval.approvers)
  reject    reject the running release at its approval gate; it rolls back
  rollback  put production back on the previous color
  input     print the JSON input of a release, for 'temporal workflow start --input-file release.json'
  compliance evaluate the spec's compliance rules locally, without starting anything (exit 1 when it fails)

Temporal is reached through TEMPORAL_ADDRESS (default 127.0.0.1:7233) and TEMPORAL_NAMESPACE (default
"default"); Web UI links use SLIPWAY_WEB_UI (default http://127.0.0.1:8233). Run 'starter <command> -h'
for a command's flags.
`

// run dispatches args[0] to its command and returns the exit code; the context and the writers are
// arguments so that tests drive the whole CLI in process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd := &command{name: args[0], stdout: stdout, stderr: stderr}
	switch args[0] {
	case "release":
		return cmd.release(ctx, args[1:])
	case "status":
		return cmd.status(ctx, args[1:])
	case "abort":
		return cmd.abort(ctx, args[1:])
	case "approve":
		return cmd.decide(ctx, args[1:], true)
	case "reject":
		return cmd.decide(ctx, args[1:], false)
	case "rollback":
		return cmd.rollback(ctx, args[1:])
	case "input":
		return cmd.input(args[1:])
	case "compliance":
		return cmd.compliance(args[1:])
	default:
		fmt.Fprintf(stderr, "starter: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}
