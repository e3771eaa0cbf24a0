package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/vektagraf/slipway/internal/scan"
	"github.com/vektagraf/slipway/internal/spec"
)

// fakeScanner writes a shell script standing in for a scanner CLI: it appends its arguments to a log (so tests
// count invocations), prints the fixture (internal/scan/testdata/NAME; "" prints garbage), writes a line to
// stderr and exits with code.
func fakeScanner(t *testing.T, dir, name, fixture string, code int) (path, log string) {
	t.Helper()
	path = filepath.Join(dir, name)
	log = filepath.Join(dir, name+".log")
	out := "echo 'not json'"
	if fixture != "" {
		abs, err := filepath.Abs(filepath.Join("..", "internal", "scan", "testdata", fixture))
		require.NoError(t, err)
		out = fmt.Sprintf("cat %q", abs)
	}
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %q\n%s\necho '%s: something went wrong' >&2\nexit %d\n", log, out, name, code)
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path, log
}

func invocations(t *testing.T, log string) int {
	t.Helper()
	data, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(data), "\n")
}

// fakeDatabases builds the two marker files Scan checks, with the contents scripts/scandb.sh writes.
func fakeDatabases(t *testing.T, s *Scanners) {
	t.Helper()
	root := t.TempDir()
	s.TrivyCacheDir, s.GrypeDBDir = filepath.Join(root, "trivy"), filepath.Join(root, "grype")
	require.NoError(t, os.MkdirAll(filepath.Join(s.TrivyCacheDir, "db"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(s.GrypeDBDir, "6"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(s.TrivyCacheDir, "db", "metadata.json"),
		[]byte(`{"Version":2,"NextUpdate":"2126-11-25T23:03:37Z","UpdatedAt":"2026-11-25T23:03:37Z","DownloadedAt":"2026-11-25T23:03:37Z"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(s.GrypeDBDir, "6", "vulnerability.db"), []byte("sqlite"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(s.GrypeDBDir, "6", "import.json"),
		[]byte(`{"digest":"xxh64:53753879afd38570","source":"slipway-scandb","client_version":"v6.1.10"}`), 0o644))
}

type fakeSetup struct {
	s                  *Scanners
	trivyLog, grypeLog string
	target             string
}

// newFake builds Scanners around two fake CLIs printing the given fixtures with the given exit codes.
func newFake(t *testing.T, trivyFixture string, trivyCode int, grypeFixture string, grypeCode int) fakeSetup {
	t.Helper()
	bin := t.TempDir()
	f := fakeSetup{s: &Scanners{Timeout: 10 * time.Second}, target: t.TempDir()}
	f.s.TrivyPath, f.trivyLog = fakeScanner(t, bin, "trivy", trivyFixture, trivyCode)
	f.s.GrypePath, f.grypeLog = fakeScanner(t, bin, "grype", grypeFixture, grypeCode)
	fakeDatabases(t, f.s)
	return f
}

func TestScanValidatesItsInput(t *testing.T) {
	f := newFake(t, "trivy-clean.json", 0, "grype-clean.json", 0)
	layout := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(layout, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(layout, "index.json"), []byte(`{}`), 0o644))
	file := filepath.Join(f.target, "go.mod")
	require.NoError(t, os.WriteFile(file, []byte("module x\n"), 0o644))
	expired := spec.ScanPolicy{Ignore: []spec.Ignore{{ID: "CVE-2099-0001", Reason: "accepted", Expires: "2020-01-01"}}}

	for _, tc := range []struct {
		name string
		in   ScanInput
		want string
	}{
		{"no target", ScanInput{}, "no target"},
		{"two targets", ScanInput{Target: ScanTarget{Dir: f.target, OCILayout: layout}}, "set exactly one"},
		{"image by tag", ScanInput{Target: ScanTarget{Image: "127.0.0.1:5000/app:v1"}}, "scan an image by digest"},
		{"image digest disagrees", ScanInput{Target: ScanTarget{Image: "127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64)},
			Digest: "sha256:" + strings.Repeat("b", 64)}, "differs from target.image"},
		{"report name escapes", ScanInput{Target: ScanTarget{Dir: f.target}, ReportName: "app/../../etc"}, "'..'"},
		{"report name odd characters", ScanInput{Target: ScanTarget{Dir: f.target}, ReportName: "app/v1 2"}, "segment"},
		{"missing dir", ScanInput{Target: ScanTarget{Dir: filepath.Join(f.target, "missing")}}, "no such file"},
		{"relative dir", ScanInput{Target: ScanTarget{Dir: "tests/fixtures"}}, "absolute, clean path"},
		{"unclean dir", ScanInput{Target: ScanTarget{Dir: f.target + "/../x"}}, "absolute, clean path"},
		{"a file", ScanInput{Target: ScanTarget{Dir: file}}, "not a directory"},
		{"not a layout", ScanInput{Target: ScanTarget{OCILayout: f.target}}, "not an OCI image layout"},
		{"bad digest", ScanInput{Target: ScanTarget{Dir: f.target}, Digest: "abc"}, "algorithm:hex"},
		{"expired ignore", ScanInput{Target: ScanTarget{Dir: f.target}, Policy: expired}, "CVE-2099-0001 expired on 2020-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.Scan(context.Background(), tc.in)
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, ErrInvalidInput, ErrorType(err))
			require.Zero(t, invocations(t, f.trivyLog)+invocations(t, f.grypeLog), "no scanner runs on a bad input")
		})
	}
}

func TestScanRefusesMissingDatabases(t *testing.T) {
	for _, which := range []string{"trivy", "grype"} {
		t.Run(which, func(t *testing.T) {
			f := newFake(t, "trivy-clean.json", 0, "grype-clean.json", 0)
			dir := f.s.TrivyCacheDir
			if which == "grype" {
				dir = f.s.GrypeDBDir
			}
			require.NoError(t, os.RemoveAll(dir))
			_, err := f.s.Scan(context.Background(), ScanInput{Target: ScanTarget{Dir: f.target}})
			require.Equal(t, ErrScannerDatabase, ErrorType(err), "%v", err)
			require.ErrorContains(t, err, dir)
			require.ErrorContains(t, err, "scripts/scandb.sh")
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			require.True(t, appErr.NonRetryable())
			require.Zero(t, invocations(t, f.trivyLog)+invocations(t, f.grypeLog))
		})
	}
}

func TestScanBothScannersVulnerable(t *testing.T) {
	f := newFake(t, "trivy-vulnerable.json", 0, "grype-vulnerable.json", 0)
	reports := filepath.Join(t.TempDir(), "reports")
	res, err := f.s.Scan(context.Background(), ScanInput{Target: ScanTarget{Dir: f.target}, ReportsDir: reports, Digest: "sha256:abc"})
	require.Equal(t, ErrVulnerable, ErrorType(err), "%v", err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable())
	require.Equal(t, res.Verdict.Summary, appErr.Message())
	var fromDetails ScanResult
	require.NoError(t, appErr.Details(&fromDetails))
	require.Equal(t, 1, fromDetails.Verdict.Counts.Blocking.Critical)

	require.False(t, res.Verdict.Passed)
	require.Equal(t, 1, res.Verdict.Counts.Blocking.Critical)
	require.Equal(t, 1, res.Verdict.Counts.Blocking.High)
	require.Equal(t, 1, res.Verdict.Counts.Total.Low)
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, res.Scanners)
	require.Empty(t, res.ScannerErrors)
	require.Empty(t, res.Notes)
	require.False(t, res.Cached)
	require.Equal(t, "v0.74.0", res.Databases[scan.ScannerTrivy].Version)
	require.Equal(t, "2", res.Databases[scan.ScannerTrivy].DBVersion)
	require.Equal(t, time.Date(2026, 11, 25, 23, 3, 37, 0, time.UTC), res.Databases[scan.ScannerTrivy].DBUpdatedAt)
	require.Equal(t, "v0.121.2", res.Databases[scan.ScannerGrype].Version)
	require.Equal(t, "v6.1.10", res.Databases[scan.ScannerGrype].DBVersion)
	require.False(t, res.Databases[scan.ScannerGrype].DBUpdatedAt.IsZero(), "from the report's db status")

	for file, digest := range map[string]string{scan.ReportJSONFile: res.ReportDigests.JSON, scan.ReportSARIFFile: res.ReportDigests.SARIF} {
		data, err := os.ReadFile(filepath.Join(reports, file))
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), digest, file)
	}
	require.Equal(t, 1, invocations(t, f.trivyLog))
	require.Equal(t, 1, invocations(t, f.grypeLog))
	args, _ := os.ReadFile(f.trivyLog)
	require.Contains(t, string(args), "fs --cache-dir "+f.s.TrivyCacheDir)
	require.Contains(t, string(args), f.target)
	args, _ = os.ReadFile(f.grypeLog)
	require.Contains(t, string(args), "dir:"+f.target+" --by-cve -o json")
}

func TestScanBothScannersClean(t *testing.T) {
	f := newFake(t, "trivy-clean.json", 0, "grype-clean.json", 0)
	res, err := f.s.Scan(context.Background(), ScanInput{Target: ScanTarget{Dir: f.target}})
	require.NoError(t, err)
	require.True(t, res.Verdict.Passed)
	require.Equal(t, "passed: no findings", res.Verdict.Summary)
	require.Zero(t, res.ReportDigests)
}

func TestScanOneScannerFails(t *testing.T) {
	for _, tc := range []struct {
		name          string
		trivyFixture  string
		trivyCode     int
		grypeFixture  string
		grypeCode     int
		failed, used  string
		failedMessage string
	}{
		{"trivy garbage", "", 1, "grype-vulnerable.json", 0, "trivy", "grype", "trivy: exit status 1, and its output is not a report"},
		{"grype garbage exit 0", "trivy-vulnerable.json", 0, "", 0, "grype", "trivy", "grype: exit status 0, and its output is not a report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.trivyFixture, tc.trivyCode, tc.grypeFixture, tc.grypeCode)
			in := ScanInput{Target: ScanTarget{Dir: f.target}}
			_, err := f.s.Scan(context.Background(), in)
			require.ErrorContains(t, err, tc.failedMessage)
			require.ErrorContains(t, err, tc.failed+": something went wrong", "the stderr tail")
			require.Empty(t, ErrorType(err), "a failed scanner is retryable")

			in.AllowSingleScanner = true
			res, err := f.s.Scan(context.Background(), in)
			require.Equal(t, ErrVulnerable, ErrorType(err), "%v", err)
			require.Equal(t, []string{tc.used}, res.Scanners)
			require.Contains(t, res.ScannerErrors[tc.failed], tc.failedMessage)
			require.NotContains(t, res.Databases, tc.failed)
			require.Equal(t, 1, res.Verdict.Counts.Blocking.Critical)
		})
	}
}

func TestScanBothScannersFailEvenWhenOneIsAllowed(t *testing.T) {
	f := newFake(t, "", 2, "", 1)
	_, err := f.s.Scan(context.Background(), ScanInput{Target: ScanTarget{Dir: f.target}, AllowSingleScanner: true})
	require.ErrorContains(t, err, "trivy: exit status 2")
	require.ErrorContains(t, err, "grype: exit status 1")
	require.Empty(t, ErrorType(err))
}

func TestScanNonZeroExitWithAValidReportCounts(t *testing.T) {
	f := newFake(t, "trivy-vulnerable.json", 1, "grype-vulnerable.json", 0)
	res, err := f.s.Scan(context.Background(), ScanInput{Target: ScanTarget{Dir: f.target}})
	require.Equal(t, ErrVulnerable, ErrorType(err), "%v", err)
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, res.Scanners)
	require.Len(t, res.Notes, 1)
	require.Contains(t, res.Notes[0], "trivy: exit status 1, but its report is valid")
}

func TestScanTimeoutIsRetryable(t *testing.T) {
	f := newFake(t, "trivy-clean.json", 0, "grype-clean.json", 0)
	require.NoError(t, os.WriteFile(f.s.GrypePath, []byte("#!/bin/sh\necho stuck >&2\nexec sleep 30\n"), 0o755))
	f.s.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := f.s.Scan(context.Background(), ScanInput{Target: ScanTarget{Dir: f.target}})
	require.ErrorContains(t, err, "grype: timed out after 300ms")
	require.ErrorContains(t, err, "stuck")
	require.Empty(t, ErrorType(err))
	require.Less(t, time.Since(start), 10*time.Second)
}

// TestScanInAnActivityEnvironment runs Scan as Temporal runs it: the heartbeat works, and a blocking verdict
// reaches the caller as a Vulnerable error whose details carry the result.
func TestScanInAnActivityEnvironment(t *testing.T) {
	f := newFake(t, "trivy-vulnerable.json", 0, "grype-vulnerable.json", 0)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(f.s)
	_, err := env.ExecuteActivity(f.s.Scan, ScanInput{Target: ScanTarget{Dir: f.target}})
	require.Equal(t, ErrVulnerable, ErrorType(err), "%v", err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	var res ScanResult
	require.NoError(t, appErr.Details(&res))
	require.Equal(t, 1, res.Verdict.Counts.Blocking.High)
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, res.Scanners)
}
