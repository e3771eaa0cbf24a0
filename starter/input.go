package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// input prints the release input of --version as JSON, validated and defaulted as release does, and on
// stderr the 'temporal workflow start' command that starts it, for starting a release without the starter;
// it never connects to Temporal.
func (c *command) input(args []string) int {
	fs := c.flags()
	version := fs.String("version", "", "version to release")
	commit := fs.String("commit", "", "source commit (default $GITHUB_SHA)")
	branch := fs.String("branch", "", "source branch (default $GITHUB_REF_NAME on a branch build)")
	if !c.parse(args) {
		return exitUsage
	}
	s, code := c.loadSpec()
	if s == nil {
		return code
	}
	in := releaseapi.ReleaseInput{Spec: *s, Version: *version, Trigger: c.trigger()}
	in.Trigger.Commit = cmp.Or(*commit, in.Trigger.Commit)
	in.Trigger.Branch = cmp.Or(*branch, in.Trigger.Branch)
	if err := prepare(&in); err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	out, _ := json.MarshalIndent(in, "", "  ")
	fmt.Fprintln(c.stdout, string(out))
	fmt.Fprintf(c.stderr, "start it with: temporal workflow start --task-queue %s --type %s --workflow-id %s --input-file release.json\n",
		cmp.Or(os.Getenv("SLIPWAY_TASK_QUEUE"), releaseapi.TaskQueue), releaseapi.ReleaseWorkflowName, releaseapi.WorkflowID(s.App.Name, s.Environments.Production.Namespace))
	return exitOK
}
