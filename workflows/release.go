// Package workflows holds Slipway's Temporal workflows. Code here must be deterministic: no I/O, clocks,
// randomness or map iteration; everything that touches the world is an activity in package activities.
package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
)

// k8s and probe are nil receivers: workflows name activities by method value, and the worker registers the real
// structs (the reference-app-orders-go pattern).
var (
	k8s   *activities.Kubernetes
	probe *activities.Prober
)

// release is the state of one ReleaseWorkflow run.
type release struct {
	in    releaseapi.ReleaseInput
	image string
	t     *tracker
	saga  saga
	// source is the reference the scan resolves (image.source or image.repository, tagged with the version);
	// scanned is it pinned to the digest that was scanned; pushed is that digest in image.repository.
	source, scanned, pushed string
	// tags are the release tags the push stage puts on the digest; floatingTags those release-tags moves.
	tags, floatingTags []string
	gate               gate
	n                  *notifier
	// committed is set once the old color starts scaling down: from then on an abort changes nothing.
	committed bool
	prevColor string
	newColor  string
}

// ReleaseWorkflow deploys one version of an app: the security gate (the image pinned to its digest and
// scanned), push and sign, staging, staging smoke checks, the compliance gate, approval, then production
// blue-green (new color, rollout, preview checks, traffic switch, verification, floating tags, old color scaled
// down after a delay). A gate that blocks fails the workflow with ErrScanBlocked (or ErrScanFailed when the
// scan could not run) before anything is deployed. Any later failure or an abort signal after a side effect
// undoes what was done, in reverse order, and the workflow fails with type ErrRolledBack (or
// ErrCompensationFailed when undoing failed too).
func ReleaseWorkflow(ctx workflow.Context, in releaseapi.ReleaseInput) (releaseapi.ReleaseResult, error) {
	r := &release{in: in, t: newTracker(releaseStages)}
	r.t.status.App, r.t.status.Version, r.t.status.Trigger = in.Spec.App.Name, in.Version, in.Trigger
	if err := workflow.SetQueryHandler(ctx, releaseapi.QueryStatus, func() (releaseapi.Status, error) { return r.t.status, nil }); err != nil {
		return releaseapi.ReleaseResult{}, err
	}
	if err := r.setupApproval(ctx); err != nil {
		return releaseapi.ReleaseResult{}, err
	}

	r.t.start(ctx, releaseapi.StageValidate, "")
	p, err := validateRelease(ctx, &r.in)
	if err != nil {
		r.t.end(ctx, releaseapi.StageValidate, releaseapi.StateFailed, err.Error())
		r.t.markUnrun(releaseapi.StateSkipped)
		r.t.status.Phase, r.t.status.Error = releaseapi.PhaseRejected, err.Error()
		return releaseapi.ReleaseResult{}, err
	}
	r.image, r.t.status.Image = p.Image, p.Image
	r.source, r.tags, r.floatingTags = p.ScanRef(), p.Tags, p.FloatingTags
	r.t.end(ctx, releaseapi.StageValidate, releaseapi.StateSucceeded, "deploying "+p.Image)
	r.armApproval()
	r.startNotifier(ctx)
	r.notifyStarted()
	defer r.drainNotifications(ctx)
	defer r.notifyEnd()

	rctx, cancel := workflow.WithCancel(ctx)
	r.listenForAbort(ctx, cancel)

	if err := r.run(rctx); err != nil {
		if se := (*stageError)(nil); errors.As(err, &se) && se.stage == releaseapi.StageScan && r.t.status.Abort == nil && !temporal.IsCanceledError(se.err) {
			return releaseapi.ReleaseResult{}, r.blocked(se)
		}
		if !r.committed {
			return releaseapi.ReleaseResult{}, r.undo(ctx, err)
		}
		// Traffic is on the new color and verified; only the old color's scale-down failed. Rolling back now
		// would undo a good release, so the release succeeds and the stage says what is left to do.
		workflow.GetLogger(ctx).Warn("old color not scaled down", "error", err)
	}
	r.t.status.Phase = releaseapi.PhaseSucceeded
	return releaseapi.ReleaseResult{
		App: r.in.Spec.App.Name, Version: r.in.Version, Image: r.image,
		ActiveColor: r.newColor, PreviousColor: r.prevColor, Stages: r.t.stagesCopy(), Scan: r.t.status.Scan,
		Approval: r.approvalDecision(), Compliance: r.t.status.Compliance,
	}, nil
}

// blocked ends a release that the security gate stopped. Nothing was deployed, so there is nothing to undo.
func (r *release) blocked(se *stageError) error {
	r.t.markUnrun(releaseapi.StateSkipped)
	r.t.status.Phase = releaseapi.PhaseBlocked
	typ, why := releaseapi.ErrScanFailed, "the scan could not complete"
	if activities.ErrorType(se.err) == activities.ErrVulnerable {
		typ, why = releaseapi.ErrScanBlocked, "the security gate blocked it"
	}
	msg := fmt.Sprintf("release %s of %s: %s, nothing was deployed: %s", r.in.Version, r.in.Spec.App.Name, why, reasonOf(se.err))
	r.t.status.Error = msg
	return temporal.NewNonRetryableApplicationError(msg, typ, se.err)
}

// prepareRelease runs releaseapi.Prepare as a local activity, so that its result (and the clock that judged
// expiry dates) is recorded in history: a later change to a default or a validation rule then cannot change how
// a running or finished release replays.
func prepareRelease(_ context.Context, in releaseapi.ReleaseInput) (releaseapi.Prepared, error) {
	p, err := releaseapi.Prepare(in, time.Now()) // a local activity: the clock is recorded, not replayed
	if err != nil {
		return p, temporal.NewNonRetryableApplicationError(
			"invalid release input, nothing was changed: "+err.Error(), releaseapi.ErrInvalidRelease, nil)
	}
	return p, nil
}

// validateRelease runs prepareRelease, puts the defaulted spec into the input and checks the workflow ID.
func validateRelease(ctx workflow.Context, in *releaseapi.ReleaseInput) (releaseapi.Prepared, error) {
	var p releaseapi.Prepared
	if err := workflow.ExecuteLocalActivity(withValidation(ctx), prepareRelease, *in).Get(ctx, &p); err != nil {
		return p, unwrapApplicationError(err)
	}
	in.Spec = p.Spec
	want := releaseapi.WorkflowID(in.Spec.App.Name, in.Spec.Environments.Production.Namespace)
	if got := workflow.GetInfo(ctx).WorkflowExecution.ID; got != want {
		return p, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"workflow ID %q: a release of %s to %s must run as workflow ID %q so that only one runs at a time; start it again with --workflow-id %s",
			got, in.Spec.App.Name, in.Spec.Environments.Production.Namespace, want, want), releaseapi.ErrWrongWorkflowID, nil)
	}
	return p, nil
}

// listenForAbort cancels the release's context when the abort signal arrives, unless the release has already
// committed (the old color is being scaled down): then the abort is recorded in the log and ignored.
func (r *release) listenForAbort(ctx workflow.Context, cancel workflow.CancelFunc) {
	workflow.Go(ctx, func(gctx workflow.Context) {
		ch := workflow.GetSignalChannel(gctx, releaseapi.SignalAbort)
		for {
			var req releaseapi.AbortRequest
			ch.Receive(gctx, &req)
			if r.committed || r.t.status.Abort != nil {
				workflow.GetLogger(gctx).Warn("abort ignored", "by", req.By, "reason", req.Reason, "committed", r.committed)
				continue
			}
			if req.Reason == "" {
				req.Reason = "aborted"
			}
			r.t.status.Abort = &req
			workflow.GetLogger(gctx).Info("abort received", "by", req.By, "reason", req.Reason)
			cancel()
		}
	})
}

// run executes the stages in order; the first error stops it.
func (r *release) run(ctx workflow.Context) error {
	type step struct {
		name string
		fn   func(workflow.Context) (string, error)
	}
	steps := []step{
		{releaseapi.StageScan, r.scanImage},
		{releaseapi.StagePush, r.push},
		{releaseapi.StageSign, r.sign},
		{releaseapi.StageStagingDeploy, r.stagingDeploy},
		{releaseapi.StageStagingSmoke, r.stagingSmoke},
		{releaseapi.StageCompliance, r.complianceGate},
		{releaseapi.StageApproval, r.approvalGate},
		{releaseapi.StageProductionDeploy, r.productionDeploy},
		{releaseapi.StagePreviewChecks, r.previewChecks},
		{releaseapi.StageTrafficSwitch, r.trafficSwitch},
		{releaseapi.StageVerify, r.verify},
		{releaseapi.StageMonitor, r.monitor},
		{releaseapi.StageReleaseTags, r.releaseTags},
		{releaseapi.StageScaleDownOld, r.scaleDownOld},
	}
	for _, st := range steps {
		if err := r.stage(ctx, st.name, st.fn); err != nil {
			return err
		}
	}
	return nil
}

// stageError remembers which stage failed for the final message.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string {
	return fmt.Sprintf("stage %s failed: %s", e.stage, reasonOf(e.err))
}
func (e *stageError) Unwrap() error { return e.err }

// stage runs one stage and records its outcome. A stage cut short by an abort is "cancelled", not "failed".
func (r *release) stage(ctx workflow.Context, name string, fn func(workflow.Context) (string, error)) error {
	if ctx.Err() != nil {
		return &stageError{stage: name, err: temporal.NewCanceledError()}
	}
	r.t.start(ctx, name, "")
	msg, err := fn(ctx)
	if err != nil {
		if ctx.Err() != nil || temporal.IsCanceledError(err) {
			r.end(ctx, name, releaseapi.StateCancelled, "cancelled: "+r.abortReason())
		} else {
			r.end(ctx, name, releaseapi.StateFailed, reasonOf(err))
		}
		return &stageError{stage: name, err: err}
	}
	r.end(ctx, name, releaseapi.StateSucceeded, msg)
	return nil
}

// end records a stage's outcome and reports it.
func (r *release) end(ctx workflow.Context, name string, state releaseapi.StageState, msg string) {
	r.t.end(ctx, name, state, msg)
	r.notifyStage(name, state, msg)
}

// approvalDecision is the gate's decision for the result, or nil.
func (r *release) approvalDecision() *releaseapi.ApprovalDecision {
	if r.gate.decision == nil {
		return nil
	}
	d := *r.gate.decision
	return &d
}

func (r *release) abortReason() string {
	if a := r.t.status.Abort; a != nil {
		if a.By != "" {
			return fmt.Sprintf("aborted by %s: %s", a.By, a.Reason)
		}
		return "aborted: " + a.Reason
	}
	return "workflow cancelled"
}

// undo runs the compensations and returns the release's final error.
func (r *release) undo(ctx workflow.Context, cause error) error {
	err0 := cause
	r.t.status.Phase = releaseapi.PhaseRollingBack
	r.t.markUnrun(releaseapi.StateSkipped)
	reason := cause.Error()
	if se := (*stageError)(nil); errors.As(cause, &se) {
		cause = se.err // the activity's error, for the chain the Web UI shows
	}
	if r.t.status.Abort != nil || temporal.IsCanceledError(cause) {
		reason = r.abortReason()
		if se := (*stageError)(nil); errors.As(err0, &se) {
			reason += " (during " + se.stage + ")"
		}
		// A CanceledError anywhere in the returned chain would close the workflow as "canceled" and hide the
		// rollback's outcome, so the abort is told in the message only.
		cause = nil
	}
	failed := r.saga.compensate(ctx, r.t)
	if len(failed) > 0 {
		r.t.status.Phase = releaseapi.PhaseFailed
		msg := fmt.Sprintf("release %s of %s: %s; undoing it failed at %v: check the status query and the cluster",
			r.in.Version, r.in.Spec.App.Name, reason, failed)
		r.t.status.Error = msg
		return temporal.NewNonRetryableApplicationError(msg, releaseapi.ErrCompensationFailed, cause)
	}
	r.t.status.Phase = releaseapi.PhaseRolledBack
	msg := fmt.Sprintf("release %s of %s rolled back: %s", r.in.Version, r.in.Spec.App.Name, reason)
	if r.prevColor != "" {
		msg += fmt.Sprintf("; traffic stays on %s", r.prevColor)
	}
	r.t.status.Error = msg
	return temporal.NewNonRetryableApplicationError(msg, releaseapi.ErrRolledBack, cause)
}

// reasonOf is the message of the innermost ApplicationError in err (what the activity said), without the
// "activity error (type: ..., scheduledEventID: ...)" wrapping that adds nothing for a person.
func reasonOf(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		msg := appErr.Message()
		if appErr.Type() != "" {
			msg += " [" + appErr.Type() + "]"
		}
		return msg
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return timeoutErr.Error()
	}
	return err.Error()
}
