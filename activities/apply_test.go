package activities

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vektagraf/slipway/internal/render"
	"github.com/vektagraf/slipway/internal/render/rendertest"
	"github.com/vektagraf/slipway/internal/spec"
)

func ptr[T any](v T) *T { return &v }

func baseInput() ApplyDeploymentInput { return ApplyDeploymentInput(rendertest.Input()) }

// TestDeploymentApplyConfig: the apply configuration holds every field of the rendered Deployment and nothing
// a typed object adds on its own, so Slipway's field manager owns exactly what render.Deployment sets.
func TestDeploymentApplyConfig(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*ApplyDeploymentInput)
	}{
		{name: "full", mutate: func(*ApplyDeploymentInput) {}},
		{name: "no resources, probes or security context", mutate: func(in *ApplyDeploymentInput) {
			in.Container.Resources, in.Container.Probes, in.Container.SecurityContext = spec.Resources{}, spec.Probes{}, nil
		}},
		{name: "an empty security context", mutate: func(in *ApplyDeploymentInput) {
			in.Container.SecurityContext = &spec.SecurityContext{}
		}},
		{name: "an empty env value and no version", mutate: func(in *ApplyDeploymentInput) {
			in.Container.Env[0].Value, in.Version = "", ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			tt.mutate(&in)
			want := render.Deployment(render.DeploymentInput(in))
			ac, err := deploymentApplyConfig(want)
			require.NoError(t, err)
			b, err := json.Marshal(ac)
			require.NoError(t, err)

			var got appsv1.Deployment
			require.NoError(t, json.Unmarshal(b, &got))
			require.Equal(t, want, &got, "no field lost")

			var fields struct {
				Status *json.RawMessage `json:"status"`
				Spec   struct {
					Template struct {
						Spec struct {
							Containers []struct {
								Resources       *json.RawMessage `json:"resources"`
								SecurityContext *json.RawMessage `json:"securityContext"`
								Env             []map[string]any `json:"env"`
							} `json:"containers"`
						} `json:"spec"`
					} `json:"template"`
				} `json:"spec"`
			}
			require.NoError(t, json.Unmarshal(b, &fields))
			require.Nil(t, fields.Status, "status is never applied")
			c := fields.Spec.Template.Spec.Containers[0]
			require.Equal(t, in.Container.Resources == spec.Resources{}, c.Resources == nil, "resources only when set")
			require.Equal(t, in.Container.SecurityContext == nil, c.SecurityContext == nil, "a security context when the spec has one")
			for _, e := range c.Env {
				_, secret := e["valueFrom"]
				_, value := e["value"]
				require.True(t, secret != value, "a literal env var names its value, even empty: %v", e)
			}
		})
	}
}

func TestServiceApplyConfig(t *testing.T) {
	want := render.Service(render.ServiceInput{Namespace: ns, Name: "demo-app", App: "demo-app", Color: Blue, Port: 8080})
	ac, err := serviceApplyConfig(want)
	require.NoError(t, err)
	b, err := json.Marshal(ac)
	require.NoError(t, err)
	require.NotContains(t, string(b), `"status"`)

	var got corev1.Service
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, want, &got)
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
