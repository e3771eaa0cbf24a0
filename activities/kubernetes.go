package activities

import (
	"context"
	"errors"

	"k8s.io/client-go/kubernetes"
)

// Kubernetes holds the cluster client the Kubernetes activities share; it is registered once with the worker
// and called from workflows through a nil *Kubernetes.
type Kubernetes struct {
	Client kubernetes.Interface
}

var errTODO = errors.New("not implemented yet")

// ApplyDeployment server-side applies one Deployment of the app.
func (k *Kubernetes) ApplyDeployment(ctx context.Context, in ApplyDeploymentInput) (ApplyDeploymentResult, error) {
	return ApplyDeploymentResult{}, errTODO
}

// WaitRollout blocks until the Deployment's rollout completes or its progress deadline passes.
func (k *Kubernetes) WaitRollout(ctx context.Context, in WaitRolloutInput) (RolloutResult, error) {
	return RolloutResult{}, errTODO
}

// ApplyService server-side applies a Service selecting one color.
func (k *Kubernetes) ApplyService(ctx context.Context, in ApplyServiceInput) (ApplyServiceResult, error) {
	return ApplyServiceResult{}, errTODO
}

// SwitchService moves a Service's selector to a color, only when it differs.
func (k *Kubernetes) SwitchService(ctx context.Context, in SwitchServiceInput) (SwitchServiceResult, error) {
	return SwitchServiceResult{}, errTODO
}

// DeleteService removes a Service Slipway created.
func (k *Kubernetes) DeleteService(ctx context.Context, in ServiceRef) error { return errTODO }

// ActiveColor reads the color a Service selects.
func (k *Kubernetes) ActiveColor(ctx context.Context, in ServiceRef) (ActiveColorResult, error) {
	return ActiveColorResult{}, errTODO
}

// ScaleDeployment sets a Deployment's replicas, only when they differ.
func (k *Kubernetes) ScaleDeployment(ctx context.Context, in ScaleInput) (ScaleResult, error) {
	return ScaleResult{}, errTODO
}

// DescribeDeployment reads the image and replica counts of a Deployment.
func (k *Kubernetes) DescribeDeployment(ctx context.Context, in DeploymentRef) (DeploymentState, error) {
	return DeploymentState{}, errTODO
}
