package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// writableRoot is a release whose container does not set readOnlyRootFilesystem.
func writableRoot(version string) releaseapi.ReleaseInput {
	in := releaseInput(version)
	in.Spec.Container.SecurityContext.ReadOnlyRootFilesystem = nil
	return in
}

func TestNonCompliantReleaseStopsBeforeProduction(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.env.ExecuteWorkflow(ReleaseWorkflow, writableRoot("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), "stage compliance failed")
	require.Contains(t, err.Error(), spec.RuleReadOnlyRootFilesystem)
	require.Contains(t, err.Error(), "[NonCompliant]")
	require.Empty(t, h.fc.callsOf("ApplyDeployment "+greenDep), "no production object changed")
	requireRolledBack(t, h)

	st := h.status(t)
	require.Equal(t, releaseapi.StateFailed, stageByName(st, releaseapi.StageCompliance).State)
	require.NotNil(t, st.Compliance, "the status carries the report's summary even though the stage failed")
	require.Equal(t, "failed", st.Compliance.Status)
	require.Contains(t, st.Compliance.Failed, spec.RuleReadOnlyRootFilesystem)
}

func TestWaivedRulePassesWithAWarning(t *testing.T) {
	h := newHarness(t)
	in := writableRoot("v1.1.0")
	in.Spec.Compliance.Waivers = []spec.Waiver{{Rule: spec.RuleReadOnlyRootFilesystem,
		Reason: "the app writes its cache to /tmp until JIRA-123 moves it to an emptyDir", Expires: "2999-01-01"}}
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	require.NoError(t, h.env.GetWorkflowError())
	var res releaseapi.ReleaseResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.Equal(t, "warning", res.Compliance.Status)
	require.Contains(t, res.Compliance.Waived, spec.RuleReadOnlyRootFilesystem)
}

func TestWarningsBlockWhenTheSpecSaysSo(t *testing.T) {
	h := newHarness(t)
	in := releaseInput("v1.1.0") // not signed: the signature rule warns
	in.Spec.Compliance.WarningsBlock = true
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), spec.RuleImageSigned)
}
