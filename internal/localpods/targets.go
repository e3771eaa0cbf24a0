package localpods

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"

	"github.com/vektagraf/slipway/internal/fsutil"
)

// Labels a scrape target gets from its pod, so PromQL selects a release's pods the way the analysis's
// queries do (namespace, app, color, version).
const (
	podLabelApp   = "app.kubernetes.io/name"
	podLabelColor = "slipway.dev/color"
)

// TargetGroup is one entry of a Prometheus file_sd file: the pod's loopback address and its labels.
type TargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// ScrapeTargets lists every pod whose stand-in process runs, as Prometheus scrape targets at 127.0.0.1:<port>
// (KWOK's pod IPs reach nothing, and a Prometheus on this machine reaches only loopback; see
// docs/local-cluster.md). A pod that is not Ready is still listed: its metrics matter most then.
func (r *Runner) ScrapeTargets() []TargetGroup {
	out := []TargetGroup{}
	for _, p := range r.Pods() {
		if p.PID == 0 {
			continue
		}
		labels := map[string]string{"namespace": p.Namespace, "pod": p.Name, "version": p.Version}
		if l := r.podLister(p.Namespace); l != nil {
			if pod, err := l.Get(p.Name); err == nil {
				labels["app"] = pod.Labels[podLabelApp]
				labels["color"] = pod.Labels[podLabelColor]
			}
		}
		out = append(out, TargetGroup{Targets: []string{"127.0.0.1:" + strconv.Itoa(p.Port)}, Labels: labels})
	}
	return out
}

// WriteScrapeTargets keeps the file_sd file at path equal to ScrapeTargets until ctx ends: it writes it now and
// after every pod change, atomically (Prometheus never reads half a file), and only when the content changed;
// a write counts as a change for WaitUntil.
func (r *Runner) WriteScrapeTargets(ctx context.Context, path string) error {
	var last []byte
	for {
		r.mu.Lock()
		changed := r.changed
		r.mu.Unlock()
		b, err := json.MarshalIndent(r.ScrapeTargets(), "", "  ")
		if err != nil {
			return err
		}
		if !bytes.Equal(b, last) {
			if err := fsutil.WriteFileAtomic(path, b, 0o644); err != nil {
				return err
			}
			last = b
			r.notify() // WaitUntil callers (tests, scripts' readiness) see the file as a change too
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}
