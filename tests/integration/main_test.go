//go:build integration

// Package integration runs releases end to end against real parts: the Temporal dev server (the CLI binary
// built by scripts/tools.sh), a real control plane on loopback (etcd, kube-apiserver, controller-manager,
// scheduler, KWOK) started by scripts/cluster-up.sh, and localpods running the demo app for every pod.
// Run it with `scripts/test.sh integration` (or `go test -tags integration ./tests/integration/`).
package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/imagebuild"
	"github.com/vektagraf/slipway/internal/localpods"
	"github.com/vektagraf/slipway/internal/metrics"
	"github.com/vektagraf/slipway/internal/releases"
	"github.com/vektagraf/slipway/workflows"
)

// demoImage is the repository localpods runs the demo app for, in the test's registry; set by setup.
var demoImage string

// inProcessQueue is the task queue of the worker TestMain runs in this process; tests that need a worker
// process of their own (to kill it) use other queues.
const inProcessQueue = "slipway-it"

var h struct {
	repo       string
	bin        string // worker, starter, demoapp binaries built for this run
	temporal   client.Client
	hostPort   string
	clusterDir string
	kubeconfig string
	restCfg    *rest.Config
	cs         kubernetes.Interface
	proxyURL   string // localpods' service-proxy server
	releases   *releases.Client
	registry   string // host:port of the OCI registry on loopback
	scanEnv    []string
	scanners   *activities.Scanners
	reportsDir string // the in-process worker's scan reports
	prometheus string // base URL of the Prometheus that scrapes the pods

	pushMu sync.Mutex
	pushed map[string]string // version -> digest of the demo app images pushed so far
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration setup:", err)
		code = 1
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	repo, err := filepath.Abs("../..")
	if err != nil {
		return 1, err
	}
	h.repo = repo
	work, err := os.MkdirTemp("", "slipway-it-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(work)

	h.bin = filepath.Join(work, "bin")
	// Static, like the demo's: the demo app's binary also goes into an image, which has no libc.
	if out, err := run(repo, []string{"CGO_ENABLED=0"}, "go", "build", "-o", h.bin+"/", "./worker", "./starter", "./cmd/demoapp"); err != nil {
		return 1, fmt.Errorf("build binaries: %v %s", err, out)
	}
	temporalBin, err := run(repo, nil, "scripts/tools.sh", "path", "temporal")
	if err != nil {
		return 1, err
	}

	// A real OCI registry on loopback (go-containerregistry's), holding the images releases scan and deploy.
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	h.registry = strings.TrimPrefix(reg.URL, "http://")
	demoImage = h.registry + "/slipway/demo-app"
	h.pushed = map[string]string{}

	// The scanners: the pinned CLIs and the fixture databases, as a worker is configured (worker --help).
	scanners := &activities.Scanners{Registry: &activities.Registry{}, Timeout: 2 * time.Minute,
		CacheDir: filepath.Join(work, "scan-cache"), ReportsDir: filepath.Join(work, "scan-reports")}
	h.reportsDir, h.scanners = scanners.ReportsDir, scanners
	for name, dst := range map[string]*string{"trivy": &scanners.TrivyPath, "grype": &scanners.GrypePath} {
		out, err := run(repo, nil, "scripts/tools.sh", "path", name)
		if err != nil {
			return 1, err
		}
		*dst = lastLine(out)
	}
	out, err := run(repo, nil, "scripts/scandb.sh")
	if err != nil {
		return 1, err
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch k, v, _ := strings.Cut(line, "="); k {
		case "TRIVY_CACHE_DIR":
			scanners.TrivyCacheDir = v
		case "GRYPE_DB_CACHE_DIR":
			scanners.GrypeDBDir = v
		}
	}
	h.scanEnv = []string{"SLIPWAY_TRIVY=" + scanners.TrivyPath, "SLIPWAY_GRYPE=" + scanners.GrypePath,
		"TRIVY_CACHE_DIR=" + scanners.TrivyCacheDir, "GRYPE_DB_CACHE_DIR=" + scanners.GrypeDBDir,
		"SLIPWAY_SCAN_CACHE_DIR=" + scanners.CacheDir, "SLIPWAY_SCAN_REPORTS_DIR=" + scanners.ReportsDir}

	// Temporal dev server: the real CLI binary, SQLite with WAL, on a free port.
	port, err := freePort()
	if err != nil {
		return 1, err
	}
	h.hostPort = "127.0.0.1:" + strconv.Itoa(port)
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  lastLine(temporalBin),
		ClientOptions: &client.Options{HostPort: h.hostPort, Logger: tlog.NewStructuredLogger(logger)},
		DBFilename:    filepath.Join(work, "temporal.db"),
		LogLevel:      "error",
		ExtraArgs:     []string{"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"},
		Stdout:        os.Stderr,
		Stderr:        os.Stderr,
	})
	if err != nil {
		return 1, fmt.Errorf("start Temporal dev server: %w", err)
	}
	defer srv.Stop()
	h.temporal = srv.Client()

	// The control plane, on ports of its own so a running `make demo` cluster is left alone. Its run dir is
	// fixed, so a run that was killed before its cleanup (Ctrl-C, the test timeout) is stopped here first
	// instead of holding the ports.
	cache := envOr("SLIPWAY_CACHE", filepath.Join(os.Getenv("HOME"), ".cache", "slipway"))
	h.clusterDir = filepath.Join(cache, "it-cluster")
	clusterEnv := []string{"SLIPWAY_K8S_DIR=" + h.clusterDir, "SLIPWAY_K8S_PORT_BASE=" + envOr("SLIPWAY_IT_PORT_BASE", "36440")}
	if _, err := run(repo, append(clusterEnv, "SLIPWAY_K8S_FAST_DOWN=1"), "scripts/cluster-down.sh"); err != nil {
		return 1, fmt.Errorf("stop a stale integration cluster: %w", err)
	}
	out, err = run(repo, clusterEnv, "scripts/cluster-up.sh")
	if err != nil {
		return 1, err
	}
	defer func() {
		if out, err := run(repo, append(clusterEnv, "SLIPWAY_K8S_FAST_DOWN=1"), "scripts/cluster-down.sh"); err != nil {
			fmt.Fprintf(os.Stderr, "cluster-down: %v %s\n", err, out)
		}
	}()
	h.kubeconfig = lastLine(out)
	h.restCfg, err = clientcmd.BuildConfigFromFlags("", h.kubeconfig)
	if err != nil {
		return 1, err
	}
	h.restCfg.QPS, h.restCfg.Burst = 100, 200
	h.cs, err = kubernetes.NewForConfig(h.restCfg)
	if err != nil {
		return 1, err
	}

	// localpods in this process: it runs the demo app for every Running pod and routes service-proxy URLs.
	runner := localpods.New(h.cs, map[string]string{demoImage: filepath.Join(h.bin, "demoapp")}, logger)
	runErr := make(chan error, 1)
	go func() { runErr <- runner.Run(ctx) }()
	if err := runner.WaitForSync(ctx); err != nil {
		return 1, fmt.Errorf("localpods sync: %w", err)
	}
	defer func() {
		cancel()
		<-runErr
	}()
	proxy := httptest.NewServer(runner.Handler())
	defer proxy.Close()
	h.proxyURL = proxy.URL

	// A real Prometheus (Debian's package) scraping every pod's stand-in process at its loopback address, from
	// the file_sd file localpods keeps, every second.
	if h.prometheus, err = startPrometheus(ctx, repo, work, runner); err != nil {
		return 1, err
	}

	// An in-process worker, wired exactly as cmd worker wires it.
	prober, err := activities.NewProber(h.restCfg, activities.ProbeModeProxy, h.proxyURL)
	if err != nil {
		return 1, err
	}
	prom, err := metrics.NewPrometheus(h.prometheus, nil)
	if err != nil {
		return 1, err
	}
	w := worker.New(h.temporal, inProcessQueue, worker.Options{DisableRegistrationAliasing: true})
	workflows.Register(w)
	activities.Register(w, activities.Set{Kubernetes: &activities.Kubernetes{Client: h.cs}, Prober: prober,
		Registry: scanners.Registry, Scanners: scanners, Compliance: &activities.Compliance{ReportsDir: scanners.ReportsDir, Registry: scanners.Registry},
		Analysis: &activities.Analysis{Prometheus: prom}})
	if err := w.Start(); err != nil {
		return 1, fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

	h.releases = &releases.Client{Temporal: h.temporal, Namespace: "default", WebUI: "http://127.0.0.1:8233", TaskQueue: inProcessQueue}
	return m.Run(), nil
}

// pushDemo pushes the demo app's image for version (built from the demoapp binary with internal/imagebuild,
// as `make demo` does with cmd/mkimage) to the test registry, once per version, and returns its digest.
func pushDemo(t *testing.T, version string) string {
	t.Helper()
	h.pushMu.Lock()
	defer h.pushMu.Unlock()
	if d, ok := h.pushed[version]; ok {
		return d
	}
	img, err := imagebuild.FromBinary(filepath.Join(h.bin, "demoapp"), imagebuild.Options{Version: version})
	require.NoError(t, err)
	d, err := imagebuild.Push(deadline(t, time.Minute), img, demoImage+":"+version)
	require.NoError(t, err)
	h.pushed[version] = d
	return d
}

// pinned is how a release deploys the demo image of version: repo:tag@digest.
func pinned(t *testing.T, version string) string {
	return demoImage + ":" + version + "@" + pushDemo(t, version)
}

// run executes a command in dir and returns its stdout; on failure the error carries stderr too.
func run(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %v: %w\n%s", name, args, err, stderr.String())
	}
	return stdout.String(), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// deadline bounds every wait in a test.
func deadline(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recordHistory writes the run's history as JSON (the format of `temporal workflow show --output json`) into
// $SLIPWAY_RECORD_HISTORIES, when set: `make record-histories` refreshes workflows/testdata/histories, which
// the replay tests in package workflows read to prove that changed workflow code still replays old releases.
func recordHistory(t *testing.T, run releases.Run, name string) {
	t.Helper()
	dir := os.Getenv("SLIPWAY_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	ctx := deadline(t, 30*time.Second)
	var events []*historypb.HistoryEvent
	iter := h.temporal.GetWorkflowHistory(ctx, run.ID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatalf("record history %s: %v", name, err)
		}
		events = append(events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		t.Fatalf("marshal history %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatalf("write history %s: %v", name, err)
	}
}
