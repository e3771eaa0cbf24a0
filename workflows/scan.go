package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/scan"
)

// registry and scanners are nil receivers, like k8s and probe.
var (
	registry *activities.Registry
	scanners *activities.Scanners
)

// scanStageChange is the workflow.GetVersion change ID of the scan stage. Releases recorded before it
// (DefaultVersion) replay without a scan; every new release scans first.
const scanStageChange = "scan-stage"

// scanHeartbeat is how long a scan may go without a heartbeat; Scan heartbeats every few seconds while it
// pulls and while the scanners run.
const scanHeartbeat = 30 * time.Second

// scanImage is the security gate: it pins the release's tag (in image.source, or image.repository) to a
// digest and scans that digest with Trivy and Grype under the spec's policy; from then on the release only
// handles that digest (the push stage copies it, deploys use it), so what runs is what was scanned even if a
// tag moves. A blocking verdict fails the stage with the activity's Vulnerable error.
func (r *release) scanImage(ctx workflow.Context) (string, error) {
	var img activities.ResolvedImage
	if err := workflow.ExecuteActivity(withShortActivity(ctx), registry.ResolveImage, r.source).Get(ctx, &img); err != nil {
		return "", err
	}
	r.scanned = img.Pinned()
	if !r.promote {
		// Without the push stage the scanned image is the deployed one: repo:tag@digest, pinned, and still
		// readable as the version.
		r.image = r.image + "@" + img.Digest
		r.t.status.Image = r.image
	}

	s := r.in.Spec.Scan
	in := activities.ScanInput{
		Target:             activities.ScanTarget{Image: img.Pinned()},
		Digest:             img.Digest,
		Policy:             s.Policy(),
		AllowSingleScanner: s.AllowSingleScanner,
		AttachReports:      s.AttachReports,
		ReportName:         r.in.Spec.App.Name + "/" + r.in.Version,
	}
	var res activities.ScanResult
	err := workflow.ExecuteActivity(withScan(ctx, s.Timeout.D()), scanners.Scan, in).Get(ctx, &res)
	if err != nil {
		if resultOfBlock(err, activities.ErrVulnerable, &res) {
			r.t.status.Scan = summarize(img, res)
		}
		return "", err
	}
	r.t.status.Scan = summarize(img, res)
	msg := fmt.Sprintf("%s: %s", img.Pinned(), res.Verdict.Summary)
	if res.Cached {
		msg += " (cached findings)"
	}
	return msg, nil
}

// withScan bounds one scan attempt by the spec's timeout (pull and both scanners), and retries twice: a
// scanner that crashed or timed out may pass on another try or another worker; a verdict never changes.
func withScan(ctx workflow.Context, timeout time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    scanHeartbeat,
		RetryPolicy:         retryPolicy(3),
	})
}

// summarize is the part of a scan result a status and a release result carry: counts and the top findings,
// never the whole report, so the history stays small.
func summarize(img activities.ResolvedImage, res activities.ScanResult) *ScanSummary {
	return &ScanSummary{
		Image: img.Pinned(), Digest: img.Digest, Passed: res.Verdict.Passed, Summary: res.Verdict.Summary,
		Counts: res.Verdict.Counts, Top: res.Verdict.Top, Scanners: res.Scanners, ScannerErrors: res.ScannerErrors,
		Cached: res.Cached, ReportsDir: res.ReportsDir, ReportDigests: res.ReportDigests, ReportArtifact: res.ReportArtifact,
	}
}

// ScanSummary is the security gate's outcome as the status query and the release result show it.
type ScanSummary struct {
	// Image is the scanned image by digest; the release deploys exactly this.
	Image  string `json:"image"`
	Digest string `json:"digest"`
	Passed bool   `json:"passed"`
	// Summary is the verdict in one line ("blocked: 1 CRITICAL (CVE-... in pkg 1.1.0, fixed in 1.2.0)").
	Summary string      `json:"summary"`
	Counts  scan.Counts `json:"counts"`
	// Top lists at most scan.MaxTop findings, blocking ones first; the reports have all of them.
	Top []scan.Finding `json:"top,omitempty"`
	// Scanners lists the scanners whose findings were merged; ScannerErrors says why one was left out.
	Scanners      []string          `json:"scanners"`
	ScannerErrors map[string]string `json:"scannerErrors,omitempty"`
	// Cached says the findings came from the worker's scan cache (same digest and databases).
	Cached bool `json:"cached,omitempty"`
	// ReportsDir is where the worker wrote report.json and report.sarif, whose digests are ReportDigests.
	ReportsDir    string             `json:"reportsDir,omitempty"`
	ReportDigests scan.ReportDigests `json:"reportDigests,omitzero"`
	// ReportArtifact is the reports' OCI artifact next to the image (spec scan.attachReports).
	ReportArtifact string `json:"reportArtifact,omitempty"`
}
