//go:build integration

package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/releases"
	"github.com/vektagraf/slipway/internal/spec"
)

// currentBuild is the deployment's current build ID ("" while it has none or does not exist yet).
func currentBuild(t *testing.T, deployment string) string {
	t.Helper()
	desc, err := h.temporal.WorkerDeploymentClient().GetHandle(deployment).Describe(deadline(t, 10*time.Second),
		client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		return ""
	}
	if cur := desc.Info.RoutingConfig.CurrentVersion; cur != nil {
		return cur.BuildID
	}
	return ""
}

// waitForCurrent waits (bounded) until the deployment's current version is build.
func waitForCurrent(t *testing.T, deployment, build string) {
	t.Helper()
	ctx := deadline(t, time.Minute)
	for currentBuild(t, deployment) != build {
		select {
		case <-ctx.Done():
			t.Fatalf("deployment %s: build %s never became current (current: %q)", deployment, build, currentBuild(t, deployment))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// setCurrentAsOperator does what `temporal worker deployment set-current-version` does, retrying while the
// new build's version is not registered yet (it appears shortly after the worker's first poll).
func setCurrentAsOperator(t *testing.T, deployment, build string) {
	t.Helper()
	ctx := deadline(t, time.Minute)
	for {
		_, err := h.temporal.WorkerDeploymentClient().GetHandle(deployment).SetCurrentVersion(ctx,
			client.WorkerDeploymentSetCurrentVersionOptions{BuildID: build})
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("set build %s current in %s: %v", build, deployment, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// workflowTaskBuilds lists the build IDs of the workers that completed the run's workflow tasks, in order.
func workflowTaskBuilds(t *testing.T, run releases.Run) []string {
	t.Helper()
	var builds []string
	iter := h.temporal.GetWorkflowHistory(deadline(t, 30*time.Second), run.ID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			builds = append(builds, a.GetDeploymentVersion().GetBuildId())
		}
	}
	return builds
}

// requirePinnedTo checks that the run is pinned to build and that every workflow task ran on it.
func requirePinnedTo(t *testing.T, run releases.Run, build string) {
	t.Helper()
	desc, err := h.temporal.DescribeWorkflowExecution(deadline(t, 10*time.Second), run.ID, run.RunID)
	require.NoError(t, err)
	vi := desc.GetWorkflowExecutionInfo().GetVersioningInfo()
	require.Equal(t, enumspb.VERSIONING_BEHAVIOR_PINNED, vi.GetBehavior())
	require.Equal(t, build, vi.GetDeploymentVersion().GetBuildId())
	builds := workflowTaskBuilds(t, run)
	require.NotEmpty(t, builds)
	for i, b := range builds {
		require.Equal(t, build, b, "workflow task %d of %s ran on build %q", i, run.ID, b)
	}
}

// A release waiting for approval on build A keeps running on A after build B becomes the current version,
// while a release started after the switch runs on B: a new worker build never replays a release it did not
// start, which is why the workflows need no GetVersion for changes between builds.
func TestPinnedReleaseFinishesOnItsBuildWhileANewBuildTakesNewReleases(t *testing.T) {
	const queue, deployment = "slipway-versioning", "slipway-it-versioning"
	rc := &releases.Client{Temporal: h.temporal, Namespace: "default", TaskQueue: queue}
	startWorker(t, queue, "--deployment-name", deployment, "--build-id", "build-a", "--set-current", "always")
	waitForCurrent(t, deployment, "build-a")

	waiting := appSpec(t, "pinned-a")
	waiting.Approval = &spec.Approval{Approvers: []string{"bob@example.com"}, Timeout: spec.Duration(time.Hour)}
	pushDemo(t, "v1.0.0")
	ctx := deadline(t, 4*time.Minute)
	first, err := rc.StartRelease(ctx, releaseapi.ReleaseInput{Spec: waiting, Version: "v1.0.0",
		Trigger: releaseapi.Trigger{Actor: "alice@example.com", Source: "test"}})
	require.NoError(t, err)
	waitForStage(t, first, releaseapi.StageApproval)

	// Build B starts and does not route anything to itself; the operator makes it current.
	startWorker(t, queue, "--deployment-name", deployment, "--build-id", "build-b", "--set-current", "never")
	setCurrentAsOperator(t, deployment, "build-b")
	require.Equal(t, "build-b", currentBuild(t, deployment))

	res, second, err := release(t, rc, appSpec(t, "pinned-b"), "v1.0.0")
	require.NoError(t, err)
	require.Equal(t, "blue", res.ActiveColor)
	requirePinnedTo(t, second, "build-b")

	// The release waiting on A is approved after the switch and finishes on A.
	_, _, err = rc.Decide(ctx, first.ID, true, releaseapi.ApprovalRequest{By: "bob@example.com", Source: "test"})
	require.NoError(t, err)
	var firstRes releaseapi.ReleaseResult
	require.NoError(t, rc.Follow(ctx, first, &firstRes, nil))
	require.Equal(t, "bob@example.com", firstRes.Approval.By)
	requirePinnedTo(t, first, "build-a")
}
