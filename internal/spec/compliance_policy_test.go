package spec

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The policy and the settings on their own (as the compliance gate's input and in a report) have the names a
// team writes in a spec, in YAML (an unquoted date included) and JSON.
func TestCompliancePolicyDecodes(t *testing.T) {
	const doc = `
frameworks: [gdpr, pci]
warningsBlock: true
waivers:
  - rule: SEC-004
    reason: writes /tmp until 2.0
    expires: 2027-01-31
`
	want := CompliancePolicy{Frameworks: []string{"gdpr", "pci"}, WarningsBlock: true,
		Waivers: []Waiver{{Rule: "SEC-004", Reason: "writes /tmp until 2.0", Expires: "2027-01-31"}}}
	var p CompliancePolicy
	require.NoError(t, yaml.Unmarshal([]byte(doc), &p))
	require.Equal(t, want, p)

	data, err := json.Marshal(want)
	require.NoError(t, err)
	require.JSONEq(t, `{"frameworks":["gdpr","pci"],"waivers":[{"rule":"SEC-004","reason":"writes /tmp until 2.0","expires":"2027-01-31"}],"warningsBlock":true}`, string(data))

	var s ComplianceSettings
	require.NoError(t, yaml.Unmarshal([]byte("encryptionAtRest: true\nauditLogging: false\n"), &s))
	require.Equal(t, ComplianceSettings{EncryptionAtRest: ptr(true), AuditLogging: ptr(false)}, s)
	data, err = json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, `{"encryptionAtRest":true,"auditLogging":false}`, string(data))
}

func TestCompliancePolicyCopy(t *testing.T) {
	c := Compliance{CompliancePolicy: CompliancePolicy{
		Frameworks: []string{FrameworkPCI},
		Waivers:    []Waiver{{Rule: RuleImageSigned, Reason: "r", Expires: "2999-01-01"}},
	}}
	p := c.Policy()
	require.Equal(t, c.CompliancePolicy, p)
	p.Frameworks[0] = FrameworkSOX
	p.Waivers[0].Rule = RuleProbes
	require.Equal(t, FrameworkPCI, c.Frameworks[0], "the policy is a copy")
	require.Equal(t, RuleImageSigned, c.Waivers[0].Rule, "the policy is a copy")
}
