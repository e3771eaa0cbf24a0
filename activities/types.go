package activities

import (
	"encoding/json"

	"github.com/vektagraf/slipway/internal/render"
	"github.com/vektagraf/slipway/internal/spec"
)

// Labels Slipway puts on the objects it manages, and the name of the app container: render's, repeated here
// for the workflows and tools that read the objects through activities.
const (
	LabelApp       = render.LabelApp
	LabelManagedBy = render.LabelManagedBy
	LabelVersion   = render.LabelVersion
	LabelColor     = render.LabelColor
	ManagedByValue = render.ManagedByValue
	ContainerName  = render.ContainerName
	// FieldManager is the server-side apply field manager of every write Slipway makes.
	FieldManager = "slipway"
)

// VersionEnv is the environment variable that tells the app which release it runs, so it can report its
// version without parsing its image reference.
const VersionEnv = spec.VersionEnv

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

// ApplyDeploymentInput is everything needed to render one Deployment of the app. It has
// render.DeploymentInput's fields, in the same order, so one converts to the other and they cannot drift apart.
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
// Deployment, which has no color label). It has render.ServiceInput's fields, in the same order, so one
// converts to the other.
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

// ServiceRef names a Service. App, when set, makes DeleteService leave alone a Service of another app.
type ServiceRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	App       string `json:"app,omitempty"`
}

// ActiveColorResult is the color a Service selects; Exists is false when there is no such Service yet.
type ActiveColorResult struct {
	Exists bool   `json:"exists"`
	Color  string `json:"color,omitempty"`
	// App is the app the Service belongs to: its LabelApp label, or its selector's LabelApp when it has no such
	// label (a Service created by an older Slipway). It lets a workflow refuse another app's Service before any
	// step; ApplyService and SwitchService refuse it anyway (ErrNotOwned), also when App is "".
	App string `json:"app,omitempty"`
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
	// App, when set, makes DeleteDeployment leave alone a Deployment that is not this app's or not Slipway's.
	App string `json:"app,omitempty"`
}

// DeploymentState is what a rollback needs to know about a color, and what a compensation needs to put a
// Deployment back.
type DeploymentState struct {
	Exists        bool   `json:"exists"`
	Image         string `json:"image,omitempty"`
	Version       string `json:"version,omitempty"`
	Replicas      int32  `json:"replicas"`
	ReadyReplicas int32  `json:"readyReplicas"`
	// Applied is the apply configuration of exactly the fields Slipway's field manager owns
	// (appsv1ac.ExtractDeployment), plus the replica count when a scale took that field over, as JSON, for
	// RestoreDeployment. It is empty when the Deployment does not exist or holds nothing a restore could apply
	// (Slipway never applied it, or another manager owns its app container's image); the workflow then falls
	// back.
	Applied json.RawMessage `json:"applied,omitempty"`
}

// RestoreDeploymentInput puts a Deployment back as a DescribeDeployment snapshot saw it.
type RestoreDeploymentInput struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Applied is DeploymentState.Applied of the same Deployment.
	Applied json.RawMessage `json:"applied"`
	// Replicas, when set, replaces the snapshot's replica count (e.g. 0 to restore an idle color).
	Replicas *int32 `json:"replicas,omitempty"`
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
