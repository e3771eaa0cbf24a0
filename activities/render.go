package activities

import (
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/vektagraf/slipway/internal/spec"
)

// VersionEnv is the environment variable that tells the app which release it runs, so it can report its
// version without parsing its image reference.
const VersionEnv = spec.VersionEnv

// portName names the container port and the Service port, so probes and Services follow a port change
// without being rendered again.
const portName = "http"

// revisionHistoryLimit keeps a few old ReplicaSets for `kubectl rollout undo`; Slipway's own rollbacks switch
// colors instead, so a long history only costs etcd space.
const revisionHistoryLimit = 5

// RenderDeployment builds the apply configuration of one Deployment of the app. It is pure, so what Slipway
// sends to the cluster can be tested (and diffed) without a cluster; ApplyDeployment validates the input first,
// and RenderDeployment quietly leaves out what would not parse (an invalid label value, a bad quantity).
//
// The rollout strategy is maxUnavailable 0 / maxSurge 25%: capacity never drops below the desired count, and
// the surge rounds up, so a one-replica staging Deployment surges by one pod while a large production color
// rolls several pods at a time instead of one by one.
func RenderDeployment(in ApplyDeploymentInput) *appsv1ac.DeploymentApplyConfiguration {
	labels := deploymentLabels(in)
	selector := selectorLabels(in.App, in.Color)

	container := corev1ac.Container().
		WithName(ContainerName).
		WithImage(in.Image).
		WithPorts(corev1ac.ContainerPort().
			WithName(portName).
			WithContainerPort(in.Container.Port).
			// The ports list is keyed by containerPort and protocol; apply needs both keys present.
			WithProtocol(corev1.ProtocolTCP)).
		WithEnv(renderEnv(in)...)
	if in.PullPolicy != "" {
		container.WithImagePullPolicy(corev1.PullPolicy(in.PullPolicy))
	}
	if res := renderResources(in.Container.Resources); res != nil {
		container.WithResources(res)
	}
	if p := renderProbe(in.Container.Probes.Liveness); p != nil {
		container.WithLivenessProbe(p)
	}
	if p := renderProbe(in.Container.Probes.Readiness); p != nil {
		container.WithReadinessProbe(p)
	}
	if sc := renderSecurityContext(in.Container.SecurityContext); sc != nil {
		container.WithSecurityContext(sc)
	}

	deploymentSpec := appsv1ac.DeploymentSpec().
		WithReplicas(in.Replicas).
		WithRevisionHistoryLimit(revisionHistoryLimit).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector)).
		WithStrategy(appsv1ac.DeploymentStrategy().
			WithType("RollingUpdate").
			WithRollingUpdate(appsv1ac.RollingUpdateDeployment().
				WithMaxUnavailable(intstr.FromInt32(0)).
				WithMaxSurge(intstr.FromString("25%")))).
		WithTemplate(corev1ac.PodTemplateSpec().
			WithLabels(labels).
			WithSpec(corev1ac.PodSpec().WithContainers(container)))
	if s := progressDeadlineSeconds(in.ProgressDeadline); s > 0 {
		deploymentSpec.WithProgressDeadlineSeconds(s)
	}

	return appsv1ac.Deployment(in.Name, in.Namespace).
		WithLabels(labels).
		WithSpec(deploymentSpec)
}

// selectorLabels are the labels a Deployment selector and a Service selector share; they never include the
// version because a Deployment selector is immutable.
func selectorLabels(app, color string) map[string]string {
	m := map[string]string{LabelApp: app}
	if color != "" {
		m[LabelColor] = color
	}
	return m
}

func deploymentLabels(in ApplyDeploymentInput) map[string]string {
	m := selectorLabels(in.App, in.Color)
	m[LabelManagedBy] = ManagedByValue
	if in.Version != "" && len(validation.IsValidLabelValue(in.Version)) == 0 {
		m[LabelVersion] = in.Version
	}
	return m
}

func renderEnv(in ApplyDeploymentInput) []*corev1ac.EnvVarApplyConfiguration {
	env := make([]*corev1ac.EnvVarApplyConfiguration, 0, len(in.Container.Env)+1)
	for _, e := range in.Container.Env {
		if e.Name == VersionEnv {
			continue // Slipway owns it; a duplicate key would make the apply fail.
		}
		v := corev1ac.EnvVar().WithName(e.Name)
		if e.SecretRef != nil {
			v.WithValueFrom(corev1ac.EnvVarSource().WithSecretKeyRef(
				corev1ac.SecretKeySelector().WithName(e.SecretRef.Name).WithKey(e.SecretRef.Key)))
		} else {
			v.WithValue(e.Value)
		}
		env = append(env, v)
	}
	return append(env, corev1ac.EnvVar().WithName(VersionEnv).WithValue(in.Version))
}

func renderResources(r spec.Resources) *corev1ac.ResourceRequirementsApplyConfiguration {
	requests, limits := resourceList(r.Requests), resourceList(r.Limits)
	if requests == nil && limits == nil {
		return nil
	}
	res := corev1ac.ResourceRequirements()
	if requests != nil {
		res.WithRequests(requests)
	}
	if limits != nil {
		res.WithLimits(limits)
	}
	return res
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

func renderProbe(p *spec.HTTPProbe) *corev1ac.ProbeApplyConfiguration {
	if p == nil {
		return nil
	}
	probe := corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().
		WithPath(p.Path).
		WithPort(intstr.FromString(portName)))
	if p.InitialDelaySeconds > 0 {
		probe.WithInitialDelaySeconds(p.InitialDelaySeconds)
	}
	if p.PeriodSeconds > 0 {
		probe.WithPeriodSeconds(p.PeriodSeconds)
	}
	if p.FailureThreshold > 0 {
		probe.WithFailureThreshold(p.FailureThreshold)
	}
	return probe
}

func renderSecurityContext(s *spec.SecurityContext) *corev1ac.SecurityContextApplyConfiguration {
	if s == nil {
		return nil
	}
	sc := corev1ac.SecurityContext()
	if s.RunAsNonRoot != nil {
		sc.WithRunAsNonRoot(*s.RunAsNonRoot)
	}
	if s.RunAsUser != nil {
		sc.WithRunAsUser(*s.RunAsUser)
	}
	if s.ReadOnlyRootFilesystem != nil {
		sc.WithReadOnlyRootFilesystem(*s.ReadOnlyRootFilesystem)
	}
	if s.AllowPrivilegeEscalation != nil {
		sc.WithAllowPrivilegeEscalation(*s.AllowPrivilegeEscalation)
	}
	if len(s.DropCapabilities) > 0 {
		caps := make([]corev1.Capability, 0, len(s.DropCapabilities))
		for _, c := range s.DropCapabilities {
			caps = append(caps, corev1.Capability(c))
		}
		sc.WithCapabilities(corev1ac.Capabilities().WithDrop(caps...))
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

// validateApplyDeployment refuses inputs the API server would refuse anyway, or worse accept with a meaning
// nobody intended, before any write.
func validateApplyDeployment(in ApplyDeploymentInput) error {
	switch {
	case in.Namespace == "":
		return invalidInput("apply deployment: namespace is empty")
	case in.Name == "":
		return invalidInput("apply deployment %s: name is empty", in.Namespace)
	case in.App == "":
		return invalidInput("apply deployment %s/%s: app is empty", in.Namespace, in.Name)
	case in.Image == "":
		return invalidInput("apply deployment %s/%s: image is empty", in.Namespace, in.Name)
	case in.Replicas < 0:
		return invalidInput("apply deployment %s/%s: replicas %d is negative", in.Namespace, in.Name, in.Replicas)
	case in.Container.Port < 1 || in.Container.Port > 65535:
		return invalidInput("apply deployment %s/%s: container port %d is not in 1-65535", in.Namespace, in.Name,
			in.Container.Port)
	}
	where := in.Namespace + "/" + in.Name
	for _, v := range []struct{ what, value string }{{"app", in.App}, {"color", in.Color}} {
		if errs := validation.IsValidLabelValue(v.value); len(errs) > 0 {
			return invalidInput("apply deployment %s: %s %q is not a valid label value: %s", where, v.what, v.value,
				strings.Join(errs, "; "))
		}
	}
	for _, q := range []struct{ what, value string }{
		{"requests.cpu", in.Container.Resources.Requests.CPU},
		{"requests.memory", in.Container.Resources.Requests.Memory},
		{"limits.cpu", in.Container.Resources.Limits.CPU},
		{"limits.memory", in.Container.Resources.Limits.Memory},
	} {
		if q.value == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q.value); err != nil {
			return invalidInput("apply deployment %s: resources.%s %q: %v", where, q.what, q.value, err)
		}
	}
	for name, p := range map[string]*spec.HTTPProbe{
		"liveness": in.Container.Probes.Liveness, "readiness": in.Container.Probes.Readiness,
	} {
		if p != nil && !strings.HasPrefix(p.Path, "/") {
			return invalidInput("apply deployment %s: %s probe path %q must start with /", where, name, p.Path)
		}
	}
	seen := map[string]bool{}
	for _, e := range in.Container.Env {
		switch {
		case e.Name == "":
			return invalidInput("apply deployment %s: an env var has no name", where)
		case e.Name == VersionEnv:
			return invalidInput("apply deployment %s: env %s is set by Slipway", where, VersionEnv)
		case seen[e.Name]:
			return invalidInput("apply deployment %s: env %s is set twice", where, e.Name)
		case e.SecretRef != nil && e.Value != "":
			return invalidInput("apply deployment %s: env %s has both a value and a secretRef", where, e.Name)
		case e.SecretRef != nil && (e.SecretRef.Name == "" || e.SecretRef.Key == ""):
			return invalidInput("apply deployment %s: env %s: secretRef needs a name and a key", where, e.Name)
		}
		seen[e.Name] = true
	}
	return nil
}
