package spec

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The policy on its own (as the scanner's input and in a report) has the names a team writes in a spec, in
// YAML (an unquoted date included) and JSON.
func TestScanPolicyDecodes(t *testing.T) {
	const doc = `
failOn: [critical, High]
onlyFixed: true
ignore:
  - id: CVE-2022-32149
    package: golang.org/x/text
    reason: not reachable from any handler
    expires: 2027-01-31
`
	var fromYAML ScanPolicy
	require.NoError(t, yaml.Unmarshal([]byte(doc), &fromYAML))
	want := ScanPolicy{
		FailOn:    []Severity{SeverityCritical, SeverityHigh},
		OnlyFixed: true,
		Ignore:    []Ignore{{ID: "CVE-2022-32149", Package: "golang.org/x/text", Reason: "not reachable from any handler", Expires: "2027-01-31"}},
	}
	assert.Equal(t, want, fromYAML, "an unquoted YAML date decodes as written")

	b, err := json.Marshal(want)
	require.NoError(t, err)
	assert.JSONEq(t, `{"failOn":["CRITICAL","HIGH"],"onlyFixed":true,"ignore":[{"id":"CVE-2022-32149","package":"golang.org/x/text","reason":"not reachable from any handler","expires":"2027-01-31"}]}`, string(b))
	var fromJSON ScanPolicy
	require.NoError(t, json.Unmarshal(b, &fromJSON))
	assert.Equal(t, want, fromJSON)

	err = yaml.Unmarshal([]byte("failOn: [SEVERE]"), &fromYAML)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"SEVERE" is not a severity`)
}

func TestDateTime(t *testing.T) {
	got, err := Date("2027-01-31").Time()
	require.NoError(t, err)
	require.Equal(t, "2027-01-31T00:00:00Z", got.Format("2006-01-02T15:04:05Z07:00"), "the start of the day in UTC")
	_, err = Date("31/01/2027").Time()
	require.EqualError(t, err, `"31/01/2027" is not a date; write YYYY-MM-DD`)
}
