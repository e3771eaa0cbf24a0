package render_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vektagraf/slipway/internal/render"
	"github.com/vektagraf/slipway/internal/render/rendertest"
	"github.com/vektagraf/slipway/internal/spec"
)

func baseInput() render.DeploymentInput { return rendertest.Input() }

func ptr[T any](v T) *T { return &v }

func TestDeploymentLabelsAndSelector(t *testing.T) {
	tests := []struct {
		name         string
		mutate       func(*render.DeploymentInput)
		wantLabels   map[string]string
		wantSelector map[string]string
	}{
		{
			name: "production color",
			wantLabels: map[string]string{
				render.LabelApp: "demo-app", render.LabelManagedBy: render.ManagedByValue, render.LabelVersion: "1.4.2", render.LabelColor: "green",
			},
			wantSelector: map[string]string{render.LabelApp: "demo-app", render.LabelColor: "green"},
		},
		{
			name:         "staging has no color",
			mutate:       func(in *render.DeploymentInput) { in.Color = "" },
			wantLabels:   map[string]string{render.LabelApp: "demo-app", render.LabelManagedBy: render.ManagedByValue, render.LabelVersion: "1.4.2"},
			wantSelector: map[string]string{render.LabelApp: "demo-app"},
		},
		{
			name:   "version that is not a label value is left out",
			mutate: func(in *render.DeploymentInput) { in.Version = "1.4.2+build/7" },
			wantLabels: map[string]string{
				render.LabelApp: "demo-app", render.LabelManagedBy: render.ManagedByValue, render.LabelColor: "green",
			},
			wantSelector: map[string]string{render.LabelApp: "demo-app", render.LabelColor: "green"},
		},
		{
			name:   "git sha version",
			mutate: func(in *render.DeploymentInput) { in.Version = "0123456789abcdef0123456789abcdef01234567" },
			wantLabels: map[string]string{
				render.LabelApp: "demo-app", render.LabelManagedBy: render.ManagedByValue, render.LabelColor: "green",
				render.LabelVersion: "0123456789abcdef0123456789abcdef01234567",
			},
			wantSelector: map[string]string{render.LabelApp: "demo-app", render.LabelColor: "green"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			if tt.mutate != nil {
				tt.mutate(&in)
			}
			d := render.Deployment(in)
			require.Equal(t, in.Name, d.Name)
			require.Equal(t, in.Namespace, d.Namespace)
			require.Equal(t, tt.wantLabels, d.Labels)
			require.Equal(t, tt.wantLabels, d.Spec.Template.Labels)
			require.Equal(t, tt.wantSelector, d.Spec.Selector.MatchLabels)
			require.NotContains(t, d.Spec.Selector.MatchLabels, render.LabelVersion)
			require.Empty(t, d.Spec.Selector.MatchExpressions)
		})
	}
}

func TestDeploymentSpec(t *testing.T) {
	d := render.Deployment(baseInput())

	require.Equal(t, "apps/v1", d.APIVersion, "a server-side apply names its kind")
	require.Equal(t, "Deployment", d.Kind)

	require.Equal(t, ptr(int32(3)), d.Spec.Replicas)
	require.Equal(t, ptr(int32(91)), d.Spec.ProgressDeadlineSeconds, "rounded up")
	require.Equal(t, ptr(int32(5)), d.Spec.RevisionHistoryLimit)
	require.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
	require.Equal(t, ptr(intstr.FromInt32(0)), d.Spec.Strategy.RollingUpdate.MaxUnavailable)
	require.Equal(t, ptr(intstr.FromString("25%")), d.Spec.Strategy.RollingUpdate.MaxSurge)

	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	c := d.Spec.Template.Spec.Containers[0]
	require.Equal(t, render.ContainerName, c.Name)
	require.Equal(t, "registry.example/demo-app:1.4.2", c.Image)
	require.Equal(t, corev1.PullIfNotPresent, c.ImagePullPolicy)
	require.Equal(t, []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}, c.Ports)
	require.Equal(t, corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("100m"),
			corev1.ResourceMemory: resource.MustParse("128Mi"),
		},
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
	}, c.Resources)
}

func TestDeploymentProbes(t *testing.T) {
	tests := []struct {
		name      string
		probes    spec.Probes
		liveness  *corev1.Probe
		readiness *corev1.Probe
	}{
		{name: "none", probes: spec.Probes{}},
		{
			name: "both, on the named port",
			probes: spec.Probes{
				Liveness:  &spec.HTTPProbe{Path: "/healthz", PeriodSeconds: 10},
				Readiness: &spec.HTTPProbe{Path: "/ready", InitialDelaySeconds: 2, FailureThreshold: 3},
			},
			liveness: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
				PeriodSeconds: 10,
			},
			readiness: &corev1.Probe{
				ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
				InitialDelaySeconds: 2,
				FailureThreshold:    3,
			},
		},
		{
			name:      "readiness only",
			probes:    spec.Probes{Readiness: &spec.HTTPProbe{Path: "/ready"}},
			readiness: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Container.Probes = tt.probes
			c := render.Deployment(in).Spec.Template.Spec.Containers[0]
			require.Equal(t, tt.liveness, c.LivenessProbe)
			require.Equal(t, tt.readiness, c.ReadinessProbe)
		})
	}
}

func TestDeploymentSecurityContext(t *testing.T) {
	tests := []struct {
		name string
		in   *spec.SecurityContext
		want *corev1.SecurityContext
	}{
		{name: "unset", in: nil, want: nil},
		{
			name: "full",
			in:   baseInput().Container.SecurityContext,
			want: &corev1.SecurityContext{
				RunAsNonRoot:             ptr(true),
				RunAsUser:                ptr(int64(10001)),
				ReadOnlyRootFilesystem:   ptr(true),
				AllowPrivilegeEscalation: ptr(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		},
		{
			name: "partial leaves the rest unset",
			in:   &spec.SecurityContext{RunAsNonRoot: ptr(true)},
			want: &corev1.SecurityContext{RunAsNonRoot: ptr(true)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Container.SecurityContext = tt.in
			require.Equal(t, tt.want, render.Deployment(in).Spec.Template.Spec.Containers[0].SecurityContext)
		})
	}
}

func TestDeploymentEnv(t *testing.T) {
	tests := []struct {
		name string
		env  []spec.EnvVar
		want []corev1.EnvVar
	}{
		{
			name: "only the version",
			want: []corev1.EnvVar{{Name: spec.VersionEnv, Value: "1.4.2"}},
		},
		{
			name: "plain and secret",
			env:  baseInput().Container.Env,
			want: []corev1.EnvVar{
				{Name: "LOG_LEVEL", Value: "info"},
				{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "demo-db"}, Key: "password",
				}}},
				{Name: spec.VersionEnv, Value: "1.4.2"},
			},
		},
		{
			name: "a user SLIPWAY_VERSION never duplicates Slipway's",
			env:  []spec.EnvVar{{Name: spec.VersionEnv, Value: "spoofed"}},
			want: []corev1.EnvVar{{Name: spec.VersionEnv, Value: "1.4.2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Container.Env = tt.env
			require.Equal(t, tt.want, render.Deployment(in).Spec.Template.Spec.Containers[0].Env)
		})
	}
}

func TestDeploymentOptionalFields(t *testing.T) {
	in := baseInput()
	in.PullPolicy = ""
	in.ProgressDeadline = 0
	in.Container.Resources = spec.Resources{}
	d := render.Deployment(in)
	require.Nil(t, d.Spec.ProgressDeadlineSeconds, "left to the API server default")
	c := d.Spec.Template.Spec.Containers[0]
	require.Empty(t, c.ImagePullPolicy)
	require.Empty(t, c.Resources.Requests)
	require.Empty(t, c.Resources.Limits)

	in.ProgressDeadline = spec.Duration(10 * time.Minute)
	require.Equal(t, ptr(int32(600)), render.Deployment(in).Spec.ProgressDeadlineSeconds)
}

// TestDeploymentSharesNothing: the rendered object is handed to the compliance rules and to the apply, so
// changing it must change neither the input's spec nor another part of the object.
func TestDeploymentSharesNothing(t *testing.T) {
	in := baseInput()
	d := render.Deployment(in)
	d.Labels["changed"] = "x"
	require.NotContains(t, d.Spec.Template.Labels, "changed")
	require.NotContains(t, d.Spec.Selector.MatchLabels, "changed")

	sc := d.Spec.Template.Spec.Containers[0].SecurityContext
	*sc.RunAsNonRoot, *sc.RunAsUser = false, 0
	sc.Capabilities.Drop[0] = "NET_RAW"
	require.Equal(t, baseInput().Container.SecurityContext, in.Container.SecurityContext)
}
