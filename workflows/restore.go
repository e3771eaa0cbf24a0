package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
)

// describe reads a Deployment before a step changes it: the snapshot its compensation restores.
func describe(ctx workflow.Context, ref activities.DeploymentRef) (activities.DeploymentState, error) {
	var st activities.DeploymentState
	err := workflow.ExecuteActivity(withShortActivity(ctx), k8s.DescribeDeployment, ref).Get(ctx, &st)
	return st, err
}

// restore puts a Deployment back as the snapshot says it was: the fields Slipway had applied (with replicas
// overridden when replicas is set), or zero replicas when it did not exist. A snapshot of a Deployment Slipway
// never applied has no fields to restore; fallback, when given, then says what to apply instead, else the
// Deployment is scaled to zero (an idle color).
func restore(ctx workflow.Context, ref activities.DeploymentRef, before activities.DeploymentState, replicas *int32,
	fallback func() activities.ApplyDeploymentInput) error {
	actx := withShortActivity(ctx)
	switch {
	case before.Exists && len(before.Applied) > 0:
		return workflow.ExecuteActivity(actx, k8s.RestoreDeployment, activities.RestoreDeploymentInput{
			Namespace: ref.Namespace, Name: ref.Name, Applied: before.Applied, Replicas: replicas}).Get(ctx, nil)
	case before.Exists && fallback != nil:
		return workflow.ExecuteActivity(actx, k8s.ApplyDeployment, fallback()).Get(ctx, nil)
	default:
		return workflow.ExecuteActivity(actx, k8s.ScaleDeployment,
			activities.ScaleInput{Namespace: ref.Namespace, Name: ref.Name, Replicas: 0}).Get(ctx, nil)
	}
}

// notLive refuses to go on when the active Service selects color: scaling that color down would leave users
// with no pods. It guards every compensation that scales a color down, because the switch-back before it may
// have failed.
func notLive(ctx workflow.Context, ns, svc, color string) error {
	var active activities.ActiveColorResult
	if err := workflow.ExecuteActivity(withShortActivity(ctx), k8s.ActiveColor,
		activities.ServiceRef{Namespace: ns, Name: svc}).Get(ctx, &active); err != nil {
		return err
	}
	if active.Exists && active.Color == color {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"service %s/%s still selects %s, so %s was left running: point the Service at the other color, then scale it down",
			ns, svc, color, color), ErrCompensationFailed, nil)
	}
	return nil
}

// checkOwner refuses a Service that belongs to another app: a spec must not be able to move another app's
// traffic by naming its Service.
func checkOwner(ns, svc, app string, active activities.ActiveColorResult) error {
	if active.Exists && active.App != "" && active.App != app {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"service %s/%s belongs to app %q, not %q: name another blueGreen.activeService", ns, svc, active.App, app),
			activities.ErrNotOwned, nil)
	}
	return nil
}

func int32p(v int32) *int32 { return &v }
