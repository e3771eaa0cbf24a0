package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// status shows the app's running or last release or rollback: its phase, stages, undo steps, scan and
// error, or the whole status as JSON with --json. The query gives up after 30 seconds, so a missing
// worker cannot hang it.
func (c *command) status(ctx context.Context, args []string) int {
	c.flags()
	s, rc, done, code := c.prepare(args, nil)
	if code != exitOK {
		return code
	}
	defer done()
	id := releaseapi.WorkflowID(s.App.Name, s.Environments.Production.Namespace)
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := rc.Status(qctx, id, "")
	if err != nil {
		return c.fail(exitError, "%v", err)
	}
	if c.asJSON {
		out, _ := json.MarshalIndent(st, "", "  ")
		fmt.Fprintln(c.stdout, string(out))
		return exitOK
	}
	if st.ActiveColor != "" {
		fmt.Fprintf(c.stdout, "%s %s: %s (active color %q)\n", st.App, st.Version, st.Phase, st.ActiveColor)
	} else {
		fmt.Fprintf(c.stdout, "%s %s: %s\n", st.App, st.Version, st.Phase)
	}
	for _, stg := range st.Stages {
		fmt.Fprintln(c.stdout, strings.TrimRight(fmt.Sprintf("  %-26s %-11s %s", stg.Name, stg.State, oneLine(stg.Message)), " "))
	}
	for _, stg := range st.Compensations {
		fmt.Fprintln(c.stdout, strings.TrimRight(fmt.Sprintf("  %-26s %-11s %s", "undo "+stg.Name, stg.State, oneLine(stg.Message)), " "))
	}
	printScan(c.stdout, st.Scan)
	if st.Error != "" {
		fmt.Fprintf(c.stdout, "  error: %s\n", st.Error)
	}
	return exitOK
}
