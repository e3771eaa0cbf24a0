package activities

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"

	"go.temporal.io/sdk/worker"
	"k8s.io/client-go/rest"
)

// Set is every activity struct the workflows call, each holding its own clients and configuration.
type Set struct {
	Kubernetes *Kubernetes
	Prober     *Prober
	Registry   *Registry
	Scanners   *Scanners
	// Notifications posts to Slack; nil registers one with no credentials, which sends nothing.
	Notifications *Notifications
	// Compliance evaluates the compliance gate; nil registers one that writes no report.
	Compliance *Compliance
	// Analysis measures metrics; nil registers one without Prometheus.
	Analysis *Analysis
}

// Register registers every struct's exported methods as activities, each under its method name, which is the
// name workflows call it by: so every exported method of an activity struct must be an activity, and method
// names must be unique across the structs (TestRegisterNamesEveryActivityOnce lists them).
func Register(r worker.ActivityRegistry, s Set) {
	r.RegisterActivity(s.Kubernetes)
	r.RegisterActivity(s.Prober)
	r.RegisterActivity(s.Registry)
	r.RegisterActivity(s.Scanners)
	r.RegisterActivity(cmp.Or(s.Notifications, &Notifications{}))
	r.RegisterActivity(cmp.Or(s.Compliance, &Compliance{}))
	r.RegisterActivity(cmp.Or(s.Analysis, &Analysis{}))
}

// NewProber builds the Prober the worker's configuration asks for: through the API server's service proxy
// (mode "proxy", the default), through another server that serves the same URL shape (proxyURL set, e.g. the
// local cluster's localpods), or through cluster DNS (mode "dns", for a worker running in the cluster).
func NewProber(cfg *rest.Config, mode, proxyURL string) (*Prober, error) {
	switch mode {
	case "", ProbeModeProxy:
		if proxyURL != "" {
			if !strings.HasPrefix(proxyURL, "http://") && !strings.HasPrefix(proxyURL, "https://") {
				return nil, fmt.Errorf("probe proxy URL %q: want http://host:port", proxyURL)
			}
			return &Prober{HTTP: &http.Client{}, BaseURL: strings.TrimRight(proxyURL, "/"), Mode: ProbeModeProxy}, nil
		}
		return NewClusterProber(cfg)
	case ProbeModeDNS:
		return &Prober{HTTP: &http.Client{}, Mode: ProbeModeDNS}, nil
	default:
		return nil, fmt.Errorf("probe mode %q: want %q or %q", mode, ProbeModeProxy, ProbeModeDNS)
	}
}
