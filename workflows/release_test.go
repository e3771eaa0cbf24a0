package workflows

import (
	"errors"
	"go.temporal.io/sdk/log"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

var mockAny = mock.Anything

const (
	prodActive  = "demo-production/demo-app-active"
	prodPreview = "demo-production/demo-app-preview"
	blueDep     = "demo-production/demo-app-blue"
	greenDep    = "demo-production/demo-app-green"
	stagingDep  = "demo-staging/demo-app"
)

// quietSuite logs only warnings, so a failing test's output shows the failure rather than every stage.
func quietSuite() *testsuite.WorkflowTestSuite {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	return &ts
}

func testSpec() spec.Spec {
	s := spec.Spec{
		APIVersion:   spec.APIVersion,
		Kind:         spec.Kind,
		App:          spec.App{Name: "demo-app"},
		Environments: spec.Environments{Staging: spec.Environment{Namespace: "demo-staging"}, Production: spec.Environment{Namespace: "demo-production"}},
		Image:        spec.Image{Repository: "localhost/slipway/demo-app"},
		Container:    compliantContainer(),
		BlueGreen:    spec.BlueGreen{ScaleDownDelay: spec.Duration(30 * time.Second)},
		Smoke:        spec.Smoke{Checks: []spec.Check{{Path: "/health", ExpectBody: "ok"}}},
		Compliance:   spec.Compliance{Settings: declared()},
	}
	return s
}

// compliantContainer passes every compliance rule a container can pass.
func compliantContainer() spec.Container {
	yes, no, uid := true, false, int64(10001)
	return spec.Container{
		Port: 8080,
		Resources: spec.Resources{Requests: spec.ResourceList{CPU: "50m", Memory: "32Mi"},
			Limits: spec.ResourceList{CPU: "200m", Memory: "64Mi"}},
		Probes: spec.Probes{Liveness: &spec.HTTPProbe{Path: "/health"}, Readiness: &spec.HTTPProbe{Path: "/ready"}},
		SecurityContext: &spec.SecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, ReadOnlyRootFilesystem: &yes,
			AllowPrivilegeEscalation: &no, DropCapabilities: []string{"ALL"}},
	}
}

// declared declares every app setting the compliance rules ask about.
func declared() spec.ComplianceSettings {
	yes := true
	return spec.ComplianceSettings{EncryptionAtRest: &yes, AuditLogging: &yes, RateLimiting: &yes}
}

func releaseInput(version string) releaseapi.ReleaseInput {
	return releaseapi.ReleaseInput{Spec: testSpec(), Version: version, Trigger: releaseapi.Trigger{Actor: "ci-bot", Source: "test"}}
}

type harness struct {
	env *testsuite.TestWorkflowEnvironment
	fc  *fakeCluster
}

func newHarness(t *testing.T) *harness {
	ts := quietSuite()
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: releaseapi.WorkflowID("demo-app", "demo-production")})
	fc := newFakeCluster()
	registerActivities(env)
	fc.install(env)
	return &harness{env: env, fc: fc}
}

func (h *harness) status(t *testing.T) releaseapi.Status {
	t.Helper()
	v, err := h.env.QueryWorkflow(releaseapi.QueryStatus)
	require.NoError(t, err)
	var st releaseapi.Status
	require.NoError(t, v.Get(&st))
	return st
}

func stageByName(st releaseapi.Status, name string) releaseapi.Stage {
	for _, s := range st.Stages {
		if s.Name == name {
			return s
		}
	}
	return releaseapi.Stage{}
}

func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func TestFirstReleaseGoesToBlueAndCreatesActiveService(t *testing.T) {
	h := newHarness(t)
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.0.0"))
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())

	var res releaseapi.ReleaseResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.Equal(t, "blue", res.ActiveColor)
	require.Equal(t, "", res.PreviousColor)
	require.Equal(t, "localhost/slipway/demo-app:v1.0.0@"+fakeDigest("localhost/slipway/demo-app:v1.0.0"), res.Image, "deployed by the digest that was scanned")

	color, ok := h.fc.service(prodActive)
	require.True(t, ok)
	require.Equal(t, "blue", color)
	require.Equal(t, fakeDeployment{image: res.Image, version: "v1.0.0", replicas: 2}, h.fc.deployment(blueDep))
	require.Equal(t, fakeDeployment{image: res.Image, version: "v1.0.0", replicas: 1}, h.fc.deployment(stagingDep))
	for _, s := range res.Stages {
		require.Equal(t, releaseapi.StateSucceeded, s.State, s.Name)
	}
	require.Contains(t, stageByName(h.status(t), releaseapi.StageScaleDownOld).Message, "first release")
	require.Empty(t, h.fc.callsOf("ScaleDeployment"), "nothing to scale down on a first release")
}

func TestSecondReleaseSwitchesToGreenAndScalesBlueDownAfterDelay(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")

	// Halfway through the scale-down delay, traffic is on green and blue still runs.
	var mid releaseapi.Status
	var midBlue fakeDeployment
	h.env.RegisterDelayedCallback(func() {
		mid = h.status(t)
		midBlue = h.fc.deployment(blueDep)
	}, 15*time.Second)
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())

	require.Equal(t, "green", mid.ActiveColor)
	require.Equal(t, releaseapi.StateRunning, stageByName(mid, releaseapi.StageScaleDownOld).State)
	require.Equal(t, int32(2), midBlue.replicas)

	var res releaseapi.ReleaseResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.Equal(t, "green", res.ActiveColor)
	require.Equal(t, "blue", res.PreviousColor)
	color, _ := h.fc.service(prodActive)
	require.Equal(t, "green", color)
	preview, _ := h.fc.service(prodPreview)
	require.Equal(t, "green", preview)
	require.Equal(t, int32(0), h.fc.deployment(blueDep).replicas)
	require.Equal(t, "v1.1.0", h.fc.deployment(greenDep).version)
	require.Equal(t, []string{"SwitchService " + prodActive + "=green"}, h.fc.callsOf("SwitchService"))
	require.Equal(t, []string{"ScaleDeployment " + blueDep + "=0"}, h.fc.callsOf("ScaleDeployment"))
}

// requireRolledBack checks that the cluster is exactly as seeded by seedLive("blue", "v1.0.0").
func requireRolledBack(t *testing.T, h *harness) {
	t.Helper()
	color, _ := h.fc.service(prodActive)
	require.Equal(t, "blue", color, "traffic must stay on (or return to) blue")
	require.Equal(t, fakeDeployment{image: "localhost/slipway/demo-app:v1.0.0", version: "v1.0.0", replicas: 2}, h.fc.deployment(blueDep))
	require.Equal(t, int32(0), h.fc.deployment(greenDep).replicas, "new color scaled to zero")
	require.Equal(t, "v1.0.0", h.fc.deployment(stagingDep).version, "staging restored")
}

func TestEachStageFailingRollsBack(t *testing.T) {
	invalid := temporal.NewNonRetryableApplicationError("apply: invalid", activities.ErrInvalidObject, nil)
	smokeFail := temporal.NewNonRetryableApplicationError("check /health: 503", activities.ErrSmokeCheckFailed, nil)
	deadline := temporal.NewNonRetryableApplicationError("deadline exceeded", activities.ErrProgressDeadlineExceeded, nil)
	forbidden := temporal.NewNonRetryableApplicationError("patch: forbidden", activities.ErrForbidden, nil)
	cases := []struct {
		stage, method, object string
		err                   error
		wantComp              []string
	}{
		{releaseapi.StageStagingDeploy, "ApplyDeployment", stagingDep, invalid, []string{"restore-staging"}},
		{releaseapi.StageStagingDeploy, "WaitRollout", stagingDep, deadline, []string{"restore-staging"}},
		{releaseapi.StageStagingSmoke, "SmokeCheck", "demo-staging/demo-app", smokeFail, []string{"restore-staging"}},
		{releaseapi.StageProductionDeploy, "ApplyDeployment", greenDep, invalid, []string{"scale-down-green", "restore-staging"}},
		{releaseapi.StageProductionDeploy, "WaitRollout", greenDep, deadline, []string{"scale-down-green", "restore-staging"}},
		{releaseapi.StagePreviewChecks, "SmokeCheck", prodPreview, smokeFail, []string{"scale-down-green", "restore-staging"}},
		{releaseapi.StageTrafficSwitch, "SwitchService", prodActive + "=green", forbidden, []string{"switch-back-to-blue", "scale-down-green", "restore-staging"}},
		{releaseapi.StageVerify, "SmokeCheck", prodActive, smokeFail, []string{"switch-back-to-blue", "scale-down-green", "restore-staging"}},
	}
	for _, tc := range cases {
		t.Run(tc.stage+"/"+tc.method, func(t *testing.T) {
			h := newHarness(t)
			h.fc.seedLive("blue", "v1.0.0")
			h.fc.failNext(tc.method, tc.object, tc.err)
			h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
			err := h.env.GetWorkflowError()
			require.Error(t, err)
			require.Equal(t, releaseapi.ErrRolledBack, errType(err))
			require.Contains(t, err.Error(), "stage "+tc.stage+" failed")
			requireRolledBack(t, h)

			st := h.status(t)
			require.Equal(t, releaseapi.PhaseRolledBack, st.Phase)
			require.Equal(t, releaseapi.StateFailed, stageByName(st, tc.stage).State)
			var comps []string
			for _, c := range st.Compensations {
				require.Equal(t, releaseapi.StateSucceeded, c.State, c.Name)
				comps = append(comps, c.Name)
			}
			require.Equal(t, append(tc.wantComp, pushCompensations...), comps, "compensations run in reverse order of the steps")
			require.Equal(t, releaseapi.StateSkipped, stageByName(st, releaseapi.StageScaleDownOld).State)
			// Non-retryable errors are tried once (restore-staging waits for the staging rollout: one more).
			want := 1
			if tc.method == "WaitRollout" && tc.object == stagingDep {
				want = 2
			}
			require.Len(t, h.fc.callsOf(tc.method+" "+tc.object), want)
		})
	}
}

func TestCompensationOrderOnTheCluster(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.failNext("SmokeCheck", prodActive, temporal.NewNonRetryableApplicationError("503", activities.ErrSmokeCheckFailed, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	require.Error(t, h.env.GetWorkflowError())

	calls := h.fc.calls
	verifyAt := indexOf(calls, "SmokeCheck "+prodActive)
	require.GreaterOrEqual(t, verifyAt, 0)
	undo := calls[verifyAt+1:]
	require.Equal(t, []string{
		"SwitchService " + prodActive + "=blue",
		"ActiveColor " + prodActive,    // green is not live any more: it may go
		"DeleteDeployment " + greenDep, // this release created it: no rollback may find the rejected build there
		"RestoreDeployment " + stagingDep,
		"WaitRollout " + stagingDep,
		"RestoreTags localhost/slipway/demo-app", // the registry last: no release tag stays on the rejected digest
		"MarkRejected localhost/slipway/demo-app@" + fakeDigest(v110Image),
	}, undo)
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func TestBrokenVersionFailsStagingSmokeAndNeverTouchesProduction(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0-broken"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Empty(t, h.fc.callsOf("ApplyDeployment demo-production"))
	requireRolledBack(t, h)
}

func TestFirstReleaseFailingAfterSwitchDeletesActiveService(t *testing.T) {
	h := newHarness(t)
	h.fc.failNext("SmokeCheck", prodActive, temporal.NewNonRetryableApplicationError("503", activities.ErrSmokeCheckFailed, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.0.0"))
	require.Equal(t, releaseapi.ErrRolledBack, errType(h.env.GetWorkflowError()))
	_, exists := h.fc.service(prodActive)
	require.False(t, exists, "the active Service this release created is removed")
	require.Equal(t, int32(0), h.fc.deployment(blueDep).replicas)
	require.Equal(t, int32(0), h.fc.deployment(stagingDep).replicas, "a first staging deployment is scaled to zero")
}

func TestTransientErrorsAreRetried(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.failNext("ApplyDeployment", greenDep, errors.New("etcdserver: request timed out"), errors.New("connection refused"))
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())
	require.Len(t, h.fc.callsOf("ApplyDeployment "+greenDep), 3)
}

func TestFailedSwitchBackNeverScalesDownTheLiveColor(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.failNext("SmokeCheck", prodActive, temporal.NewNonRetryableApplicationError("503", activities.ErrSmokeCheckFailed, nil))
	h.fc.failNext("SwitchService", prodActive+"=blue", temporal.NewNonRetryableApplicationError("forbidden", activities.ErrForbidden, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrCompensationFailed, errType(err))
	require.Contains(t, err.Error(), "[switch-back-to-blue scale-down-green]")
	st := h.status(t)
	require.Equal(t, releaseapi.PhaseFailed, st.Phase)
	require.Equal(t, "green", st.ActiveColor)
	// Users are still on green, so green keeps its pods; the other compensations still ran.
	color, _ := h.fc.service(prodActive)
	require.Equal(t, "green", color)
	require.Equal(t, int32(2), h.fc.deployment(greenDep).replicas)
	require.Equal(t, "v1.0.0", h.fc.deployment(stagingDep).version)
	require.Contains(t, st.Compensations[1].Message, "still selects green")
}

func TestFailedReleaseLeavesTheIdleColorOnThePreviousVersion(t *testing.T) {
	// v1.1.0 is live on green; blue holds v1.0.0 at zero replicas, ready for a rollback.
	h := newHarness(t)
	h.fc.seedLive("green", "v1.1.0")
	h.fc.deployments[blueDep] = &fakeDeployment{image: "localhost/slipway/demo-app:v1.0.0", version: "v1.0.0", replicas: 0}
	h.fc.failNext("SmokeCheck", prodPreview, temporal.NewNonRetryableApplicationError("503", activities.ErrSmokeCheckFailed, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.2.0"))
	require.Equal(t, releaseapi.ErrRolledBack, errType(h.env.GetWorkflowError()))
	require.Equal(t, fakeDeployment{image: "localhost/slipway/demo-app:v1.0.0", version: "v1.0.0", replicas: 0}, h.fc.deployment(blueDep),
		"a later rollback must find v1.0.0 on blue, not the failed v1.2.0")
}

func TestAnotherAppsActiveServiceIsRefusedBeforeAnyProductionChange(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.owners[prodActive] = "payments"
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), `belongs to app "payments"`)
	require.Empty(t, h.fc.callsOf("ApplyDeployment demo-production"))
	require.Empty(t, h.fc.callsOf("ApplyService demo-production"))
}

func TestInvalidInputTouchesNothing(t *testing.T) {
	for name, mutate := range map[string]func(*releaseapi.ReleaseInput){
		"injection in version": func(in *releaseapi.ReleaseInput) { in.Version = `1.2.3"}}]}}` },
		"shell in version":     func(in *releaseapi.ReleaseInput) { in.Version = "$(id)" },
		"bad app name":         func(in *releaseapi.ReleaseInput) { in.Spec.App.Name = "Demo_App" },
		"space in image":       func(in *releaseapi.ReleaseInput) { in.Spec.Image.Repository = "localhost/demo app" },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			in := releaseInput("v1.0.0")
			mutate(&in)
			if in.Spec.App.Name != "demo-app" {
				h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: releaseapi.WorkflowID(in.Spec.App.Name, "demo-production")})
			}
			h.env.ExecuteWorkflow(ReleaseWorkflow, in)
			err := h.env.GetWorkflowError()
			require.Equal(t, releaseapi.ErrInvalidRelease, errType(err), "%v", err)
			require.Empty(t, h.fc.calls)
			require.Equal(t, releaseapi.PhaseRejected, h.status(t).Phase)
		})
	}
}

func TestWrongWorkflowIDIsRefused(t *testing.T) {
	h := newHarness(t)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "my-release"})
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.0.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrWrongWorkflowID, errType(err))
	require.Contains(t, err.Error(), "slipway.demo-app.demo-production")
	require.Empty(t, h.fc.calls)
}

func TestFailedReleaseDeletesTheColorItCreated(t *testing.T) {
	// Only blue exists: green is created by this release, and must not stay behind holding the rejected
	// build for a later rollback to pick up.
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.failNext("SmokeCheck", prodPreview, temporal.NewNonRetryableApplicationError("503", activities.ErrSmokeCheckFailed, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0-rc.1"))
	require.Equal(t, releaseapi.ErrRolledBack, errType(h.env.GetWorkflowError()))
	_, exists := h.fc.deployments[greenDep]
	require.False(t, exists)
	require.Equal(t, []string{"DeleteDeployment " + greenDep}, h.fc.callsOf("DeleteDeployment"))
}

func TestRefusedApplyIsNotUndone(t *testing.T) {
	// The API server refused the new color outright: nothing was written, so nothing is deleted or restored.
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.failNext("ApplyDeployment", greenDep, temporal.NewNonRetryableApplicationError("invalid", activities.ErrInvalidObject, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	require.Equal(t, releaseapi.ErrRolledBack, errType(h.env.GetWorkflowError()))
	require.Empty(t, h.fc.callsOf("DeleteDeployment"))
	require.Empty(t, h.fc.callsOf("ScaleDeployment"))
	require.Equal(t, "v1.0.0", h.fc.deployment(stagingDep).version, "staging, which did change, is restored")
}
