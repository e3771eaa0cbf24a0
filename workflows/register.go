package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// Register registers every workflow under its API name, so renaming a Go function can never rename a
// workflow type that running releases use.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(ReleaseWorkflow, workflow.RegisterOptions{Name: releaseapi.ReleaseWorkflowName})
	r.RegisterWorkflowWithOptions(RollbackWorkflow, workflow.RegisterOptions{Name: releaseapi.RollbackWorkflowName})
}
