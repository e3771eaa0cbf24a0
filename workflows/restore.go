package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
)

// describe reads a Deployment before a step changes it: the snapshot its compensation restores.
func describe(ctx workflow.Context, ref activities.DeploymentRef) (activities.DeploymentState, error) {
	var st activities.DeploymentState
	err := workflow.ExecuteActivity(withShortActivity(ctx), k8s.DescribeDeployment, ref).Get(ctx, &st)
	return st, err
}

// restore puts a Deployment back as the snapshot says it was: the fields Slipway had applied (with replicas
// overridden when replicas is set). A Deployment that did not exist is deleted when deleteNew is set (an idle
// color: a later rollback must not find the rejected build there), else scaled to zero. A snapshot of a
// Deployment Slipway never applied has no fields to restore; fallback, when given, then says what to apply
// instead (nil means nothing can be restored), else it is scaled to zero.
func restore(ctx workflow.Context, ref activities.DeploymentRef, before activities.DeploymentState, replicas *int32,
	deleteNew bool, fallback func() *activities.ApplyDeploymentInput) error {
	actx := withShortActivity(ctx)
	switch {
	case before.Exists && len(before.Applied) > 0:
		return workflow.ExecuteActivity(actx, k8s.RestoreDeployment, activities.RestoreDeploymentInput{
			Namespace: ref.Namespace, Name: ref.Name, Applied: before.Applied, Replicas: replicas}).Get(ctx, nil)
	case before.Exists && fallback != nil:
		in := fallback()
		if in == nil {
			return nil
		}
		return workflow.ExecuteActivity(actx, k8s.ApplyDeployment, *in).Get(ctx, nil)
	case !before.Exists && deleteNew:
		return workflow.ExecuteActivity(actx, k8s.DeleteDeployment, ref).Get(ctx, nil)
	default:
		return workflow.ExecuteActivity(actx, k8s.ScaleDeployment,
			activities.ScaleInput{Namespace: ref.Namespace, Name: ref.Name, Replicas: 0}).Get(ctx, nil)
	}
}

// refused says whether err is the API server (or the activity) refusing a write outright, in which case the
// write did not happen and there is nothing to undo.
func refused(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

// notLive refuses to go on when the active Service selects color: scaling that color down would leave users
// with no pods. It guards every compensation that scales a color down, because the switch-back before it may
// have failed.
func notLive(ctx workflow.Context, ns, svc, app, color string) error {
	var active activities.ActiveColorResult
	if err := workflow.ExecuteActivity(withShortActivity(ctx), k8s.ActiveColor,
		activities.ServiceRef{Namespace: ns, Name: svc}).Get(ctx, &active); err != nil {
		return err
	}
	// Another app's Service (see checkOwner) does not make our color live.
	if active.Exists && active.Color == color && (active.App == "" || active.App == app) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"service %s/%s still selects %s, so %s was left running: point the Service at the other color, then scale it down",
			ns, svc, color, color), releaseapi.ErrCompensationFailed, nil)
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
