package activities

import (
	"fmt"
	"net/http"
	"strings"

	"go.temporal.io/sdk/activity"
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
	Notifications *Notifications // Compliance evaluates the compliance gate; nil registers one that writes no report.
	Compliance    *Compliance
}

// Register registers every activity once, each under its method name (the names workflows call them by).
func Register(r worker.ActivityRegistry, s Set) {
	r.RegisterActivity(s.Kubernetes)
	r.RegisterActivityWithOptions(s.Prober.SmokeCheck, activity.RegisterOptions{Name: "SmokeCheck"})
	for name, fn := range map[string]any{
		"ResolveImage": s.Registry.ResolveImage, "PushImage": s.Registry.PushImage, "RestoreTags": s.Registry.RestoreTags,
		"MarkRejected": s.Registry.MarkRejected, "SignImage": s.Registry.SignImage, "VerifyImage": s.Registry.VerifyImage, "UnsignImage": s.Registry.UnsignImage,
		"CheckSigningKeys": s.Registry.CheckSigningKeys, "ReadTags": s.Registry.ReadTags,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	r.RegisterActivityWithOptions(s.Scanners.Scan, activity.RegisterOptions{Name: "Scan"})
	n := s.Notifications
	if n == nil {
		n = &Notifications{}
	}
	r.RegisterActivityWithOptions(n.Notify, activity.RegisterOptions{Name: "Notify"})
	r.RegisterActivityWithOptions(n.UpdateNotification, activity.RegisterOptions{Name: "UpdateNotification"})
	c := s.Compliance
	if c == nil {
		c = &Compliance{}
	}
	r.RegisterActivityWithOptions(c.EvaluateCompliance, activity.RegisterOptions{Name: "EvaluateCompliance"})
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
