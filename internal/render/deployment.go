package render

import (
	"maps"
	"math"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/vektagraf/slipway/internal/spec"
)

// revisionHistoryLimit keeps a few old ReplicaSets for `kubectl rollout undo`; Slipway's own rollbacks switch
// colors instead, so a long history only costs etcd space.
const revisionHistoryLimit = 5

// DeploymentInput is everything one Deployment of the app is rendered from, so the release's Deployments, the
// compliance activity and the starter's local compliance check all render from the same few values.
// activities.ApplyDeploymentInput has the same fields and converts to it.
type DeploymentInput struct {
	Namespace string
	Name      string
	App       string
	// Color is "blue" or "green" in production, "" for the single staging Deployment.
	Color            string
	Image            string
	Version          string
	Replicas         int32
	PullPolicy       string
	Container        spec.Container
	ProgressDeadline spec.Duration
}

// Deployment renders one Deployment of the app exactly as Slipway applies it, so what a release sends to the
// cluster can be tested, diffed and judged without a cluster. It quietly leaves out what would not parse (an
// invalid label value, a bad quantity): ApplyDeployment refuses such an input before rendering it.
//
// The rollout strategy is maxUnavailable 0 / maxSurge 25%: capacity never drops below the desired count, and
// the surge rounds up, so a one-replica staging Deployment surges by one pod while a large production color
// rolls several pods at a time instead of one by one.
func Deployment(in DeploymentInput) *appsv1.Deployment {
	labels := deploymentLabels(in)
	container := corev1.Container{
		Name:  ContainerName,
		Image: in.Image,
		Ports: []corev1.ContainerPort{{
			Name:          portName,
			ContainerPort: in.Container.Port,
			// The ports list is keyed by containerPort and protocol; apply needs both keys present.
			Protocol: corev1.ProtocolTCP,
		}},
		Env:             env(in),
		ImagePullPolicy: corev1.PullPolicy(in.PullPolicy),
		Resources:       resources(in.Container.Resources),
		LivenessProbe:   probe(in.Container.Probes.Liveness),
		ReadinessProbe:  probe(in.Container.Probes.Readiness),
		SecurityContext: securityContext(in.Container.SecurityContext),
	}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas:             ptr(in.Replicas),
			RevisionHistoryLimit: ptr(int32(revisionHistoryLimit)),
			Selector:             &metav1.LabelSelector{MatchLabels: selectorLabels(in.App, in.Color)},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr(intstr.FromInt32(0)),
					MaxSurge:       ptr(intstr.FromString("25%")),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels)},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{container}},
			},
		},
	}
	if s := progressDeadlineSeconds(in.ProgressDeadline); s > 0 {
		d.Spec.ProgressDeadlineSeconds = &s
	}
	return d
}

func deploymentLabels(in DeploymentInput) map[string]string {
	m := selectorLabels(in.App, in.Color)
	m[LabelManagedBy] = ManagedByValue
	if in.Version != "" && len(validation.IsValidLabelValue(in.Version)) == 0 {
		m[LabelVersion] = in.Version
	}
	return m
}

func env(in DeploymentInput) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(in.Container.Env)+1)
	for _, e := range in.Container.Env {
		if e.Name == spec.VersionEnv {
			continue // Slipway owns it; a duplicate key would make the apply fail.
		}
		v := corev1.EnvVar{Name: e.Name}
		if e.SecretRef != nil {
			v.ValueFrom = &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: e.SecretRef.Name},
				Key:                  e.SecretRef.Key,
			}}
		} else {
			v.Value = e.Value
		}
		out = append(out, v)
	}
	return append(out, corev1.EnvVar{Name: spec.VersionEnv, Value: in.Version})
}

func resources(r spec.Resources) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: resourceList(r.Requests), Limits: resourceList(r.Limits)}
}

func resourceList(l spec.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	if q, err := resource.ParseQuantity(l.CPU); l.CPU != "" && err == nil {
		out[corev1.ResourceCPU] = q
	}
	if q, err := resource.ParseQuantity(l.Memory); l.Memory != "" && err == nil {
		out[corev1.ResourceMemory] = q
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func probe(p *spec.HTTPProbe) *corev1.Probe {
	if p == nil {
		return nil
	}
	out := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: p.Path,
		Port: intstr.FromString(portName),
	}}}
	// Zero and negative values are left to the API server's defaults.
	out.InitialDelaySeconds = max(p.InitialDelaySeconds, 0)
	out.PeriodSeconds = max(p.PeriodSeconds, 0)
	out.FailureThreshold = max(p.FailureThreshold, 0)
	return out
}

// securityContext copies the spec's values instead of sharing its pointers, so changing the rendered
// Deployment never changes the spec.
func securityContext(s *spec.SecurityContext) *corev1.SecurityContext {
	if s == nil {
		return nil
	}
	sc := &corev1.SecurityContext{
		RunAsNonRoot:             copyOf(s.RunAsNonRoot),
		RunAsUser:                copyOf(s.RunAsUser),
		ReadOnlyRootFilesystem:   copyOf(s.ReadOnlyRootFilesystem),
		AllowPrivilegeEscalation: copyOf(s.AllowPrivilegeEscalation),
	}
	if len(s.DropCapabilities) > 0 {
		drop := make([]corev1.Capability, 0, len(s.DropCapabilities))
		for _, c := range s.DropCapabilities {
			drop = append(drop, corev1.Capability(c))
		}
		sc.Capabilities = &corev1.Capabilities{Drop: drop}
	}
	return sc
}

// progressDeadlineSeconds rounds up, so a deadline of 90.5s never becomes shorter than asked; 0 leaves the
// field to the API server's default (600s).
func progressDeadlineSeconds(d spec.Duration) int32 {
	if d <= 0 {
		return 0
	}
	s := math.Ceil(d.D().Seconds())
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(s)
}

func ptr[T any](v T) *T { return &v }

func copyOf[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return ptr(*p)
}
