package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
)

// stagingDeploy rolls the new version out to staging: one Deployment and one Service, both named after the app.
// Its compensation puts back the Deployment Slipway had applied before and waits for it (or scales a first
// deployment to zero).
func (r *release) stagingDeploy(ctx workflow.Context) (string, error) {
	if err := r.verifySignature(ctx); err != nil {
		return "", err
	}
	s := r.in.Spec
	env := s.Environments.Staging
	ref := activities.DeploymentRef{Namespace: env.Namespace, Name: s.App.Name}
	actx := withShortActivity(ctx)

	before, err := describe(ctx, ref)
	if err != nil {
		return "", err
	}
	applied := true // until the API server is known to have refused the apply
	r.saga.add(releaseapi.StageStagingDeploy, "restore-staging", func(c workflow.Context) error {
		if !applied {
			return nil
		}
		err := restore(c, ref, before, nil, false, func() *activities.ApplyDeploymentInput {
			if before.Image == "" {
				return nil // not a Deployment Slipway can render: nothing to put back
			}
			in := r.deploymentInput(env.Namespace, ref.Name, "", before.Image, before.Version, before.Replicas)
			return &in
		})
		if err != nil || !before.Exists {
			return err
		}
		// Staging is only back when its previous version runs again.
		return workflow.ExecuteActivity(withRolloutWait(c, s.BlueGreen.ProgressDeadline.D()), k8s.WaitRollout,
			activities.WaitRolloutInput{Namespace: ref.Namespace, Name: ref.Name}).Get(c, nil)
	})

	in := r.deploymentInput(env.Namespace, ref.Name, "", r.image, r.in.Version, env.Replicas)
	if err := workflow.ExecuteActivity(actx, k8s.ApplyDeployment, in).Get(ctx, nil); err != nil {
		applied = !refused(err)
		return "", err
	}
	svc := activities.ApplyServiceInput{Namespace: env.Namespace, Name: s.App.Name, App: s.App.Name, Port: s.Container.Port}
	if err := workflow.ExecuteActivity(actx, k8s.ApplyService, svc).Get(ctx, nil); err != nil {
		return "", err
	}
	var rollout activities.RolloutResult
	wctx := withRolloutWait(ctx, s.BlueGreen.ProgressDeadline.D())
	if err := workflow.ExecuteActivity(wctx, k8s.WaitRollout,
		activities.WaitRolloutInput{Namespace: ref.Namespace, Name: ref.Name}).Get(ctx, &rollout); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%s runs %s (%d/%d available)", ref.Namespace, ref.Name, r.image,
		rollout.AvailableReplicas, rollout.Replicas), nil
}

// stagingSmoke runs the smoke checks through the staging Service.
func (r *release) stagingSmoke(ctx workflow.Context) (string, error) {
	s := r.in.Spec
	return r.smoke(ctx, s.Environments.Staging.Namespace, s.App.Name, s.Smoke.Checks)
}

// deploymentInput renders the activity input for one Deployment of this release's app.
func (r *release) deploymentInput(ns, name, color, image, version string, replicas int32) activities.ApplyDeploymentInput {
	s := r.in.Spec
	return activities.ApplyDeploymentInput{
		Namespace: ns, Name: name, App: s.App.Name, Color: color,
		Image: image, Version: version, Replicas: replicas, PullPolicy: s.Image.PullPolicy,
		Container: s.Container, ProgressDeadline: s.BlueGreen.ProgressDeadline,
	}
}
