package activities

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// workflowActivities are the activity names the workflows call. Renaming one, or exporting a method of an
// activity struct that is not an activity, changes what a worker serves, which this list catches.
var workflowActivities = []string{
	// Kubernetes
	"ApplyDeployment", "RestoreDeployment", "WaitRollout", "ApplyService", "SwitchService", "DeleteService",
	"DeleteDeployment", "ActiveColor", "ScaleDeployment", "DescribeDeployment",
	// Prober
	"SmokeCheck",
	// Registry
	"ResolveImage", "PushImage", "RestoreTags", "MarkRejected", "SignImage", "VerifyImage", "UnsignImage",
	"CheckSigningKeys", "ReadTags",
	// Scanners
	"Scan",
	// Notifications
	"Notify", "UpdateNotification",
	// Analysis (not called by a workflow yet: the monitor stage is next)
	"Measure",
	// Compliance
	"EvaluateCompliance",
}

// recordingRegistry passes every registration on to a real worker, which panics on a method that is not an
// activity or on a name registered twice, and records the names the worker gives them: the method names of a
// struct (the SDK's rule for RegisterActivity), or the name in the options.
type recordingRegistry struct {
	worker.ActivityRegistry
	t     *testing.T
	names []string
}

func (r *recordingRegistry) RegisterActivity(a any) {
	r.ActivityRegistry.RegisterActivity(a)
	r.record(a, "")
}

func (r *recordingRegistry) RegisterActivityWithOptions(a any, o activity.RegisterOptions) {
	r.ActivityRegistry.RegisterActivityWithOptions(a, o)
	r.record(a, o.Name)
}

func (r *recordingRegistry) RegisterDynamicActivity(a any, o activity.DynamicRegisterOptions) {
	r.t.Errorf("Register registered a dynamic activity %T; the workflows call activities by name", a)
	r.ActivityRegistry.RegisterDynamicActivity(a, o)
}

func (r *recordingRegistry) record(a any, name string) {
	typ := reflect.TypeOf(a)
	if typ.Kind() != reflect.Pointer || typ.Elem().Kind() != reflect.Struct {
		r.t.Errorf("Register registered %T; register an activity struct, so each activity is named after its method", a)
		r.names = append(r.names, name)
		return
	}
	for m := range typ.Methods() { // exported methods only
		r.names = append(r.names, name+m.Name)
	}
}

// TestRegisterNamesEveryActivityOnce registers a Set on a real worker (a lazy client: no server is dialled),
// with aliasing disabled as worker/main.go does, and checks the names registered are exactly the ones the
// workflows call. A Set of nil structs registers them all too.
func TestRegisterNamesEveryActivityOnce(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{})
	require.NoError(t, err)
	t.Cleanup(c.Close)

	for _, set := range []Set{{}, {Kubernetes: &Kubernetes{}, Prober: &Prober{}, Registry: &Registry{}, Scanners: &Scanners{},
		Notifications: &Notifications{}, Compliance: &Compliance{}, Analysis: &Analysis{}}} {
		w := worker.New(c, "register-test", worker.Options{DisableRegistrationAliasing: true})
		r := &recordingRegistry{ActivityRegistry: w, t: t}
		Register(r, set)
		require.ElementsMatch(t, workflowActivities, r.names)
		require.Len(t, slices.Compact(slices.Sorted(slices.Values(r.names))), len(workflowActivities), "no name twice")
	}
}
