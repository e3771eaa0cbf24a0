package compliance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/vektagraf/slipway/internal/spec"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// noReadOnlyRoot is the compliant input without readOnlyRootFilesystem: SEC-004 fails.
func noReadOnlyRoot() Input {
	in := compliantInput()
	c := appContainer()
	c.SecurityContext.ReadOnlyRootFilesystem = nil
	in.Deployment = deployment(c)
	return in
}

func result(t *testing.T, r Report, id string) RuleResult {
	t.Helper()
	for _, res := range r.Rules {
		if res.ID == id {
			return res
		}
	}
	t.Fatalf("no result for %s in %+v", id, r.Rules)
	return RuleResult{}
}

func TestOverallStatus(t *testing.T) {
	unsigned := func(in Input) Input { in.Signed = false; return in }
	for _, c := range []struct {
		name           string
		in             Input
		status         string
		counts         Counts
		blocks, strict bool // Blocks under spec.CompliancePolicy{} and under WarningsBlock
		summary        string
	}{
		{name: "all passed", in: compliantInput(), status: StatusPassed, counts: Counts{Passed: 13},
			summary: "passed: all 13 rules passed (gdpr, hipaa, pci, sox)"},
		{name: "a warning", in: unsigned(compliantInput()), status: StatusWarning, counts: Counts{Passed: 12, Warnings: 1}, strict: true,
			summary: "warning: SEC-009 image signed (image.signing)"},
		{name: "a failure", in: noReadOnlyRoot(), status: StatusFailed, counts: Counts{Passed: 12, Failed: 1}, blocks: true, strict: true,
			summary: "failed: SEC-004 read-only root filesystem (container.securityContext.readOnlyRootFilesystem)"},
		{name: "failed beats warning", in: unsigned(noReadOnlyRoot()), status: StatusFailed, counts: Counts{Passed: 11, Warnings: 1, Failed: 1}, blocks: true, strict: true,
			summary: "failed: SEC-004 read-only root filesystem (container.securityContext.readOnlyRootFilesystem); 1 warning"},
		{name: "an error counts as a failure", in: func() Input { in := compliantInput(); in.Deployment = nil; return in }(), status: StatusFailed,
			counts: Counts{Passed: 6, Errors: 7}, blocks: true, strict: true,
			summary: "failed: SEC-001 runs as non-root (container.securityContext.runAsNonRoot) could not be evaluated, SEC-002 no privilege escalation (container.securityContext.allowPrivilegeEscalation) could not be evaluated, SEC-003 all capabilities dropped (container.securityContext.dropCapabilities) could not be evaluated, and 4 more"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Evaluate(c.in, spec.CompliancePolicy{}, now)
			require.Equal(t, c.status, r.Status)
			require.Equal(t, c.counts, r.Counts)
			require.Equal(t, c.blocks, r.Blocks(spec.CompliancePolicy{}))
			require.Equal(t, c.strict, r.Blocks(spec.CompliancePolicy{WarningsBlock: true}))
			require.Equal(t, c.summary, r.Summary())
		})
	}
}

func TestPanickingRuleIsAnError(t *testing.T) {
	rules := append(Rules(), Rule{ID: "SEC-900", Title: "panics", Field: "x", Frameworks: []string{spec.FrameworkSOX}, Severity: SeverityLow,
		Check: func(Input) Outcome { panic("boom") }})
	r := evaluate(rules, compliantInput(), spec.CompliancePolicy{}, now)
	res := result(t, r, "SEC-900")
	require.Equal(t, StatusError, res.Status)
	require.Contains(t, res.Message, "boom")
	require.Equal(t, StatusFailed, r.Status)
	require.Equal(t, 1, r.Counts.Errors)
	require.True(t, r.Blocks(spec.CompliancePolicy{}))
	require.Contains(t, r.Summary(), "SEC-900 panics (x) could not be evaluated")

	// A nil map access, the realistic panic, is caught too; so is a rule with no check or an unknown status.
	var m map[string]*int
	rules = []Rule{
		{ID: "A", Frameworks: []string{spec.FrameworkSOX}, Check: func(Input) Outcome { return passed("%d", *m["x"]) }},
		{ID: "B", Frameworks: []string{spec.FrameworkSOX}},
		{ID: "C", Frameworks: []string{spec.FrameworkSOX}, Check: func(Input) Outcome { return Outcome{Message: "forgot the status"} }},
		{ID: "D", Frameworks: []string{spec.FrameworkSOX}, Check: func(Input) Outcome { return Outcome{Status: "ok"} }},
	}
	r = evaluate(rules, Input{}, spec.CompliancePolicy{}, now)
	for _, res := range r.Rules {
		require.Equal(t, StatusError, res.Status, res.ID)
	}
	require.Equal(t, StatusFailed, r.Status)
}

func TestWaivers(t *testing.T) {
	waiver := spec.Waiver{Rule: spec.RuleReadOnlyRootFilesystem, Reason: "the app writes /tmp; an emptyDir lands in 2.0", Expires: "2027-01-31"}
	t.Run("a valid waiver passes with a warning", func(t *testing.T) {
		p := spec.CompliancePolicy{Waivers: []spec.Waiver{waiver}}
		r := Evaluate(noReadOnlyRoot(), p, now)
		res := result(t, r, spec.RuleReadOnlyRootFilesystem)
		require.Equal(t, StatusWarning, res.Status)
		require.Equal(t, &waiver, res.Waiver)
		require.Contains(t, res.Message, "waived until 2027-01-31: the app writes /tmp")
		require.Contains(t, res.Message, "failed: set container.securityContext.readOnlyRootFilesystem: true")
		require.Equal(t, StatusWarning, r.Status)
		require.Equal(t, Counts{Passed: 12, Waived: 1}, r.Counts)
		require.False(t, r.Blocks(p))
		// A waiver is an accepted exception: WarningsBlock does not block on it.
		require.False(t, r.Blocks(spec.CompliancePolicy{Waivers: p.Waivers, WarningsBlock: true}))
		require.Equal(t, "warning: 1 waived (SEC-004)", r.Summary())
	})
	t.Run("an expired waiver does not apply", func(t *testing.T) {
		expired := waiver
		expired.Expires = "2026-11-26" // expires at the start of the day, before now
		r := Evaluate(noReadOnlyRoot(), spec.CompliancePolicy{Waivers: []spec.Waiver{expired}}, now)
		res := result(t, r, spec.RuleReadOnlyRootFilesystem)
		require.Equal(t, StatusFailed, res.Status)
		require.Nil(t, res.Waiver)
		require.Contains(t, res.Message, "expired on 2026-11-26")
		require.Equal(t, StatusFailed, r.Status)
	})
	t.Run("an unreadable date or a missing reason never applies", func(t *testing.T) {
		for _, w := range []spec.Waiver{{Rule: waiver.Rule, Reason: "x", Expires: "someday"}, {Rule: waiver.Rule, Expires: "2027-01-31"}} {
			r := Evaluate(noReadOnlyRoot(), spec.CompliancePolicy{Waivers: []spec.Waiver{w}}, now)
			require.Equal(t, StatusFailed, r.Status)
		}
	})
	t.Run("a waiver of another rule does not apply", func(t *testing.T) {
		other := waiver
		other.Rule = spec.RuleRunAsNonRoot
		r := Evaluate(noReadOnlyRoot(), spec.CompliancePolicy{Waivers: []spec.Waiver{other}}, now)
		require.Equal(t, StatusFailed, r.Status)
		require.Equal(t, StatusPassed, result(t, r, spec.RuleRunAsNonRoot).Status)
		require.Nil(t, result(t, r, spec.RuleRunAsNonRoot).Waiver)
	})
	t.Run("a waived warning does not block under WarningsBlock", func(t *testing.T) {
		in := compliantInput()
		in.Signed = false
		p := spec.CompliancePolicy{WarningsBlock: true, Waivers: []spec.Waiver{{Rule: spec.RuleImageSigned, Reason: "signing keys arrive next sprint", Expires: "2027-01-01"}}}
		r := Evaluate(in, p, now)
		require.Equal(t, StatusWarning, r.Status)
		require.Equal(t, 1, r.Counts.Waived)
		require.False(t, r.Blocks(p))
	})
	t.Run("an error is never waived", func(t *testing.T) {
		in := compliantInput()
		in.Deployment = nil
		r := Evaluate(in, spec.CompliancePolicy{Waivers: []spec.Waiver{waiver}}, now)
		res := result(t, r, spec.RuleReadOnlyRootFilesystem)
		require.Equal(t, StatusError, res.Status)
		require.Nil(t, res.Waiver)
	})
}

func TestFrameworksFilter(t *testing.T) {
	in := noReadOnlyRoot() // SEC-004 is hipaa and pci only
	in.Signed = false      // SEC-009 is hipaa, pci and sox

	r := Evaluate(in, spec.CompliancePolicy{Frameworks: []string{spec.FrameworkGDPR}}, now)
	require.Equal(t, []string{spec.FrameworkGDPR}, r.Frameworks)
	require.Equal(t, StatusPassed, r.Status, r.Summary())
	for _, res := range r.Rules {
		require.Contains(t, res.Frameworks, spec.FrameworkGDPR, res.ID)
	}
	ids := func(r Report) []string {
		var out []string
		for _, res := range r.Rules {
			out = append(out, res.ID)
		}
		return out
	}
	require.Equal(t, []string{"SEC-005", "SEC-006", "SEC-008", "SEC-010", "SEC-011"}, ids(r))

	r = Evaluate(in, spec.CompliancePolicy{Frameworks: []string{spec.FrameworkSOX}}, now)
	require.Equal(t, StatusWarning, r.Status, r.Summary())
	require.Equal(t, []string{"SEC-007", "SEC-009", "SEC-010", "SEC-012"}, ids(r))

	// A rule runs once when several chosen frameworks share it; the report lists the frameworks in a fixed order.
	r = Evaluate(in, spec.CompliancePolicy{Frameworks: []string{spec.FrameworkSOX, spec.FrameworkPCI}}, now)
	require.Equal(t, []string{spec.FrameworkPCI, spec.FrameworkSOX}, r.Frameworks)
	require.Equal(t, StatusFailed, r.Status)
	require.Equal(t, StatusFailed, result(t, r, spec.RuleReadOnlyRootFilesystem).Status)

	// Frameworks that select no rule fail rather than pass an empty report.
	r = Evaluate(compliantInput(), spec.CompliancePolicy{Frameworks: []string{"iso27001"}}, now)
	require.Empty(t, r.Rules)
	require.Equal(t, StatusFailed, r.Status)
	require.True(t, r.Blocks(spec.CompliancePolicy{}))
	require.Equal(t, "failed: no rule applies to frameworks [iso27001]", r.Summary())
}

func TestSelectedFrameworks(t *testing.T) {
	require.Equal(t, spec.AllFrameworks, SelectedFrameworks(spec.CompliancePolicy{}))
	require.Equal(t, []string{"hipaa", "sox"}, SelectedFrameworks(spec.CompliancePolicy{Frameworks: []string{"sox", "hipaa", "nope"}}))
	all := SelectedFrameworks(spec.CompliancePolicy{})
	all[0] = "changed"
	require.Equal(t, spec.FrameworkGDPR, spec.AllFrameworks[0])
}

func TestSummaryListsAtMostThree(t *testing.T) {
	in := compliantInput()
	in.Settings = spec.ComplianceSettings{}
	in.Signed = false
	r := Evaluate(in, spec.CompliancePolicy{}, now)
	require.Equal(t, "failed: SEC-011 encryption at rest (compliance.settings.encryptionAtRest), "+
		"SEC-012 audit logging (compliance.settings.auditLogging); 2 warnings", r.Summary())
	in.Scanned = false
	in.Deployment = deployment(&corev1.Container{Name: "app", Image: pinnedImage})
	r = Evaluate(in, spec.CompliancePolicy{Waivers: []spec.Waiver{{Rule: spec.RuleProbes, Reason: "a worker without HTTP", Expires: "2027-06-30"}}}, now)
	require.Equal(t, "failed: SEC-001 runs as non-root (container.securityContext.runAsNonRoot), "+
		"SEC-002 no privilege escalation (container.securityContext.allowPrivilegeEscalation), "+
		"SEC-003 all capabilities dropped (container.securityContext.dropCapabilities), and 5 more; 2 warnings; 1 waived (SEC-006)", r.Summary())
}

func TestReportJSONRoundTrip(t *testing.T) {
	in := noReadOnlyRoot()
	in.Signed = false
	p := spec.CompliancePolicy{Frameworks: []string{spec.FrameworkPCI}, WarningsBlock: true,
		Waivers: []spec.Waiver{{Rule: spec.RuleImageSigned, Reason: "keys next sprint", Expires: "2027-01-01"}}}
	r := Evaluate(in, p, now)
	require.Equal(t, "demo-production/demo-app-green", r.Target)
	require.Equal(t, pinnedImage, r.Image)

	dir := filepath.Join(t.TempDir(), "demo-app", "1.4.2")
	digest, err := WriteReport(dir, r)
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), digest)
	encoded, err := EncodeReport(r)
	require.NoError(t, err)
	require.Equal(t, encoded, data)

	var back Report
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, r, back)
	require.Equal(t, r.Summary(), back.Summary())

	// The JSON names are the documented ones; a passed rule has no waiver key.
	var raw map[string]any
	require.NoError(t, json.Unmarshal(data, &raw))
	for _, k := range []string{"schemaVersion", "time", "target", "image", "status", "frameworks", "policy", "rules", "counts"} {
		require.Contains(t, raw, k)
	}
	require.EqualValues(t, ReportSchemaVersion, raw["schemaVersion"])
	require.Equal(t, "2026-11-26T12:00:00Z", raw["time"])
	rule0 := raw["rules"].([]any)[0].(map[string]any)
	require.NotContains(t, rule0, "waiver")
	require.Contains(t, string(data), `"waiver": {`)
	require.Contains(t, string(data), `"expires": "2027-01-01"`)

	// Writing again replaces the file and leaves no temporary file behind.
	_, err = WriteReport(dir, r)
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)

	// An empty report still encodes its lists as [] for readers.
	data, err = EncodeReport(Report{Status: StatusFailed})
	require.NoError(t, err)
	require.Contains(t, string(data), `"rules": []`)
	require.Contains(t, string(data), `"frameworks": []`)
	require.Contains(t, string(data), `"schemaVersion": 1`)
}

func TestWriteReportError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err := WriteReport(filepath.Join(file, "sub"), Report{})
	require.ErrorContains(t, err, "compliance: write report")
}

func TestTable(t *testing.T) {
	in := noReadOnlyRoot()
	in.Signed = false
	p := spec.CompliancePolicy{Frameworks: []string{spec.FrameworkPCI}, Waivers: []spec.Waiver{{Rule: spec.RuleRateLimiting, Reason: "the gateway limits\trates", Expires: "2027-01-01"}}}
	in.Settings.RateLimiting = nil
	var buf bytes.Buffer
	Table(&buf, Evaluate(in, p, now))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 1+11) // header and the 11 pci rules
	require.Regexp(t, `^ID +STATUS +SEVERITY +FRAMEWORKS +TITLE +MESSAGE$`, lines[0])
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:] {
		require.Equal(t, " ", l[col-1:col], "columns are aligned: %q", l)
	}
	require.Regexp(t, `^SEC-001 +passed +high +hipaa,pci +runs as non-root +runAsUser 10001$`, lines[1])
	require.Regexp(t, `^SEC-004 +failed +medium +hipaa,pci +read-only root filesystem +set container\.securityContext\.readOnlyRootFilesystem: true$`, lines[4])
	require.Regexp(t, `^SEC-009 +warning +medium +hipaa,pci,sox +image signed +the image is not signed; set image\.signing`, lines[7])
	require.Regexp(t, `^SEC-013 +waived +medium +pci +rate limiting +waived until 2027-01-01: the gateway limits rates \(warning: not declared;`, lines[11])
}
