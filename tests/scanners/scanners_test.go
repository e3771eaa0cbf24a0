//go:build integration

// Package scanners runs the pinned Trivy and Grype CLIs (scripts/tools.sh) for real, offline, against the
// fixture databases scripts/scandb.sh builds, and feeds their JSON through internal/scan and the Scan
// activity; tests/integration runs the same scanners inside releases.
package scanners

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/scan"
	"github.com/vektagraf/slipway/internal/spec"
)

var tools struct {
	repo, trivy, grype     string
	trivyCache, grypeCache string
}

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "scanners setup:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() error {
	repo, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	tools.repo = repo
	for name, dst := range map[string]*string{"trivy": &tools.trivy, "grype": &tools.grype} {
		out, err := output(repo, nil, "scripts/tools.sh", "path", name)
		if err != nil {
			return err
		}
		*dst = strings.TrimSpace(out)
	}
	out, err := output(repo, nil, "scripts/scandb.sh")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "TRIVY_CACHE_DIR":
			tools.trivyCache = v
		case "GRYPE_DB_CACHE_DIR":
			tools.grypeCache = v
		}
	}
	if tools.trivyCache == "" || tools.grypeCache == "" {
		return fmt.Errorf("scandb.sh printed no cache dirs: %q", out)
	}
	return nil
}

func output(dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute) // a cold generator build is slow
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// The host's own TRIVY_* / GRYPE_* settings (a severity filter, say) must not change what the test sees.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRIVY_") && !strings.HasPrefix(kv, "GRYPE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %v: %w\n%s", name, args, err, stderr.String())
	}
	return stdout.String(), nil
}

// scanBoth runs both scanners on a fixture target, as the scan stage will, and merges their findings.
func scanBoth(t *testing.T, target string) []scan.Finding {
	t.Helper()
	dir := filepath.Join(tools.repo, "tests/fixtures/scan-targets", target)
	trivyOut, err := output(dir, nil, tools.trivy, "fs", "--cache-dir", tools.trivyCache, "--skip-db-update",
		"--offline-scan", "--scanners", "vuln", "--format", "json", "--quiet", ".")
	require.NoError(t, err)
	grypeOut, err := output(dir, []string{"GRYPE_DB_AUTO_UPDATE=false", "GRYPE_DB_VALIDATE_AGE=false",
		"GRYPE_CHECK_FOR_APP_UPDATE=false", "GRYPE_DB_CACHE_DIR=" + tools.grypeCache}, tools.grype, "dir:.", "--by-cve", "-o", "json", "-q")
	require.NoError(t, err)

	fromTrivy, err := scan.ParseTrivy(strings.NewReader(trivyOut))
	require.NoError(t, err)
	fromGrype, err := scan.ParseGrype(strings.NewReader(grypeOut))
	require.NoError(t, err)
	return scan.Merge(map[string][]scan.Finding{scan.ScannerTrivy: fromTrivy, scan.ScannerGrype: fromGrype})
}

func TestRealScannersFindTheFixtureAdvisoriesAndThePolicyBlocks(t *testing.T) {
	findings := scanBoth(t, "vulnerable")
	byID := map[string]scan.Finding{}
	for _, f := range findings {
		byID[f.ID] = f
	}
	require.Len(t, byID, 3, "%+v", findings)
	critical := byID["CVE-2099-0001"]
	require.Equal(t, "github.com/example/vuln", critical.Package)
	require.Equal(t, scan.SeverityCritical, critical.Severity)
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, critical.Scanners, "both scanners found it")
	require.Contains(t, critical.FixedVersion, "1.2.0")
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, byID["CVE-2022-32149"].Scanners)
	require.Equal(t, scan.SeverityHigh, byID["CVE-2022-32149"].Severity)

	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p := spec.ScanPolicy{FailOn: spec.DefaultFailOn}
	v := scan.Evaluate(p, findings, now)
	require.False(t, v.Passed)
	require.Equal(t, 1, v.Counts.Blocking.Critical)
	require.Equal(t, 1, v.Counts.Blocking.High)
	require.Contains(t, v.Summary, "CVE-2099-0001 in github.com/example/vuln")

	// Both blocking CVEs accepted until a future date: the release may go on, and the report says why.
	p.Ignore = []spec.Ignore{
		{ID: "CVE-2099-0001", Reason: "not reachable: the vulnerable function is never called", Expires: "2027-01-31"},
		{ID: "CVE-2022-32149", Package: "golang.org/x/text", Reason: "no user-supplied Accept-Language", Expires: "2027-01-31"},
	}
	require.NoError(t, p.Validate(now))
	v = scan.Evaluate(p, findings, now)
	require.True(t, v.Passed, v.Summary)
	require.Len(t, v.Ignored, 2)

	// An expired ignore is an error, not a silent pass.
	p.Ignore[0].Expires = "2026-01-01"
	require.ErrorContains(t, p.Validate(now), "expired")

	sarif, err := scan.SARIF(findings, scan.ToolInfo{Version: "test", Target: "tests/fixtures/scan-targets/vulnerable"})
	require.NoError(t, err)
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(sarif, &log))
	require.Equal(t, "2.1.0", log.Version)
	require.Len(t, log.Runs[0].Results, 3)
}

func TestRealScannersFindNothingInTheCleanTarget(t *testing.T) {
	findings := scanBoth(t, "clean")
	require.Empty(t, findings)
	require.True(t, scan.Evaluate(spec.ScanPolicy{FailOn: spec.DefaultFailOn}, findings, time.Now()).Passed)
}
