package scan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/spec"
)

func testReport() Report {
	policy := spec.ScanPolicy{FailOn: spec.DefaultFailOn,
		Ignore: []spec.Ignore{{ID: "CVE-2099-0002", Reason: "no fix upstream; not reachable", Expires: "2027-01-31"}}}
	findings := []Finding{critical, high, low}
	return Report{
		Target: "registry.local:5000/demo:1.2.3",
		Digest: "sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904b825dc642cb6eb9a060e54bf",
		Scanners: map[string]ScannerInfo{
			ScannerTrivy: {Version: "0.74.0", DBVersion: "2", DBUpdatedAt: time.Date(2026, 11, 25, 22, 20, 0, 0, time.UTC)},
			ScannerGrype: {Version: "0.121.2", DBVersion: "v6.1.3"},
		},
		Time:     now,
		Policy:   policy,
		Findings: findings,
		Verdict:  Evaluate(policy, findings, now),
	}
}

func TestWriteReports(t *testing.T) {
	dir := t.TempDir()
	r := testReport()
	sarif, err := SARIF(r.Findings, ToolInfo{Version: "dev", Target: r.Target})
	require.NoError(t, err)

	d, err := WriteReports(dir, r, sarif)
	require.NoError(t, err)

	jsonBytes, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	sarifBytes, err := os.ReadFile(filepath.Join(dir, "report.sarif"))
	require.NoError(t, err)
	assert.Equal(t, sha256Digest(jsonBytes), d.JSON, "the digest is of the file as written")
	assert.Equal(t, sha256Digest(sarifBytes), d.SARIF)
	assert.Equal(t, sarif, sarifBytes)

	var back Report
	require.NoError(t, json.Unmarshal(jsonBytes, &back))
	assert.Equal(t, ReportSchemaVersion, back.SchemaVersion)
	assert.Equal(t, r.Target, back.Target)
	assert.Equal(t, r.Digest, back.Digest)
	assert.Equal(t, r.Scanners, back.Scanners)
	assert.True(t, r.Time.Equal(back.Time))
	assert.Equal(t, r.Policy, back.Policy)
	assert.Equal(t, r.Findings, back.Findings)
	assert.Equal(t, r.Verdict, back.Verdict)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), info.Mode().Perm(), e.Name())
	}
	assert.Equal(t, []string{"report.json", "report.sarif"}, names, "no temporary files are left behind")

	// Writing again replaces the files and, for the same report, gives the same digests.
	d2, err := WriteReports(dir, r, sarif)
	require.NoError(t, err)
	assert.Equal(t, d, d2)
}

func TestWriteReportsEmptyReport(t *testing.T) {
	dir := t.TempDir()
	v := Evaluate(spec.ScanPolicy{}, nil, now)
	_, err := WriteReports(dir, Report{Target: ".", Time: now, Verdict: v}, []byte("{}\n"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Equal(t, []any{}, raw["findings"], "no findings is an empty list, not null")
	assert.Equal(t, "", raw["digest"], "the digest key is always present")
}

func TestWriteReportsErrors(t *testing.T) {
	_, err := WriteReports(t.TempDir(), testReport(), nil)
	require.ErrorContains(t, err, "the SARIF log is empty")

	missing := filepath.Join(t.TempDir(), "does-not-exist")
	_, err = WriteReports(missing, testReport(), []byte("{}"))
	require.ErrorContains(t, err, "report.json")
	_, statErr := os.Stat(missing)
	assert.True(t, os.IsNotExist(statErr), "WriteReports does not create the directory")
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
