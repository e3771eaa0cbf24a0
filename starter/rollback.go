package main

import (
	"context"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// rollback starts a rollback that puts production back on the previous color, recording --reason; with
// --wait it follows it to its end. It adds no check of its own and StartRollback validates only what a
// rollback needs, so what stops new releases (an expired scan ignore) never stops an undo.
func (c *command) rollback(ctx context.Context, args []string) int {
	fs := c.flags()
	reason := fs.String("reason", "manual rollback", "why (recorded in the rollback)")
	wait := fs.Bool("wait", false, "stream stage progress and exit with the rollback's outcome")
	s, rc, done, code := c.prepare(args, nil)
	if code != exitOK {
		return code
	}
	defer done()
	run, err := rc.StartRollback(ctx, releaseapi.RollbackInput{Spec: *s, Reason: *reason, Trigger: c.trigger()})
	if code := c.startError(err); code != exitOK {
		return code
	}
	c.printRun("rollback of "+s.App.Name, run)
	if !*wait {
		return exitOK
	}
	var res releaseapi.RollbackResult
	return c.follow(ctx, rc, run, &res)
}
