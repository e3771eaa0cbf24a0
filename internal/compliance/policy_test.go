package compliance

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestPolicyValidate(t *testing.T) {
	valid := Waiver{Rule: RuleReadOnlyRootFilesystem, Reason: "writes /tmp until 2.0", Expires: "2027-01-31"}
	for _, c := range []struct {
		name string
		p    Policy
		want []string // "path: message" lines, in order
	}{
		{name: "empty", p: Policy{}},
		{name: "everything valid", p: Policy{Frameworks: []string{"gdpr", "hipaa", "sox", "pci"}, Waivers: []Waiver{valid}, WarningsBlock: true}},
		{name: "unknown and miscased frameworks", p: Policy{Frameworks: []string{"gdpr", "iso27001", "PCI", "gdpr"}}, want: []string{
			`compliance.frameworks[1]: "iso27001" is not a framework; write gdpr, hipaa, pci, sox`,
			`compliance.frameworks[2]: "PCI": write pci`,
			`compliance.frameworks[3]: gdpr is listed twice (also frameworks[0])`,
		}},
		{name: "an empty waiver", p: Policy{Waivers: []Waiver{{}}}, want: []string{
			"compliance.waivers[0].rule: required; write a rule ID like SEC-004",
			"compliance.waivers[0].reason: required; say why the risk is accepted and what covers it meanwhile",
			"compliance.waivers[0].expires: required; write the date (YYYY-MM-DD) from which the waiver stops applying",
		}},
		{name: "an unknown rule", p: Policy{Waivers: []Waiver{{Rule: "SEC-999", Reason: "x", Expires: "2027-01-01"}}}, want: []string{
			`compliance.waivers[0].rule: "SEC-999" is not a rule; the rules are SEC-001, SEC-002, SEC-003, SEC-004, SEC-005, SEC-006, SEC-007, SEC-008, SEC-009, SEC-010, SEC-011, SEC-012, SEC-013`,
		}},
		{name: "a miscased rule", p: Policy{Waivers: []Waiver{{Rule: "sec-004", Reason: "x", Expires: "2027-01-01"}}}, want: []string{
			`compliance.waivers[0].rule: "sec-004": write SEC-004`,
		}},
		{name: "a blank reason and a bad date", p: Policy{Waivers: []Waiver{{Rule: "SEC-004", Reason: "  ", Expires: "31/01/2027"}}}, want: []string{
			"compliance.waivers[0].reason: required; say why the risk is accepted and what covers it meanwhile",
			`compliance.waivers[0].expires: "31/01/2027" is not a date; write YYYY-MM-DD`,
		}},
		{name: "an expired waiver", p: Policy{Waivers: []Waiver{valid, {Rule: "SEC-011", Reason: "migration", Expires: "2026-11-26"}}}, want: []string{
			"compliance.waivers[1]: SEC-011 waiver expired on 2026-11-26; remove it or extend it with a new reason",
		}},
		{name: "a rule waived twice", p: Policy{Waivers: []Waiver{valid, valid}}, want: []string{
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

func TestPolicyValidateZeroTimeSkipsExpiry(t *testing.T) {
	p := Policy{Waivers: []Waiver{{Rule: "SEC-011", Reason: "migration", Expires: "2020-01-01"}}}
	require.NoError(t, p.Validate(time.Time{}))
	require.Error(t, p.Validate(now))
}

func TestSelectedFrameworks(t *testing.T) {
	require.Equal(t, AllFrameworks, Policy{}.SelectedFrameworks())
	require.Equal(t, []string{"hipaa", "sox"}, Policy{Frameworks: []string{"sox", "hipaa", "nope"}}.SelectedFrameworks())
	all := Policy{}.SelectedFrameworks()
	all[0] = "changed"
	require.Equal(t, FrameworkGDPR, AllFrameworks[0])
}

// TestPolicyDecodes checks the names a team writes in a spec, in YAML (an unquoted date included) and JSON.
func TestPolicyDecodes(t *testing.T) {
	const doc = `
frameworks: [gdpr, pci]
warningsBlock: true
waivers:
  - rule: SEC-004
    reason: writes /tmp until 2.0
    expires: 2027-01-31
`
	want := Policy{Frameworks: []string{"gdpr", "pci"}, WarningsBlock: true,
		Waivers: []Waiver{{Rule: "SEC-004", Reason: "writes /tmp until 2.0", Expires: "2027-01-31"}}}
	var p Policy
	require.NoError(t, yaml.Unmarshal([]byte(doc), &p))
	require.Equal(t, want, p)

	data, err := json.Marshal(want)
	require.NoError(t, err)
	require.JSONEq(t, `{"frameworks":["gdpr","pci"],"waivers":[{"rule":"SEC-004","reason":"writes /tmp until 2.0","expires":"2027-01-31"}],"warningsBlock":true}`, string(data))

	var s Settings
	require.NoError(t, yaml.Unmarshal([]byte("encryptionAtRest: true\nauditLogging: false\n"), &s))
	require.Equal(t, Settings{EncryptionAtRest: ptr(true), AuditLogging: ptr(false)}, s)
	data, err = json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, `{"encryptionAtRest":true,"auditLogging":false}`, string(data))
}
