package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// Register registers every workflow under its API name, so renaming a Go function can never rename a
// workflow type that running releases use. Both are pinned: on a versioned worker, a release or rollback runs
// to its end on the worker build it started on (they wait for hours at approval), so a new build never
// replays a run it did not start and needs no versioning branch for it. On an unversioned worker pinning does nothing.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(ReleaseWorkflow, pinned(releaseapi.ReleaseWorkflowName))
	r.RegisterWorkflowWithOptions(RollbackWorkflow, pinned(releaseapi.RollbackWorkflowName))
}

func pinned(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name, VersioningBehavior: workflow.VersioningBehaviorPinned}
}
