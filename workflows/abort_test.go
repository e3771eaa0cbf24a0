package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
)

// newHarnessWithSlow makes one activity call take `slow` of workflow time, so a signal can arrive while the
// release waits on it. Slow mocks are registered before the fake's, so they match first.
func newHarnessWithSlow(t *testing.T, slow time.Duration, setup func(env *testsuite.TestWorkflowEnvironment, fc *fakeCluster)) *harness {
	env := quietSuite().NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: releaseapi.WorkflowID("demo-app", "demo-production")})
	fc := newFakeCluster()
	registerActivities(env)
	setup(env, fc)
	fc.install(env)
	return &harness{env: env, fc: fc}
}

func rolloutOf(name string) any {
	return mock.MatchedBy(func(in activities.WaitRolloutInput) bool { return in.Name == name })
}

func smokeThrough(svc string) any {
	return mock.MatchedBy(func(in activities.SmokeCheckInput) bool { return in.Service == svc })
}

func TestAbortDuringEachWaitRollsBack(t *testing.T) {
	const slow = 10 * time.Minute
	cases := []struct {
		stage    string
		setup    func(env *testsuite.TestWorkflowEnvironment, fc *fakeCluster)
		wantComp []string
	}{
		{releaseapi.StageStagingDeploy, func(env *testsuite.TestWorkflowEnvironment, fc *fakeCluster) {
			env.OnActivity(k8s.WaitRollout, mockAny, rolloutOf("demo-app")).After(slow).Once().Return(fc.WaitRollout)
		}, []string{"restore-staging"}},
		{releaseapi.StageStagingSmoke, func(env *testsuite.TestWorkflowEnvironment, fc *fakeCluster) {
			env.OnActivity(probe.SmokeCheck, mockAny, smokeThrough("demo-app")).After(slow).Once().Return(fc.SmokeCheck)
		}, []string{"restore-staging"}},
		{releaseapi.StageProductionDeploy, func(env *testsuite.TestWorkflowEnvironment, fc *fakeCluster) {
			env.OnActivity(k8s.WaitRollout, mockAny, rolloutOf("demo-app-green")).After(slow).Once().Return(fc.WaitRollout)
		}, []string{"scale-down-green", "restore-staging"}},
		{releaseapi.StagePreviewChecks, func(env *testsuite.TestWorkflowEnvironment, fc *fakeCluster) {
			env.OnActivity(probe.SmokeCheck, mockAny, smokeThrough("demo-app-preview")).After(slow).Once().Return(fc.SmokeCheck)
		}, []string{"scale-down-green", "restore-staging"}},
		{releaseapi.StageVerify, func(env *testsuite.TestWorkflowEnvironment, fc *fakeCluster) {
			env.OnActivity(probe.SmokeCheck, mockAny, smokeThrough("demo-app-active")).After(slow).Once().Return(fc.SmokeCheck)
		}, []string{"switch-back-to-blue", "scale-down-green", "restore-staging"}},
		// No slow activity: the abort lands in the scale-down delay (30s) after the switch.
		{releaseapi.StageScaleDownOld, func(*testsuite.TestWorkflowEnvironment, *fakeCluster) {},
			[]string{"switch-back-to-blue", "scale-down-green", "restore-staging"}},
	}
	for _, tc := range cases {
		t.Run(tc.stage, func(t *testing.T) {
			h := newHarnessWithSlow(t, slow, tc.setup)
			h.env.RegisterDelayedCallback(func() {
				h.env.SignalWorkflow(releaseapi.SignalAbort, releaseapi.AbortRequest{Reason: "wrong build", By: "alice"})
			}, 10*time.Second)
			h.fc.seedLive("blue", "v1.0.0")
			h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))

			err := h.env.GetWorkflowError()
			require.Equal(t, releaseapi.ErrRolledBack, errType(err), "%v", err)
			require.False(t, temporal.IsCanceledError(err), "a CanceledError in the chain would close the run as canceled")
			require.Contains(t, err.Error(), "aborted by alice: wrong build (during "+tc.stage+")")
			requireRolledBack(t, h)

			st := h.status(t)
			require.Equal(t, releaseapi.StateCancelled, stageByName(st, tc.stage).State)
			require.Equal(t, &releaseapi.AbortRequest{Reason: "wrong build", By: "alice"}, st.Abort)
			var comps []string
			for _, c := range st.Compensations {
				comps = append(comps, c.Name)
			}
			require.Equal(t, append(tc.wantComp, pushCompensations...), comps)
			require.Less(t, h.env.Now().Sub(startOf(st)), slow, "the abort did not wait for the slow step")
		})
	}
}

func startOf(st releaseapi.Status) time.Time {
	if s := st.Stages[0]; s.Started != nil {
		return *s.Started
	}
	return time.Time{}
}

func TestAbortAfterCommitIsIgnored(t *testing.T) {
	h := newHarnessWithSlow(t, time.Minute, func(env *testsuite.TestWorkflowEnvironment, fc *fakeCluster) {
		env.OnActivity(k8s.ScaleDeployment, mockAny, mock.MatchedBy(func(in activities.ScaleInput) bool {
			return in.Name == "demo-app-blue" && in.Replicas == 0
		})).After(time.Minute).Return(fc.ScaleDeployment)
	})
	h.fc.seedLive("blue", "v1.0.0")
	// The delay is 30s; the old color's scale-down then takes a minute. An abort at 45s is too late.
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(releaseapi.SignalAbort, releaseapi.AbortRequest{Reason: "too late", By: "bob"})
	}, 45*time.Second)
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())
	color, _ := h.fc.service(prodActive)
	require.Equal(t, "green", color)
	require.Equal(t, int32(0), h.fc.deployment(blueDep).replicas)
	require.Nil(t, h.status(t).Abort)
}

func TestWorkflowCancellationRollsBackLikeAnAbort(t *testing.T) {
	h := newHarnessWithSlow(t, time.Hour, func(env *testsuite.TestWorkflowEnvironment, fc *fakeCluster) {
		env.OnActivity(probe.SmokeCheck, mockAny, smokeThrough("demo-app-preview")).After(time.Hour).Return(fc.SmokeCheck)
	})
	h.fc.seedLive("blue", "v1.0.0")
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, time.Minute)
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	require.Error(t, h.env.GetWorkflowError())
	requireRolledBack(t, h)
	require.Equal(t, releaseapi.PhaseRolledBack, h.status(t).Phase)
}
