package activities

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vektagraf/slipway/internal/spec"
)

func ptr[T any](v T) *T { return &v }

func baseInput() ApplyDeploymentInput {
	return ApplyDeploymentInput{
		Namespace:  "demo-production",
		Name:       "demo-app-green",
		App:        "demo-app",
		Color:      Green,
		Image:      "registry.example/demo-app:1.4.2",
		Version:    "1.4.2",
		Replicas:   3,
		PullPolicy: "IfNotPresent",
		Container: spec.Container{
			Port: 8080,
			Resources: spec.Resources{
				Requests: spec.ResourceList{CPU: "100m", Memory: "128Mi"},
				Limits:   spec.ResourceList{Memory: "256Mi"},
			},
			Probes: spec.Probes{
				Liveness:  &spec.HTTPProbe{Path: "/healthz", PeriodSeconds: 10},
				Readiness: &spec.HTTPProbe{Path: "/ready", InitialDelaySeconds: 2, FailureThreshold: 3},
			},
			SecurityContext: &spec.SecurityContext{
				RunAsNonRoot:             ptr(true),
				RunAsUser:                ptr(int64(10001)),
				ReadOnlyRootFilesystem:   ptr(true),
				AllowPrivilegeEscalation: ptr(false),
				DropCapabilities:         []string{"ALL"},
			},
			Env: []spec.EnvVar{
				{Name: "LOG_LEVEL", Value: "info"},
				{Name: "DB_PASSWORD", SecretRef: &spec.SecretKeyRef{Name: "demo-db", Key: "password"}},
			},
		},
		ProgressDeadline: spec.Duration(90500 * time.Millisecond),
	}
}

// rendered turns the apply configuration into the typed object the API server would store, so assertions read
// like the Deployment a user would `kubectl get`.
func rendered(t *testing.T, in ApplyDeploymentInput) *appsv1.Deployment {
	t.Helper()
	b, err := json.Marshal(RenderDeployment(in))
	require.NoError(t, err)
	var d appsv1.Deployment
	require.NoError(t, json.Unmarshal(b, &d))
	require.Equal(t, "apps/v1", d.APIVersion)
	require.Equal(t, "Deployment", d.Kind)
	return &d
}

func TestRenderDeploymentLabelsAndSelector(t *testing.T) {
	tests := []struct {
		name         string
		mutate       func(*ApplyDeploymentInput)
		wantLabels   map[string]string
		wantSelector map[string]string
	}{
		{
			name: "production color",
			wantLabels: map[string]string{
				LabelApp: "demo-app", LabelManagedBy: ManagedByValue, LabelVersion: "1.4.2", LabelColor: Green,
			},
			wantSelector: map[string]string{LabelApp: "demo-app", LabelColor: Green},
		},
		{
			name:         "staging has no color",
			mutate:       func(in *ApplyDeploymentInput) { in.Color = "" },
			wantLabels:   map[string]string{LabelApp: "demo-app", LabelManagedBy: ManagedByValue, LabelVersion: "1.4.2"},
			wantSelector: map[string]string{LabelApp: "demo-app"},
		},
		{
			name:   "version that is not a label value is left out",
			mutate: func(in *ApplyDeploymentInput) { in.Version = "1.4.2+build/7" },
			wantLabels: map[string]string{
				LabelApp: "demo-app", LabelManagedBy: ManagedByValue, LabelColor: Green,
			},
			wantSelector: map[string]string{LabelApp: "demo-app", LabelColor: Green},
		},
		{
			name:   "git sha version",
			mutate: func(in *ApplyDeploymentInput) { in.Version = "0123456789abcdef0123456789abcdef01234567" },
			wantLabels: map[string]string{
				LabelApp: "demo-app", LabelManagedBy: ManagedByValue, LabelColor: Green,
				LabelVersion: "0123456789abcdef0123456789abcdef01234567",
			},
			wantSelector: map[string]string{LabelApp: "demo-app", LabelColor: Green},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			if tt.mutate != nil {
				tt.mutate(&in)
			}
			d := rendered(t, in)
			require.Equal(t, in.Name, d.Name)
			require.Equal(t, in.Namespace, d.Namespace)
			require.Equal(t, tt.wantLabels, d.Labels)
			require.Equal(t, tt.wantLabels, d.Spec.Template.Labels)
			require.Equal(t, tt.wantSelector, d.Spec.Selector.MatchLabels)
			require.NotContains(t, d.Spec.Selector.MatchLabels, LabelVersion)
			require.Empty(t, d.Spec.Selector.MatchExpressions)
		})
	}
}

func TestRenderDeploymentSpec(t *testing.T) {
	d := rendered(t, baseInput())

	require.Equal(t, ptr(int32(3)), d.Spec.Replicas)
	require.Equal(t, ptr(int32(91)), d.Spec.ProgressDeadlineSeconds, "rounded up")
	require.Equal(t, ptr(int32(5)), d.Spec.RevisionHistoryLimit)
	require.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
	require.Equal(t, ptr(intstr.FromInt32(0)), d.Spec.Strategy.RollingUpdate.MaxUnavailable)
	require.Equal(t, ptr(intstr.FromString("25%")), d.Spec.Strategy.RollingUpdate.MaxSurge)

	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	c := d.Spec.Template.Spec.Containers[0]
	require.Equal(t, ContainerName, c.Name)
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

func TestRenderDeploymentProbes(t *testing.T) {
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
			c := rendered(t, in).Spec.Template.Spec.Containers[0]
			require.Equal(t, tt.liveness, c.LivenessProbe)
			require.Equal(t, tt.readiness, c.ReadinessProbe)
		})
	}
}

func TestRenderDeploymentSecurityContext(t *testing.T) {
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
			require.Equal(t, tt.want, rendered(t, in).Spec.Template.Spec.Containers[0].SecurityContext)
		})
	}
}

func TestRenderDeploymentEnv(t *testing.T) {
	tests := []struct {
		name string
		env  []spec.EnvVar
		want []corev1.EnvVar
	}{
		{
			name: "only the version",
			want: []corev1.EnvVar{{Name: VersionEnv, Value: "1.4.2"}},
		},
		{
			name: "plain and secret",
			env:  baseInput().Container.Env,
			want: []corev1.EnvVar{
				{Name: "LOG_LEVEL", Value: "info"},
				{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "demo-db"}, Key: "password",
				}}},
				{Name: VersionEnv, Value: "1.4.2"},
			},
		},
		{
			name: "a user SLIPWAY_VERSION never duplicates Slipway's",
			env:  []spec.EnvVar{{Name: VersionEnv, Value: "spoofed"}},
			want: []corev1.EnvVar{{Name: VersionEnv, Value: "1.4.2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Container.Env = tt.env
			require.Equal(t, tt.want, rendered(t, in).Spec.Template.Spec.Containers[0].Env)
		})
	}
}

func TestRenderDeploymentOptionalFields(t *testing.T) {
	in := baseInput()
	in.PullPolicy = ""
	in.ProgressDeadline = 0
	in.Container.Resources = spec.Resources{}
	d := rendered(t, in)
	require.Nil(t, d.Spec.ProgressDeadlineSeconds, "left to the API server default")
	c := d.Spec.Template.Spec.Containers[0]
	require.Empty(t, c.ImagePullPolicy)
	require.Empty(t, c.Resources.Requests)
	require.Empty(t, c.Resources.Limits)

	in.ProgressDeadline = spec.Duration(10 * time.Minute)
	require.Equal(t, ptr(int32(600)), rendered(t, in).Spec.ProgressDeadlineSeconds)
}

func TestValidateApplyDeployment(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*ApplyDeploymentInput)
		ok     bool
	}{
		{name: "valid", mutate: func(*ApplyDeploymentInput) {}, ok: true},
		{name: "zero replicas", mutate: func(in *ApplyDeploymentInput) { in.Replicas = 0 }, ok: true},
		{name: "no namespace", mutate: func(in *ApplyDeploymentInput) { in.Namespace = "" }},
		{name: "no name", mutate: func(in *ApplyDeploymentInput) { in.Name = "" }},
		{name: "no app", mutate: func(in *ApplyDeploymentInput) { in.App = "" }},
		{name: "no image", mutate: func(in *ApplyDeploymentInput) { in.Image = "" }},
		{name: "negative replicas", mutate: func(in *ApplyDeploymentInput) { in.Replicas = -1 }},
		{name: "no port", mutate: func(in *ApplyDeploymentInput) { in.Container.Port = 0 }},
		{name: "bad color", mutate: func(in *ApplyDeploymentInput) { in.Color = "not a label" }},
		{name: "bad quantity", mutate: func(in *ApplyDeploymentInput) { in.Container.Resources.Limits.CPU = "lots" }},
		{name: "relative probe path", mutate: func(in *ApplyDeploymentInput) { in.Container.Probes.Liveness.Path = "healthz" }},
		{name: "env without name", mutate: func(in *ApplyDeploymentInput) { in.Container.Env[0].Name = "" }},
		{name: "env twice", mutate: func(in *ApplyDeploymentInput) { in.Container.Env[1].Name = "LOG_LEVEL" }},
		{name: "env SLIPWAY_VERSION", mutate: func(in *ApplyDeploymentInput) { in.Container.Env[0].Name = VersionEnv }},
		{name: "env value and secret", mutate: func(in *ApplyDeploymentInput) { in.Container.Env[1].Value = "x" }},
		{name: "secret without key", mutate: func(in *ApplyDeploymentInput) { in.Container.Env[1].SecretRef.Key = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			tt.mutate(&in)
			err := validateApplyDeployment(in)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, ErrInvalidInput, ErrorType(err))
			requireNonRetryable(t, err)
		})
	}
}
