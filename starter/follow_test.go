package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/scan"
)

// TestPrintScanShowsTheVerdictCountsAndTopFindings: printScan prints nothing without a scan, and otherwise
// the verdict, the counts, each top finding ("no fix" when there is none) and where the reports are.
func TestPrintScanShowsTheVerdictCountsAndTopFindings(t *testing.T) {
	var out strings.Builder
	printScan(&out, nil)
	require.Empty(t, out.String(), "no scan yet, nothing printed")

	printScan(&out, &releaseapi.ScanSummary{
		Image:   "127.0.0.1:5001/slipway/demo-app@sha256:abc",
		Summary: "blocked: 1 CRITICAL (CVE-2099-0001 in github.com/example/vuln 1.1.0, fixed in 1.2.0)",
		Counts: scan.Counts{Total: scan.SeverityCounts{Critical: 1, Low: 1}, Blocking: scan.SeverityCounts{Critical: 1},
			Ignored: scan.SeverityCounts{}},
		Top: []scan.Finding{
			{ID: "CVE-2099-0001", Package: "github.com/example/vuln", InstalledVersion: "1.1.0", FixedVersion: "1.2.0",
				Severity: scan.SeverityCritical, Scanners: []string{"grype", "trivy"}},
			{ID: "CVE-2099-0002", Package: "github.com/example/lowrisk", InstalledVersion: "1.0.0", Severity: scan.SeverityLow,
				Scanners: []string{"trivy"}},
		},
		Scanners:   []string{"grype", "trivy"},
		ReportsDir: "/var/lib/slipway/reports/demo-app/v1.3.0", ReportDigests: scan.ReportDigests{JSON: "sha256:def"},
	})
	got := out.String()
	for _, want := range []string{
		"scan of 127.0.0.1:5001/slipway/demo-app@sha256:abc: blocked: 1 CRITICAL",
		"found 1 critical, 0 high, 0 medium, 1 low, 0 unknown; 1 blocking, 0 ignored; scanners: grype, trivy\n",
		"CRITICAL  CVE-2099-0001        github.com/example/vuln 1.1.0 (fixed: 1.2.0) [grype, trivy]",
		"github.com/example/lowrisk 1.0.0 (fixed: no fix) [trivy]",
		"reports on the worker: /var/lib/slipway/reports/demo-app/v1.3.0 (report.json sha256:def)",
	} {
		require.Contains(t, got, want)
	}
}
