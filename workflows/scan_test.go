package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/scan"
	"github.com/vektagraf/slipway/internal/spec"
)

// criticalFinding is what the fixture databases report for github.com/example/vuln 1.1.0.
var criticalFinding = scan.Finding{
	ID: "CVE-2099-0001", Aliases: []string{"GHSA-2222-3333-4444"}, Package: "github.com/example/vuln",
	InstalledVersion: "1.1.0", FixedVersion: "1.2.0", Severity: scan.SeverityCritical, Scanners: []string{scan.ScannerGrype, scan.ScannerTrivy},
}

const v110Image = "localhost/slipway/demo-app:v1.1.0"

func TestReleaseScansThePinnedImageFirst(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	in := releaseInput("v1.1.0")
	in.Spec.Scan.AllowSingleScanner = true
	var got activities.ScanInput
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name == "Scan" {
			require.NoError(t, args.Get(&got))
		}
	})
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	require.NoError(t, h.env.GetWorkflowError())

	digest := fakeDigest(v110Image)
	calls := h.fc.callsOf("")
	require.Equal(t, []string{"ResolveImage " + v110Image, "Scan localhost/slipway/demo-app@" + digest}, calls[:2],
		"the image is pinned and scanned before anything else")
	require.Equal(t, "localhost/slipway/demo-app@"+digest, got.Target.Image)
	require.Equal(t, digest, got.Digest)
	require.Equal(t, "demo-app/v1.1.0", got.ReportName)
	require.True(t, got.AllowSingleScanner)
	require.Equal(t, spec.DefaultFailOn, got.Policy.FailOn, "the spec's defaults reach the scanner")

	var res releaseapi.ReleaseResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.Equal(t, v110Image+"@"+digest, res.Image)
	require.Equal(t, res.Image, h.fc.deployment(greenDep).image, "production runs the scanned digest")
	require.Equal(t, res.Image, h.fc.deployment(stagingDep).image)
	require.NotNil(t, res.Scan)
	require.True(t, res.Scan.Passed)
	require.Equal(t, digest, res.Scan.Digest)
	require.Equal(t, releaseapi.StateSucceeded, stageByName(h.status(t), releaseapi.StageScan).State)
}

func TestVulnerableImageIsBlockedBeforeAnyDeploy(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.findings = []scan.Finding{criticalFinding}
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))

	err := h.env.GetWorkflowError()
	require.Error(t, err)
	require.Equal(t, releaseapi.ErrScanBlocked, errType(err))
	require.Contains(t, err.Error(), "nothing was deployed")
	require.Contains(t, err.Error(), "CVE-2099-0001 in github.com/example/vuln 1.1.0, fixed in 1.2.0")
	require.Equal(t, []string{"ResolveImage " + v110Image, "Scan localhost/slipway/demo-app@" + fakeDigest(v110Image)},
		h.fc.callsOf(""), "no Kubernetes call at all")
	requireRolledBack(t, h)

	st := h.status(t)
	require.Equal(t, releaseapi.PhaseBlocked, st.Phase)
	require.Equal(t, releaseapi.StateFailed, stageByName(st, releaseapi.StageScan).State)
	for _, name := range []string{releaseapi.StageStagingDeploy, releaseapi.StageProductionDeploy, releaseapi.StageTrafficSwitch} {
		require.Equal(t, releaseapi.StateSkipped, stageByName(st, name).State, name)
	}
	require.Empty(t, st.Compensations)
	require.NotNil(t, st.Scan, "the status carries the verdict even though the stage failed")
	require.False(t, st.Scan.Passed)
	require.Equal(t, 1, st.Scan.Counts.Blocking.Critical)
	require.Equal(t, "CVE-2099-0001", st.Scan.Top[0].ID)
}

func TestIgnoredFindingLetsTheReleaseThrough(t *testing.T) {
	h := newHarness(t)
	h.fc.findings = []scan.Finding{criticalFinding}
	in := releaseInput("v1.1.0")
	in.Spec.Scan.Ignore = []spec.Ignore{{ID: "CVE-2099-0001", Reason: "the vulnerable function is never called", Expires: "2999-01-01"}}
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	require.NoError(t, h.env.GetWorkflowError())
	var res releaseapi.ReleaseResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.True(t, res.Scan.Passed)
	require.Equal(t, 1, res.Scan.Counts.Ignored.Critical)
}

func TestExpiredIgnoreIsRefusedBeforeTheScan(t *testing.T) {
	h := newHarness(t)
	in := releaseInput("v1.1.0")
	in.Spec.Scan.Ignore = []spec.Ignore{{ID: "CVE-2099-0001", Reason: "accepted last year", Expires: "2020-01-01"}}
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrInvalidRelease, errType(err))
	require.Contains(t, err.Error(), "scan.ignore[0]: CVE-2099-0001 expired on 2020-01-01")
	require.Empty(t, h.fc.callsOf(""), "nothing resolved, scanned or deployed")
	require.Equal(t, releaseapi.PhaseRejected, h.status(t).Phase)
}

func TestScanThatCannotRunFailsWithoutDeploying(t *testing.T) {
	for name, tc := range map[string]struct{ method, object string }{
		"missing image":     {"ResolveImage", v110Image},
		"scanner databases": {"Scan", "localhost/slipway/demo-app@" + fakeDigest(v110Image)},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.fc.seedLive("blue", "v1.0.0")
			h.fc.failNext(tc.method, tc.object, temporal.NewNonRetryableApplicationError("nope", activities.ErrImageNotFound, nil))
			h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
			err := h.env.GetWorkflowError()
			require.Equal(t, releaseapi.ErrScanFailed, errType(err))
			require.Contains(t, err.Error(), "the scan could not complete, nothing was deployed: nope [ImageNotFound]")
			requireRolledBack(t, h)
			require.Empty(t, h.fc.callsOf("Apply"))
			require.Equal(t, releaseapi.PhaseBlocked, h.status(t).Phase)
		})
	}
}

func TestScanRetriesAScannerCrash(t *testing.T) {
	h := newHarness(t)
	h.fc.failNext("Scan", "localhost/slipway/demo-app@"+fakeDigest(v110Image), temporal.NewApplicationError("trivy: exit status 2", ""))
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())
	require.Len(t, h.fc.callsOf("Scan"), 2)
}

func TestAbortDuringScanDeploysNothing(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.scanBlocks = true // a long scan, cut short by the abort
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(releaseapi.SignalAbort, releaseapi.AbortRequest{Reason: "wrong version", By: "alice"})
	}, time.Second)
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), "aborted by alice: wrong version (during scan)")
	requireRolledBack(t, h)
	require.Empty(t, h.fc.callsOf("Apply"))
	st := h.status(t)
	require.Equal(t, releaseapi.StateCancelled, stageByName(st, releaseapi.StageScan).State)
	require.Empty(t, st.Compensations)
}

// TestScanSpecDefaultsReachTheWorkflow guards the link between the spec's defaults and the stage's timeout: a
// spec without a scan section still gets a bounded scan.
func TestScanSpecDefaultsReachTheWorkflow(t *testing.T) {
	s := testSpec()
	spec.ApplyDefaults(&s)
	require.Positive(t, s.Scan.Timeout.D())
}
