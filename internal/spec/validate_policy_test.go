package spec

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScanPolicyValidate(t *testing.T) {
	now := time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)
	ok := Ignore{ID: "CVE-2022-32149", Reason: "ParseAcceptLanguage is not reachable", Expires: "2027-01-31"}
	withIgnore := func(ig Ignore, edit func(*Ignore)) Ignore {
		edit(&ig)
		return ig
	}
	tests := []struct {
		name   string
		policy ScanPolicy
		want   []string // one line per error; nil for valid
	}{
		{name: "empty policy (defaults)", policy: ScanPolicy{}},
		{name: "ignore with a future expiry", policy: ScanPolicy{FailOn: []Severity{SeverityCritical}, OnlyFixed: true, Ignore: []Ignore{ok}}},
		{name: "the same ID in two packages", policy: ScanPolicy{Ignore: []Ignore{
			withIgnore(ok, func(ig *Ignore) { ig.Package = "golang.org/x/text" }),
			withIgnore(ok, func(ig *Ignore) { ig.Package = "golang.org/x/net" }),
		}}},
		{name: "blocking a severity but not a worse one", policy: ScanPolicy{FailOn: []Severity{SeverityHigh}},
			want: []string{"scan.failOn: blocks HIGH but not CRITICAL; a policy that blocks a severity must block every worse one (add CRITICAL)"}},
		{name: "a threshold-shaped set is fine", policy: ScanPolicy{FailOn: []Severity{SeverityCritical, SeverityHigh, SeverityMedium}}},
		{name: "reason required", policy: ScanPolicy{Ignore: []Ignore{withIgnore(ok, func(ig *Ignore) { ig.Reason = "  " })}},
			want: []string{"scan.ignore[0].reason: required; say why the risk is accepted"}},
		{name: "expired ignore", policy: ScanPolicy{Ignore: []Ignore{ok, withIgnore(ok, func(ig *Ignore) { ig.ID = "CVE-2099-0001"; ig.Expires = "2026-01-01" })}},
			want: []string{"scan.ignore[1]: CVE-2099-0001 expired on 2026-01-01; remove it or extend it with a new reason"}},
		{name: "expires today counts as expired", policy: ScanPolicy{Ignore: []Ignore{withIgnore(ok, func(ig *Ignore) { ig.Expires = "2026-11-25" })}},
			want: []string{"scan.ignore[0]: CVE-2022-32149 expired on 2026-11-25; remove it or extend it with a new reason"}},
		{name: "expiry required and must be a date", policy: ScanPolicy{Ignore: []Ignore{
			withIgnore(ok, func(ig *Ignore) { ig.Expires = "" }),
			withIgnore(ok, func(ig *Ignore) { ig.Expires = "31/01/2027"; ig.Package = "a" }),
		}}, want: []string{
			"scan.ignore[0].expires: required; write the date (YYYY-MM-DD) from which the ignore stops applying",
			`scan.ignore[1].expires: "31/01/2027" is not a date; write YYYY-MM-DD`,
		}},
		{name: "ID required, no spaces", policy: ScanPolicy{Ignore: []Ignore{
			withIgnore(ok, func(ig *Ignore) { ig.ID = "" }),
			withIgnore(ok, func(ig *Ignore) { ig.ID = "CVE-1 CVE-2"; ig.Package = "a b" }),
		}}, want: []string{
			"scan.ignore[0].id: required",
			`scan.ignore[1].id: "CVE-1 CVE-2" is not a vulnerability ID (it contains a space); write one ID like CVE-2022-32149`,
			`scan.ignore[1].package: "a b" is not a package name (it contains a space)`,
		}},
		{name: "duplicate ignore", policy: ScanPolicy{Ignore: []Ignore{ok, withIgnore(ok, func(ig *Ignore) { ig.ID = "cve-2022-32149" })}},
			want: []string{"scan.ignore[1]: cve-2022-32149 is ignored twice (also scan.ignore[0]); keep one"}},
		{name: "bad and repeated severities", policy: ScanPolicy{FailOn: []Severity{SeverityCritical, SeverityHigh, Severity(7), SeverityHigh}},
			want: []string{
				"scan.failOn[2]: Severity(7) is not a severity; write CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN",
				"scan.failOn[3]: HIGH is listed twice (also failOn[1])",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate(now)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var fes FieldErrors
			require.ErrorAs(t, err, &fes)
			assert.Equal(t, strings.Join(tt.want, "\n"), err.Error())
		})
	}
}

func TestCompliancePolicyValidate(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	valid := Waiver{Rule: RuleReadOnlyRootFilesystem, Reason: "writes /tmp until 2.0", Expires: "2027-01-31"}
	for _, c := range []struct {
		name string
		p    CompliancePolicy
		want []string // "path: message" lines, in order
	}{
		{name: "empty", p: CompliancePolicy{}},
		{name: "everything valid", p: CompliancePolicy{Frameworks: []string{"gdpr", "hipaa", "sox", "pci"}, Waivers: []Waiver{valid}, WarningsBlock: true}},
		{name: "unknown and miscased frameworks", p: CompliancePolicy{Frameworks: []string{"gdpr", "iso27001", "PCI", "gdpr"}}, want: []string{
			`compliance.frameworks[1]: "iso27001" is not a framework; write gdpr, hipaa, pci, sox`,
			`compliance.frameworks[2]: "PCI": write pci`,
			`compliance.frameworks[3]: gdpr is listed twice (also frameworks[0])`,
		}},
		{name: "an empty waiver", p: CompliancePolicy{Waivers: []Waiver{{}}}, want: []string{
			"compliance.waivers[0].rule: required; write a rule ID like SEC-004",
			"compliance.waivers[0].reason: required; say why the risk is accepted and what covers it meanwhile",
			"compliance.waivers[0].expires: required; write the date (YYYY-MM-DD) from which the waiver stops applying",
		}},
		{name: "an unknown rule", p: CompliancePolicy{Waivers: []Waiver{{Rule: "SEC-999", Reason: "x", Expires: "2027-01-01"}}}, want: []string{
			`compliance.waivers[0].rule: "SEC-999" is not a rule; the rules are SEC-001, SEC-002, SEC-003, SEC-004, SEC-005, SEC-006, SEC-007, SEC-008, SEC-009, SEC-010, SEC-011, SEC-012, SEC-013`,
		}},
		{name: "a miscased rule", p: CompliancePolicy{Waivers: []Waiver{{Rule: "sec-004", Reason: "x", Expires: "2027-01-01"}}}, want: []string{
			`compliance.waivers[0].rule: "sec-004": write SEC-004`,
		}},
		{name: "a blank reason and a bad date", p: CompliancePolicy{Waivers: []Waiver{{Rule: "SEC-004", Reason: "  ", Expires: "31/01/2027"}}}, want: []string{
			"compliance.waivers[0].reason: required; say why the risk is accepted and what covers it meanwhile",
			`compliance.waivers[0].expires: "31/01/2027" is not a date; write YYYY-MM-DD`,
		}},
		{name: "an expired waiver", p: CompliancePolicy{Waivers: []Waiver{valid, {Rule: "SEC-011", Reason: "migration", Expires: "2026-11-26"}}}, want: []string{
			"compliance.waivers[1]: SEC-011 waiver expired on 2026-11-26; remove it or extend it with a new reason",
		}},
		{name: "a rule waived twice", p: CompliancePolicy{Waivers: []Waiver{valid, valid}}, want: []string{
			"compliance.waivers[1]: SEC-004 is waived twice (also compliance.waivers[0]); keep one",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate(now)
			if c.want == nil {
				require.NoError(t, err)
				return
			}
			var errs FieldErrors
			require.ErrorAs(t, err, &errs)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			require.Equal(t, c.want, got)
		})
	}
}

func TestCompliancePolicyValidateZeroTimeSkipsExpiry(t *testing.T) {
	p := CompliancePolicy{Waivers: []Waiver{{Rule: "SEC-011", Reason: "migration", Expires: "2020-01-01"}}}
	require.NoError(t, p.Validate(time.Time{}))
	require.Error(t, p.Validate(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)))
}

// RuleIDs is in ID order, the order the message of an unknown rule lists them in, without repeats.
func TestRuleIDs(t *testing.T) {
	require.IsIncreasing(t, RuleIDs)
}
