// Package workflows holds Slipway's Temporal workflows. Code here must be deterministic: no I/O, clocks,
// randomness or map iteration; everything that touches the world is an activity in package activities.
package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/promote"
	"github.com/vektagraf/slipway/internal/spec"
)

// k8s and probe are nil receivers: workflows name activities by method value, and the worker registers the real
// structs (the reference-app-orders-go pattern).
var (
	k8s   *activities.Kubernetes
	probe *activities.Prober
)

// release is the state of one ReleaseWorkflow run.
type release struct {
	in    ReleaseInput
	image string
	t     *tracker
	saga  saga
	// scan is set when the release runs the scan stage (scanStageChange); releases recorded before it do not.
	scan bool
	// promote is set when the release runs the push and sign stages and verifies signatures before deploys
	// (promoteChange).
	promote bool
	// source is the reference the scan resolves (image.source or image.repository, tagged with the version);
	// scanned is it pinned to the digest that was scanned; pushed is that digest in image.repository.
	source, scanned, pushed string
	// tags are the release tags the push stage puts on the digest; floatingTags those release-tags moves.
	tags, floatingTags []string
	// lateTags is set when floating tags move after production verified the release (lateTagsChange).
	lateTags bool
	// unsign is set when a failed release removes the signature it added (unsignChange).
	unsign bool
	// people is set when the release has the approval gate and notifications (peopleChange).
	people bool
	// compliance is set when the release runs the compliance stage (complianceChange).
	compliance bool
	gate       gate
	n          *notifier
	// committed is set once the old color starts scaling down: from then on an abort changes nothing.
	committed bool
	prevColor string
	newColor  string
}

// ReleaseWorkflow deploys one version of an app: the security gate (the image pinned to its digest and
// scanned), staging, staging smoke checks, then production blue-green (new color, rollout, preview checks,
// traffic switch, verification, old color scaled down after a delay). A gate that blocks fails the workflow
// with ErrScanBlocked (or ErrScanFailed when the scan could not run) before anything is deployed. Any later
// failure or an abort signal after a side effect undoes what was done, in reverse order, and the workflow
// fails with type ErrRolledBack (or ErrCompensationFailed when undoing failed too).
func ReleaseWorkflow(ctx workflow.Context, in ReleaseInput) (ReleaseResult, error) {
	r := &release{in: in, t: newTracker(releaseStages)}
	r.t.status.App, r.t.status.Version, r.t.status.Trigger = in.Spec.App.Name, in.Version, in.Trigger
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return r.t.status, nil }); err != nil {
		return ReleaseResult{}, err
	}

	r.people = workflow.GetVersion(ctx, peopleChange, workflow.DefaultVersion, 1) >= 1
	if r.people {
		if err := r.setupApproval(ctx); err != nil {
			return ReleaseResult{}, err
		}
	}

	r.t.start(ctx, StageValidate, "")
	p, err := validateRelease(ctx, &r.in)
	if err != nil {
		r.t.end(ctx, StageValidate, StateFailed, err.Error())
		r.t.markUnrun(StateSkipped)
		r.t.status.Phase, r.t.status.Error = PhaseRejected, err.Error()
		return ReleaseResult{}, err
	}
	r.image, r.t.status.Image = p.Image, p.Image
	r.source, r.tags, r.floatingTags = p.Image, p.Tags, p.FloatingTags
	if p.Source != "" {
		r.source = p.Source
	}
	r.t.end(ctx, StageValidate, StateSucceeded, "deploying "+p.Image)
	r.scan = workflow.GetVersion(ctx, scanStageChange, workflow.DefaultVersion, 1) >= 1
	r.promote = workflow.GetVersion(ctx, promoteChange, workflow.DefaultVersion, 1) >= 1
	if !r.scan {
		r.t.drop(StageScan)
	}
	if !r.promote {
		r.t.drop(StagePush, StageSign)
	}
	r.compliance = workflow.GetVersion(ctx, complianceChange, workflow.DefaultVersion, 1) >= 1
	r.lateTags = workflow.GetVersion(ctx, lateTagsChange, workflow.DefaultVersion, 1) >= 1
	r.unsign = workflow.GetVersion(ctx, unsignChange, workflow.DefaultVersion, 1) >= 1
	if !r.lateTags {
		// Recorded before the split: every tag moves at push.
		r.tags, r.floatingTags = append(r.tags, r.floatingTags...), nil
		r.t.drop(StageReleaseTags)
	}
	if !r.compliance {
		r.t.drop(StageCompliance)
	}
	if !r.people {
		r.t.drop(StageApproval)
	} else {
		r.armApproval()
		r.startNotifier(ctx)
		r.notifyStarted()
		defer r.drainNotifications(ctx)
		defer r.notifyEnd()
	}

	rctx, cancel := workflow.WithCancel(ctx)
	r.listenForAbort(ctx, cancel)

	if err := r.run(rctx); err != nil {
		if se := (*stageError)(nil); errors.As(err, &se) && se.stage == StageScan && r.t.status.Abort == nil && !temporal.IsCanceledError(se.err) {
			return ReleaseResult{}, r.blocked(se)
		}
		if !r.committed {
			return ReleaseResult{}, r.undo(ctx, err)
		}
		// Traffic is on the new color and verified; only the old color's scale-down failed. Rolling back now
		// would undo a good release, so the release succeeds and the stage says what is left to do.
		workflow.GetLogger(ctx).Warn("old color not scaled down", "error", err)
	}
	r.t.status.Phase = PhaseSucceeded
	return ReleaseResult{
		App: r.in.Spec.App.Name, Version: r.in.Version, Image: r.image,
		ActiveColor: r.newColor, PreviousColor: r.prevColor, Stages: r.t.stagesCopy(), Scan: r.t.status.Scan,
		Approval: r.approvalDecision(), Compliance: r.t.status.Compliance,
	}, nil
}

// blocked ends a release that the security gate stopped. Nothing was deployed, so there is nothing to undo.
func (r *release) blocked(se *stageError) error {
	r.t.markUnrun(StateSkipped)
	r.t.status.Phase = PhaseBlocked
	typ, why := ErrScanFailed, "the scan could not complete"
	if activities.ErrorType(se.err) == activities.ErrVulnerable {
		typ, why = ErrScanBlocked, "the security gate blocked it"
	}
	msg := fmt.Sprintf("release %s of %s: %s, nothing was deployed: %s", r.in.Version, r.in.Spec.App.Name, why, reasonOf(se.err))
	r.t.status.Error = msg
	return temporal.NewNonRetryableApplicationError(msg, typ, se.err)
}

// preparedRelease is the defaulted spec, the image to deploy (image.repository:version), the image to scan
// (image.source:version, when the spec has a source) and the release tags.
type preparedRelease struct {
	Spec   spec.Spec `json:"spec"`
	Image  string    `json:"image"`
	Source string    `json:"source,omitempty"`
	Tags   []string  `json:"tags,omitempty"`
	// FloatingTags are the tags the release-tags stage moves (lateTagsChange); empty in releases recorded
	// before it, whose Tags hold every tag.
	FloatingTags []string `json:"floatingTags,omitempty"`
}

// prepareRelease fills defaults and checks the input the same way the starter does, because a release started
// with the plain Temporal CLI never passed through the starter. It runs as a local activity so that its result
// is recorded in history: a later change to a default or a validation rule then cannot change how a running
// or finished release replays.
func prepareRelease(_ context.Context, in ReleaseInput) (preparedRelease, error) {
	spec.ApplyDefaults(&in.Spec)
	var problems []error
	if err := in.Spec.ValidateAt(time.Now()); err != nil { // a local activity: the clock is recorded, not replayed
		problems = append(problems, err)
	}
	image := ""
	if err := spec.ValidateVersion(in.Version); err != nil {
		problems = append(problems, fmt.Errorf("version: %w", err))
	} else if len(problems) == 0 {
		var err error
		if image, err = spec.ImageRef(in.Spec.Image.Repository, in.Version); err != nil {
			problems = append(problems, fmt.Errorf("image: %w", err))
		}
	}
	var source string
	var tags, floating []string
	if len(problems) == 0 {
		var err error
		if source, tags, floating, err = ReleaseImages(in); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return preparedRelease{}, temporal.NewNonRetryableApplicationError(
			"invalid release input, nothing was changed: "+errors.Join(problems...).Error(), ErrInvalidRelease, nil)
	}
	return preparedRelease{Spec: in.Spec, Image: image, Source: source, Tags: tags, FloatingTags: floating}, nil
}

// floatingKinds are the tag kinds that move from build to build; the release moves them only once the new
// version serves production (the release-tags stage), so nobody pulls an unapproved build by them.
var floatingKinds = []string{spec.TagMajorMinor, spec.TagMajor, spec.TagBranch, spec.TagLatest}

// ReleaseImages is the image a release scans when the spec names a source repository, and the release tags
// (image.tags, with the version, commit and branch), checked the same way by the starter: the ones that name
// this build only (semver, sha), put on it by the push stage, and the floating ones (major.minor, major,
// branch, latest), moved by the release-tags stage after production verified it.
func ReleaseImages(in ReleaseInput) (source string, tags, floating []string, err error) {
	if in.Spec.Image.Source != "" {
		if source, err = spec.ImageRef(in.Spec.Image.Source, in.Version); err != nil {
			return "", nil, nil, fmt.Errorf("image.source: %w", err)
		}
	}
	var fixedKinds, floatKinds []string
	for _, k := range in.Spec.Image.Tags {
		if slices.Contains(floatingKinds, k) {
			floatKinds = append(floatKinds, k)
		} else {
			fixedKinds = append(fixedKinds, k)
		}
	}
	for _, part := range []struct {
		kinds []string
		out   *[]string
	}{{fixedKinds, &tags}, {floatKinds, &floating}} {
		if len(part.kinds) == 0 {
			continue
		}
		if *part.out, err = promote.Tags(in.Version, part.kinds, in.Trigger.Commit, in.Trigger.Branch); err != nil {
			return "", nil, nil, fmt.Errorf("image.tags: %w", err)
		}
	}
	return source, tags, floating, nil
}

// validateRelease runs prepareRelease, puts the defaulted spec into the input and checks the workflow ID.
func validateRelease(ctx workflow.Context, in *ReleaseInput) (preparedRelease, error) {
	var p preparedRelease
	if err := workflow.ExecuteLocalActivity(withValidation(ctx), prepareRelease, *in).Get(ctx, &p); err != nil {
		return p, unwrapApplicationError(err)
	}
	in.Spec = p.Spec
	want := WorkflowID(in.Spec.App.Name, in.Spec.Environments.Production.Namespace)
	if got := workflow.GetInfo(ctx).WorkflowExecution.ID; got != want {
		return p, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"workflow ID %q: a release of %s to %s must run as workflow ID %q so that only one runs at a time; start it again with --workflow-id %s",
			got, in.Spec.App.Name, in.Spec.Environments.Production.Namespace, want, want), ErrWrongWorkflowID, nil)
	}
	return p, nil
}

// listenForAbort cancels the release's context when the abort signal arrives, unless the release has already
// committed (the old color is being scaled down): then the abort is recorded in the log and ignored.
func (r *release) listenForAbort(ctx workflow.Context, cancel workflow.CancelFunc) {
	workflow.Go(ctx, func(gctx workflow.Context) {
		ch := workflow.GetSignalChannel(gctx, SignalAbort)
		for {
			var req AbortRequest
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
	var steps []step
	add := func(on bool, more ...step) {
		if on {
			steps = append(steps, more...)
		}
	}
	add(r.scan, step{StageScan, r.scanImage})
	add(r.promote, step{StagePush, r.push}, step{StageSign, r.sign})
	add(true, step{StageStagingDeploy, r.stagingDeploy}, step{StageStagingSmoke, r.stagingSmoke})
	add(r.compliance, step{StageCompliance, r.complianceGate})
	add(r.people, step{StageApproval, r.approvalGate})
	add(true,
		step{StageProductionDeploy, r.productionDeploy},
		step{StagePreviewChecks, r.previewChecks},
		step{StageTrafficSwitch, r.trafficSwitch},
		step{StageVerify, r.verify},
	)
	add(r.lateTags && r.promote, step{StageReleaseTags, r.releaseTags})
	add(true, step{StageScaleDownOld, r.scaleDownOld})
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
			r.end(ctx, name, StateCancelled, "cancelled: "+r.abortReason())
		} else {
			r.end(ctx, name, StateFailed, reasonOf(err))
		}
		return &stageError{stage: name, err: err}
	}
	r.end(ctx, name, StateSucceeded, msg)
	return nil
}

// end records a stage's outcome and reports it.
func (r *release) end(ctx workflow.Context, name string, state StageState, msg string) {
	r.t.end(ctx, name, state, msg)
	if r.people {
		r.notifyStage(name, state, msg)
	}
}

// approvalDecision is the gate's decision for the result, or nil.
func (r *release) approvalDecision() *ApprovalDecision {
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
	r.t.status.Phase = PhaseRollingBack
	r.t.markUnrun(StateSkipped)
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
		r.t.status.Phase = PhaseFailed
		msg := fmt.Sprintf("release %s of %s: %s; undoing it failed at %v: check the status query and the cluster",
			r.in.Version, r.in.Spec.App.Name, reason, failed)
		r.t.status.Error = msg
		return temporal.NewNonRetryableApplicationError(msg, ErrCompensationFailed, cause)
	}
	r.t.status.Phase = PhaseRolledBack
	msg := fmt.Sprintf("release %s of %s rolled back: %s", r.in.Version, r.in.Spec.App.Name, reason)
	if r.prevColor != "" {
		msg += fmt.Sprintf("; traffic stays on %s", r.prevColor)
	}
	r.t.status.Error = msg
	return temporal.NewNonRetryableApplicationError(msg, ErrRolledBack, cause)
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
