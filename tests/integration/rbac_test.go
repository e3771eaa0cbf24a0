//go:build integration

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/worker"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/releases"
	"github.com/vektagraf/slipway/workflows"
)

const workerUser = "system:serviceaccount:slipway-system:slipway-worker"

// applyRBACExample creates the objects of examples/kubernetes/worker-rbac.yaml, with the demo namespaces
// renamed to the test's.
func applyRBACExample(t *testing.T, staging, production string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.repo, "examples/kubernetes/worker-rbac.yaml"))
	require.NoError(t, err)
	text := strings.NewReplacer("demo-staging", staging, "demo-production", production).Replace(string(b))
	ctx := context.Background()
	_, err = h.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "slipway-system"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	for _, doc := range strings.Split(text, "\n---\n") {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		require.NoError(t, err)
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			_, err = h.cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRole:
			_, err = h.cs.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = h.cs.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("unexpected object %T in worker-rbac.yaml", obj)
		}
		if !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}
}

// workerAs runs an in-process worker on its own queue whose Kubernetes client impersonates user.
func workerAs(t *testing.T, user, queue string) *releases.Client {
	t.Helper()
	cfg := rest.CopyConfig(h.restCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	prober, err := activities.NewProber(cfg, activities.ProbeModeProxy, h.proxyURL)
	require.NoError(t, err)
	w := worker.New(h.temporal, queue, worker.Options{DisableRegistrationAliasing: true})
	workflows.Register(w)
	activities.Register(w, activities.Set{Kubernetes: &activities.Kubernetes{Client: cs}, Prober: prober,
		Registry: &activities.Registry{}, Scanners: h.scanners})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return &releases.Client{Temporal: h.temporal, Namespace: "default", TaskQueue: queue}
}

func TestDocumentedRBACIsEnoughForReleasesAndRollbacks(t *testing.T) {
	s := appSpec(t, "rbac")
	applyRBACExample(t, s.Environments.Staging.Namespace, s.Environments.Production.Namespace)
	rc := workerAs(t, workerUser, "slipway-rbac")

	// A failed first release exercises the deletes of its compensations.
	_, _, err := release(t, rc, s, "v0.9.0-broken")
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err), "%v", err)
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		_, _, err := release(t, rc, s, v)
		require.NoError(t, err, v)
	}
	_, _, err = release(t, rc, s, "v1.2.0-broken")
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err), "%v", err)

	ctx := deadline(t, 2*time.Minute)
	run, err := rc.StartRollback(ctx, releaseapi.RollbackInput{Spec: s, Reason: "rbac test"})
	require.NoError(t, err)
	var res releaseapi.RollbackResult
	require.NoError(t, rc.Follow(ctx, run, &res, nil))
	require.Equal(t, "blue", selectorColor(t, s.Environments.Production.Namespace, "demo-app-active"))

	// Proxy-mode smoke checks against a real cluster need services/proxy; localpods stands in for it here, so
	// ask the API server whether the role grants it.
	review, err := h.cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authv1.SubjectAccessReview{Spec: authv1.SubjectAccessReviewSpec{
		User:               workerUser,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:slipway-system", "system:authenticated"},
		ResourceAttributes: &authv1.ResourceAttributes{Namespace: s.Environments.Production.Namespace, Verb: "get", Resource: "services", Subresource: "proxy"},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.True(t, review.Status.Allowed, review.Status.Reason)
}

func TestWorkerWithoutPermissionFailsFastAsForbidden(t *testing.T) {
	s := appSpec(t, "norbac")
	rc := workerAs(t, "system:serviceaccount:slipway-system:nobody", "slipway-norbac")
	_, run, err := release(t, rc, s, "v1.0.0")
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err), "%v", err)
	require.Contains(t, err.Error(), "[Forbidden]")

	// A forbidden call is not retried: every activity ran exactly one attempt.
	ctx := deadline(t, 30*time.Second)
	iter := h.temporal.GetWorkflowHistory(ctx, run.ID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var started []string
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			started = append(started, a.GetActivityType().GetName())
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			require.Equal(t, int32(1), a.GetAttempt())
		}
	}
	require.Equal(t, []string{"ResolveImage", "Scan", "ReadTags", "PushImage", "DescribeDeployment", "RestoreTags", "MarkRejected"}, started,
		"the release stopped at its first Kubernetes call (after the image was pinned, scanned and pushed), then took its tag back")

	st, err := rc.Status(ctx, run.ID, run.RunID)
	require.NoError(t, err)
	for _, stg := range st.Stages {
		if stg.Name == releaseapi.StageStagingDeploy {
			require.Equal(t, releaseapi.StateFailed, stg.State)
		}
	}
}
