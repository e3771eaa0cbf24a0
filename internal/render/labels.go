package render

// Labels Slipway puts on the objects it manages. Selectors use LabelApp and LabelColor only, so a Service
// switches between colors by changing one label value.
const (
	LabelApp       = "app.kubernetes.io/name"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelVersion   = "app.kubernetes.io/version"
	LabelColor     = "slipway.dev/color"
	ManagedByValue = "slipway"
)

// ContainerName names the app container in every Deployment Slipway renders, so the activities find it among
// the containers other tools inject (a service mesh's proxy).
const ContainerName = "app"

// portName names the container port and the Service port, so probes and Services follow a port change
// without being rendered again.
const portName = "http"

// selectorLabels are the labels a Deployment selector and a Service selector share; they never include the
// version because a Deployment selector is immutable.
func selectorLabels(app, color string) map[string]string {
	m := map[string]string{LabelApp: app}
	if color != "" {
		m[LabelColor] = color
	}
	return m
}
