package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// colorName is the Deployment name of one color of the app.
func colorName(app, color string) string { return app + "-" + color }

// productionDeploy finds the live color, points the preview Service at the other one and rolls the new version
// out there. The compensation registered before the apply scales the new color back to zero.
func (r *release) productionDeploy(ctx workflow.Context) (string, error) {
	if err := r.verifySignature(ctx); err != nil {
		return "", err
	}
	s := r.in.Spec
	ns, bg := s.Environments.Production.Namespace, s.BlueGreen
	actx := withShortActivity(ctx)

	var active activities.ActiveColorResult
	if err := workflow.ExecuteActivity(actx, k8s.ActiveColor,
		activities.ServiceRef{Namespace: ns, Name: bg.ActiveService}).Get(ctx, &active); err != nil {
		return "", err
	}
	if err := checkOwner(ns, bg.ActiveService, s.App.Name, active); err != nil {
		return "", err
	}
	if active.Exists && active.Color != activities.Blue && active.Color != activities.Green {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"service %s/%s exists but does not select label %s=blue|green; it was not created by Slipway: delete it or name another blueGreen.activeService",
			ns, bg.ActiveService, activities.LabelColor), releaseapi.ErrInvalidRelease, nil)
	}
	if active.Exists {
		r.prevColor = active.Color
	}
	r.newColor = activities.OtherColor(r.prevColor)
	r.t.status.PreviousColor, r.t.status.NewColor, r.t.status.ActiveColor = r.prevColor, r.newColor, r.prevColor
	name := colorName(s.App.Name, r.newColor)

	preview := activities.ApplyServiceInput{Namespace: ns, Name: bg.PreviewService, App: s.App.Name, Color: r.newColor, Port: s.Container.Port}
	if err := workflow.ExecuteActivity(actx, k8s.ApplyService, preview).Get(ctx, nil); err != nil {
		return "", err
	}

	ref := activities.DeploymentRef{Namespace: ns, Name: name}
	idle, err := describe(ctx, ref)
	if err != nil {
		return "", err
	}
	// The compensation puts the idle color back as it was, at zero replicas, so a later rollback to it finds
	// the version that was live before, not this release's build.
	newColor := r.newColor
	ref.App = s.App.Name
	applied := true // until the API server is known to have refused the apply
	r.saga.add(releaseapi.StageProductionDeploy, "scale-down-"+newColor, func(c workflow.Context) error {
		if !applied {
			return nil
		}
		if err := notLive(c, ns, bg.ActiveService, s.App.Name, newColor); err != nil {
			return err
		}
		return restore(c, ref, idle, int32p(0), true, nil)
	})
	in := r.deploymentInput(ns, name, r.newColor, r.image, r.in.Version, s.Environments.Production.Replicas)
	if err := workflow.ExecuteActivity(actx, k8s.ApplyDeployment, in).Get(ctx, nil); err != nil {
		applied = !refused(err)
		return "", err
	}
	var rollout activities.RolloutResult
	if err := workflow.ExecuteActivity(withRolloutWait(ctx, bg.ProgressDeadline.D()), k8s.WaitRollout,
		activities.WaitRolloutInput{Namespace: ns, Name: name}).Get(ctx, &rollout); err != nil {
		return "", err
	}
	from := "no previous color"
	if r.prevColor != "" {
		from = r.prevColor + " stays live"
	}
	return fmt.Sprintf("%s/%s runs %s (%d/%d available); %s", ns, name, r.image,
		rollout.AvailableReplicas, rollout.Replicas, from), nil
}

// previewChecks runs the preview checks through the preview Service, which selects only the new color.
func (r *release) previewChecks(ctx workflow.Context) (string, error) {
	s := r.in.Spec
	return r.smoke(ctx, s.Environments.Production.Namespace, s.BlueGreen.PreviewService, s.BlueGreen.PreviewChecks)
}

// trafficSwitch points the active Service at the new color. The compensation, registered first, points it back
// (or deletes the Service when this release created it).
func (r *release) trafficSwitch(ctx workflow.Context) (string, error) {
	s := r.in.Spec
	ns, svc := s.Environments.Production.Namespace, s.BlueGreen.ActiveService
	actx := withShortActivity(ctx)
	if r.prevColor == "" {
		r.saga.add(releaseapi.StageTrafficSwitch, "delete-"+svc, func(c workflow.Context) error {
			err := workflow.ExecuteActivity(withShortActivity(c), k8s.DeleteService,
				activities.ServiceRef{Namespace: ns, Name: svc, App: s.App.Name}).Get(c, nil)
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.Type() == activities.ErrNotOwned {
				return nil // another app's Service appeared there: ours was never created
			}
			if err == nil {
				r.t.status.ActiveColor = ""
			}
			return err
		})
		in := activities.ApplyServiceInput{Namespace: ns, Name: svc, App: s.App.Name, Color: r.newColor, Port: s.Container.Port}
		if err := workflow.ExecuteActivity(actx, k8s.ApplyService, in).Get(ctx, nil); err != nil {
			return "", err
		}
		r.t.status.ActiveColor = r.newColor
		return fmt.Sprintf("created %s/%s selecting %s", ns, svc, r.newColor), nil
	}
	prev := r.prevColor
	to := activities.SwitchServiceInput{Namespace: ns, Name: svc, App: s.App.Name}
	r.saga.add(releaseapi.StageTrafficSwitch, "switch-back-to-"+prev, switchTo(r.t, to, prev))
	if err := switchTo(r.t, to, r.newColor)(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%s now selects %s (was %s)", ns, svc, r.newColor, prev), nil
}

// switchTo is the step that points a Service at color and records it as the active color: the forward switch
// and its compensation are the same step with the two colors swapped.
func switchTo(t *tracker, in activities.SwitchServiceInput, color string) func(workflow.Context) error {
	in.Color = color
	return func(ctx workflow.Context) error {
		if err := workflow.ExecuteActivity(withShortActivity(ctx), k8s.SwitchService, in).Get(ctx, nil); err != nil {
			return err
		}
		t.status.ActiveColor = color
		return nil
	}
}

// verify runs the smoke checks through the active Service, i.e. the way users reach the app.
func (r *release) verify(ctx workflow.Context) (string, error) {
	s := r.in.Spec
	return r.smoke(ctx, s.Environments.Production.Namespace, s.BlueGreen.ActiveService, s.Smoke.Checks)
}

// scaleDownOld keeps the old color for the scale-down delay, so an abort in that window switches traffic back
// at once, then scales it to zero. After the delay the release is committed and an abort is ignored.
func (r *release) scaleDownOld(ctx workflow.Context) (string, error) {
	if r.prevColor == "" {
		return "first release: no old color to scale down", nil
	}
	delay := r.in.Spec.BlueGreen.ScaleDownDelay.D()
	if delay > 0 {
		if err := workflow.Sleep(ctx, delay); err != nil {
			return "", err
		}
	}
	r.committed = true
	// The scale-down must finish even if the workflow is cancelled now: the release is committed.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	name := colorName(r.in.Spec.App.Name, r.prevColor)
	var res activities.ScaleResult
	if err := workflow.ExecuteActivity(withShortActivity(dctx), k8s.ScaleDeployment, activities.ScaleInput{
		Namespace: r.in.Spec.Environments.Production.Namespace, Name: name, Replicas: 0}).Get(dctx, &res); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s scaled from %d to 0 after %s", name, res.Previous, delay), nil
}

// smoke runs checks through one Service with the spec's attempts, interval and timeout.
func (r *release) smoke(ctx workflow.Context, ns, svc string, checks []spec.Check) (string, error) {
	s := r.in.Spec
	in := activities.SmokeCheckInput{
		Namespace: ns, Service: svc, Port: s.Container.Port, Checks: checks,
		Attempts: s.Smoke.Attempts, Interval: s.Smoke.Interval, Timeout: s.Smoke.Timeout,
	}
	var res activities.SmokeCheckResult
	if err := workflow.ExecuteActivity(withSmokeChecks(ctx, in), probe.SmokeCheck, in).Get(ctx, &res); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d check(s) passed through %s/%s on attempt %d", len(checks), ns, svc, res.Attempts), nil
}
