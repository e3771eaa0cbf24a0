package scan

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sarifCheck is the part of a SARIF log the tests look at, read back the way a consumer would.
type sarifCheck struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name           string `json:"name"`
				Version        string `json:"version"`
				InformationURI string `json:"informationUri"`
				Rules          []struct {
					ID               string `json:"id"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					HelpURI    string `json:"helpUri"`
					Properties struct {
						SecuritySeverity string   `json:"security-severity"`
						Tags             []string `json:"tags"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
			Extensions []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"extensions"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			Properties          struct {
				Scanners     []string `json:"scanners"`
				FixedVersion string   `json:"fixedVersion"`
			} `json:"properties"`
		} `json:"results"`
	} `json:"runs"`
}

var testTool = ToolInfo{Version: "v0.9.0", Scanners: map[string]string{ScannerTrivy: "0.74.0", ScannerGrype: "0.121.2"},
	Target: "scan-targets/vulnerable"}

func TestSARIF(t *testing.T) {
	crit := with(critical, func(f *Finding) {
		f.Title = "example/vuln: synthetic critical advisory"
		f.URL = "https://nvd.nist.gov/vuln/detail/CVE-2099-0001"
		f.Targets = []string{"go.mod", "tools/go.mod"}
	})
	lowInImage := with(low, func(f *Finding) { f.Targets = []string{"alpine:3.20 (alpine 3.20.3)"} })
	findings := []Finding{lowInImage, medium, high, crit}

	b, err := SARIF(findings, testTool)
	require.NoError(t, err)
	var log sarifCheck
	require.NoError(t, json.Unmarshal(b, &log))

	assert.Equal(t, "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json", log.Schema)
	assert.Equal(t, "2.1.0", log.Version)
	require.Len(t, log.Runs, 1)
	run := log.Runs[0]
	assert.Equal(t, "slipway-scan", run.Tool.Driver.Name)
	assert.Equal(t, "v0.9.0", run.Tool.Driver.Version)
	assert.Equal(t, DefaultInformationURI, run.Tool.Driver.InformationURI)
	require.Len(t, run.Tool.Extensions, 2)
	assert.Equal(t, "grype", run.Tool.Extensions[0].Name)
	assert.Equal(t, "0.121.2", run.Tool.Extensions[0].Version)

	// One rule per vulnerability ID, sorted.
	rules := run.Tool.Driver.Rules
	require.Len(t, rules, 4)
	var ruleIDs []string
	for _, r := range rules {
		ruleIDs = append(ruleIDs, r.ID)
		assert.NotEmpty(t, r.ShortDescription.Text, r.ID)
		assert.Contains(t, r.Properties.Tags, "security")
	}
	assert.Equal(t, []string{"CVE-2022-32149", "CVE-2030-0004", "CVE-2099-0001", "CVE-2099-0002"}, ruleIDs)
	assert.Equal(t, "9.5", rules[2].Properties.SecuritySeverity)
	assert.Equal(t, "8.0", rules[0].Properties.SecuritySeverity)
	assert.Equal(t, "5.5", rules[1].Properties.SecuritySeverity)
	assert.Equal(t, "2.0", rules[3].Properties.SecuritySeverity)
	assert.Equal(t, "https://nvd.nist.gov/vuln/detail/CVE-2099-0001", rules[2].HelpURI)
	assert.Equal(t, "example/vuln: synthetic critical advisory", rules[2].ShortDescription.Text)
	assert.Equal(t, "CVE-2022-32149", rules[0].ShortDescription.Text, "no title: the ID")

	// One result per finding, most severe first.
	results := run.Results
	require.Len(t, results, 4)
	wantLevels := map[string]string{"CVE-2099-0001": "error", "CVE-2022-32149": "error", "CVE-2030-0004": "warning", "CVE-2099-0002": "note"}
	fingerprints := map[string]bool{}
	for _, r := range results {
		assert.Equal(t, wantLevels[r.RuleID], r.Level, r.RuleID)
		assert.Equal(t, r.RuleID, rules[r.RuleIndex].ID, "ruleIndex points at the rule")
		assert.NotEmpty(t, r.Message.Text)
		assert.NotEmpty(t, r.Locations, r.RuleID)
		assert.NotEmpty(t, r.Properties.Scanners)
		fp := r.PartialFingerprints[fingerprintKey]
		assert.Len(t, fp, 64)
		fingerprints[fp] = true
	}
	assert.Len(t, fingerprints, 4, "each finding has its own fingerprint")

	first := results[0]
	assert.Equal(t, "CVE-2099-0001", first.RuleID)
	assert.Equal(t, "github.com/example/vuln 1.1.0 is affected by CVE-2099-0001 (CRITICAL): example/vuln: synthetic critical advisory; "+
		"fixed in 1.2.0. Reported by grype, trivy.", first.Message.Text)
	require.Len(t, first.Locations, 2)
	assert.Equal(t, "go.mod", first.Locations[0].PhysicalLocation.ArtifactLocation.URI)
	assert.Equal(t, "tools/go.mod", first.Locations[1].PhysicalLocation.ArtifactLocation.URI)
	assert.Equal(t, []string{"grype", "trivy"}, first.Properties.Scanners)
	assert.Equal(t, "1.2.0", first.Properties.FixedVersion)

	assert.Equal(t, "CVE-2022-32149", results[1].RuleID)
	require.Len(t, results[1].Locations, 1)
	assert.Equal(t, "scan-targets/vulnerable", results[1].Locations[0].PhysicalLocation.ArtifactLocation.URI,
		"a finding without a target is located at the scanned target")

	last := results[3]
	assert.Contains(t, last.Message.Text, "no fixed version is known")
	assert.Equal(t, "./alpine:3.20%20%28alpine%203.20.3%29", last.Locations[0].PhysicalLocation.ArtifactLocation.URI,
		"a target that is not a path still makes a valid relative URI")
}

func TestSARIFIsDeterministic(t *testing.T) {
	merged := Merge(syntheticFindings(300))
	want, err := SARIF(merged, testTool)
	require.NoError(t, err)
	for range 5 {
		shuffled := slices.Clone(merged)
		slices.Reverse(shuffled)
		got, err := SARIF(shuffled, testTool)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "same findings, same bytes")
	}
	assert.True(t, json.Valid(want))
	assert.True(t, bytes.HasSuffix(want, []byte("}\n")))
}

func TestSARIFEmpty(t *testing.T) {
	b, err := SARIF(nil, ToolInfo{Version: "dev", InformationURI: "https://example.com/slipway"})
	require.NoError(t, err)
	var log sarifCheck
	require.NoError(t, json.Unmarshal(b, &log))
	require.Len(t, log.Runs, 1)
	assert.Equal(t, "https://example.com/slipway", log.Runs[0].Tool.Driver.InformationURI)
	assert.Contains(t, string(b), `"results": []`, "an empty run says so rather than omitting results")
}

func TestTargetURI(t *testing.T) {
	assert.Equal(t, "go.mod", targetURI("go.mod"))
	assert.Equal(t, "usr/local/bin/app", targetURI("usr/local/bin/app"))
	assert.Equal(t, "file:///go/bin/app", targetURI("/go/bin/app"))
	assert.Equal(t, "dir%20with%20space/go.mod", targetURI("dir with space/go.mod"))
}

func TestSARIFOnFixtures(t *testing.T) {
	merged := Merge(reports(t, "vulnerable"))
	b, err := SARIF(merged, testTool)
	require.NoError(t, err)
	var log sarifCheck
	require.NoError(t, json.Unmarshal(b, &log))
	results := log.Runs[0].Results
	require.Len(t, results, 3)
	assert.Equal(t, "CVE-2099-0001", results[0].RuleID)
	assert.Equal(t, "error", results[0].Level)
	assert.Equal(t, "note", results[2].Level)
	assert.Contains(t, results[0].Message.Text, "github.com/example/vuln")
	assert.Contains(t, results[0].Message.Text, "fixed in 1.2.0")
	assert.Contains(t, results[0].Message.Text, "Reported by grype, trivy.")
	assert.Equal(t, "go.mod", results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI)

	again, err := SARIF(Merge(reports(t, "vulnerable")), testTool)
	require.NoError(t, err)
	assert.Equal(t, b, again)
}
