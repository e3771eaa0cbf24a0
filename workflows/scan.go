package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
)

// registry and scanners are nil receivers, like k8s and probe.
var (
	registry *activities.Registry
	scanners *activities.Scanners
)

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
func summarize(img activities.ResolvedImage, res activities.ScanResult) *releaseapi.ScanSummary {
	return &releaseapi.ScanSummary{
		Image: img.Pinned(), Digest: img.Digest, Passed: res.Verdict.Passed, Summary: res.Verdict.Summary,
		Counts: res.Verdict.Counts, Top: res.Verdict.Top, Scanners: res.Scanners, ScannerErrors: res.ScannerErrors,
		Cached: res.Cached, ReportsDir: res.ReportsDir, ReportDigests: res.ReportDigests, ReportArtifact: res.ReportArtifact,
	}
}
