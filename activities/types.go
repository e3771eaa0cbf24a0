package activities

import "github.com/vektagraf/slipway/internal/spec"

// Labels Slipway puts on the objects it manages. Selectors use LabelApp and LabelColor only, so a Service
// switches between colors by changing one label value.
const (
	LabelApp       = "app.kubernetes.io/name"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelVersion   = "app.kubernetes.io/version"
	LabelColor     = "slipway.dev/color"
	ManagedByValue = "slipway"
	// FieldManager is the server-side apply field manager of every write Slipway makes.
	FieldManager = "slipway"
	// ContainerName is the name of the app container in every Deployment Slipway renders.
	ContainerName = "app"
)

// Colors of the two production Deployments.
const (
	Blue  = "blue"
	Green = "green"
)

// OtherColor returns the color that is not c ("" and unknown values give Blue).
func OtherColor(c string) string {
	if c == Blue {
		return Green
	}
	return Blue
}

// ApplyDeploymentInput is everything needed to render one Deployment of the app.
type ApplyDeploymentInput struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	App       string `json:"app"`
	// Color is "blue" or "green" in production, "" for the single staging Deployment.
	Color            string         `json:"color,omitempty"`
	Image            string         `json:"image"`
	Version          string         `json:"version"`
	Replicas         int32          `json:"replicas"`
	PullPolicy       string         `json:"pullPolicy,omitempty"`
	Container        spec.Container `json:"container"`
	ProgressDeadline spec.Duration  `json:"progressDeadline"`
}

// ApplyDeploymentResult says what was there before, so a compensation can put it back.
type ApplyDeploymentResult struct {
	Created          bool   `json:"created"`
	PreviousImage    string `json:"previousImage,omitempty"`
	PreviousVersion  string `json:"previousVersion,omitempty"`
	PreviousReplicas int32  `json:"previousReplicas"`
	Generation       int64  `json:"generation"`
	Changed          bool   `json:"changed"`
}

// WaitRolloutInput names the Deployment whose rollout to wait for.
type WaitRolloutInput struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// RolloutResult is the Deployment's state when the rollout finished.
type RolloutResult struct {
	Replicas          int32 `json:"replicas"`
	AvailableReplicas int32 `json:"availableReplicas"`
}

// ApplyServiceInput renders a Service selecting one color of the app (Color "" selects the staging
// Deployment, which has no color label).
type ApplyServiceInput struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	App       string `json:"app"`
	Color     string `json:"color,omitempty"`
	Port      int32  `json:"port"`
}

// ApplyServiceResult says whether the Service was new and which color it selected before.
type ApplyServiceResult struct {
	Created       bool   `json:"created"`
	PreviousColor string `json:"previousColor,omitempty"`
}

// SwitchServiceInput moves a Service's selector to a color.
type SwitchServiceInput struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	App       string `json:"app"`
	Color     string `json:"color"`
}

// SwitchServiceResult reports the color before the switch and whether a patch was sent.
type SwitchServiceResult struct {
	PreviousColor string `json:"previousColor,omitempty"`
	Changed       bool   `json:"changed"`
}

// ServiceRef names a Service.
type ServiceRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// ActiveColorResult is the color a Service selects; Exists is false when there is no such Service yet.
type ActiveColorResult struct {
	Exists bool   `json:"exists"`
	Color  string `json:"color,omitempty"`
}

// ScaleInput sets a Deployment's replica count.
type ScaleInput struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Replicas  int32  `json:"replicas"`
}

// ScaleResult reports the replica count before and whether a patch was sent.
type ScaleResult struct {
	Previous int32 `json:"previous"`
	Changed  bool  `json:"changed"`
}

// DeploymentRef names a Deployment.
type DeploymentRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// DeploymentState is what a rollback needs to know about a color.
type DeploymentState struct {
	Exists        bool   `json:"exists"`
	Image         string `json:"image,omitempty"`
	Version       string `json:"version,omitempty"`
	Replicas      int32  `json:"replicas"`
	ReadyReplicas int32  `json:"readyReplicas"`
}

// SmokeCheckInput runs HTTP checks through a Service.
type SmokeCheckInput struct {
	Namespace string        `json:"namespace"`
	Service   string        `json:"service"`
	Port      int32         `json:"port"`
	Checks    []spec.Check  `json:"checks"`
	Attempts  int           `json:"attempts"`
	Interval  spec.Duration `json:"interval"`
	Timeout   spec.Duration `json:"timeout"`
}

// SmokeCheckResult is the passing attempt's evidence.
type SmokeCheckResult struct {
	Attempts int           `json:"attempts"`
	Results  []CheckResult `json:"results"`
}

// CheckResult is one check's outcome; Body is cut to a few hundred bytes so history stays small.
type CheckResult struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"`
	Error  string `json:"error,omitempty"`
	OK     bool   `json:"ok"`
}
