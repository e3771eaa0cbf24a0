package spec

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in      string
		want    Severity
		wantErr bool
	}{
		{in: "CRITICAL", want: SeverityCritical},
		{in: "Critical", want: SeverityCritical}, // Grype's spelling
		{in: "critical", want: SeverityCritical},
		{in: "HIGH", want: SeverityHigh},
		{in: "High", want: SeverityHigh},
		{in: "MEDIUM", want: SeverityMedium},
		{in: "Medium", want: SeverityMedium},
		{in: "LOW", want: SeverityLow},
		{in: "Low", want: SeverityLow},
		{in: "Negligible", want: SeverityLow}, // Grype only
		{in: "UNKNOWN", want: SeverityUnknown},
		{in: "Unknown", want: SeverityUnknown},
		{in: " high ", want: SeverityHigh},
		{in: "", wantErr: true},
		{in: "SEVERE", wantErr: true},
		{in: "4", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSeverity(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "write CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSeverityOrderAndText(t *testing.T) {
	assert.True(t, SeverityUnknown < SeverityLow && SeverityLow < SeverityMedium &&
		SeverityMedium < SeverityHigh && SeverityHigh < SeverityCritical)
	assert.Equal(t, Severity(0), SeverityUnknown, "the zero value must not look like a real rating")

	b, err := json.Marshal(map[string]any{"failOn": []Severity{SeverityCritical, SeverityHigh}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"failOn":["CRITICAL","HIGH"]}`, string(b))

	var got []Severity
	require.NoError(t, json.Unmarshal([]byte(`["high","Negligible","UNKNOWN"]`), &got))
	assert.Equal(t, []Severity{SeverityHigh, SeverityLow, SeverityUnknown}, got)

	require.Error(t, json.Unmarshal([]byte(`["urgent"]`), &got))
	_, err = json.Marshal(Severity(9))
	require.Error(t, err)
	assert.Equal(t, "Severity(9)", Severity(9).String())
}
