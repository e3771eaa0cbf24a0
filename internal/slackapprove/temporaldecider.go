package slackapprove

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// UpdateClient is the part of client.Client that TemporalDecider uses.
type UpdateClient interface {
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
}

// TemporalDecider decides by sending the release run the update "approve" or "reject" and waiting for it to
// complete.
//
// How the SDK reports a refusal: the update's validator runs on the worker; an error it returns is sent
// back as the update's outcome (a Failure), not as an RPC error, so UpdateWorkflow succeeds and the
// handle's Get returns it, converted by the failure converter into a *temporal.ApplicationError whose
// Message() is the validator's error text (Error() adds " (type: …, retryable: …)" when the error had a
// Go type other than errors.New/fmt.Errorf's). An error returned by the update handler itself comes back
// the same way. Both become a *RejectedError with that message. A run that has finished (or does not
// exist) makes UpdateWorkflow return *serviceerror.NotFound, also a *RejectedError; so does a run without
// the update (the worker refuses it with "unknown update approve. KnownUpdates=[…]"). A context that ends
// first gives *client.WorkflowUpdateServiceTimeoutOrCanceledError, returned as it is.
type TemporalDecider struct {
	Client UpdateClient
}

// Decide implements Decider.
func (t TemporalDecider) Decide(ctx context.Context, d Decision) (Outcome, error) {
	name := releaseapi.UpdateReject
	if d.Approve {
		name = releaseapi.UpdateApprove
	}
	h, err := t.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   d.WorkflowID,
		RunID:        d.RunID,
		UpdateName:   name,
		Args:         []any{releaseapi.ApprovalRequest{By: d.Approver, Comment: d.Comment, Source: d.Source}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		if appErr, ok := errors.AsType[*temporal.ApplicationError](err); ok {
			reason := appErr.Message()
			if reason == "" {
				reason = appErr.Error()
			}
			if strings.HasPrefix(reason, "unknown update ") { // the SDK's refusal of an update with no handler
				reason = "this release run does not take approvals (" + reason + ")"
			}
			return Outcome{}, &RejectedError{Reason: reason}
		}
		if _, ok := errors.AsType[*serviceerror.NotFound](err); ok {
			return Outcome{}, &RejectedError{Reason: "the release run is not running any more (finished, or never existed)"}
		}
		return Outcome{}, fmt.Errorf("update %s of %s/%s: %w", name, d.WorkflowID, d.RunID, err)
	}
	// The decision is applied; the result only adds detail, and a result of another shape is not an error.
	var res releaseapi.ApprovalDecision
	if h.Get(ctx, &res) != nil || res.By == "" {
		return Outcome{}, nil
	}
	msg := "Rejected by " + res.By
	if res.Approved {
		msg = "Approved by " + res.By
	}
	if !res.At.IsZero() {
		msg += " at " + res.At.UTC().Format(time.RFC3339)
	}
	if res.Comment != "" {
		msg += ": " + res.Comment
	}
	return Outcome{Message: msg}, nil
}
