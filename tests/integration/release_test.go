//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/promote"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/releases"
	"github.com/vektagraf/slipway/internal/spec"
)

// appSpec loads the demo's spec and gives it namespaces of its own (created here), so tests never share
// Deployments, Services or workflow IDs.
func appSpec(t *testing.T, prefix string) spec.Spec {
	t.Helper()
	s, err := spec.Load(filepath.Join(h.repo, "examples/demo/slipway.yaml"))
	require.NoError(t, err)
	s.Environments.Staging.Namespace = prefix + "-staging"
	s.Environments.Production.Namespace = prefix + "-production"
	// The tests push straight to the production repository (promote_test.go covers image.source and signing).
	s.Image.Repository, s.Image.Source, s.Image.Signing = demoImage, "", nil
	s.BlueGreen.ScaleDownDelay = spec.Duration(2 * time.Second)
	s.Smoke.Interval = spec.Duration(500 * time.Millisecond)
	for _, ns := range []string{s.Environments.Staging.Namespace, s.Environments.Production.Namespace} {
		_, err := h.cs.CoreV1().Namespaces().Create(context.Background(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}
	return *s
}

// release starts a release through the same client the starter uses and waits for its outcome.
func release(t *testing.T, rc *releases.Client, s spec.Spec, version string) (releaseapi.ReleaseResult, releases.Run, error) {
	t.Helper()
	ctx := deadline(t, 3*time.Minute)
	if s.Image.Repository == demoImage {
		pushDemo(t, version)
	}
	run, err := rc.StartRelease(ctx, releaseapi.ReleaseInput{Spec: s, Version: version, Trigger: releaseapi.Trigger{Actor: t.Name(), Source: "test"}})
	require.NoError(t, err)
	var res releaseapi.ReleaseResult
	err = rc.Follow(ctx, run, &res, nil)
	return res, run, err
}

func selectorColor(t *testing.T, ns, svc string) string {
	t.Helper()
	got, err := h.cs.CoreV1().Services(ns).Get(context.Background(), svc, metav1.GetOptions{})
	require.NoError(t, err)
	return got.Spec.Selector[activities.LabelColor]
}

type deploymentView struct {
	Image                   string
	Replicas, ReadyReplicas int32
}

func deploymentOf(t *testing.T, ns, name string) deploymentView {
	t.Helper()
	d, err := h.cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return deploymentView{Image: d.Spec.Template.Spec.Containers[0].Image, Replicas: *d.Spec.Replicas, ReadyReplicas: d.Status.ReadyReplicas}
}

// viaService GETs a path through a Service the way smoke checks do (localpods' service proxy).
func viaService(t *testing.T, ns, svc, path string) (int, string) {
	t.Helper()
	url := fmt.Sprintf("%s/api/v1/namespaces/%s/services/%s:8080/proxy%s", h.proxyURL, ns, svc, path)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func appErrType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func TestGoodReleasesSwitchColorsAndScaleDownTheOldOne(t *testing.T) {
	s := appSpec(t, "good")
	prod := s.Environments.Production.Namespace

	res, run, err := release(t, h.releases, s, "v1.0.0")
	require.NoError(t, err)
	recordHistory(t, run, "release-first")
	require.Equal(t, "blue", res.ActiveColor)
	require.Equal(t, "blue", selectorColor(t, prod, "demo-app-active"))
	require.Equal(t, deploymentView{Image: pinned(t, "v1.0.0"), Replicas: 2, ReadyReplicas: 2}, deploymentOf(t, prod, "demo-app-blue"))
	code, body := viaService(t, prod, "demo-app-active", "/version")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "v1.0.0")

	res, run, err = release(t, h.releases, s, "v1.1.0")
	require.NoError(t, err)
	recordHistory(t, run, "release-blue-to-green")
	require.Equal(t, "green", res.ActiveColor)
	require.Equal(t, "blue", res.PreviousColor)
	require.Equal(t, "green", selectorColor(t, prod, "demo-app-active"))
	require.Equal(t, deploymentView{Image: pinned(t, "v1.1.0"), Replicas: 2, ReadyReplicas: 2}, deploymentOf(t, prod, "demo-app-green"))
	blue := deploymentOf(t, prod, "demo-app-blue")
	require.Equal(t, int32(0), blue.Replicas, "old color scaled to zero after the delay")
	require.Equal(t, pinned(t, "v1.0.0"), blue.Image, "old color keeps its image for a rollback")
	code, body = viaService(t, prod, "demo-app-active", "/version")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "v1.1.0")
	staging := deploymentOf(t, s.Environments.Staging.Namespace, "demo-app")
	require.Equal(t, pinned(t, "v1.1.0"), staging.Image)
	for _, st := range res.Stages {
		require.Equal(t, releaseapi.StateSucceeded, st.State, "%s: %s", st.Name, st.Message)
	}
}

func TestReleaseFailingPreviewChecksRollsBack(t *testing.T) {
	s := appSpec(t, "broken")
	prod := s.Environments.Production.Namespace
	// v1.0.0 on blue, then v1.1.0 on green: blue keeps v1.0.0 at zero replicas for a rollback.
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		_, _, err := release(t, h.releases, s, v)
		require.NoError(t, err, v)
	}

	_, run, err := release(t, h.releases, s, "v1.2.0-broken")
	require.Error(t, err)
	recordHistory(t, run, "release-preview-fails-rolled-back")
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err), "%v", err)
	require.Contains(t, err.Error(), "stage preview-checks failed")
	require.Contains(t, err.Error(), "traffic stays on green")

	require.Equal(t, "green", selectorColor(t, prod, "demo-app-active"), "traffic still on the old color")
	require.Equal(t, deploymentView{Image: pinned(t, "v1.1.0"), Replicas: 2, ReadyReplicas: 2}, deploymentOf(t, prod, "demo-app-green"))
	// The new color is at zero and holds what it held before the release (server-side apply snapshot), so a
	// rollback would bring back v1.0.0, not the broken build.
	require.Equal(t, deploymentView{Image: pinned(t, "v1.0.0"), Replicas: 0, ReadyReplicas: 0}, deploymentOf(t, prod, "demo-app-blue"))
	require.Equal(t, pinned(t, "v1.1.0"), deploymentOf(t, s.Environments.Staging.Namespace, "demo-app").Image, "staging restored")
	code, body := viaService(t, prod, "demo-app-active", "/version")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "v1.1.0")

	st, err := h.releases.Status(deadline(t, 30*time.Second), run.ID, run.RunID)
	require.NoError(t, err)
	require.Equal(t, releaseapi.PhaseRolledBack, st.Phase)
	var undone []string
	for _, c := range st.Compensations {
		require.Equal(t, releaseapi.StateSucceeded, c.State, c.Name)
		undone = append(undone, c.Name)
	}
	require.Equal(t, []string{"scale-down-blue", "restore-staging", "restore-tags", "mark-rejected"}, undone)
	// Without image.source, CI pushed the version tag itself: the release leaves CI's tag where it was and marks
	// the digest rejected (with image.source, the production repository never gets the tag; see promote_test.go).
	broken := pushDemo(t, "v1.2.0-broken")
	require.Equal(t, broken, tagDigest(t, "v1.2.0-broken"))
	ref, err := name.NewDigest(demoImage + "@" + broken)
	require.NoError(t, err)
	rejected, _, err := promote.IsRejected(context.Background(), ref)
	require.NoError(t, err)
	require.True(t, rejected, "the build is marked rejected in the registry")
}

func TestRollbackWorkflowReturnsToThePreviousColor(t *testing.T) {
	s := appSpec(t, "rollback")
	prod := s.Environments.Production.Namespace
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		_, _, err := release(t, h.releases, s, v)
		require.NoError(t, err)
	}
	require.Equal(t, "green", selectorColor(t, prod, "demo-app-active"))

	ctx := deadline(t, 3*time.Minute)
	run, err := h.releases.StartRollback(ctx, releaseapi.RollbackInput{Spec: s, Reason: "test"})
	require.NoError(t, err)
	var res releaseapi.RollbackResult
	require.NoError(t, h.releases.Follow(ctx, run, &res, nil))
	recordHistory(t, run, "rollback")
	require.Equal(t, "blue", res.ActiveColor)
	require.Equal(t, "v1.0.0", res.ToVersion)
	require.Equal(t, "blue", selectorColor(t, prod, "demo-app-active"))
	require.Equal(t, deploymentView{Image: pinned(t, "v1.0.0"), Replicas: 2, ReadyReplicas: 2}, deploymentOf(t, prod, "demo-app-blue"))
	require.Equal(t, int32(0), deploymentOf(t, prod, "demo-app-green").Replicas)
	_, body := viaService(t, prod, "demo-app-active", "/version")
	require.True(t, strings.Contains(body, "v1.0.0"), body)
}
