package scan

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/spec"
)

var now = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)

func withIgnore(ig spec.Ignore, edit func(*spec.Ignore)) spec.Ignore {
	edit(&ig)
	return ig
}

// Findings shaped like the merged fixtures.
var (
	critical = Finding{ID: "CVE-2099-0001", Aliases: []string{"GHSA-2222-3333-4444"}, Package: "github.com/example/vuln",
		InstalledVersion: "1.1.0", FixedVersion: "1.2.0", Severity: SeverityCritical, Scanners: []string{ScannerGrype, ScannerTrivy}}
	high = Finding{ID: "CVE-2022-32149", Aliases: []string{"GHSA-69ch-w2m2-3vjp"}, Package: "golang.org/x/text",
		InstalledVersion: "0.3.7", FixedVersion: "0.3.8", Severity: SeverityHigh, Scanners: []string{ScannerGrype, ScannerTrivy}}
	highNoFix = Finding{ID: "CVE-2030-0003", Package: "github.com/example/nofix", InstalledVersion: "2.0.0",
		Severity: SeverityHigh, Scanners: []string{ScannerTrivy}}
	medium = Finding{ID: "CVE-2030-0004", Package: "github.com/example/meh", InstalledVersion: "0.1.0", FixedVersion: "0.2.0",
		Severity: SeverityMedium, Scanners: []string{ScannerGrype}}
	low = Finding{ID: "CVE-2099-0002", Aliases: []string{"GHSA-5555-6666-7777"}, Package: "github.com/example/lowrisk",
		InstalledVersion: "1.0.0", Severity: SeverityLow, Scanners: []string{ScannerGrype, ScannerTrivy}}
)

func TestEvaluate(t *testing.T) {
	all := []Finding{low, high, medium, critical, highNoFix}
	ignoreText := spec.Ignore{ID: "CVE-2022-32149", Reason: "not reachable", Expires: "2027-01-31"}
	tests := []struct {
		name         string
		policy       spec.ScanPolicy
		findings     []Finding
		wantPassed   bool
		wantBlocking []string
		wantIgnored  []string
		wantSummary  string
	}{
		{
			name:         "default fails on CRITICAL and HIGH",
			findings:     all,
			wantBlocking: []string{"CVE-2099-0001", "CVE-2022-32149", "CVE-2030-0003"},
			wantSummary: "blocked: 1 CRITICAL, 2 HIGH (CVE-2099-0001 in github.com/example/vuln 1.1.0, fixed in 1.2.0; " +
				"CVE-2022-32149 in golang.org/x/text 0.3.7, fixed in 0.3.8; CVE-2030-0003 in github.com/example/nofix 2.0.0, no fix yet)",
		},
		{
			name:        "default passes on MEDIUM and LOW",
			findings:    []Finding{low, medium},
			wantPassed:  true,
			wantSummary: "passed: 2 findings, none blocking (1 MEDIUM, 1 LOW)",
		},
		{
			name:         "only fixed: a HIGH without a fix does not block",
			policy:       spec.ScanPolicy{OnlyFixed: true},
			findings:     []Finding{high, highNoFix, low},
			wantBlocking: []string{"CVE-2022-32149"},
			wantSummary:  "blocked: 1 HIGH (CVE-2022-32149 in golang.org/x/text 0.3.7, fixed in 0.3.8)",
		},
		{
			name:        "only fixed and nothing fixable passes",
			policy:      spec.ScanPolicy{OnlyFixed: true},
			findings:    []Finding{highNoFix, low},
			wantPassed:  true,
			wantSummary: "passed: 2 findings, none blocking (1 HIGH, 1 LOW)",
		},
		{
			name:         "fail on MEDIUM too",
			policy:       spec.ScanPolicy{FailOn: []Severity{SeverityCritical, SeverityHigh, SeverityMedium}},
			findings:     []Finding{medium, low},
			wantBlocking: []string{"CVE-2030-0004"},
			wantSummary:  "blocked: 1 MEDIUM (CVE-2030-0004 in github.com/example/meh 0.1.0, fixed in 0.2.0)",
		},
		{
			name:        "ignore with a future expiry passes",
			policy:      spec.ScanPolicy{Ignore: []spec.Ignore{ignoreText}},
			findings:    []Finding{high, low},
			wantPassed:  true,
			wantIgnored: []string{"CVE-2022-32149"},
			wantSummary: "passed: 1 finding, none blocking (1 LOW); 1 ignored",
		},
		{
			name:         "an expired ignore no longer applies",
			policy:       spec.ScanPolicy{Ignore: []spec.Ignore{withIgnore(ignoreText, func(ig *spec.Ignore) { ig.Expires = "2026-01-01" })}},
			findings:     []Finding{high},
			wantBlocking: []string{"CVE-2022-32149"},
			wantSummary:  "blocked: 1 HIGH (CVE-2022-32149 in golang.org/x/text 0.3.7, fixed in 0.3.8)",
		},
		{
			name:        "ignore by alias, case-insensitively",
			policy:      spec.ScanPolicy{Ignore: []spec.Ignore{withIgnore(ignoreText, func(ig *spec.Ignore) { ig.ID = "ghsa-69ch-w2m2-3vjp" })}},
			findings:    []Finding{high},
			wantPassed:  true,
			wantIgnored: []string{"CVE-2022-32149"},
			wantSummary: "passed: 1 finding, all ignored",
		},
		{
			name:   "ignore by ID and package matches only that package",
			policy: spec.ScanPolicy{Ignore: []spec.Ignore{withIgnore(ignoreText, func(ig *spec.Ignore) { ig.Package = "golang.org/x/text" })}},
			findings: []Finding{high, with(high, func(f *Finding) {
				f.Package = "golang.org/x/text/v2" // the same advisory in another package
			})},
			wantBlocking: []string{"CVE-2022-32149"},
			wantIgnored:  []string{"CVE-2022-32149"},
			wantSummary:  "blocked: 1 HIGH (CVE-2022-32149 in golang.org/x/text/v2 0.3.7, fixed in 0.3.8); 1 ignored",
		},
		{
			name:        "no findings",
			wantPassed:  true,
			wantSummary: "passed: no findings",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate(tt.policy, tt.findings, now)
			assert.Equal(t, tt.wantPassed, v.Passed)
			assert.Equal(t, tt.wantSummary, v.Summary)
			assert.Equal(t, tt.wantBlocking, ids(v.Blocking))
			var ignored []string
			for _, ig := range v.Ignored {
				ignored = append(ignored, ig.Finding.ID)
				assert.NotEmpty(t, ig.Ignore.Reason, "the reason travels with the ignored finding")
			}
			assert.Equal(t, tt.wantIgnored, ignored)
			assert.Equal(t, len(tt.wantBlocking), v.Counts.Blocking.Sum())
			assert.Equal(t, len(tt.wantIgnored), v.Counts.Ignored.Sum())
			assert.Equal(t, len(tt.findings), v.Counts.Total.Sum())
			assert.NotContains(t, v.Summary, "\n")
		})
	}
}

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestVerdictIsBounded(t *testing.T) {
	var findings []Finding
	for _, fs := range syntheticFindings(500) {
		findings = append(findings, fs...)
	}
	findings = Merge(map[string][]Finding{"x": findings})
	p := spec.ScanPolicy{Ignore: []spec.Ignore{{ID: "GHSA-1", Reason: "test", Expires: "2027-01-01"}}}
	v := Evaluate(p, findings, now)

	assert.False(t, v.Passed)
	assert.Len(t, v.Blocking, MaxListed)
	assert.Equal(t, v.Counts.Blocking.Sum(), len(v.Blocking)+v.BlockingOmitted)
	assert.Len(t, v.Top, MaxTop)
	assert.Equal(t, v.Blocking[:MaxTop], v.Top, "blocking findings first")
	assert.Regexp(t, `^blocked: \d+ CRITICAL, \d+ HIGH \(.*; and \d+ more\); 1 ignored$`, v.Summary)
	assert.Equal(t, 1, v.Counts.Ignored.Sum())

	b, err := json.Marshal(v)
	require.NoError(t, err)
	assert.Less(t, len(b), 64<<10, "a verdict stays small whatever the number of findings")
}

func TestVerdictTopFillsWithNonBlocking(t *testing.T) {
	v := Evaluate(spec.ScanPolicy{}, []Finding{low, medium, critical}, now)
	assert.Equal(t, []string{"CVE-2099-0001", "CVE-2030-0004", "CVE-2099-0002"}, ids(v.Top))
	assert.Equal(t, SeverityCounts{Critical: 1, Medium: 1, Low: 1}, v.Counts.Total)
	assert.Equal(t, SeverityCounts{Critical: 1}, v.Counts.Blocking)
}

func TestVerdictOnFixtures(t *testing.T) {
	for _, kind := range []string{"vulnerable", "clean"} {
		v := Evaluate(spec.ScanPolicy{}, Merge(reports(t, kind)), now)
		if kind == "clean" {
			assert.True(t, v.Passed)
			assert.Equal(t, "passed: no findings", v.Summary)
			continue
		}
		assert.False(t, v.Passed)
		assert.Equal(t, "blocked: 1 CRITICAL, 1 HIGH (CVE-2099-0001 in github.com/example/vuln 1.1.0, fixed in 1.2.0; "+
			"CVE-2022-32149 in golang.org/x/text 0.3.7, fixed in 0.3.8)", v.Summary)
	}
}
