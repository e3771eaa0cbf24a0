package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/releases"
	"github.com/vektagraf/slipway/internal/spec"
)

// decide sends the approve or reject update; the workflow's validator has the last word.
func (c *command) decide(ctx context.Context, args []string, approve bool) int {
	fs := c.flags()
	comment := fs.String("comment", "", "why (kept with the decision)")
	s, rc, done, code := c.prepare(args, func(*spec.Spec) error {
		if strings.TrimSpace(c.actor) == "" {
			return errors.New("--actor: required; who decides (an identity in approval.approvers)")
		}
		return nil
	})
	if code != exitOK {
		return code
	}
	defer done()
	d, run, err := rc.Decide(ctx, releaseapi.WorkflowID(s.App.Name, s.Environments.Production.Namespace), approve,
		releaseapi.ApprovalRequest{By: c.actor, Comment: *comment, Source: "starter"})
	var refused *releases.RefusedError
	switch {
	case errors.As(err, &refused):
		return c.fail(exitUsage, "%s\nnothing changed", refused.Reason)
	case err != nil:
		return c.fail(exitError, "%v", err)
	}
	verb := "rejected"
	if d.Approved {
		verb = "approved"
	}
	fmt.Fprintf(c.stdout, "%s by %s at %s\n  Web UI: %s\n", verb, d.By, d.At.Format(time.RFC3339), run.URL)
	return exitOK
}
