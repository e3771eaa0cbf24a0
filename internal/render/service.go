package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ServiceInput is what a Service of the app is rendered from; activities.ApplyServiceInput has the same fields
// and converts to it.
type ServiceInput struct {
	Namespace string
	Name      string
	App       string
	// Color is the color the Service selects; "" selects the staging Deployment, which has no color label.
	Color string
	Port  int32
}

// Service renders a ClusterIP Service of the app exactly as Slipway applies it, so the Service and the
// Deployments it selects share one definition of the selector labels and the port name. Its target port is
// the container port's name, so a port change in the spec moves the Service with the Deployment.
func Service(in ServiceInput) *corev1.Service {
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      in.Name,
			Namespace: in.Namespace,
			Labels:    map[string]string{LabelApp: in.App, LabelManagedBy: ManagedByValue},
		},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: selectorLabels(in.App, in.Color),
			Ports: []corev1.ServicePort{{
				Name: portName,
				Port: in.Port,
				// The ports list is keyed by port and protocol; apply needs both keys present.
				Protocol:   corev1.ProtocolTCP,
				TargetPort: intstr.FromString(portName),
			}},
		},
	}
}
