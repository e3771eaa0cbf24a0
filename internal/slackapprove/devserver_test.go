package slackapprove

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// gateWorkflow has the release's approve/reject updates in miniature: a validator that refuses
// non-approvers and a second decision, and a handler that records the decision, after which the workflow ends.
func gateWorkflow(ctx workflow.Context, approvers []string) (string, error) {
	var decided *releaseapi.ApprovalDecision
	for _, approve := range []bool{true, false} {
		name := releaseapi.UpdateReject
		if approve {
			name = releaseapi.UpdateApprove
		}
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, req releaseapi.ApprovalRequest) (releaseapi.ApprovalDecision, error) {
				decided = &releaseapi.ApprovalDecision{Approved: approve, By: req.By, Comment: req.Comment, At: workflow.Now(ctx).UTC()}
				return *decided, nil
			},
			workflow.UpdateHandlerOptions{Validator: func(req releaseapi.ApprovalRequest) error {
				if decided != nil {
					return fmt.Errorf("the release was already decided by %s", decided.By)
				}
				if !slices.Contains(approvers, req.By) {
					return fmt.Errorf("%s is not an approver of this release", req.By)
				}
				return nil
			}})
		if err != nil {
			return "", err
		}
	}
	if err := workflow.Await(ctx, func() bool { return decided != nil }); err != nil {
		return "", err
	}
	// Stay a moment so that a second update reaches the validator while the run is open.
	_ = workflow.Sleep(ctx, 2*time.Second)
	return decided.By, nil
}

func noUpdatesWorkflow(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return false })
}

// TestTemporalDeciderAgainstDevServer runs TemporalDecider against a real Temporal dev server, to pin down
// how the SDK reports a validator's refusal. Set SLIPWAY_TEMPORAL_CLI to the temporal binary
// (scripts/tools.sh path temporal) to run it.
func TestTemporalDeciderAgainstDevServer(t *testing.T) {
	cli := os.Getenv("SLIPWAY_TEMPORAL_CLI")
	if cli == "" {
		t.Skip("SLIPWAY_TEMPORAL_CLI is not set (scripts/tools.sh path temporal)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: cli, LogLevel: "error", Stdout: io.Discard, Stderr: io.Discard,
	})
	require.NoError(t, err)
	defer func() { _ = srv.Stop() }()
	c := srv.Client()

	const queue = "slackapprove-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(gateWorkflow)
	w.RegisterWorkflow(noUpdatesWorkflow)
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "gate-1", TaskQueue: queue}, gateWorkflow, []string{"alice@example.com"})
	require.NoError(t, err)
	d := TemporalDecider{Client: c}
	decision := Decision{WorkflowID: run.GetID(), RunID: run.GetRunID(), Approve: true, Source: Source}

	// The raw SDK: UpdateWorkflow succeeds, Get returns the validator's error as a *temporal.ApplicationError.
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
		UpdateName: releaseapi.UpdateApprove, Args: []any{releaseapi.ApprovalRequest{By: "mallory"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err, "a refusal is the update's outcome, not an RPC error")
	err = h.Get(ctx, nil)
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "mallory is not an approver of this release", appErr.Message())
	require.Equal(t, "", appErr.Type())
	t.Logf("validator refusal: %T: %q", err, err.Error())

	// Through the Decider.
	decision.Approver = "mallory"
	_, err = d.Decide(ctx, decision)
	rejected, ok := errors.AsType[*RejectedError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "mallory is not an approver of this release", rejected.Reason)

	decision.Approver = "alice@example.com"
	out, err := d.Decide(ctx, decision)
	require.NoError(t, err)
	require.Contains(t, out.Message, "Approved by alice@example.com at ")

	_, err = d.Decide(ctx, decision)
	rejected, ok = errors.AsType[*RejectedError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "the release was already decided by alice@example.com", rejected.Reason)

	var by string
	require.NoError(t, run.Get(ctx, &by))
	_, err = c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
		UpdateName: releaseapi.UpdateApprove, Args: []any{releaseapi.ApprovalRequest{By: "alice@example.com"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	_, isNotFound := errors.AsType[*serviceerror.NotFound](err)
	require.True(t, isNotFound, "a finished run: %T %v", err, err)
	t.Logf("finished run: %T: %q", err, err.Error())
	_, err = d.Decide(ctx, decision)
	rejected, ok = errors.AsType[*RejectedError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Contains(t, rejected.Reason, "not running any more")

	// A run without the updates (not a release, or one recorded before the gate): the worker refuses.
	other, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "no-updates-1", TaskQueue: queue}, noUpdatesWorkflow)
	require.NoError(t, err)
	defer func() { _ = c.TerminateWorkflow(context.Background(), other.GetID(), other.GetRunID(), "test done") }()
	_, err = d.Decide(ctx, Decision{WorkflowID: other.GetID(), RunID: other.GetRunID(), Approve: true, Approver: "alice@example.com"})
	rejected, ok = errors.AsType[*RejectedError](err)
	require.True(t, ok, "%T %v", err, err)
	t.Logf("unknown update: %q", rejected.Reason)
	require.Contains(t, rejected.Reason, "does not take approvals")

	// No worker polling: the update waits, and the Decider's context ends it.
	w.Stop()
	third, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "gate-2", TaskQueue: queue}, gateWorkflow, []string{"alice@example.com"})
	require.NoError(t, err)
	defer func() { _ = c.TerminateWorkflow(context.Background(), third.GetID(), third.GetRunID(), "test done") }()
	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancelShort()
	_, err = d.Decide(short, Decision{WorkflowID: third.GetID(), RunID: third.GetRunID(), Approve: true, Approver: "alice@example.com"})
	_, isTimeout := errors.AsType[*client.WorkflowUpdateServiceTimeoutOrCanceledError](err)
	require.True(t, isTimeout, "%T %v", err, err)
}
