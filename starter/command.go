package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/vektagraf/slipway/internal/config"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/releases"
	"github.com/vektagraf/slipway/internal/spec"
)

// command is one invocation of a command: its name (for messages), where it writes, and the flags every
// command shares, so that each command only adds its own flags and logic.
type command struct {
	name           string
	stdout, stderr io.Writer
	fs             *flag.FlagSet
	specPath       string
	actor          string
	asJSON         bool
	timeout        time.Duration
}

// flags starts the command's flag set with the shared flags (--spec, --actor, --json, --timeout); the
// command adds its own before parse. It returns errors rather than exiting, so run decides the exit code.
func (c *command) flags() *flag.FlagSet {
	c.fs = flag.NewFlagSet("starter "+c.name, flag.ContinueOnError)
	c.fs.SetOutput(c.stderr)
	c.fs.StringVar(&c.specPath, "spec", "deploy/slipway.yaml", "path of the release spec")
	c.fs.StringVar(&c.actor, "actor", firstEnv("GITHUB_ACTOR", "USER"), "who is asking (recorded in the release)")
	c.fs.BoolVar(&c.asJSON, "json", false, "print the result (or status) as JSON")
	c.fs.DurationVar(&c.timeout, "timeout", 0, "with --wait: stop waiting after this long (exit 4; the workflow goes on); 0 waits until it ends")
	return c.fs
}

// parse parses args into the flag set and refuses a stray argument, saying so; false means the command exits
// with exitUsage (the flag package has printed why).
func (c *command) parse(args []string) bool {
	if err := c.fs.Parse(args); err != nil {
		return false
	}
	if c.fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "starter %s: unexpected argument %q (flags go before nothing else)\n", c.name, c.fs.Arg(0))
		return false
	}
	return true
}

// fail prints "starter NAME: message" on stderr and returns code, so every failure reads the same and a
// command ends with return c.fail(...).
func (c *command) fail(code int, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "starter %s: %s\n", c.name, fmt.Sprintf(format, args...))
	return code
}

// loadSpec loads --spec; a spec that does not load is bad input (exitUsage), reported before anything
// starts. A nil spec means: return the code.
func (c *command) loadSpec() (*spec.Spec, int) {
	s, err := spec.Load(c.specPath)
	if err != nil {
		return nil, c.fail(exitUsage, "%v\nnothing was started", err)
	}
	return s, exitOK
}

// dial connects to Temporal as the environment says (config.FromEnv, SLIPWAY_TASK_QUEUE), discarding the
// SDK's logs so the output is the starter's own; bad settings are exitUsage, an unreachable server exitError.
// A nil client means: return the code; otherwise call the returned func when done.
func (c *command) dial() (*releases.Client, func(), int) {
	cfg := config.FromEnv()
	opts, err := cfg.ClientOptions(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, nil, c.fail(exitUsage, "%v", err)
	}
	tc, err := client.Dial(opts)
	if err != nil {
		return nil, nil, c.fail(exitError, "connect to Temporal at %s: %v (is the server up? see TEMPORAL_ADDRESS)", cfg.Address, err)
	}
	return &releases.Client{Temporal: tc, Namespace: cfg.Namespace, WebUI: cfg.WebUI, TaskQueue: os.Getenv("SLIPWAY_TASK_QUEUE")},
		tc.Close, exitOK
}

// prepare parses the flags, loads the spec, runs check and only then connects to Temporal, so bad input never
// reaches the server. A zero code means go on, and done must be called when finished.
func (c *command) prepare(args []string, check func(*spec.Spec) error) (s *spec.Spec, rc *releases.Client, done func(), code int) {
	if !c.parse(args) {
		return nil, nil, nil, exitUsage
	}
	if s, code = c.loadSpec(); s == nil {
		return nil, nil, nil, code
	}
	if check != nil {
		if err := check(s); err != nil {
			return nil, nil, nil, c.fail(exitUsage, "%v\nnothing was started", err)
		}
	}
	if rc, done, code = c.dial(); rc == nil {
		return nil, nil, nil, code
	}
	return s, rc, done, exitOK
}

// trigger records who and what asked for the run (the actor, the commit and branch, and the GitHub Actions
// run's URL when run there), from --actor and the environment, so the workflow's history says where it came
// from.
func (c *command) trigger() releaseapi.Trigger {
	t := releaseapi.Trigger{Actor: c.actor, Source: "starter", Commit: os.Getenv("GITHUB_SHA")}
	if os.Getenv("GITHUB_REF_TYPE") == "branch" {
		t.Branch = os.Getenv("GITHUB_REF_NAME")
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		t.Source = "github-actions"
		if s, r, id := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID"); s != "" && r != "" && id != "" {
			t.RunURL = fmt.Sprintf("%s/%s/actions/runs/%s", s, r, id)
		}
	}
	return t
}

// startError maps the error of starting a release or rollback to the exit code: another run of the app is
// exitConflict, a spec that fails validation exitUsage, anything else exitError; nil is exitOK.
func (c *command) startError(err error) int {
	if err == nil {
		return exitOK
	}
	var conflict *releases.ConflictError
	if errors.As(err, &conflict) {
		return c.fail(exitConflict, "%v", err)
	}
	var fieldErrs spec.FieldErrors
	if errors.As(err, &fieldErrs) {
		return c.fail(exitUsage, "%v\nnothing was started", err)
	}
	return c.fail(exitError, "%v", err)
}

// firstEnv is the value of the first of keys that is set and not empty, or ""; it gives --actor its
// default ($GITHUB_ACTOR in CI, else $USER).
func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}
