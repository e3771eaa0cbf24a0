// Command worker runs Slipway's workflows and activities. It connects to Temporal (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE) and to one Kubernetes cluster (--kubeconfig, $KUBECONFIG, or the in-cluster service
// account), reads images from registries with the docker config's credentials, scans them with the Trivy and
// Grype CLIs (docs/scanners.md), and polls the "slipway" task queue until SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"k8s.io/client-go/kubernetes"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/config"
	"github.com/vektagraf/slipway/internal/metrics"
	"github.com/vektagraf/slipway/internal/notify"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then in-cluster)")
	probeMode := flag.String("probe-mode", envOr("SLIPWAY_PROBE_MODE", activities.ProbeModeProxy),
		"how smoke checks reach a Service: proxy (through the API server's service proxy) or dns (in-cluster DNS)")
	probeURL := flag.String("probe-proxy-url", os.Getenv("SLIPWAY_PROBE_PROXY_URL"),
		"base URL of a service proxy to use instead of the API server's (the local cluster's localpods)")
	taskQueue := flag.String("task-queue", envOr("SLIPWAY_TASK_QUEUE", releaseapi.TaskQueue), "task queue to poll")
	readyFile := flag.String("ready-file", "", "write this file (the worker's PID) once the worker polls its task queue (and, with --set-current, its build is current)")
	promURL := flag.String("prometheus-url", os.Getenv("SLIPWAY_PROMETHEUS_URL"),
		"Prometheus the analysis queries (http://host:port); empty: metrics of provider prometheus measure as errors")
	sf := scannerFlags()
	ver := versioningFlags()
	flag.Parse()
	if err := ver.resolve(); err != nil {
		return err
	}
	analysis, err := analysisFor(*promURL)
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	restCfg, err := kubeConfig(*kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	prober, err := activities.NewProber(restCfg, *probeMode, *probeURL)
	if err != nil {
		return err
	}
	reg := &activities.Registry{}
	scanners, err := sf.scanners(reg)
	if err != nil {
		return err
	}

	tcfg := config.FromEnv()
	opts, err := tcfg.ClientOptions(logger)
	if err != nil {
		return err
	}
	c, err := client.Dial(opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", tcfg.Address, err)
	}
	defer c.Close()

	w := worker.New(c, *taskQueue, worker.Options{DisableRegistrationAliasing: true, DeploymentOptions: ver.options()})
	workflows.Register(w)
	slackCfg, err := notify.ConfigFromEnv()
	if err != nil {
		return err
	}
	notifications := &activities.Notifications{Config: slackCfg, WebUI: os.Getenv("SLIPWAY_WEB_UI")}
	activities.Register(w, activities.Set{Kubernetes: &activities.Kubernetes{Client: cs}, Prober: prober, Registry: reg,
		Scanners: scanners, Notifications: notifications, Compliance: &activities.Compliance{ReportsDir: scanners.ReportsDir, Registry: reg}, Analysis: analysis})
	logger.Info("worker started", "temporal", tcfg.Address, "namespace", tcfg.Namespace, "taskQueue", *taskQueue,
		"cluster", restCfg.Host, "probeMode", *probeMode, "trivy", scanners.TrivyPath, "grype", scanners.GrypePath,
		"trivyCacheDir", scanners.TrivyCacheDir, "grypeDBDir", scanners.GrypeDBDir, "scanCacheDir", scanners.CacheDir,
		"scanReportsDir", scanners.ReportsDir, "slack", slackCfg.Backend(),
		"versioning", ver.enabled, "deployment", ver.deployment, "buildID", ver.buildID)
	return runWorker(w, *readyFile, func() error { return ver.makeCurrent(context.Background(), c, logger) })
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// analysisFor builds the Analysis activities with the worker's Prometheus, checking its URL before anything
// else starts.
func analysisFor(promURL string) (*activities.Analysis, error) {
	a := &activities.Analysis{}
	if promURL == "" {
		return a, nil
	}
	if u, err := url.Parse(promURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--prometheus-url %q: write http://host:port", promURL)
	}
	var err error
	if a.Prometheus, err = metrics.NewPrometheus(promURL, nil); err != nil {
		return nil, fmt.Errorf("--prometheus-url: %w", err)
	}
	return a, nil
}
