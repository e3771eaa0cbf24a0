package localpods

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
)

const (
	ns        = "prod"
	demoRepo  = "localhost/slipway/demo-app"
	labelApp  = "app.kubernetes.io/name" // activities.LabelApp; not imported to keep this package standalone
	labelCol  = "slipway.dev/color"      // activities.LabelColor
	waitLimit = 30 * time.Second
)

// demoapp is cmd/demoapp, built once for all tests.
var demoapp string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "localpods-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		demoapp = filepath.Join(dir, "demoapp")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		build := exec.Command(goTool, "build", "-o", demoapp, "github.com/vektagraf/slipway/cmd/demoapp")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building cmd/demoapp:", err)
			return 1
		}
		return m.Run()
	}())
}

func newPod(name, color, image string, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: types.UID(name + "-uid"),
			Labels: map[string]string{labelApp: "demo", labelCol: color},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: image,
			Env: []corev1.EnvVar{
				{Name: "GREETING", Value: "hello"},
				{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}},
			},
		}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
		},
	}
}

func newService(name string, selector map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 8080, TargetPort: intstr.FromString("http")}},
		},
	}
}

type harness struct {
	t      *testing.T
	client *fake.Clientset
	r      *Runner
	srv    *httptest.Server
}

// start runs a Runner over a fake clientset holding objs and stops it when the test ends, checking that
// every child it ran is gone by then.
func start(t *testing.T, programs map[string]string, objs ...*corev1.Pod) *harness {
	t.Helper()
	return startWith(t, programs, nil, objs...)
}

func startWith(t *testing.T, programs map[string]string, svcs []*corev1.Service, pods ...*corev1.Pod) *harness {
	t.Helper()
	return startConfigured(t, nil, programs, svcs, pods...)
}

// startConfigured is startWith with a hook that sets the Runner's fields before Run.
func startConfigured(t *testing.T, configure func(*Runner), programs map[string]string, svcs []*corev1.Service, pods ...*corev1.Pod) *harness {
	t.Helper()
	client := fake.NewClientset()
	for _, s := range svcs {
		require.NoError(t, client.Tracker().Add(s))
	}
	for _, p := range pods {
		require.NoError(t, client.Tracker().Add(p))
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := New(client, programs, logger)
	r.GracePeriod = 2 * time.Second
	if configure != nil {
		configure(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx) }()
	srv := httptest.NewServer(r.Handler())
	h := &harness{t: t, client: client, r: r, srv: srv}
	t.Cleanup(func() {
		srv.Close()
		var pids []int
		for _, p := range r.Pods() {
			if p.PID != 0 {
				pids = append(pids, p.PID)
			}
		}
		defer cancel()
		shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), waitLimit)
		defer cancelShutdown()
		require.NoError(t, r.Shutdown(shutdownCtx), "Shutdown")
		assert.NoError(t, <-runErr) // Shutdown returned, so Run has
		for _, pid := range pids {
			assert.True(t, processGone(pid), "child %d still running after Run returned", pid)
		}
	})
	syncCtx, cancelSync := context.WithTimeout(ctx, waitLimit)
	defer cancelSync()
	require.NoError(t, r.WaitForSync(syncCtx))
	return h
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	require.NoError(h.t, h.r.WaitUntil(ctx, cond), "waiting for %s; pods: %+v", what, h.r.Pods())
}

// endpoints waits until the Service's endpoints are exactly the named pods.
func (h *harness) endpoints(svc string, names ...string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("endpoints of %s = %v", svc, names), func() bool {
		eps, err := h.r.Endpoints(ns, svc)
		if err != nil {
			return false
		}
		got := []string{}
		for _, e := range eps {
			got = append(got, e.Name)
		}
		return slices.Equal(got, append([]string{}, names...))
	})
}

func (h *harness) get(path string) (int, string, http.Header) {
	h.t.Helper()
	resp, err := http.Get(h.srv.URL + path)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, string(body), resp.Header
}

func (h *harness) version(svc string) (version, pod string) {
	h.t.Helper()
	code, body, hdr := h.get("/api/v1/namespaces/" + ns + "/services/" + svc + "/proxy/version")
	require.Equal(h.t, http.StatusOK, code, body)
	var v struct{ Version, Pod string }
	require.NoError(h.t, json.Unmarshal([]byte(body), &v), body)
	assert.Equal(h.t, v.Pod, hdr.Get(PodHeader))
	return v.Version, v.Pod
}

// status decodes a Kubernetes Status answer.
func status(t *testing.T, body string) metav1.Status {
	t.Helper()
	var st metav1.Status
	require.NoError(t, json.Unmarshal([]byte(body), &st), body)
	return st
}

func (h *harness) pod(name string) (PodInfo, bool) {
	for _, p := range h.r.Pods() {
		if p.Name == name {
			return p, true
		}
	}
	return PodInfo{}, false
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestServiceProxyFollowsSelector(t *testing.T) {
	h := startWith(t, map[string]string{demoRepo: demoapp},
		[]*corev1.Service{newService("demo", map[string]string{labelApp: "demo", labelCol: "blue"})},
		newPod("demo-blue-1", "blue", demoRepo+":v1.0.0", true),
		newPod("demo-green-1", "green", demoRepo+":v1.1.0", true))
	h.endpoints("demo", "demo-blue-1")

	for _, svc := range []string{"demo:8080", "http:demo:8080", "demo:http"} {
		v, pod := h.version(svc)
		assert.Equal(t, "v1.0.0", v, svc)
		assert.Equal(t, "demo-blue-1", pod, svc)
	}
	code, body, _ := h.get("/api/v1/namespaces/prod/services/demo:8080/proxy/?x=1")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "slipway demo app v1.0.0 on pod demo-blue-1\n", body)

	// Switch the Service to green, as a blue-green cut-over does.
	svc, err := h.client.CoreV1().Services(ns).Get(t.Context(), "demo", metav1.GetOptions{})
	require.NoError(t, err)
	svc.Spec.Selector[labelCol] = "green"
	_, err = h.client.CoreV1().Services(ns).Update(t.Context(), svc, metav1.UpdateOptions{})
	require.NoError(t, err)
	h.endpoints("demo", "demo-green-1")
	v, pod := h.version("demo:8080")
	assert.Equal(t, "v1.1.0", v)
	assert.Equal(t, "demo-green-1", pod)

	// Deleting the only selected pod leaves the Service without endpoints and stops its child.
	green, ok := h.pod("demo-green-1")
	require.True(t, ok)
	require.NoError(t, h.client.CoreV1().Pods(ns).Delete(t.Context(), "demo-green-1", metav1.DeleteOptions{}))
	h.waitFor("demo-green-1's child to be dropped", func() bool { _, ok := h.pod("demo-green-1"); return !ok })
	code, body, _ = h.get("/api/v1/namespaces/prod/services/demo:8080/proxy/version")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	st := status(t, body)
	assert.Equal(t, `no endpoints available for service "demo"`, st.Message)
	assert.Equal(t, metav1.StatusReasonServiceUnavailable, st.Reason)
	require.Eventually(t, func() bool { return processGone(green.PID) }, waitLimit, 10*time.Millisecond,
		"the deleted pod's child (pid %d) is still running", green.PID)

	// Blue's child is untouched.
	blue, ok := h.pod("demo-blue-1")
	require.True(t, ok)
	assert.NotZero(t, blue.PID)
	assert.True(t, blue.Ready)
}

func TestRoundRobinAcrossReadyPods(t *testing.T) {
	h := startWith(t, map[string]string{demoRepo: demoapp},
		[]*corev1.Service{newService("demo", map[string]string{labelApp: "demo", labelCol: "blue"})},
		newPod("demo-blue-1", "blue", demoRepo+":v1.0.0", true),
		newPod("demo-blue-2", "blue", demoRepo+":v1.0.0", true))
	h.endpoints("demo", "demo-blue-1", "demo-blue-2")
	seen := map[string]int{}
	for range 4 {
		_, pod := h.version("demo:8080")
		seen[pod]++
	}
	assert.Equal(t, map[string]int{"demo-blue-1": 2, "demo-blue-2": 2}, seen)
}

func TestReadinessPhaseAndImageChange(t *testing.T) {
	h := startWith(t, map[string]string{demoRepo: demoapp},
		[]*corev1.Service{newService("demo", map[string]string{labelApp: "demo"})},
		newPod("demo-1", "blue", demoRepo+":v1.0.0", false))
	h.waitFor("demo-1's child", func() bool { p, ok := h.pod("demo-1"); return ok && p.PID != 0 })

	// Running but not Ready: the child runs, the Service has no endpoint.
	code, body, _ := h.get("/api/v1/namespaces/prod/services/demo:8080/proxy/version")
	assert.Equal(t, http.StatusServiceUnavailable, code, body)

	pods := h.client.CoreV1().Pods(ns)
	pod, err := pods.Get(t.Context(), "demo-1", metav1.GetOptions{})
	require.NoError(t, err)
	pod.Status.Conditions[0].Status = corev1.ConditionTrue
	_, err = pods.UpdateStatus(t.Context(), pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	h.endpoints("demo", "demo-1")
	v, _ := h.version("demo:8080")
	assert.Equal(t, "v1.0.0", v)
	before, _ := h.pod("demo-1")

	// A new image means a new process with the new version.
	pod, err = pods.Get(t.Context(), "demo-1", metav1.GetOptions{})
	require.NoError(t, err)
	pod.Spec.Containers[0].Image = demoRepo + ":v1.0.1"
	_, err = pods.Update(t.Context(), pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	h.waitFor("demo-1 on v1.0.1", func() bool {
		p, ok := h.pod("demo-1")
		return ok && p.Image == demoRepo+":v1.0.1" && p.PID != 0
	})
	v, _ = h.version("demo:8080")
	assert.Equal(t, "v1.0.1", v)
	after, _ := h.pod("demo-1")
	assert.NotEqual(t, before.PID, after.PID)
	assert.NotEqual(t, before.Port, after.Port)
	require.Eventually(t, func() bool { return processGone(before.PID) }, waitLimit, 10*time.Millisecond)

	// A pod that stops Running loses its process.
	pod, err = pods.Get(t.Context(), "demo-1", metav1.GetOptions{})
	require.NoError(t, err)
	pod.Status.Phase = corev1.PodSucceeded
	_, err = pods.UpdateStatus(t.Context(), pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	h.waitFor("demo-1's child to be dropped", func() bool { _, ok := h.pod("demo-1"); return !ok })
	code, _, _ = h.get("/api/v1/namespaces/prod/services/demo:8080/proxy/version")
	assert.Equal(t, http.StatusServiceUnavailable, code)
}

func TestUnmatchedImageGetsNoProcess(t *testing.T) {
	nginx := newPod("nginx-1", "blue", "nginx:1.27", true)
	nginx.Labels = map[string]string{labelApp: "nginx"}
	h := startWith(t, map[string]string{demoRepo: demoapp},
		[]*corev1.Service{newService("web", map[string]string{labelApp: "nginx"})},
		nginx, newPod("demo-1", "blue", demoRepo+":v1.0.0", true))
	h.waitFor("demo-1's child", func() bool { p, ok := h.pod("demo-1"); return ok && p.PID != 0 })

	assert.Nil(t, h.r.want(nginx), "no program for nginx")
	_, ok := h.pod("nginx-1")
	assert.False(t, ok)
	code, body, _ := h.get("/api/v1/namespaces/prod/services/web:8080/proxy/")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, `no endpoints available for service "web"`, status(t, body).Message)
}

func TestProxyErrorsAndDebug(t *testing.T) {
	h := startWith(t, map[string]string{demoRepo: demoapp},
		[]*corev1.Service{
			newService("demo", map[string]string{labelApp: "demo"}),
			newService("noselector", nil),
		},
		newPod("demo-1", "blue", demoRepo+":v1.0.0", true))
	h.endpoints("demo", "demo-1")

	code, body, _ := h.get("/api/v1/namespaces/prod/services/nope:8080/proxy/version")
	assert.Equal(t, http.StatusNotFound, code)
	st := status(t, body)
	assert.Equal(t, `services "nope" not found`, st.Message)
	assert.Equal(t, metav1.StatusReasonNotFound, st.Reason)
	assert.Equal(t, "Status", st.Kind)

	code, body, _ = h.get("/api/v1/namespaces/prod/services/demo:9999/proxy/version")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, `no service port 9999 found for service "demo"`, status(t, body).Message)

	code, body, _ = h.get("/api/v1/namespaces/prod/services/demo/proxy/version") // the only port is named
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, `no endpoints available for service "demo"`, status(t, body).Message)

	code, _, _ = h.get("/api/v1/namespaces/prod/services/noselector:8080/proxy/")
	assert.Equal(t, http.StatusServiceUnavailable, code)

	code, _, _ = h.get("/api/v1/namespaces/prod/pods/demo-1")
	assert.Equal(t, http.StatusNotFound, code)

	code, body, _ = h.get("/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body)

	code, body, _ = h.get("/debug/pods")
	require.Equal(t, http.StatusOK, code)
	var pods []PodInfo
	require.NoError(t, json.Unmarshal([]byte(body), &pods), body)
	require.Len(t, pods, 1)
	assert.Equal(t, "demo-1", pods[0].Name)
	assert.Equal(t, demoRepo+":v1.0.0", pods[0].Image)
	assert.Equal(t, "v1.0.0", pods[0].Version)
	assert.Equal(t, demoapp, pods[0].Program)
	assert.True(t, pods[0].Ready)
	assert.NotZero(t, pods[0].PID)
	assert.NotZero(t, pods[0].Port)
}

func TestNamespacesLimitTheWatch(t *testing.T) {
	staging := newPod("demo-1", "", demoRepo+":v0.9.0", true)
	staging.Namespace = "staging"
	svc := newService("demo", map[string]string{labelApp: "demo"})
	stagingSvc := newService("demo", map[string]string{labelApp: "demo"})
	stagingSvc.Namespace = "staging"
	h := startConfigured(t, func(r *Runner) { r.Namespaces = []string{"staging"} },
		map[string]string{demoRepo: demoapp}, []*corev1.Service{svc, stagingSvc},
		newPod("demo-1", "blue", demoRepo+":v1.0.0", true), staging)
	h.waitFor("the staging pod's child", func() bool {
		eps, err := h.r.Endpoints("staging", "demo")
		return err == nil && len(eps) == 1
	})
	code, body, _ := h.get("/api/v1/namespaces/staging/services/demo:8080/proxy/version")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"version":"v0.9.0"`)

	code, body, _ = h.get("/api/v1/namespaces/prod/services/demo:8080/proxy/version")
	assert.Equal(t, http.StatusNotFound, code, "prod is not watched")
	assert.Equal(t, `services "demo" not found`, status(t, body).Message)
	for _, p := range h.r.Pods() {
		assert.Equal(t, "staging", p.Namespace)
	}
}

func TestChildThatExitsIsRestarted(t *testing.T) {
	falseBin, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false(1) on PATH")
	}
	h := start(t, map[string]string{"localhost/crashy": falseBin}, newPod("crashy-1", "blue", "localhost/crashy:v1", true))
	h.waitFor("two restarts", func() bool { p, ok := h.pod("crashy-1"); return ok && p.Restarts >= 2 })
}

func TestWantEnvironment(t *testing.T) {
	r := New(fake.NewClientset(), map[string]string{"docker.io/library/nginx": "/bin/nginx-standin"}, nil)
	pod := newPod("p", "blue", "nginx:1.27", true)
	pod.Spec.Containers[0].Env = append(pod.Spec.Containers[0].Env, corev1.EnvVar{Name: "APP_VERSION", Value: "spoofed"})
	w := r.want(pod)
	require.NotNil(t, w, "nginx and docker.io/library/nginx are the same repository")
	assert.Equal(t, "/bin/nginx-standin", w.program)
	assert.Equal(t, "1.27", w.version)
	assert.Contains(t, w.env, "GREETING=hello")
	assert.NotContains(t, w.env, "SECRET=")
	// The tag wins over the container's own APP_VERSION: exec keeps the last of duplicate keys.
	assert.Equal(t, []string{"SLIPWAY_POD_NAME=p", "SLIPWAY_POD_NAMESPACE=prod", "APP_VERSION=1.27", "LISTEN_FDS=1"}, w.env[len(w.env)-4:])

	pod.Status.Phase = corev1.PodPending
	assert.Nil(t, r.want(pod))
	pod.Status.Phase = corev1.PodRunning
	pod.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	assert.Nil(t, r.want(pod))
}

func TestSplitImage(t *testing.T) {
	for image, want := range map[string][2]string{
		"localhost/slipway/demo-app:v1.0.0":        {"localhost/slipway/demo-app", "v1.0.0"},
		"localhost:5000/slipway/demo-app:v1.1.0-b": {"localhost:5000/slipway/demo-app", "v1.1.0-b"},
		"localhost/slipway/demo-app":               {"localhost/slipway/demo-app", "latest"},
		"nginx:1.27":                               {"index.docker.io/library/nginx", "1.27"},
		"docker.io/library/nginx:1.27":             {"index.docker.io/library/nginx", "1.27"},
		"ghcr.io/a/b:v2@sha256:" + sha:             {"ghcr.io/a/b", "v2"},
		"ghcr.io/a/b@sha256:" + sha:                {"ghcr.io/a/b", "sha256:" + sha},
	} {
		repo, tag, ok := splitImage(image)
		require.True(t, ok, image)
		assert.Equal(t, want, [2]string{repo, tag}, image)
	}
	_, _, ok := splitImage("Not A Valid//Image")
	assert.False(t, ok)
	assert.Equal(t, "index.docker.io/library/nginx", normalizeRepo("docker.io/library/nginx"))
	assert.Equal(t, "localhost/slipway/demo-app", normalizeRepo("localhost/slipway/demo-app"))
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestScrapeTargetsFollowThePods(t *testing.T) {
	h := start(t, map[string]string{demoRepo: demoapp}, newPod("web-blue-1", "blue", demoRepo+":v1.0.0", true))
	h.waitFor("a running child", func() bool { p, ok := h.pod("web-blue-1"); return ok && p.PID != 0 })
	path := filepath.Join(t.TempDir(), "targets.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.r.WriteScrapeTargets(ctx, path) }()
	read := func() []TargetGroup {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var groups []TargetGroup
		require.NoError(t, json.Unmarshal(b, &groups))
		return groups
	}
	h.waitFor("the target file", func() bool { return len(read()) == 1 })
	p, _ := h.pod("web-blue-1")
	g := read()[0]
	assert.Equal(t, []string{fmt.Sprintf("127.0.0.1:%d", p.Port)}, g.Targets)
	assert.Equal(t, map[string]string{"namespace": ns, "pod": "web-blue-1", "app": "demo", "color": "blue", "version": "v1.0.0"}, g.Labels)

	require.NoError(t, h.client.CoreV1().Pods(ns).Delete(context.Background(), "web-blue-1", metav1.DeleteOptions{}))
	h.waitFor("the pod's target gone", func() bool { b, err := os.ReadFile(path); return err == nil && string(b) == "[]" })
	cancel()
	require.NoError(t, <-done)
}
