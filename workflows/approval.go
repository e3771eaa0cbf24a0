package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// gate is the approval state of one release.
type gate struct {
	// validated is set once the release's input is validated; spec and actor are known from then on.
	validated bool
	spec      *spec.Approval
	actor     string
	waiting   bool
	decision  *releaseapi.ApprovalDecision
}

// armApproval gives the gate the validated spec, once the input is validated.
func (r *release) armApproval() {
	r.gate.validated, r.gate.spec, r.gate.actor = true, r.in.Spec.Approval, r.in.Trigger.Actor
	if a := r.gate.spec; a != nil {
		r.t.status.Approval = &releaseapi.ApprovalStatus{Approvers: slices.Clone(a.Approvers), OnTimeout: a.OnTimeout}
	}
}

// setupApproval registers the approve and reject updates, with a validator that refuses a decision in the
// wrong stage, from someone not in approval.approvers, or from the release's own trigger when
// approval.allowSelfApproval is false; and the signals of the same names, which the workflow checks the same
// way (a refused signal is recorded in the status and changes nothing). It runs first, so an early decision
// is refused with a reason rather than as an unknown update.
func (r *release) setupApproval(ctx workflow.Context) error {
	for _, approve := range []bool{true, false} {
		name := releaseapi.UpdateReject
		if approve {
			name = releaseapi.UpdateApprove
		}
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, req releaseapi.ApprovalRequest) (releaseapi.ApprovalDecision, error) {
				return r.decide(ctx, req, approve), nil
			},
			workflow.UpdateHandlerOptions{Validator: func(req releaseapi.ApprovalRequest) error { return r.gate.check(req, approve) }})
		if err != nil {
			return err
		}
	}
	workflow.Go(ctx, func(gctx workflow.Context) {
		approveCh, rejectCh := workflow.GetSignalChannel(gctx, releaseapi.SignalApprove), workflow.GetSignalChannel(gctx, releaseapi.SignalReject)
		sel := workflow.NewSelector(gctx)
		handle := func(approve bool) func(workflow.ReceiveChannel, bool) {
			return func(c workflow.ReceiveChannel, _ bool) {
				var req releaseapi.ApprovalRequest
				// ReceiveAsync: a payload that does not decode is taken off the channel and refused, instead of
				// blocking this coroutine (and every later signal) in Receive.
				if ok := c.ReceiveAsync(&req); !ok {
					return
				}
				if err := r.gate.check(req, approve); err != nil {
					workflow.GetLogger(gctx).Warn("approval signal refused", "by", req.By, "error", err)
					if st := r.t.status.Approval; st != nil && len(st.Refused) < releaseapi.MaxRefused {
						st.Refused = append(st.Refused, err.Error())
					}
					return
				}
				r.decide(gctx, req, approve)
			}
		}
		sel.AddReceive(approveCh, handle(true))
		sel.AddReceive(rejectCh, handle(false))
		for {
			sel.Select(gctx)
		}
	})
	return nil
}

// check is the validator: it must not change anything, and it reads only workflow state.
func (g *gate) check(req releaseapi.ApprovalRequest, approve bool) error {
	verb := "reject"
	if approve {
		verb = "approve"
	}
	switch {
	case !g.validated:
		return fmt.Errorf("the release is not waiting for approval yet (its input is being validated); %s when its approval stage runs", verb)
	case g.spec == nil:
		return errors.New("this release has no approval gate (the spec has no approval section)")
	case g.decision != nil:
		what := "rejected"
		if g.decision.Approved {
			what = "approved"
		}
		return fmt.Errorf("the release was already %s by %s", what, cmp.Or(g.decision.By, "its timeout"))
	case !g.waiting:
		return fmt.Errorf("the release is not waiting for approval yet; %s when its approval stage runs", verb)
	case strings.TrimSpace(req.By) == "":
		return errors.New("by: required; say who decides")
	case !slices.ContainsFunc(g.spec.Approvers, func(a string) bool { return strings.EqualFold(a, req.By) }):
		return fmt.Errorf("%s is not an approver of this release (approval.approvers: %s)", req.By, strings.Join(g.spec.Approvers, ", "))
	case approve && !g.spec.AllowSelfApproval && strings.EqualFold(req.By, g.actor):
		return fmt.Errorf("%s started this release and may not approve it (approval.allowSelfApproval is false); ask another approver", req.By)
	}
	return nil
}

// decide records an accepted decision; the approval stage sees it and goes on.
func (r *release) decide(ctx workflow.Context, req releaseapi.ApprovalRequest, approve bool) releaseapi.ApprovalDecision {
	d := releaseapi.ApprovalDecision{Approved: approve, By: req.By, Comment: req.Comment, Source: req.Source, At: workflow.Now(ctx).UTC()}
	r.gate.decision = &d
	if st := r.t.status.Approval; st != nil {
		st.Decision = &d
	}
	workflow.GetLogger(ctx).Info("approval decided", "approved", approve, "by", req.By, "source", req.Source)
	return d
}

// approvalGate waits for a decision, reminding and escalating on durable timers, until the deadline decides
// with approval.onTimeout. A rejection or a timeout with "reject" fails the stage, and the release rolls back.
func (r *release) approvalGate(ctx workflow.Context) (string, error) {
	a := r.gate.spec
	if a == nil {
		return "not required: the spec has no approval section", nil
	}
	st := r.t.status.Approval
	start := workflow.Now(ctx).UTC()
	deadline := start.Add(a.Timeout.D())
	st.Waiting, st.Since, st.Deadline = true, &start, &deadline
	r.gate.waiting = true
	defer func() { r.gate.waiting, st.Waiting = false, false }()
	r.notifyApprovalNeeded(ctx, deadline)

	var nextReminder, escalation time.Time
	if a.RemindEvery > 0 {
		nextReminder = start.Add(a.RemindEvery.D())
	}
	if a.EscalateAfter > 0 {
		escalation = start.Add(a.EscalateAfter.D())
	}
	for r.gate.decision == nil {
		now := workflow.Now(ctx).UTC()
		if !now.Before(deadline) {
			d := releaseapi.ApprovalDecision{Approved: a.OnTimeout == spec.OnTimeoutPromote, At: now, TimedOut: true}
			r.gate.decision, st.Decision = &d, &d
			break
		}
		if !nextReminder.IsZero() && !now.Before(nextReminder) {
			st.Reminders++
			r.notifyReminder(ctx, st.Reminders, deadline)
			// From now, not from the missed time: a worker back from an outage sends one reminder, not a burst.
			nextReminder = now.Add(a.RemindEvery.D())
		}
		if !escalation.IsZero() && !now.Before(escalation) {
			st.Escalated = true
			r.notifyEscalation(ctx, deadline)
			escalation = time.Time{}
		}
		next := deadline
		for _, t := range []time.Time{nextReminder, escalation} {
			if !t.IsZero() && t.Before(next) {
				next = t
			}
		}
		if _, err := workflow.AwaitWithTimeout(ctx, next.Sub(now), func() bool { return r.gate.decision != nil }); err != nil {
			return "", err // cancelled: an abort
		}
	}
	d := r.gate.decision
	r.notifyDecision(ctx, *d)
	switch {
	case d.TimedOut && d.Approved:
		return fmt.Sprintf("promoted: nobody decided within %s (approval.onTimeout: promote)", a.Timeout.D()), nil
	case d.TimedOut:
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"approval timed out: nobody decided within %s (approval.onTimeout: reject)", a.Timeout.D()), releaseapi.ErrApprovalTimedOut, nil)
	case d.Approved:
		return "approved by " + d.By + withComment(d.Comment), nil
	default:
		return "", temporal.NewNonRetryableApplicationError("rejected by "+d.By+withComment(d.Comment), releaseapi.ErrApprovalRejected, nil)
	}
}

func withComment(c string) string {
	if c == "" {
		return ""
	}
	return ": " + c
}
