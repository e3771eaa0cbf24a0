package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// gatedInput is a release started by ci-bot that needs alice's or bob's approval, reported to #releases.
func gatedInput(version string) releaseapi.ReleaseInput {
	in := releaseInput(version)
	in.Spec.Approval = &spec.Approval{Approvers: []string{"alice", "bob", "ci-bot"}, Timeout: spec.Duration(time.Hour),
		OnTimeout: spec.OnTimeoutReject}
	in.Spec.Notify.Slack = &spec.SlackNotify{Channel: "#releases"}
	return in
}

// updateOutcome is what an update call ended with.
type updateOutcome struct {
	rejected error
	decision releaseapi.ApprovalDecision
	done     bool
}

// sendUpdate sends an approve or reject update at a point of workflow time and records the outcome.
func (h *harness) sendUpdate(at time.Duration, name string, req releaseapi.ApprovalRequest) *updateOutcome {
	out := &updateOutcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.rejected = err; out.done = true },
			OnComplete: func(v any, err error) {
				out.done = true
				if d, ok := v.(releaseapi.ApprovalDecision); ok {
					out.decision = d
				}
				if err != nil {
					out.rejected = err
				}
			},
		}, req)
	}, at)
	return out
}

func TestApproverProceedsAndTheDecisionIsKept(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	var waiting releaseapi.Status
	h.env.RegisterDelayedCallback(func() { waiting = h.status(t) }, 5*time.Minute)
	ok := h.sendUpdate(10*time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "alice", Comment: "ship it", Source: "test"})
	h.env.ExecuteWorkflow(ReleaseWorkflow, gatedInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())

	require.True(t, ok.done)
	require.NoError(t, ok.rejected)
	require.True(t, ok.decision.Approved)
	require.Equal(t, releaseapi.StateRunning, stageByName(waiting, releaseapi.StageApproval).State, "production waits at the gate")
	require.Equal(t, releaseapi.StatePending, stageByName(waiting, releaseapi.StageProductionDeploy).State, "production has not started")
	require.True(t, waiting.Approval.Waiting)

	var res releaseapi.ReleaseResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.Equal(t, "alice", res.Approval.By)
	require.Equal(t, "ship it", res.Approval.Comment)
	require.Equal(t, "approved by alice: ship it", stageByName(h.status(t), releaseapi.StageApproval).Message)
	require.Equal(t, "green", res.ActiveColor)
}

func TestValidatorRefusesUnlistedSelfAndEarlyApprovals(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	early := h.sendUpdate(0, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "alice"})
	stranger := h.sendUpdate(5*time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "mallory"})
	self := h.sendUpdate(6*time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "ci-bot"}) // the release's trigger
	nobody := h.sendUpdate(7*time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{})
	var between releaseapi.Status
	h.env.RegisterDelayedCallback(func() { between = h.status(t) }, 8*time.Minute)
	good := h.sendUpdate(9*time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "bob"})
	h.env.ExecuteWorkflow(ReleaseWorkflow, gatedInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())

	require.ErrorContains(t, early.rejected, "not waiting for approval yet")
	require.ErrorContains(t, stranger.rejected, "mallory is not an approver of this release (approval.approvers: alice, bob, ci-bot)")
	require.ErrorContains(t, self.rejected, "ci-bot started this release and may not approve it")
	require.ErrorContains(t, nobody.rejected, "by: required")
	require.Nil(t, between.Approval.Decision, "refused updates changed nothing")
	require.True(t, between.Approval.Waiting)
	require.NoError(t, good.rejected)

	var res releaseapi.ReleaseResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.Equal(t, "bob", res.Approval.By)
}

func TestSelfApprovalWhenTheSpecAllowsIt(t *testing.T) {
	h := newHarness(t)
	in := gatedInput("v1.1.0")
	in.Spec.Approval.AllowSelfApproval = true
	ok := h.sendUpdate(time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "ci-bot"})
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	require.NoError(t, h.env.GetWorkflowError())
	require.NoError(t, ok.rejected)
}

func TestRejectionRollsBack(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.sendUpdate(3*time.Minute, releaseapi.UpdateReject, releaseapi.ApprovalRequest{By: "alice", Comment: "not on a Friday"})
	h.env.ExecuteWorkflow(ReleaseWorkflow, gatedInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), "stage approval failed: rejected by alice: not on a Friday [ApprovalRejected]")
	requireRolledBack(t, h)
	require.Empty(t, h.fc.callsOf("ApplyDeployment "+greenDep), "production untouched")
}

func TestApprovalTimeoutHasTheSpecsOutcome(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		h := newHarness(t)
		h.fc.seedLive("blue", "v1.0.0")
		h.env.ExecuteWorkflow(ReleaseWorkflow, gatedInput("v1.1.0"))
		err := h.env.GetWorkflowError()
		require.Equal(t, releaseapi.ErrRolledBack, errType(err))
		require.Contains(t, err.Error(), "approval timed out: nobody decided within 1h0m0s (approval.onTimeout: reject) [ApprovalTimedOut]")
		requireRolledBack(t, h)
	})
	t.Run("promote", func(t *testing.T) {
		h := newHarness(t)
		in := gatedInput("v1.1.0")
		in.Spec.Approval.OnTimeout = spec.OnTimeoutPromote
		h.env.ExecuteWorkflow(ReleaseWorkflow, in)
		require.NoError(t, h.env.GetWorkflowError())
		var res releaseapi.ReleaseResult
		require.NoError(t, h.env.GetWorkflowResult(&res))
		require.True(t, res.Approval.TimedOut)
		require.True(t, res.Approval.Approved)
		require.Contains(t, stageByName(h.status(t), releaseapi.StageApproval).Message, "promoted: nobody decided within 1h0m0s")
	})
}

func TestRemindersAndEscalationFireAtTheirTimes(t *testing.T) {
	h := newHarness(t)
	in := gatedInput("v1.1.0")
	in.Spec.Approval.RemindEvery = spec.Duration(10 * time.Minute)
	in.Spec.Approval.EscalateAfter = spec.Duration(25 * time.Minute)
	in.Spec.Approval.EscalateTo = "<!subteam^S0123>"
	at := map[time.Duration]*releaseapi.Status{}
	for _, d := range []time.Duration{9, 11, 24, 26, 59} {
		st := &releaseapi.Status{}
		at[d] = st
		h.env.RegisterDelayedCallback(func() { *st = h.status(t) }, d*time.Minute)
	}
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	require.Equal(t, releaseapi.ErrRolledBack, errType(h.env.GetWorkflowError()), "rejected at the timeout")

	for d, want := range map[time.Duration]struct {
		reminders int
		escalated bool
	}{9: {0, false}, 11: {1, false}, 24: {2, false}, 26: {2, true}, 59: {5, true}} {
		require.Equal(t, want.reminders, at[d].Approval.Reminders, "reminders at %dm", d)
		require.Equal(t, want.escalated, at[d].Approval.Escalated, "escalated at %dm", d)
	}
	var reminders, escalations int
	for _, p := range h.fc.posts {
		switch {
		case strings.Contains(p.Message.Title, "still waiting for approval"):
			reminders++
		case strings.Contains(p.Message.Title, "approval overdue"):
			escalations++
			require.Equal(t, []string{"<!subteam^S0123>"}, p.Message.Mentions)
		}
	}
	require.Equal(t, 5, reminders)
	require.Equal(t, 1, escalations)
}

func TestSignalsAreCheckedLikeUpdates(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(releaseapi.SignalApprove, releaseapi.ApprovalRequest{By: "mallory"})
	}, 2*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(releaseapi.SignalApprove, releaseapi.ApprovalRequest{By: "bob", Source: "temporal-cli"})
	}, 3*time.Minute)
	h.env.ExecuteWorkflow(ReleaseWorkflow, gatedInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())
	st := h.status(t)
	require.Equal(t, "bob", st.Approval.Decision.By)
	require.Equal(t, "temporal-cli", st.Approval.Decision.Source)
	require.Len(t, st.Approval.Refused, 1)
	require.Contains(t, st.Approval.Refused[0], "mallory is not an approver")
}

func TestEveryStageIsReportedInOneThread(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.sendUpdate(time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "alice"})
	h.env.ExecuteWorkflow(ReleaseWorkflow, gatedInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())

	titles := h.fc.titles()
	require.Equal(t, []string{
		"demo-app v1.1.0: release started",
		"demo-app v1.1.0: scan succeeded", "demo-app v1.1.0: push succeeded", "demo-app v1.1.0: sign succeeded",
		"demo-app v1.1.0: staging-deploy succeeded", "demo-app v1.1.0: staging-smoke succeeded",
		"demo-app v1.1.0: compliance succeeded", "demo-app v1.1.0: approval needed before production", "demo-app v1.1.0: approved by alice",
		"demo-app v1.1.0: approval succeeded",
		"demo-app v1.1.0: production-deploy succeeded", "demo-app v1.1.0: preview-checks succeeded",
		"demo-app v1.1.0: traffic-switch succeeded", "demo-app v1.1.0: verify succeeded", "demo-app v1.1.0: monitor succeeded",
		"demo-app v1.1.0: release-tags succeeded", "demo-app v1.1.0: scale-down-old succeeded", "demo-app v1.1.0: released",
	}, titles)
	require.Empty(t, h.fc.posts[0].Thread, "the first message starts the thread")
	require.Equal(t, "#releases", h.fc.posts[0].Channel)
	for _, p := range h.fc.posts[1:] {
		require.Equal(t, "1.000001", p.Thread, p.Message.Title)
		require.Equal(t, "C0FAKE", p.Channel, "replies go to the channel's ID")
	}
	approval := h.fc.posts[7].Message
	require.Len(t, approval.Actions, 2)
	require.Equal(t, releaseapi.ActionApprove, approval.Actions[0].ID)
	require.Equal(t, releaseapi.WorkflowID("demo-app", "demo-production")+"|"+"default-test-run-id", approval.Actions[0].Value)
	require.Equal(t, 18, h.status(t).Notifications.Sent)
}

func TestRolledBackReleaseIsReportedWithItsReason(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.sendUpdate(time.Minute, releaseapi.UpdateReject, releaseapi.ApprovalRequest{By: "bob", Comment: "wrong build"})
	h.env.ExecuteWorkflow(ReleaseWorkflow, gatedInput("v1.1.0"))
	require.Error(t, h.env.GetWorkflowError())
	titles := h.fc.titles()
	require.Contains(t, titles, "demo-app v1.1.0: rejected by bob")
	last := h.fc.posts[len(h.fc.posts)-1].Message
	require.Equal(t, "demo-app v1.1.0: rolled back", last.Title)
	require.Contains(t, last.Text, "rejected by bob: wrong build")
}

func TestDeadSlackDoesNotFailTheRelease(t *testing.T) {
	h := newHarness(t)
	h.fc.notifyDown = true
	h.sendUpdate(time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "alice"})
	h.env.ExecuteWorkflow(ReleaseWorkflow, gatedInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())
	st := h.status(t)
	require.Zero(t, st.Notifications.Sent)
	require.Positive(t, st.Notifications.Failed)
	require.Contains(t, st.Notifications.LastError, "service unavailable")
}

// TestReleaseWithoutAGateGoesStraightOn: no approval section, no waiting, and no Slack activity.
func TestReleaseWithoutAGateGoesStraightOn(t *testing.T) {
	h := newHarness(t)
	h.env.ExecuteWorkflow(ReleaseWorkflow, releaseInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())
	require.Equal(t, "not required: the spec has no approval section", stageByName(h.status(t), releaseapi.StageApproval).Message)
	require.Empty(t, h.fc.posts)
	require.Nil(t, h.status(t).Notifications)
}

// TestMalformedSignalDoesNotBlockLaterOnes: an approve signal whose payload is not an ApprovalRequest is
// dropped, and a reject signal after it still decides.
func TestMalformedSignalDoesNotBlockLaterOnes(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(releaseapi.SignalApprove, "alice") }, 2*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(releaseapi.SignalReject, releaseapi.ApprovalRequest{By: "bob", Comment: "no"})
	}, 3*time.Minute)
	h.env.ExecuteWorkflow(ReleaseWorkflow, gatedInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), "rejected by bob: no")
}

func TestApproversMatchWithoutCase(t *testing.T) {
	h := newHarness(t)
	in := gatedInput("v1.1.0")
	in.Trigger.Actor = "Alice"
	self := h.sendUpdate(time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "alice"})
	ok := h.sendUpdate(2*time.Minute, releaseapi.UpdateApprove, releaseapi.ApprovalRequest{By: "BOB"})
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	require.NoError(t, h.env.GetWorkflowError())
	require.ErrorContains(t, self.rejected, "started this release and may not approve it", "self-approval is caught whatever the case")
	require.NoError(t, ok.rejected)
}
