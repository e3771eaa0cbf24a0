package activities

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/vektagraf/slipway/internal/spec"
)

const ns = "demo-production"

// requireNonRetryable checks err is an ApplicationError Temporal will not retry.
func requireNonRetryable(t *testing.T, err error) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %T: %v", err, err)
	require.True(t, appErr.NonRetryable(), "want non-retryable: %v", err)
}

// requireRetryable checks Temporal would retry err: either a plain error or a retryable ApplicationError.
func requireRetryable(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		require.False(t, appErr.NonRetryable(), "want retryable: %v", err)
	}
}

func newK8s(objects ...runtime.Object) (*Kubernetes, *fake.Clientset) {
	cs := fake.NewClientset(objects...)
	return &Kubernetes{Client: cs, RetryDelay: time.Millisecond}, cs
}

func writes(cs *fake.Clientset) []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range cs.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a)
		}
	}
	return out
}

func deployment(name string, replicas int32, image string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, Generation: 1,
			Labels: map[string]string{LabelApp: "demo-app", LabelVersion: "1.4.1"},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "istio-proxy", Image: "istio/proxyv2"},
				{Name: ContainerName, Image: image},
			}}},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: replicas, ReadyReplicas: replicas,
			AvailableReplicas: replicas, UpdatedReplicas: replicas},
	}
}

func service(name, color string) *corev1.Service {
	sel := map[string]string{LabelApp: "demo-app"}
	if color != "" {
		sel[LabelColor] = color
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "42"},
		Spec:       corev1.ServiceSpec{Selector: sel},
	}
}

func TestApplyDeploymentCreateThenUpdate(t *testing.T) {
	k, cs := newK8s()
	ctx := context.Background()

	in := baseInput()
	in.Image = "registry.example/demo-app:1.4.1"
	in.Version = "1.4.1"
	res, err := k.ApplyDeployment(ctx, in)
	require.NoError(t, err)
	require.True(t, res.Created)
	require.True(t, res.Changed)
	require.Empty(t, res.PreviousImage)

	// The apply was a server-side apply with Slipway's field manager, forced.
	w := writes(cs)
	require.Len(t, w, 1)
	patch := w[0].(k8stesting.PatchActionImpl)
	require.Equal(t, types.ApplyPatchType, patch.GetPatchType())
	require.Equal(t, FieldManager, patch.PatchOptions.FieldManager)
	require.Equal(t, ptr(true), patch.PatchOptions.Force)

	stored, err := cs.AppsV1().Deployments(ns).Get(ctx, in.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "registry.example/demo-app:1.4.1", appImage(stored))
	require.Equal(t, Green, stored.Spec.Selector.MatchLabels[LabelColor])
	require.NotEmpty(t, stored.ManagedFields, "the fake tracks field managers")
	require.Equal(t, FieldManager, stored.ManagedFields[0].Manager)

	// Same input again: nothing changes.
	res, err = k.ApplyDeployment(ctx, in)
	require.NoError(t, err)
	require.False(t, res.Created)
	require.False(t, res.Changed)
	require.Equal(t, "registry.example/demo-app:1.4.1", res.PreviousImage)
	require.Equal(t, "1.4.1", res.PreviousVersion)
	require.Equal(t, int32(3), res.PreviousReplicas)

	// A new image: the previous one is reported for the compensation.
	in.Image, in.Version = "registry.example/demo-app:1.4.2", "1.4.2"
	res, err = k.ApplyDeployment(ctx, in)
	require.NoError(t, err)
	require.False(t, res.Created)
	require.True(t, res.Changed)
	require.Equal(t, "registry.example/demo-app:1.4.1", res.PreviousImage)
	require.Equal(t, "1.4.1", res.PreviousVersion)

	stored, err = cs.AppsV1().Deployments(ns).Get(ctx, in.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "registry.example/demo-app:1.4.2", appImage(stored))
	require.Equal(t, "1.4.2", stored.Labels[LabelVersion])
}

func TestApplyDeploymentInvalidInputWritesNothing(t *testing.T) {
	k, cs := newK8s()
	in := baseInput()
	in.Image = ""
	_, err := k.ApplyDeployment(context.Background(), in)
	require.Equal(t, ErrInvalidInput, ErrorType(err))
	requireNonRetryable(t, err)
	require.Empty(t, cs.Actions())
}

func TestApplyService(t *testing.T) {
	k, cs := newK8s()
	ctx := context.Background()
	in := ApplyServiceInput{Namespace: ns, Name: "demo-app-preview", App: "demo-app", Color: Blue, Port: 8080}

	res, err := k.ApplyService(ctx, in)
	require.NoError(t, err)
	require.Equal(t, ApplyServiceResult{Created: true}, res)

	svc, err := cs.CoreV1().Services(ns).Get(ctx, in.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
	require.Equal(t, map[string]string{LabelApp: "demo-app", LabelColor: Blue}, svc.Spec.Selector)
	require.Equal(t, map[string]string{LabelApp: "demo-app", LabelManagedBy: ManagedByValue}, svc.Labels)
	require.Len(t, svc.Spec.Ports, 1)
	require.Equal(t, "http", svc.Spec.Ports[0].Name)
	require.Equal(t, int32(8080), svc.Spec.Ports[0].Port)
	require.Equal(t, "http", svc.Spec.Ports[0].TargetPort.StrVal)

	in.Color = Green
	res, err = k.ApplyService(ctx, in)
	require.NoError(t, err)
	require.Equal(t, ApplyServiceResult{PreviousColor: Blue}, res)
	svc, err = cs.CoreV1().Services(ns).Get(ctx, in.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, Green, svc.Spec.Selector[LabelColor])

	// Staging: no color, and the apply drops the color Slipway set before.
	in.Color = ""
	_, err = k.ApplyService(ctx, in)
	require.NoError(t, err)
	svc, err = cs.CoreV1().Services(ns).Get(ctx, in.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, map[string]string{LabelApp: "demo-app"}, svc.Spec.Selector)
}

func TestSwitchService(t *testing.T) {
	tests := []struct {
		name        string
		current     string
		to          string
		wantChanged bool
	}{
		{name: "already there: no write", current: Blue, to: Blue},
		{name: "switch", current: Blue, to: Green, wantChanged: true},
		{name: "no color yet", current: "", to: Green, wantChanged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, cs := newK8s(service("demo-app-active", tt.current))
			ctx := context.Background()
			res, err := k.SwitchService(ctx, SwitchServiceInput{Namespace: ns, Name: "demo-app-active", App: "demo-app", Color: tt.to})
			require.NoError(t, err)
			require.Equal(t, SwitchServiceResult{PreviousColor: tt.current, Changed: tt.wantChanged}, res)

			w := writes(cs)
			if !tt.wantChanged {
				require.Empty(t, w)
				return
			}
			require.Len(t, w, 1)
			patch := w[0].(k8stesting.PatchActionImpl)
			require.Equal(t, types.MergePatchType, patch.GetPatchType())
			require.Equal(t, FieldManager, patch.PatchOptions.FieldManager)
			var body map[string]any
			require.NoError(t, json.Unmarshal(patch.GetPatch(), &body))
			require.Equal(t, map[string]any{
				"metadata": map[string]any{"resourceVersion": "42"},
				"spec":     map[string]any{"selector": map[string]any{LabelApp: "demo-app", LabelColor: tt.to}},
			}, body)

			svc, err := cs.CoreV1().Services(ns).Get(ctx, "demo-app-active", metav1.GetOptions{})
			require.NoError(t, err)
			require.Equal(t, tt.to, svc.Spec.Selector[LabelColor])
		})
	}
}

func TestSwitchServiceErrors(t *testing.T) {
	ctx := context.Background()
	in := SwitchServiceInput{Namespace: ns, Name: "demo-app-active", App: "demo-app", Color: Green}

	k, _ := newK8s()
	_, err := k.SwitchService(ctx, in)
	require.Equal(t, ErrNotFound, ErrorType(err))
	requireNonRetryable(t, err)

	k, cs := newK8s(service("demo-app-active", Blue))
	cs.PrependReactor("patch", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "demo-app-active",
			errors.New("the object has been modified"))
	})
	_, err = k.SwitchService(ctx, in)
	requireRetryable(t, err)
	require.True(t, apierrors.IsConflict(err), "the cause stays inspectable")
	require.Contains(t, err.Error(), "switch service demo-production/demo-app-active")

	_, err = k.SwitchService(ctx, SwitchServiceInput{Namespace: ns, Name: "demo-app-active", App: "demo-app"})
	require.Equal(t, ErrInvalidInput, ErrorType(err))
}

func TestScaleDeployment(t *testing.T) {
	tests := []struct {
		name        string
		existing    []runtime.Object
		replicas    int32
		want        ScaleResult
		wantErrType string
	}{
		{name: "same: no write", existing: []runtime.Object{deployment("demo-app-blue", 3, "img")}, replicas: 3,
			want: ScaleResult{Previous: 3}},
		{name: "scale down", existing: []runtime.Object{deployment("demo-app-blue", 3, "img")}, replicas: 0,
			want: ScaleResult{Previous: 3, Changed: true}},
		{name: "scale up", existing: []runtime.Object{deployment("demo-app-blue", 0, "img")}, replicas: 2,
			want: ScaleResult{Previous: 0, Changed: true}},
		{name: "missing, to zero: nothing to do", replicas: 0, want: ScaleResult{}},
		{name: "missing, up: not found", replicas: 2, wantErrType: ErrNotFound},
		{name: "negative", replicas: -1, wantErrType: ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, cs := newK8s(tt.existing...)
			ctx := context.Background()
			res, err := k.ScaleDeployment(ctx, ScaleInput{Namespace: ns, Name: "demo-app-blue", Replicas: tt.replicas})
			if tt.wantErrType != "" {
				require.Equal(t, tt.wantErrType, ErrorType(err))
				requireNonRetryable(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, res)

			w := writes(cs)
			if !tt.want.Changed {
				require.Empty(t, w)
				return
			}
			require.Len(t, w, 1)
			patch := w[0].(k8stesting.PatchActionImpl)
			require.Equal(t, "scale", patch.GetSubresource())
			require.Equal(t, types.MergePatchType, patch.GetPatchType())
			require.Equal(t, FieldManager, patch.PatchOptions.FieldManager)
			require.JSONEq(t, `{"spec":{"replicas":`+itoa(tt.replicas)+`}}`, string(patch.GetPatch()))

			d, err := cs.AppsV1().Deployments(ns).Get(ctx, "demo-app-blue", metav1.GetOptions{})
			require.NoError(t, err)
			require.Equal(t, tt.replicas, *d.Spec.Replicas)
		})
	}
}

func itoa(i int32) string { b, _ := json.Marshal(i); return string(b) }

func TestActiveColor(t *testing.T) {
	ref := ServiceRef{Namespace: ns, Name: "demo-app-active"}
	k, _ := newK8s()
	res, err := k.ActiveColor(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, ActiveColorResult{}, res)

	// No LabelApp label (an older Slipway's Service): the app comes from the selector.
	k, _ = newK8s(service("demo-app-active", Green))
	res, err = k.ActiveColor(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, ActiveColorResult{Exists: true, Color: Green, App: "demo-app"}, res)

	// The label wins over the selector.
	k, _ = newK8s(ownedService("demo-app-active", Blue, "other-app"))
	res, err = k.ActiveColor(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, ActiveColorResult{Exists: true, Color: Blue, App: "other-app"}, res)
}

// ownedService is service(name, color) labelled as belonging to app.
func ownedService(name, color, app string) *corev1.Service {
	svc := service(name, color)
	svc.Labels = map[string]string{LabelApp: app, LabelManagedBy: ManagedByValue}
	return svc
}

// TestServiceOwnership checks ApplyService and SwitchService refuse, before any write, a Service that belongs
// to another app or that Slipway did not create, and accept the app's own Services, old and new.
func TestServiceOwnership(t *testing.T) {
	const name = "demo-app-active"
	relabel := func(svc *corev1.Service, labels, selector map[string]string) *corev1.Service {
		svc.Labels, svc.Spec.Selector = labels, selector
		return svc
	}
	tests := []struct {
		name    string
		svc     *corev1.Service
		wantMsg string // "" means accepted
	}{
		{name: "labelled for this app", svc: ownedService(name, Blue, "demo-app")},
		{name: "no label, selects this app (older Slipway)", svc: service(name, Blue)},
		{name: "labelled for another app", svc: relabel(service(name, Blue),
			map[string]string{LabelApp: "other-app"}, map[string]string{LabelApp: "other-app", LabelColor: Blue}),
			wantMsg: `belongs to app "other-app" (label app.kubernetes.io/name), not to "demo-app"`},
		{name: "labelled for another app, selector of this app: the label wins", svc: relabel(service(name, Blue),
			map[string]string{LabelApp: "other-app"}, map[string]string{LabelApp: "demo-app", LabelColor: Blue}),
			wantMsg: `belongs to app "other-app"`},
		{name: "empty label", svc: relabel(service(name, Blue),
			map[string]string{LabelApp: ""}, map[string]string{LabelApp: "demo-app", LabelColor: Blue}),
			wantMsg: `belongs to app ""`},
		{name: "no label, selects another app", svc: relabel(service(name, Blue),
			nil, map[string]string{LabelApp: "other-app", "tier": "web"}),
			wantMsg: `was not created by Slipway (it has no app.kubernetes.io/name label and does not select app "demo-app")`},
		{name: "no label, no app in the selector", svc: relabel(service(name, Blue),
			map[string]string{"team": "payments"}, map[string]string{"run": "legacy"}),
			wantMsg: "was not created by Slipway"},
	}
	calls := map[string]func(*Kubernetes) error{
		"ApplyService": func(k *Kubernetes) error {
			_, err := k.ApplyService(context.Background(),
				ApplyServiceInput{Namespace: ns, Name: name, App: "demo-app", Color: Green, Port: 8080})
			return err
		},
		"SwitchService": func(k *Kubernetes) error {
			_, err := k.SwitchService(context.Background(),
				SwitchServiceInput{Namespace: ns, Name: name, App: "demo-app", Color: Green})
			return err
		},
	}
	for _, tt := range tests {
		for callName, call := range calls {
			t.Run(callName+"/"+tt.name, func(t *testing.T) {
				k, cs := newK8s(tt.svc.DeepCopy())
				err := call(k)
				if tt.wantMsg == "" {
					require.NoError(t, err)
					require.Len(t, writes(cs), 1)
					svc, err := cs.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
					require.NoError(t, err)
					require.Equal(t, Green, svc.Spec.Selector[LabelColor])
					return
				}
				require.Equal(t, ErrNotOwned, ErrorType(err))
				requireNonRetryable(t, err)
				require.Contains(t, err.Error(), "service demo-production/demo-app-active ")
				require.Contains(t, err.Error(), tt.wantMsg)
				require.Contains(t, err.Error(), "pick another blueGreen.activeService/previewService")
				require.Empty(t, writes(cs), "nothing written")
				svc, err := cs.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
				require.NoError(t, err)
				require.Equal(t, tt.svc.Spec.Selector, svc.Spec.Selector)
			})
		}
	}
}

func TestDeleteServiceIsIdempotent(t *testing.T) {
	k, cs := newK8s(service("demo-app-preview", Green))
	ctx := context.Background()
	ref := ServiceRef{Namespace: ns, Name: "demo-app-preview"}
	require.NoError(t, k.DeleteService(ctx, ref))
	_, err := cs.CoreV1().Services(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err))
	require.NoError(t, k.DeleteService(ctx, ref), "already gone is success")

	cs.PrependReactor("delete", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, ref.Name, errors.New("rbac"))
	})
	err = k.DeleteService(ctx, ref)
	require.Equal(t, ErrForbidden, ErrorType(err))
}

func TestDescribeDeployment(t *testing.T) {
	k, _ := newK8s()
	ref := DeploymentRef{Namespace: ns, Name: "demo-app-blue"}
	res, err := k.DescribeDeployment(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, DeploymentState{}, res)

	d := deployment("demo-app-blue", 3, "registry.example/demo-app:1.4.1")
	d.Status.ReadyReplicas = 2
	k, _ = newK8s(d)
	res, err = k.DescribeDeployment(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, DeploymentState{Exists: true, Image: "registry.example/demo-app:1.4.1", Version: "1.4.1",
		Replicas: 3, ReadyReplicas: 2}, res)
}

func TestErrorClassification(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	tests := []struct {
		name     string
		err      error
		wantType string // "" means retryable
	}{
		{name: "invalid", err: apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "demo-app-green",
			field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), "x", "field is immutable")}), wantType: ErrInvalidObject},
		{name: "bad request", err: apierrors.NewBadRequest("nope"), wantType: ErrInvalidObject},
		{name: "forbidden", err: apierrors.NewForbidden(gr, "demo-app-green", errors.New("rbac")), wantType: ErrForbidden},
		// client-go refreshes exec-plugin and rotated credentials after a 401: the next attempt can succeed.
		{name: "unauthorized", err: apierrors.NewUnauthorized("token expired")},
		{name: "not found (namespace)", err: apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, ns), wantType: ErrNotFound},
		{name: "internal error", err: apierrors.NewInternalError(errors.New("etcd"))},
		{name: "conflict", err: apierrors.NewConflict(gr, "demo-app-green", errors.New("modified"))},
		{name: "server timeout", err: apierrors.NewServerTimeout(gr, "patch", 1)},
		{name: "timeout", err: apierrors.NewTimeoutError("slow", 1)},
		{name: "throttled", err: apierrors.NewTooManyRequests("slow down", 1)},
		{name: "connection refused", err: errors.New("dial tcp 10.0.0.1:443: connect: connection refused")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, cs := newK8s()
			cs.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tt.err
			})
			_, err := k.ApplyDeployment(context.Background(), baseInput())
			require.Error(t, err)
			require.Contains(t, err.Error(), "apply deployment demo-production/demo-app-green")
			require.ErrorIs(t, err, tt.err, "the client error stays in the chain")
			if tt.wantType == "" {
				requireRetryable(t, err)
				require.Empty(t, ErrorType(err))
				return
			}
			require.Equal(t, tt.wantType, ErrorType(err))
			requireNonRetryable(t, err)
		})
	}
}

func TestRolloutStatus(t *testing.T) {
	progressing := func(reason, msg string) []appsv1.DeploymentCondition {
		return []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: reason, Message: msg}}
	}
	tests := []struct {
		name      string
		gen       int64
		replicas  *int32
		status    appsv1.DeploymentStatus
		want      rolloutPhase
		wantMsg   string
		wantReady int32
	}{
		{name: "not observed yet", gen: 2, replicas: ptr(int32(3)),
			status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3},
			want:   rolloutInProgress},
		{name: "stale deadline from the previous generation is ignored", gen: 2, replicas: ptr(int32(3)),
			status: appsv1.DeploymentStatus{ObservedGeneration: 1, Conditions: progressing("ProgressDeadlineExceeded", "old")},
			want:   rolloutInProgress},
		{name: "new pods not all updated", gen: 2, replicas: ptr(int32(3)),
			status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3},
			want:   rolloutInProgress, wantReady: 3},
		{name: "old pods still terminating", gen: 2, replicas: ptr(int32(3)),
			status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 4, UpdatedReplicas: 3, ReadyReplicas: 4, AvailableReplicas: 3},
			want:   rolloutInProgress, wantReady: 4},
		{name: "updated but not available", gen: 2, replicas: ptr(int32(3)),
			status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, UnavailableReplicas: 1},
			want:   rolloutInProgress, wantReady: 2},
		{name: "complete", gen: 2, replicas: ptr(int32(3)),
			status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
				Conditions: progressing("NewReplicaSetAvailable", "")},
			want: rolloutComplete, wantReady: 3},
		{name: "complete, observed ahead", gen: 2, replicas: ptr(int32(3)),
			status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3},
			want:   rolloutComplete, wantReady: 3},
		{name: "unset replicas means one", gen: 1, replicas: nil,
			status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1},
			want:   rolloutComplete, wantReady: 1},
		{name: "scaled to zero", gen: 3, replicas: ptr(int32(0)),
			status: appsv1.DeploymentStatus{ObservedGeneration: 3},
			want:   rolloutComplete},
		{name: "progress deadline exceeded", gen: 2, replicas: ptr(int32(3)),
			status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3, AvailableReplicas: 3,
				Conditions: progressing("ProgressDeadlineExceeded", `ReplicaSet "demo-app-green-7d9" has timed out progressing.`)},
			want: rolloutFailed, wantMsg: `ReplicaSet "demo-app-green-7d9" has timed out progressing.`, wantReady: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Generation: tt.gen},
				Spec:       appsv1.DeploymentSpec{Replicas: tt.replicas},
				Status:     tt.status,
			}
			phase, p, msg := rolloutStatus(d)
			require.Equal(t, tt.want, phase, "phase %s", phase)
			require.Equal(t, tt.wantMsg, msg)
			require.Equal(t, tt.wantReady, p.Ready)
			require.Equal(t, tt.status.UpdatedReplicas, p.Updated)
		})
	}
}

// rollingDeployment is a Deployment whose new generation the controller has not finished rolling out.
func rollingDeployment() *appsv1.Deployment {
	d := deployment("demo-app-green", 3, "registry.example/demo-app:1.4.2")
	d.Generation = 2
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 0, ReadyReplicas: 3,
		AvailableReplicas: 3}
	return d
}

// watchSignal makes the fake clientset report each Deployment watch it opens, after the watch is registered
// with the tracker, so a test changes the object only once WaitRollout is listening.
func watchSignal(cs *fake.Clientset) (<-chan metav1.ListOptions, func() int) {
	opened := make(chan metav1.ListOptions, 10)
	var mu sync.Mutex
	n := 0
	cs.PrependWatchReactor("deployments", func(action k8stesting.Action) (bool, watch.Interface, error) {
		wa := action.(k8stesting.WatchActionImpl)
		w, err := cs.Tracker().Watch(wa.GetResource(), wa.GetNamespace(), wa.ListOptions)
		if err != nil {
			return true, nil, err
		}
		mu.Lock()
		n++
		mu.Unlock()
		opened <- wa.ListOptions
		return true, w, nil
	})
	return opened, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func updateStatus(t *testing.T, cs *fake.Clientset, mutate func(*appsv1.Deployment)) {
	t.Helper()
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "demo-app-green", metav1.GetOptions{})
	require.NoError(t, err)
	mutate(d)
	_, err = cs.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	require.NoError(t, err)
}

type rolloutOutcome struct {
	res RolloutResult
	err error
}

func startWaitRollout(ctx context.Context, k *Kubernetes) <-chan rolloutOutcome {
	done := make(chan rolloutOutcome, 1)
	go func() {
		res, err := k.WaitRollout(ctx, WaitRolloutInput{Namespace: ns, Name: "demo-app-green"})
		done <- rolloutOutcome{res, err}
	}()
	return done
}

func TestWaitRolloutCompletesOnWatchEvent(t *testing.T) {
	other := deployment("other-app", 1, "x")
	other.Status = appsv1.DeploymentStatus{} // never complete: must not be mistaken for ours
	k, cs := newK8s(rollingDeployment(), other)
	opened, _ := watchSignal(cs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := startWaitRollout(ctx, k)

	opts := <-opened
	require.Equal(t, "metadata.name=demo-app-green", opts.FieldSelector)

	// Halfway: the controller observed the new generation, one new pod is up, old pods remain.
	updateStatus(t, cs, func(d *appsv1.Deployment) {
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3,
			AvailableReplicas: 3}
	})
	// Done: every replica updated and available, old pods gone.
	updateStatus(t, cs, func(d *appsv1.Deployment) {
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3,
			AvailableReplicas: 3}
	})

	out := <-done
	require.NoError(t, out.err)
	require.Equal(t, RolloutResult{Replicas: 3, AvailableReplicas: 3}, out.res)
}

func TestWaitRolloutAlreadyComplete(t *testing.T) {
	k, cs := newK8s(deployment("demo-app-green", 2, "img"))
	res, err := k.WaitRollout(context.Background(), WaitRolloutInput{Namespace: ns, Name: "demo-app-green"})
	require.NoError(t, err)
	require.Equal(t, RolloutResult{Replicas: 2, AvailableReplicas: 2}, res)
	for _, a := range cs.Actions() {
		require.NotEqual(t, "watch", a.GetVerb(), "no watch needed")
	}
}

func TestWaitRolloutProgressDeadlineExceeded(t *testing.T) {
	k, cs := newK8s(rollingDeployment())
	opened, _ := watchSignal(cs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := startWaitRollout(ctx, k)
	<-opened

	updateStatus(t, cs, func(d *appsv1.Deployment) {
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3,
			AvailableReplicas: 3, UnavailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
				Message: `ReplicaSet "demo-app-green-7d9" has timed out progressing.`,
			}}}
	})

	out := <-done
	require.Equal(t, ErrProgressDeadlineExceeded, ErrorType(out.err))
	requireNonRetryable(t, out.err)
	require.Contains(t, out.err.Error(), "demo-production/demo-app-green")
	require.Contains(t, out.err.Error(), "3/3 replicas ready (1 updated)")
	require.Contains(t, out.err.Error(), `ReplicaSet "demo-app-green-7d9" has timed out progressing.`)

	var appErr *temporal.ApplicationError
	require.True(t, errors.As(out.err, &appErr))
	var p RolloutProgress
	require.NoError(t, appErr.Details(&p))
	require.Equal(t, RolloutProgress{Desired: 3, Updated: 1, Ready: 3, Available: 3}, p)
}

// TestWaitRolloutRewatches drives the watches by hand: an expired resourceVersion and a closed channel both
// lead to a fresh Get and a new watch, and the third watch delivers the finished rollout.
func TestWaitRolloutRewatches(t *testing.T) {
	k, cs := newK8s(rollingDeployment())
	watchers := make(chan *watch.FakeWatcher)
	cs.PrependWatchReactor("deployments", func(k8stesting.Action) (bool, watch.Interface, error) {
		w := watch.NewFake()
		watchers <- w
		return true, w, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := startWaitRollout(ctx, k)

	w := <-watchers
	w.Error(&apierrors.NewResourceExpired("too old resource version: 1 (5)").ErrStatus)
	w = <-watchers
	w.Stop()
	w = <-watchers
	other := deployment("other-app", 1, "x")
	w.Modify(other) // filtered out by name
	complete := rollingDeployment()
	complete.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3,
		ReadyReplicas: 3, AvailableReplicas: 3}
	w.Modify(complete)

	out := <-done
	require.NoError(t, out.err)
	require.Equal(t, RolloutResult{Replicas: 3, AvailableReplicas: 3}, out.res)
	gets := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "get" {
			gets++
		}
	}
	require.Equal(t, 3, gets, "a fresh Get before each watch")
}

func TestWaitRolloutToleratesTransientErrors(t *testing.T) {
	k, cs := newK8s(deployment("demo-app-green", 2, "img"))
	failures := 2
	cs.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failures > 0 {
			failures--
			return true, nil, apierrors.NewInternalError(errors.New("etcd leader changed"))
		}
		return false, nil, nil
	})
	res, err := k.WaitRollout(context.Background(), WaitRolloutInput{Namespace: ns, Name: "demo-app-green"})
	require.NoError(t, err)
	require.Equal(t, RolloutResult{Replicas: 2, AvailableReplicas: 2}, res)
}

func TestWaitRolloutGivesUpOnPersistentErrors(t *testing.T) {
	k, cs := newK8s(deployment("demo-app-green", 2, "img"))
	cs.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("apiserver is shutting down")
	})
	_, err := k.WaitRollout(context.Background(), WaitRolloutInput{Namespace: ns, Name: "demo-app-green"})
	requireRetryable(t, err)
	require.Contains(t, err.Error(), "get deployment demo-production/demo-app-green")
	require.Len(t, cs.Actions(), maxWatchFailures)
}

func TestWaitRolloutNotFound(t *testing.T) {
	k, _ := newK8s()
	_, err := k.WaitRollout(context.Background(), WaitRolloutInput{Namespace: ns, Name: "demo-app-green"})
	require.Equal(t, ErrNotFound, ErrorType(err))
	requireNonRetryable(t, err)
}

func TestWaitRolloutCancelled(t *testing.T) {
	k, cs := newK8s(rollingDeployment())
	opened, _ := watchSignal(cs)
	ctx, cancel := context.WithCancel(context.Background())
	done := startWaitRollout(ctx, k)
	<-opened
	cancel()
	select {
	case out := <-done:
		require.ErrorIs(t, out.err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("WaitRollout did not return after cancellation")
	}
}

// TestWaitRolloutHeartbeats runs the activity the way a worker does, to check heartbeats carry the progress.
func TestWaitRolloutHeartbeats(t *testing.T) {
	k, _ := newK8s(deployment("demo-app-green", 2, "img"))
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	var mu sync.Mutex
	var beats []RolloutProgress
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p RolloutProgress
		if details.HasValues() && details.Get(&p) == nil {
			mu.Lock()
			beats = append(beats, p)
			mu.Unlock()
		}
	})
	env.RegisterActivity(k.WaitRollout)
	val, err := env.ExecuteActivity(k.WaitRollout, WaitRolloutInput{Namespace: ns, Name: "demo-app-green"})
	require.NoError(t, err)
	var res RolloutResult
	require.NoError(t, val.Get(&res))
	require.Equal(t, RolloutResult{Replicas: 2, AvailableReplicas: 2}, res)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, beats)
	require.Equal(t, RolloutProgress{Desired: 2, Updated: 2, Ready: 2, Available: 2}, beats[0])
}

func TestRefValidation(t *testing.T) {
	k, cs := newK8s()
	ctx := context.Background()
	calls := map[string]func() error{
		"WaitRollout": func() error { _, err := k.WaitRollout(ctx, WaitRolloutInput{Name: "x"}); return err },
		"ApplyService": func() error {
			_, err := k.ApplyService(ctx, ApplyServiceInput{Namespace: ns, Name: "x", App: "a"})
			return err
		},
		"SwitchService":      func() error { _, err := k.SwitchService(ctx, SwitchServiceInput{Namespace: ns}); return err },
		"DeleteService":      func() error { return k.DeleteService(ctx, ServiceRef{Name: "x"}) },
		"ActiveColor":        func() error { _, err := k.ActiveColor(ctx, ServiceRef{Namespace: ns}); return err },
		"ScaleDeployment":    func() error { _, err := k.ScaleDeployment(ctx, ScaleInput{Name: "x"}); return err },
		"DescribeDeployment": func() error { _, err := k.DescribeDeployment(ctx, DeploymentRef{}); return err },
		"RestoreDeployment": func() error {
			_, err := k.RestoreDeployment(ctx, RestoreDeploymentInput{Namespace: ns, Applied: json.RawMessage(`{}`)})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			require.Equal(t, ErrInvalidInput, ErrorType(err))
			requireNonRetryable(t, err)
		})
	}
	require.Empty(t, cs.Actions())
}

func TestRetryDelay(t *testing.T) {
	k := &Kubernetes{}
	require.Equal(t, time.Second, k.retryDelay(1))
	require.Equal(t, 4*time.Second, k.retryDelay(3))
	require.Equal(t, 30*time.Second, k.retryDelay(20))
}

// TestRealClientAgainstStandIn uses a real clientset against an HTTP stand-in of the API server, for what the
// fake clientset cannot show: the scale subresource answers with a Scale (not a Deployment), and a stale
// resourceVersion comes back as a 409 Status.
func TestRealClientAgainstStandIn(t *testing.T) {
	var patches []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/apis/apps/v1/namespaces/demo-production/deployments/demo-app-blue":
			_ = json.NewEncoder(w).Encode(deployment("demo-app-blue", 3, "img"))
		case r.Method == http.MethodPatch && r.URL.Path == "/apis/apps/v1/namespaces/demo-production/deployments/demo-app-blue/scale":
			body, _ := io.ReadAll(r.Body)
			patches = append(patches, r.Header.Get("Content-Type")+" "+r.URL.Query().Get("fieldManager")+" "+string(body))
			_ = json.NewEncoder(w).Encode(&autoscalingv1.Scale{
				TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
				ObjectMeta: metav1.ObjectMeta{Name: "demo-app-blue", Namespace: ns},
				Spec:       autoscalingv1.ScaleSpec{Replicas: 0},
			})
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/demo-production/services/demo-app-active":
			_ = json.NewEncoder(w).Encode(service("demo-app-active", Blue))
		case r.Method == http.MethodPatch && r.URL.Path == "/api/v1/namespaces/demo-production/services/demo-app-active":
			st := apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "demo-app-active",
				errors.New("the object has been modified; please apply your changes to the latest version and try again")).ErrStatus
			st.APIVersion, st.Kind = "v1", "Status"
			w.WriteHeader(http.StatusConflict)
			_ = json.NewEncoder(w).Encode(&st)
		default:
			http.Error(w, r.Method+" "+r.URL.Path, http.StatusNotImplemented)
		}
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	require.NoError(t, err)
	k := &Kubernetes{Client: cs}
	ctx := context.Background()

	res, err := k.ScaleDeployment(ctx, ScaleInput{Namespace: ns, Name: "demo-app-blue", Replicas: 0})
	require.NoError(t, err)
	require.Equal(t, ScaleResult{Previous: 3, Changed: true}, res)
	require.Equal(t, []string{`application/merge-patch+json slipway {"spec":{"replicas":0}}`}, patches)

	_, err = k.SwitchService(ctx, SwitchServiceInput{Namespace: ns, Name: "demo-app-active", App: "demo-app", Color: Green})
	requireRetryable(t, err)
	require.True(t, apierrors.IsConflict(err))
}

// TestRestoreDeploymentPutsBackWhatWasApplied snapshots a Deployment Slipway applied, lets a new release change
// its image, readiness path, env and replicas, then restores the snapshot: the Deployment is back to what the
// first release applied, not the old image with the new release's settings.
func TestRestoreDeploymentPutsBackWhatWasApplied(t *testing.T) {
	k, cs := newK8s()
	ctx := context.Background()
	ref := DeploymentRef{Namespace: ns, Name: "demo-app-green"}
	const v1, v2 = "registry.example/demo-app:1.4.1", "registry.example/demo-app:1.4.2"

	first := baseInput()
	first.Image, first.Version = v1, "1.4.1"
	_, err := k.ApplyDeployment(ctx, first)
	require.NoError(t, err)

	before, err := k.DescribeDeployment(ctx, ref)
	require.NoError(t, err)
	require.True(t, before.Exists)
	require.NotEmpty(t, before.Applied)
	require.Contains(t, string(before.Applied), v1)
	require.Contains(t, string(before.Applied), `"/ready"`)
	require.NotContains(t, string(before.Applied), "managedFields", "owned fields only")
	require.NotContains(t, string(before.Applied), `"status"`)

	// The snapshot survives the trip through the workflow history.
	var st DeploymentState
	b, err := json.Marshal(before)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st))
	require.JSONEq(t, string(before.Applied), string(st.Applied))

	second := baseInput()
	second.Image, second.Version, second.Replicas = v2, "1.4.2", 5
	second.Container.Probes.Readiness = &spec.HTTPProbe{Path: "/ready-v2", PeriodSeconds: 7}
	second.Container.Env = append(second.Container.Env, spec.EnvVar{Name: "NEW_FLAG", Value: "on"})
	_, err = k.ApplyDeployment(ctx, second)
	require.NoError(t, err)
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, v2, appImage(d))
	require.Equal(t, "/ready-v2", appContainer(t, d).ReadinessProbe.HTTPGet.Path)

	cs.ClearActions()
	res, err := k.RestoreDeployment(ctx, RestoreDeploymentInput{Namespace: ns, Name: ref.Name,
		Applied: st.Applied, Replicas: ptr(int32(0))})
	require.NoError(t, err)
	require.Equal(t, ApplyDeploymentResult{PreviousImage: v2, PreviousVersion: "1.4.2", PreviousReplicas: 5,
		Generation: d.Generation, Changed: true}, res)
	w := writes(cs)
	require.Len(t, w, 1)
	patch := w[0].(k8stesting.PatchActionImpl)
	require.Equal(t, types.ApplyPatchType, patch.GetPatchType())
	require.Equal(t, FieldManager, patch.PatchOptions.FieldManager)
	require.Equal(t, ptr(true), patch.PatchOptions.Force)

	d, err = cs.AppsV1().Deployments(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, v1, appImage(d))
	require.Equal(t, int32(0), *d.Spec.Replicas)
	require.Equal(t, "1.4.1", d.Labels[LabelVersion])
	c := appContainer(t, d)
	require.Equal(t, "/ready", c.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, int32(2), c.ReadinessProbe.InitialDelaySeconds)
	require.Zero(t, c.ReadinessProbe.PeriodSeconds, "the new release's probe period is gone")
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	require.NotContains(t, env, "NEW_FLAG", "what the failed release added is dropped")
	require.Equal(t, "1.4.1", env[VersionEnv])
	require.Equal(t, "info", env["LOG_LEVEL"])

	// Restoring again changes nothing; without Replicas the snapshot's count comes back.
	res, err = k.RestoreDeployment(ctx, RestoreDeploymentInput{Namespace: ns, Name: ref.Name,
		Applied: st.Applied, Replicas: ptr(int32(0))})
	require.NoError(t, err)
	require.False(t, res.Changed)
	_, err = k.RestoreDeployment(ctx, RestoreDeploymentInput{Namespace: ns, Name: ref.Name, Applied: st.Applied})
	require.NoError(t, err)
	d, err = cs.AppsV1().Deployments(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(3), *d.Spec.Replicas)
}

func appContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == ContainerName {
			return c
		}
	}
	t.Fatalf("deployment %s has no container %q", d.Name, ContainerName)
	return corev1.Container{}
}

// TestDescribeDeploymentApplied checks when a snapshot is taken and what it holds.
func TestDescribeDeploymentApplied(t *testing.T) {
	ctx := context.Background()
	ref := DeploymentRef{Namespace: ns, Name: "demo-app-green"}
	decode := func(t *testing.T, st DeploymentState) *appsv1.Deployment {
		t.Helper()
		var d appsv1.Deployment
		require.NoError(t, json.Unmarshal(st.Applied, &d))
		return &d
	}

	t.Run("never applied by Slipway: empty", func(t *testing.T) {
		k, _ := newK8s(deployment("demo-app-green", 3, "img"))
		st, err := k.DescribeDeployment(ctx, ref)
		require.NoError(t, err)
		require.True(t, st.Exists)
		require.Empty(t, st.Applied)
	})

	t.Run("image taken over by another manager: empty", func(t *testing.T) {
		k, cs := newK8s()
		_, err := k.ApplyDeployment(ctx, baseInput())
		require.NoError(t, err)
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		require.NoError(t, err)
		for i := range d.Spec.Template.Spec.Containers {
			d.Spec.Template.Spec.Containers[i].Image = "registry.example/demo-app:hotfix"
		}
		_, err = cs.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-set"})
		require.NoError(t, err)
		st, err := k.DescribeDeployment(ctx, ref)
		require.NoError(t, err)
		require.Equal(t, "registry.example/demo-app:hotfix", st.Image)
		require.Empty(t, st.Applied, "a restore could not put an image back")
	})

	t.Run("scaled after the apply: the replica count is kept", func(t *testing.T) {
		k, _ := newK8s()
		_, err := k.ApplyDeployment(ctx, baseInput())
		require.NoError(t, err)
		_, err = k.ScaleDeployment(ctx, ScaleInput{Namespace: ns, Name: ref.Name, Replicas: 0})
		require.NoError(t, err)
		st, err := k.DescribeDeployment(ctx, ref)
		require.NoError(t, err)
		require.NotEmpty(t, st.Applied)
		require.Equal(t, ptr(int32(0)), decode(t, st).Spec.Replicas)

		// A failed release applies 3 replicas again; restoring without an override puts 0 back, where dropping
		// the field would let the API server default it.
		_, err = k.ApplyDeployment(ctx, baseInput())
		require.NoError(t, err)
		_, err = k.RestoreDeployment(ctx, RestoreDeploymentInput{Namespace: ns, Name: ref.Name, Applied: st.Applied})
		require.NoError(t, err)
		st, err = k.DescribeDeployment(ctx, ref)
		require.NoError(t, err)
		require.Equal(t, int32(0), st.Replicas)
	})
}

func TestRestoreDeploymentRecreatesADeletedDeployment(t *testing.T) {
	k, cs := newK8s()
	ctx := context.Background()
	_, err := k.ApplyDeployment(ctx, baseInput())
	require.NoError(t, err)
	st, err := k.DescribeDeployment(ctx, DeploymentRef{Namespace: ns, Name: "demo-app-green"})
	require.NoError(t, err)
	require.NoError(t, cs.AppsV1().Deployments(ns).Delete(ctx, "demo-app-green", metav1.DeleteOptions{}))

	res, err := k.RestoreDeployment(ctx, RestoreDeploymentInput{Namespace: ns, Name: "demo-app-green",
		Applied: st.Applied, Replicas: ptr(int32(0))})
	require.NoError(t, err)
	require.True(t, res.Created)
	require.True(t, res.Changed)
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "demo-app-green", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, baseInput().Image, appImage(d))
	require.Equal(t, int32(0), *d.Spec.Replicas)
}

func TestRestoreDeploymentInvalidInput(t *testing.T) {
	k, cs := newK8s()
	ctx := context.Background()
	_, err := k.ApplyDeployment(ctx, baseInput())
	require.NoError(t, err)
	st, err := k.DescribeDeployment(ctx, DeploymentRef{Namespace: ns, Name: "demo-app-green"})
	require.NoError(t, err)
	// edit returns the snapshot with one change, made on its decoded JSON.
	edit := func(change func(m map[string]any)) json.RawMessage {
		var m map[string]any
		require.NoError(t, json.Unmarshal(st.Applied, &m))
		change(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	containers := func(m map[string]any) []any {
		return m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	}
	tests := []struct {
		name    string
		in      RestoreDeploymentInput
		wantMsg string
	}{
		{name: "no namespace", in: RestoreDeploymentInput{Name: "demo-app-green", Applied: st.Applied},
			wantMsg: "namespace and name are required"},
		{name: "no snapshot", in: RestoreDeploymentInput{Namespace: ns, Name: "demo-app-green"},
			wantMsg: "no applied fields"},
		{name: "not JSON", in: RestoreDeploymentInput{Namespace: ns, Name: "demo-app-green", Applied: json.RawMessage(`[1]`)},
			wantMsg: "do not decode"},
		{name: "another Deployment's", in: RestoreDeploymentInput{Namespace: ns, Name: "demo-app-blue", Applied: st.Applied},
			wantMsg: "applied fields are those of demo-production/demo-app-green"},
		{name: "another namespace's", in: RestoreDeploymentInput{Namespace: "demo-staging", Name: "demo-app-green",
			Applied: st.Applied}, wantMsg: "applied fields are those of demo-production/demo-app-green"},
		{name: "not a Deployment", in: RestoreDeploymentInput{Namespace: ns, Name: "demo-app-green",
			Applied: edit(func(m map[string]any) { m["kind"] = "StatefulSet" })}, wantMsg: "want apps/v1 Deployment"},
		{name: "no image", in: RestoreDeploymentInput{Namespace: ns, Name: "demo-app-green",
			Applied: edit(func(m map[string]any) { delete(containers(m)[0].(map[string]any), "image") })},
			wantMsg: `no image for container "app"`},
		{name: "negative replicas", in: RestoreDeploymentInput{Namespace: ns, Name: "demo-app-green",
			Applied: st.Applied, Replicas: ptr(int32(-1))}, wantMsg: "replicas -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs.ClearActions()
			_, err := k.RestoreDeployment(ctx, tt.in)
			require.Equal(t, ErrInvalidInput, ErrorType(err))
			requireNonRetryable(t, err)
			require.ErrorContains(t, err, tt.wantMsg)
			require.Empty(t, cs.Actions(), "nothing read or written")
		})
	}
}

func TestDeleteServiceLeavesAnotherAppsServiceAlone(t *testing.T) {
	cs := fake.NewClientset(&corev1.Service{ObjectMeta: metav1.ObjectMeta{
		Namespace: "prod", Name: "shop-active", Labels: map[string]string{LabelApp: "payments"}}})
	k := &Kubernetes{Client: cs}
	err := k.DeleteService(context.Background(), ServiceRef{Namespace: "prod", Name: "shop-active", App: "shop"})
	require.Equal(t, ErrNotOwned, ErrorType(err))
	_, err = cs.CoreV1().Services("prod").Get(context.Background(), "shop-active", metav1.GetOptions{})
	require.NoError(t, err, "the other app's Service is still there")

	require.NoError(t, k.DeleteService(context.Background(), ServiceRef{Namespace: "prod", Name: "shop-active", App: "payments"}))
	_, err = cs.CoreV1().Services("prod").Get(context.Background(), "shop-active", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err))
	require.NoError(t, k.DeleteService(context.Background(), ServiceRef{Namespace: "prod", Name: "shop-active", App: "payments"}), "idempotent")
}

func TestDeleteDeploymentOnlyDeletesTheAppsOwnDeployment(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "shop-green",
			Labels: map[string]string{LabelApp: "shop", LabelManagedBy: ManagedByValue}}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "shop-blue",
			Labels: map[string]string{LabelApp: "shop"}}}, // not managed by Slipway
	)
	k := &Kubernetes{Client: cs}

	require.Equal(t, ErrInvalidInput, ErrorType(k.DeleteDeployment(ctx, DeploymentRef{Namespace: "prod", Name: "shop-green"})))
	require.Equal(t, ErrNotOwned, ErrorType(k.DeleteDeployment(ctx, DeploymentRef{Namespace: "prod", Name: "shop-green", App: "payments"})))
	require.Equal(t, ErrNotOwned, ErrorType(k.DeleteDeployment(ctx, DeploymentRef{Namespace: "prod", Name: "shop-blue", App: "shop"})))
	_, err := cs.AppsV1().Deployments("prod").Get(ctx, "shop-green", metav1.GetOptions{})
	require.NoError(t, err, "nothing was deleted so far")

	require.NoError(t, k.DeleteDeployment(ctx, DeploymentRef{Namespace: "prod", Name: "shop-green", App: "shop"}))
	_, err = cs.AppsV1().Deployments("prod").Get(ctx, "shop-green", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err))
	require.NoError(t, k.DeleteDeployment(ctx, DeploymentRef{Namespace: "prod", Name: "shop-green", App: "shop"}), "idempotent")
}
