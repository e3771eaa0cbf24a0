package workflows

import (
	"cmp"
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/notify"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

var rollbackStages = []string{
	releaseapi.StageRollbackInspect, releaseapi.StageRollbackScaleUp, releaseapi.StageRollbackHealthCheck, releaseapi.StageRollbackSwitch, releaseapi.StageRollbackScaleDown,
}

// rollback is the state of one RollbackWorkflow run.
type rollback struct {
	in       releaseapi.RollbackInput
	t        *tracker
	saga     saga
	current  string
	previous activities.DeploymentState
	target   string
	// n posts the rollback to Slack, when the spec names a channel.
	n *notifier
}

// RollbackWorkflow puts production back on the other color: the design chapter's rollback.sh, made durable.
// It scales the other color up if it was scaled down, health-checks it through the preview Service, switches
// the active Service to it and scales the current color to zero. If any step fails, the steps already done are
// undone and traffic stays where it was.
func RollbackWorkflow(ctx workflow.Context, in releaseapi.RollbackInput) (releaseapi.RollbackResult, error) {
	rb := &rollback{in: in, t: newTracker(rollbackStages)}
	rb.t.status.App, rb.t.status.Trigger = in.Spec.App.Name, in.Trigger
	if err := workflow.SetQueryHandler(ctx, releaseapi.QueryStatus, func() (releaseapi.Status, error) { return rb.t.status, nil }); err != nil {
		return releaseapi.RollbackResult{}, err
	}
	if err := workflow.ExecuteLocalActivity(withValidation(ctx), prepareRollback, rb.in.Spec).Get(ctx, &rb.in.Spec); err != nil {
		err = unwrapApplicationError(err)
		rb.t.markUnrun(releaseapi.StateSkipped)
		rb.t.status.Phase, rb.t.status.Error = releaseapi.PhaseRejected, err.Error()
		return releaseapi.RollbackResult{}, err
	}
	s := rb.in.Spec
	if want, got := releaseapi.WorkflowID(s.App.Name, s.Environments.Production.Namespace), workflow.GetInfo(ctx).WorkflowExecution.ID; got != want {
		err := temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"workflow ID %q: a rollback of %s must run as workflow ID %q so it cannot overlap a release", got, s.App.Name, want),
			releaseapi.ErrWrongWorkflowID, nil)
		rb.t.markUnrun(releaseapi.StateSkipped)
		rb.t.status.Phase, rb.t.status.Error = releaseapi.PhaseRejected, err.Error()
		return releaseapi.RollbackResult{}, err
	}
	rb.n = startNotifier(ctx, s.Notify.Slack)
	if rb.n != nil {
		rb.t.status.Notifications = rb.n.status
		defer rb.n.drain(ctx)
		defer func() { rb.n.post(rb.endMessage()) }()
		rb.n.post(notify.Message{Title: s.App.Name + ": rollback started", LinkToRun: true,
			Text: cmp.Or(rb.in.Reason, "manual rollback"), Fields: triggerFields(rb.in.Trigger), Color: notify.ColorWarning})
	}

	for _, st := range []struct {
		name string
		fn   func(workflow.Context) (string, error)
	}{
		{releaseapi.StageRollbackInspect, rb.inspect},
		{releaseapi.StageRollbackScaleUp, rb.scaleUp},
		{releaseapi.StageRollbackHealthCheck, rb.healthCheck},
		{releaseapi.StageRollbackSwitch, rb.switchTraffic},
		{releaseapi.StageRollbackScaleDown, rb.scaleDown},
	} {
		rb.t.start(ctx, st.name, "")
		msg, err := st.fn(ctx)
		if err != nil && st.name == releaseapi.StageRollbackScaleDown {
			// Traffic is already on the previous color and checked; undoing that because the old color could
			// not be scaled down would put users back on the version being rolled back from.
			rb.t.end(ctx, st.name, releaseapi.StateFailed, reasonOf(err)+"; scale it down by hand")
			rb.n.post(notify.Message{Title: s.App.Name + ": rollback " + st.name + " failed", Text: reasonOf(err), Color: notify.ColorDanger})
			workflow.GetLogger(ctx).Warn("current color not scaled down", "error", err)
			break
		}
		if err != nil {
			rb.t.end(ctx, st.name, releaseapi.StateFailed, reasonOf(err))
			rb.n.post(notify.Message{Title: s.App.Name + ": rollback " + st.name + " failed", Text: reasonOf(err), Color: notify.ColorDanger})
			rb.t.markUnrun(releaseapi.StateSkipped)
			rb.t.status.Phase = releaseapi.PhaseRollingBack
			failed := rb.saga.compensate(ctx, rb.t)
			msg := fmt.Sprintf("rollback of %s failed at %s: %s", s.App.Name, st.name, reasonOf(err))
			if len(failed) > 0 {
				msg += fmt.Sprintf("; undoing it failed at %v: check the status query and the cluster", failed)
				rb.t.status.Phase = releaseapi.PhaseFailed
			} else {
				msg += "; traffic was left where it was"
				rb.t.status.Phase = releaseapi.PhaseRolledBack
			}
			rb.t.status.Error = msg
			return releaseapi.RollbackResult{}, temporal.NewNonRetryableApplicationError(msg, releaseapi.ErrRollbackFailed, err)
		}
		rb.t.end(ctx, st.name, releaseapi.StateSucceeded, msg)
		rb.n.post(notify.Message{Title: s.App.Name + ": rollback " + st.name + " succeeded", Text: msg, Color: notify.ColorGood})
	}
	rb.t.status.Phase = releaseapi.PhaseSucceeded
	return releaseapi.RollbackResult{
		App: s.App.Name, FromColor: rb.current, ToColor: rb.target, ToVersion: rb.previous.Version,
		ActiveColor: rb.target, Stages: rb.t.stagesCopy(),
	}, nil
}

// endMessage says how the rollback ended.
func (rb *rollback) endMessage() notify.Message {
	title := rb.in.Spec.App.Name + ": "
	st := rb.t.status
	if st.Phase == releaseapi.PhaseSucceeded {
		return notify.Message{Title: title + "rolled back to " + rb.previous.Version, LinkToRun: true, Color: notify.ColorGood,
			Text: fmt.Sprintf("%s serves %s", rb.target, rb.previous.Image)}
	}
	return notify.Message{Title: title + "rollback failed", Text: st.Error, LinkToRun: true, Color: notify.ColorDanger}
}

// triggerFields are who started a run and from where.
func triggerFields(tr releaseapi.Trigger) []notify.Field {
	var fields []notify.Field
	if tr.Actor != "" {
		fields = append(fields, notify.Field{Name: "Started by", Value: tr.Actor})
	}
	if tr.Commit != "" {
		fields = append(fields, notify.Field{Name: "Commit", Value: tr.Commit})
	}
	return fields
}

// inspect reads which color is live and whether the other one exists to go back to.
func (rb *rollback) inspect(ctx workflow.Context) (string, error) {
	s := rb.in.Spec
	ns := s.Environments.Production.Namespace
	actx := withShortActivity(ctx)
	var active activities.ActiveColorResult
	if err := workflow.ExecuteActivity(actx, k8s.ActiveColor,
		activities.ServiceRef{Namespace: ns, Name: s.BlueGreen.ActiveService}).Get(ctx, &active); err != nil {
		return "", err
	}
	if err := checkOwner(ns, s.BlueGreen.ActiveService, s.App.Name, active); err != nil {
		return "", err
	}
	if !active.Exists || (active.Color != activities.Blue && active.Color != activities.Green) {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"service %s/%s does not exist or selects no color: there is no release to roll back from", ns, s.BlueGreen.ActiveService),
			activities.ErrNoPreviousColor, nil)
	}
	rb.current, rb.target = active.Color, activities.OtherColor(active.Color)
	rb.t.status.PreviousColor, rb.t.status.NewColor, rb.t.status.ActiveColor = rb.current, rb.target, rb.current
	if err := workflow.ExecuteActivity(actx, k8s.DescribeDeployment, activities.DeploymentRef{
		Namespace: ns, Name: colorName(s.App.Name, rb.target)}).Get(ctx, &rb.previous); err != nil {
		return "", err
	}
	if !rb.previous.Exists {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"deployment %s/%s does not exist: there is no previous color to roll back to", ns, colorName(s.App.Name, rb.target)),
			activities.ErrNoPreviousColor, nil)
	}
	rb.t.status.Version = rb.previous.Version
	rb.t.status.Image = rb.previous.Image
	return fmt.Sprintf("live: %s; rolling back to %s (%s, %d replicas)", rb.current, rb.target, rb.previous.Image, rb.previous.Replicas), nil
}

// scaleUp brings the previous color back to the production replica count when it was scaled down, and waits
// for it; the compensation scales it down again.
func (rb *rollback) scaleUp(ctx workflow.Context) (string, error) {
	s := rb.in.Spec
	ns, name := s.Environments.Production.Namespace, colorName(s.App.Name, rb.target)
	want := s.Environments.Production.Replicas
	if rb.previous.Replicas == 0 {
		target := rb.target
		rb.saga.add(releaseapi.StageRollbackScaleUp, "scale-down-"+target, func(c workflow.Context) error {
			if err := notLive(c, ns, s.BlueGreen.ActiveService, s.App.Name, target); err != nil {
				return err
			}
			return workflow.ExecuteActivity(withShortActivity(c), k8s.ScaleDeployment,
				activities.ScaleInput{Namespace: ns, Name: name, Replicas: 0}).Get(c, nil)
		})
		if err := workflow.ExecuteActivity(withShortActivity(ctx), k8s.ScaleDeployment,
			activities.ScaleInput{Namespace: ns, Name: name, Replicas: want}).Get(ctx, nil); err != nil {
			return "", err
		}
	}
	var rollout activities.RolloutResult
	if err := workflow.ExecuteActivity(withRolloutWait(ctx, s.BlueGreen.ProgressDeadline.D()), k8s.WaitRollout,
		activities.WaitRolloutInput{Namespace: ns, Name: name}).Get(ctx, &rollout); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %d/%d available", name, rollout.AvailableReplicas, rollout.Replicas), nil
}

// healthCheck points the preview Service at the previous color and runs the smoke checks through it.
func (rb *rollback) healthCheck(ctx workflow.Context) (string, error) {
	s := rb.in.Spec
	ns := s.Environments.Production.Namespace
	in := activities.ApplyServiceInput{Namespace: ns, Name: s.BlueGreen.PreviewService, App: s.App.Name, Color: rb.target, Port: s.Container.Port}
	if err := workflow.ExecuteActivity(withShortActivity(ctx), k8s.ApplyService, in).Get(ctx, nil); err != nil {
		return "", err
	}
	check := activities.SmokeCheckInput{
		Namespace: ns, Service: s.BlueGreen.PreviewService, Port: s.Container.Port, Checks: s.Smoke.Checks,
		Attempts: s.Smoke.Attempts, Interval: s.Smoke.Interval, Timeout: s.Smoke.Timeout,
	}
	var res activities.SmokeCheckResult
	if err := workflow.ExecuteActivity(withSmokeChecks(ctx, check), probe.SmokeCheck, check).Get(ctx, &res); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d check(s) passed through %s/%s", len(check.Checks), ns, s.BlueGreen.PreviewService), nil
}

// switchTraffic points the active Service at the previous color; the compensation points it back.
func (rb *rollback) switchTraffic(ctx workflow.Context) (string, error) {
	s := rb.in.Spec
	ns, svc := s.Environments.Production.Namespace, s.BlueGreen.ActiveService
	to := activities.SwitchServiceInput{Namespace: ns, Name: svc, App: s.App.Name}
	rb.saga.add(releaseapi.StageRollbackSwitch, "switch-back-to-"+rb.current, switchTo(rb.t, to, rb.current))
	if err := switchTo(rb.t, to, rb.target)(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%s now selects %s", ns, svc, rb.target), nil
}

// scaleDown scales the color rolled back from to zero, as rollback.sh does.
func (rb *rollback) scaleDown(ctx workflow.Context) (string, error) {
	s := rb.in.Spec
	name := colorName(s.App.Name, rb.current)
	var res activities.ScaleResult
	if err := workflow.ExecuteActivity(withShortActivity(ctx), k8s.ScaleDeployment, activities.ScaleInput{
		Namespace: s.Environments.Production.Namespace, Name: name, Replicas: 0}).Get(ctx, &res); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s scaled from %d to 0", name, res.Previous), nil
}

// prepareRollback runs releaseapi.PrepareRollback; like prepareRelease it runs as a local activity so a later
// rule change cannot change how a recorded rollback replays.
func prepareRollback(_ context.Context, s spec.Spec) (spec.Spec, error) {
	s, err := releaseapi.PrepareRollback(s)
	if err != nil {
		return s, temporal.NewNonRetryableApplicationError("invalid rollback input, nothing was changed: "+err.Error(), releaseapi.ErrInvalidRelease, nil)
	}
	return s, nil
}
