package render_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vektagraf/slipway/internal/render"
)

func TestService(t *testing.T) {
	tests := []struct {
		name         string
		color        string
		wantSelector map[string]string
	}{
		{name: "a production color", color: "blue", wantSelector: map[string]string{render.LabelApp: "demo-app", render.LabelColor: "blue"}},
		{name: "staging has no color", wantSelector: map[string]string{render.LabelApp: "demo-app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := render.Service(render.ServiceInput{Namespace: "demo-production", Name: "demo-app", App: "demo-app", Color: tt.color, Port: 8080})
			require.Equal(t, "v1", svc.APIVersion)
			require.Equal(t, "Service", svc.Kind)
			require.Equal(t, "demo-production", svc.Namespace)
			require.Equal(t, "demo-app", svc.Name)
			require.Equal(t, map[string]string{render.LabelApp: "demo-app", render.LabelManagedBy: render.ManagedByValue}, svc.Labels)
			require.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
			require.Equal(t, tt.wantSelector, svc.Spec.Selector)
			require.Equal(t, []corev1.ServicePort{{
				Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http"),
			}}, svc.Spec.Ports)
		})
	}
}

// TestServiceSelectsTheDeployment: a render.Service of a color selects exactly that color's render.Deployment's pods, on
// the port the container names.
func TestServiceSelectsTheDeployment(t *testing.T) {
	d := render.Deployment(baseInput())
	svc := render.Service(render.ServiceInput{Namespace: d.Namespace, Name: "demo-app", App: "demo-app", Color: "green", Port: 80})
	require.Equal(t, d.Spec.Selector.MatchLabels, svc.Spec.Selector)
	for k, v := range svc.Spec.Selector {
		require.Equal(t, v, d.Spec.Template.Labels[k])
	}
	require.Equal(t, d.Spec.Template.Spec.Containers[0].Ports[0].Name, svc.Spec.Ports[0].TargetPort.StrVal)
}
