package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

func rollbackInput() releaseapi.RollbackInput {
	return releaseapi.RollbackInput{Spec: testSpec(), Reason: "latency regression", Trigger: releaseapi.Trigger{Actor: "alice"}}
}

// seedAfterRelease: green (v1.1.0) is live, blue (v1.0.0) was scaled to zero by the release.
func seedAfterRelease(fc *fakeCluster) {
	fc.seedLive("green", "v1.1.0")
	fc.deployments[blueDep] = &fakeDeployment{image: "localhost/slipway/demo-app:v1.0.0", version: "v1.0.0", replicas: 0}
}

func TestRollbackScalesUpPreviousSwitchesAndScalesDownCurrent(t *testing.T) {
	h := newHarness(t)
	seedAfterRelease(h.fc)
	h.env.ExecuteWorkflow(RollbackWorkflow, rollbackInput())
	require.NoError(t, h.env.GetWorkflowError())

	var res releaseapi.RollbackResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.Equal(t, releaseapi.RollbackResult{App: "demo-app", FromColor: "green", ToColor: "blue", ToVersion: "v1.0.0", ActiveColor: "blue", Stages: res.Stages}, res)
	color, _ := h.fc.service(prodActive)
	require.Equal(t, "blue", color)
	require.Equal(t, int32(2), h.fc.deployment(blueDep).replicas)
	require.Equal(t, int32(0), h.fc.deployment(greenDep).replicas)
	// Scale up before switching, switch before scaling down (rollback.sh's order).
	calls := h.fc.calls
	require.Less(t, indexOf(calls, "ScaleDeployment "+blueDep+"=2"), indexOf(calls, "SwitchService "+prodActive+"=blue"))
	require.Less(t, indexOf(calls, "SwitchService "+prodActive+"=blue"), indexOf(calls, "ScaleDeployment "+greenDep+"=0"))
}

func TestRollbackWithPreviousStillRunningDoesNotScaleIt(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("green", "v1.1.0")
	h.fc.deployments[blueDep] = &fakeDeployment{image: "localhost/slipway/demo-app:v1.0.0", version: "v1.0.0", replicas: 2}
	h.env.ExecuteWorkflow(RollbackWorkflow, rollbackInput())
	require.NoError(t, h.env.GetWorkflowError())
	require.Equal(t, []string{"ScaleDeployment " + greenDep + "=0"}, h.fc.callsOf("ScaleDeployment"))
}

func TestRollbackWithNothingToGoBackTo(t *testing.T) {
	t.Run("no active service", func(t *testing.T) {
		h := newHarness(t)
		h.env.ExecuteWorkflow(RollbackWorkflow, rollbackInput())
		err := h.env.GetWorkflowError()
		require.Equal(t, releaseapi.ErrRollbackFailed, errType(err))
		require.Contains(t, err.Error(), "no release to roll back from")
	})
	t.Run("no previous deployment", func(t *testing.T) {
		h := newHarness(t)
		h.fc.seedLive("blue", "v1.0.0")
		h.env.ExecuteWorkflow(RollbackWorkflow, rollbackInput())
		err := h.env.GetWorkflowError()
		require.Equal(t, releaseapi.ErrRollbackFailed, errType(err))
		require.Contains(t, err.Error(), "demo-app-green does not exist")
		require.Empty(t, h.fc.callsOf("SwitchService"))
		require.Empty(t, h.fc.callsOf("ScaleDeployment"))
	})
}

func TestRollbackHealthCheckFailureLeavesTrafficAndUndoesScaleUp(t *testing.T) {
	h := newHarness(t)
	seedAfterRelease(h.fc)
	h.fc.failNext("SmokeCheck", prodPreview, temporal.NewNonRetryableApplicationError("503", activities.ErrSmokeCheckFailed, nil))
	h.env.ExecuteWorkflow(RollbackWorkflow, rollbackInput())
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRollbackFailed, errType(err))
	require.Contains(t, err.Error(), "traffic was left where it was")
	color, _ := h.fc.service(prodActive)
	require.Equal(t, "green", color)
	require.Equal(t, int32(0), h.fc.deployment(blueDep).replicas, "the scale-up is undone")
	require.Equal(t, int32(2), h.fc.deployment(greenDep).replicas)
	require.Equal(t, releaseapi.PhaseRolledBack, h.status(t).Phase)
}

func TestRollbackSucceedsWhenOnlyTheFinalScaleDownFails(t *testing.T) {
	h := newHarness(t)
	seedAfterRelease(h.fc)
	h.fc.failNext("ScaleDeployment", greenDep+"=0", temporal.NewNonRetryableApplicationError("forbidden", activities.ErrForbidden, nil))
	h.env.ExecuteWorkflow(RollbackWorkflow, rollbackInput())
	require.NoError(t, h.env.GetWorkflowError(), "traffic is back on blue; the rollback must not undo that")
	color, _ := h.fc.service(prodActive)
	require.Equal(t, "blue", color)
	st := h.status(t)
	require.Equal(t, releaseapi.PhaseSucceeded, st.Phase)
	require.Equal(t, releaseapi.StateFailed, stageByName(st, releaseapi.StageRollbackScaleDown).State)
	require.Contains(t, stageByName(st, releaseapi.StageRollbackScaleDown).Message, "scale it down by hand")
	require.Empty(t, st.Compensations)
}

func TestRollbackOfAnotherAppsServiceIsRefused(t *testing.T) {
	h := newHarness(t)
	seedAfterRelease(h.fc)
	h.fc.owners[prodActive] = "payments"
	h.env.ExecuteWorkflow(RollbackWorkflow, rollbackInput())
	require.Equal(t, releaseapi.ErrRollbackFailed, errType(h.env.GetWorkflowError()))
	require.Empty(t, h.fc.callsOf("ScaleDeployment"))
	require.Empty(t, h.fc.callsOf("SwitchService"))
}

func TestRollbackIsReportedInItsOwnThread(t *testing.T) {
	h := newHarness(t)
	seedAfterRelease(h.fc)
	in := rollbackInput()
	in.Spec.Notify.Slack = &spec.SlackNotify{Channel: "#releases"}
	h.env.ExecuteWorkflow(RollbackWorkflow, in)
	require.NoError(t, h.env.GetWorkflowError())
	require.Equal(t, []string{
		"demo-app: rollback started",
		"demo-app: rollback inspect succeeded", "demo-app: rollback scale-up-previous succeeded",
		"demo-app: rollback health-check succeeded", "demo-app: rollback traffic-switch succeeded",
		"demo-app: rollback scale-down-current succeeded", "demo-app: rolled back to v1.0.0",
	}, h.fc.titles())
	require.Equal(t, "latency regression", h.fc.posts[0].Message.Text)
	require.Empty(t, h.fc.posts[0].Thread)
	for _, p := range h.fc.posts[1:] {
		require.Equal(t, "1.000001", p.Thread)
	}
}

func TestFailedRollbackIsReported(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("green", "v1.1.0") // no blue: nothing to roll back to
	in := rollbackInput()
	in.Spec.Notify.Slack = &spec.SlackNotify{Channel: "#releases"}
	h.env.ExecuteWorkflow(RollbackWorkflow, in)
	require.Error(t, h.env.GetWorkflowError())
	titles := h.fc.titles()
	require.Contains(t, titles, "demo-app: rollback inspect failed")
	require.Equal(t, "demo-app: rollback failed", titles[len(titles)-1])
	require.Contains(t, h.fc.posts[len(h.fc.posts)-1].Message.Text, "traffic was left where it was")
}
