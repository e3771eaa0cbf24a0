package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// abort asks the app's running release to stop at its next safe point and roll back, recording --reason
// (required, checked before connecting) and --actor; it does not wait for the rollback.
func (c *command) abort(ctx context.Context, args []string) int {
	fs := c.flags()
	reason := fs.String("reason", "", "why (required; recorded in the release)")
	s, rc, done, code := c.prepare(args, func(*spec.Spec) error {
		if strings.TrimSpace(*reason) == "" {
			return errors.New(`--reason: required, e.g. --reason "wrong build"`)
		}
		return nil
	})
	if code != exitOK {
		return code
	}
	defer done()
	run, err := rc.Abort(ctx, releaseapi.WorkflowID(s.App.Name, s.Environments.Production.Namespace),
		releaseapi.AbortRequest{Reason: *reason, By: c.actor})
	if err != nil {
		return c.fail(exitError, "%v", err)
	}
	fmt.Fprintf(c.stdout, "abort sent to %s (run %s); it rolls back at the next safe point\n  Web UI: %s\n", run.ID, run.RunID, run.URL)
	return exitOK
}
