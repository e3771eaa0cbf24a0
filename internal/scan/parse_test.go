package scan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture is one scanner report under testdata: the ones the pinned scanners wrote
// ({trivy,grype}-{vulnerable,clean}.json, scanning tests/fixtures/scan-targets/ against the offline databases
// built from tests/fixtures/advisories.json) when present, and the hand-written samples shaped like them
// ({trivy,grype}-sample-*.json), which always are.
type fixture struct {
	name  string
	parse func(*os.File) ([]Finding, error)
	path  string
	real  bool
}

// fixtures lists the reports of one kind ("vulnerable" or "clean") for both scanners.
func fixtures(t *testing.T, kind string) []fixture {
	t.Helper()
	parsers := map[string]func(*os.File) ([]Finding, error){
		ScannerTrivy: func(f *os.File) ([]Finding, error) { return ParseTrivy(f) },
		ScannerGrype: func(f *os.File) ([]Finding, error) { return ParseGrype(f) },
	}
	var out []fixture
	for _, scanner := range []string{ScannerGrype, ScannerTrivy} {
		out = append(out, fixture{name: scanner + "-sample-" + kind, parse: parsers[scanner],
			path: filepath.Join("testdata", scanner+"-sample-"+kind+".json")})
		real := filepath.Join("testdata", scanner+"-"+kind+".json")
		if _, err := os.Stat(real); err == nil {
			out = append(out, fixture{name: scanner + "-" + kind, parse: parsers[scanner], path: real, real: true})
		} else {
			t.Logf("%s not present yet; using the sample only", real)
		}
	}
	return out
}

// reports parses one report of each scanner of one kind, keyed by scanner as Merge wants them: the real report
// when present, else the sample.
func reports(t *testing.T, kind string) map[string][]Finding {
	t.Helper()
	out := map[string][]Finding{}
	for _, fx := range fixtures(t, kind) { // a scanner's real report comes after its sample
		out[strings.SplitN(fx.name, "-", 2)[0]] = parseFile(t, fx)
	}
	return out
}

func parseFile(t *testing.T, fx fixture) []Finding {
	t.Helper()
	f, err := os.Open(fx.path)
	require.NoError(t, err)
	defer f.Close()
	findings, err := fx.parse(f)
	require.NoError(t, err, fx.path)
	return findings
}

// byID indexes findings by ID, failing on a duplicate (each fixture has one finding per advisory).
func byID(t *testing.T, fs []Finding) map[string]Finding {
	t.Helper()
	m := map[string]Finding{}
	for _, f := range fs {
		_, dup := m[f.ID]
		require.False(t, dup, "duplicate finding %s", f.ID)
		m[f.ID] = f
	}
	return m
}

func TestParseFixturesVulnerable(t *testing.T) {
	for _, fx := range fixtures(t, "vulnerable") {
		t.Run(fx.name, func(t *testing.T) {
			scanner := strings.SplitN(fx.name, "-", 2)[0]
			found := byID(t, parseFile(t, fx))

			text, ok := found["CVE-2022-32149"]
			require.True(t, ok, "the real advisory in golang.org/x/text is reported")
			assert.Equal(t, "golang.org/x/text", text.Package)
			assert.Equal(t, "0.3.7", normalizeVersion(text.InstalledVersion))
			assert.Equal(t, "0.3.8", normalizeVersion(text.FixedVersion))
			assert.Equal(t, SeverityHigh, text.Severity)
			assert.Equal(t, []string{scanner}, text.Scanners)
			assert.Equal(t, []string{"go.mod"}, text.Targets, "targets are relative, as Trivy writes them")
			assert.NotEmpty(t, text.Title)
			assert.NotEmpty(t, text.URL)
			if scanner == ScannerGrype {
				assert.Contains(t, text.Aliases, "GHSA-69ch-w2m2-3vjp", "the GHSA is kept as an alias")
			}

			vuln, ok := found["CVE-2099-0001"]
			require.True(t, ok, "the synthetic critical advisory is reported")
			assert.Equal(t, "github.com/example/vuln", vuln.Package)
			assert.Equal(t, "1.2.0", normalizeVersion(vuln.FixedVersion))
			assert.Equal(t, SeverityCritical, vuln.Severity)

			if low, ok := found["CVE-2099-0002"]; ok {
				assert.Equal(t, SeverityLow, low.Severity)
				assert.Empty(t, low.FixedVersion, "an advisory without a fix has no fixed version")
			}
			for id := range found {
				assert.Contains(t, []string{"CVE-2022-32149", "CVE-2099-0001", "CVE-2099-0002"}, id)
			}
		})
	}
}

func TestParseFixturesClean(t *testing.T) {
	for _, fx := range fixtures(t, "clean") {
		t.Run(fx.name, func(t *testing.T) {
			findings := parseFile(t, fx)
			assert.NotNil(t, findings)
			assert.Empty(t, findings)
		})
	}
}

func TestParseRejectsOtherInput(t *testing.T) {
	trivySample, err := os.ReadFile(filepath.Join("testdata", "trivy-sample-vulnerable.json"))
	require.NoError(t, err)
	grypeSample, err := os.ReadFile(filepath.Join("testdata", "grype-sample-vulnerable.json"))
	require.NoError(t, err)

	tests := []struct {
		name    string
		parse   func(string) ([]Finding, error)
		input   string
		wantErr string
	}{
		{"trivy empty", parseTrivyString, "", "trivy: the report is empty"},
		{"trivy table output", parseTrivyString, "go.mod (gomod)\n======\nTotal: 2", "trivy: not a JSON report"},
		{"trivy array", parseTrivyString, "[]", "trivy: not a JSON report"},
		{"trivy given a grype report", parseTrivyString, string(grypeSample), "trivy: not a Trivy JSON report"},
		{"trivy old schema", parseTrivyString, `{"SchemaVersion": 1, "Results": []}`, "trivy: report SchemaVersion 1 is not supported (want 2)"},
		{"trivy truncated", parseTrivyString, string(trivySample[:len(trivySample)/2]), "trivy: not a JSON report"},
		{"trivy two reports", parseTrivyString, string(trivySample) + string(trivySample), "trivy: unexpected data after the JSON report"},
		{"trivy no ID", parseTrivyString, `{"SchemaVersion": 2, "Results": [{"Target": "go.mod", "Vulnerabilities": [{"PkgName": "a"}]}]}`,
			"trivy: Results[0].Vulnerabilities[0] has no VulnerabilityID"},
		{"trivy no package", parseTrivyString, `{"SchemaVersion": 2, "Results": [{"Target": "go.mod", "Vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}]}`,
			"trivy: Results[0].Vulnerabilities[0] (CVE-1) has no PkgName"},
		{"trivy unknown severity", parseTrivyString, `{"SchemaVersion": 2, "Results": [{"Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "a", "Severity": "SEVERE"}]}]}`,
			`trivy: Results[0].Vulnerabilities[0] (CVE-1): "SEVERE" is not a severity`},
		{"trivy wrong field type", parseTrivyString, `{"SchemaVersion": 2, "Results": {"Target": "x"}}`, "trivy: not a JSON report"},

		{"grype empty", parseGrypeString, "   ", "grype: the report is empty"},
		{"grype given a trivy report", parseGrypeString, string(trivySample), `grype: not a Grype JSON report: it has no "matches"`},
		{"grype null matches", parseGrypeString, `{"matches": null}`, `grype: not a Grype JSON report: it has no "matches"`},
		{"grype other tool", parseGrypeString, `{"matches": [], "descriptor": {"name": "syft"}}`, `grype: not a Grype JSON report: it was written by "syft"`},
		{"grype table output", parseGrypeString, "NAME  INSTALLED  FIXED-IN", "grype: not a JSON report"},
		{"grype no ID", parseGrypeString, `{"matches": [{"vulnerability": {}, "artifact": {"name": "a"}}]}`, "grype: matches[0] has no vulnerability.id"},
		{"grype no package", parseGrypeString, `{"matches": [{"vulnerability": {"id": "CVE-1"}, "artifact": {}}]}`, "grype: matches[0] (CVE-1) has no artifact.name"},
		{"grype unknown severity", parseGrypeString, `{"matches": [{"vulnerability": {"id": "CVE-1", "severity": "Dire"}, "artifact": {"name": "a"}}]}`,
			`grype: matches[0] (CVE-1): "Dire" is not a severity`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings, err := tt.parse(tt.input)
			require.Error(t, err)
			assert.Nil(t, findings)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func parseTrivyString(s string) ([]Finding, error) { return ParseTrivy(strings.NewReader(s)) }
func parseGrypeString(s string) ([]Finding, error) { return ParseGrype(strings.NewReader(s)) }

func TestParseTrivyDetails(t *testing.T) {
	const report = `{
	  "SchemaVersion": 2,
	  "SomethingNew": {"nested": [1, 2]},
	  "Results": [
	    {"Target": "usr/local/bin/app", "Class": "lang-pkgs", "Type": "gobinary", "Vulnerabilities": [
	      {"VulnerabilityID": "CVE-2030-0001", "PkgName": "stdlib", "InstalledVersion": "v1.24.5",
	       "FixedVersion": "1.23.12, 1.24.6", "Severity": "HIGH", "Description": "first line\nsecond line",
	       "NewField": true}
	    ]},
	    {"Target": "alpine:3.20 (alpine 3.20.3)", "Class": "os-pkgs", "Type": "alpine"},
	    {"Target": "etc/app/Dockerfile", "Class": "config"}
	  ]
	}`
	findings, err := parseTrivyString(report)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, Finding{
		ID:               "CVE-2030-0001",
		Package:          "stdlib",
		InstalledVersion: "v1.24.5",
		FixedVersion:     "1.24.6", // the fix on the installed release line
		Severity:         SeverityHigh,
		Title:            "first line", // no Title: the description's first line
		Targets:          []string{"usr/local/bin/app"},
		Scanners:         []string{ScannerTrivy},
	}, findings[0])

	findings, err = parseTrivyString(`{"SchemaVersion": 2, "ArtifactName": "."}`)
	require.NoError(t, err)
	assert.Empty(t, findings, "a report without Results is a clean scan")
}

func TestParseGrypeDetails(t *testing.T) {
	// Without --by-cve Grype names the match after the GHSA and lists the CVE as related.
	const report = `{
	  "matches": [
	    {
	      "vulnerability": {"id": "GHSA-69ch-w2m2-3vjp", "dataSource": "https://github.com/advisories/GHSA-69ch-w2m2-3vjp",
	        "namespace": "github:language:go", "severity": "High", "description": "golang.org/x/text/language Denial of service",
	        "fix": {"versions": ["0.3.8"], "state": "fixed"}, "risk": 0.5, "epss": []},
	      "relatedVulnerabilities": [
	        {"id": "CVE-2022-32149", "dataSource": "https://nvd.nist.gov/vuln/detail/CVE-2022-32149", "namespace": "nvd:cpe",
	         "severity": "High", "description": "An attacker may cause a denial of service."}
	      ],
	      "artifact": {"name": "golang.org/x/text", "version": "v0.3.7", "type": "go-module",
	        "locations": [{"path": "/go.mod"}, {"path": "/tools/go.mod"}]}
	    },
	    {
	      "vulnerability": {"id": "CVE-2030-0002", "severity": "Negligible", "fix": {"versions": ["2.0.0"], "state": "wont-fix"}},
	      "relatedVulnerabilities": [],
	      "artifact": {"name": "libfoo", "version": "1.0-1", "type": "deb", "locations": [{"path": "/var/lib/dpkg/status"}]}
	    },
	    {
	      "vulnerability": {"id": "GHSA-aaaa-bbbb-cccc", "severity": "", "fix": {"versions": [], "state": "unknown"}},
	      "relatedVulnerabilities": [{"id": "GHSA-dddd-eeee-ffff"}],
	      "artifact": {"name": "left-pad", "version": "1.0.0", "type": "npm", "locations": []}
	    }
	  ],
	  "source": {"type": "directory", "target": "."},
	  "descriptor": {"name": "grype", "version": "0.121.2"}
	}`
	findings, err := parseGrypeString(report)
	require.NoError(t, err)
	require.Len(t, findings, 3)
	assert.Equal(t, Finding{
		ID:               "CVE-2022-32149",
		Aliases:          []string{"GHSA-69ch-w2m2-3vjp"},
		Package:          "golang.org/x/text",
		InstalledVersion: "v0.3.7",
		FixedVersion:     "0.3.8",
		Severity:         SeverityHigh,
		Title:            "An attacker may cause a denial of service.",
		URL:              "https://nvd.nist.gov/vuln/detail/CVE-2022-32149",
		Targets:          []string{"go.mod", "tools/go.mod"},
		Scanners:         []string{ScannerGrype},
	}, findings[0])

	assert.Equal(t, "CVE-2030-0002", findings[1].ID)
	assert.Equal(t, SeverityLow, findings[1].Severity, "Negligible is LOW")
	assert.Empty(t, findings[1].FixedVersion, "a wont-fix version does not fix")

	assert.Equal(t, "GHSA-aaaa-bbbb-cccc", findings[2].ID, "no CVE: the GHSA stays the ID")
	assert.Equal(t, []string{"GHSA-dddd-eeee-ffff"}, findings[2].Aliases)
	assert.Equal(t, SeverityUnknown, findings[2].Severity, "no severity is UNKNOWN")
	assert.Empty(t, findings[2].Targets)
}

func TestShortTitle(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	got := shortTitle(long)
	assert.LessOrEqual(t, len(got), maxTitle)
	assert.True(t, strings.HasSuffix(got, "…"))
	assert.Equal(t, "one", shortTitle("  one\r\ntwo"))
}
