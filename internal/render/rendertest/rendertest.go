// Package rendertest holds the render input that the rendering tests and the apply tests share, so both check
// the same Deployment.
package rendertest

import (
	"time"

	"github.com/vektagraf/slipway/internal/render"
	"github.com/vektagraf/slipway/internal/spec"
)

func ptr[T any](v T) *T { return &v }

// Input is a production Deployment input with every field set: a pinned image, resources, both probes, a
// hardened security context, a literal and a secret env var. Tests change one field at a time.
func Input() render.DeploymentInput {
	return render.DeploymentInput{
		Namespace:  "demo-production",
		Name:       "demo-app-green",
		App:        "demo-app",
		Color:      "green",
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
