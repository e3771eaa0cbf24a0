package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// Severity ranks a vulnerability the way both scanners do, from UNKNOWN (the zero value, so a finding whose
// severity was never set is not mistaken for a low one) to CRITICAL. It lives in the spec because scan.failOn
// is written in it; internal/scan rates its findings with the same type, so a policy and a finding compare
// directly. It is written as its name in JSON and YAML ("HIGH"), so a policy reads the same in a spec file, a
// workflow input and a report.
type Severity int

// SeverityUnknown, SeverityLow, SeverityMedium, SeverityHigh and SeverityCritical are the severities in
// increasing order, so comparing two Severity values compares their seriousness.
const (
	SeverityUnknown Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

// Severities lists every severity from the most to the least serious, the order reports and summaries use.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityUnknown}

var severityNames = [...]string{
	SeverityUnknown:  "UNKNOWN",
	SeverityLow:      "LOW",
	SeverityMedium:   "MEDIUM",
	SeverityHigh:     "HIGH",
	SeverityCritical: "CRITICAL",
}

// ParseSeverity reads a severity case-insensitively in either scanner's spelling: Trivy writes "HIGH", Grype
// writes "High" and has "Negligible", which becomes LOW (the lowest severity that still counts as a finding).
// A spec may use the same spellings. Anything else is an error rather than UNKNOWN, so a misspelt policy or a
// changed report format is noticed instead of silently weakening the gate.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CRITICAL":
		return SeverityCritical, nil
	case "HIGH":
		return SeverityHigh, nil
	case "MEDIUM":
		return SeverityMedium, nil
	case "LOW", "NEGLIGIBLE":
		return SeverityLow, nil
	case "UNKNOWN":
		return SeverityUnknown, nil
	}
	return SeverityUnknown, fmt.Errorf("%s is not a severity; write CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN", strconv.Quote(s))
}

// String returns the upper-case name ("CRITICAL"), the spelling of Trivy and of Slipway's own reports; an
// out-of-range value shows its number ("Severity(9)"), so a validation message can name it.
func (s Severity) String() string {
	if s.valid() {
		return severityNames[s]
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

func (s Severity) valid() bool { return s >= SeverityUnknown && s <= SeverityCritical }

// MarshalText writes the name, so JSON, YAML and map keys show "HIGH" rather than a number; an out-of-range
// value is an error rather than a number nobody can read back.
func (s Severity) MarshalText() ([]byte, error) {
	if !s.valid() {
		return nil, fmt.Errorf("spec: invalid severity %d", int(s))
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText accepts what ParseSeverity accepts, so a policy may say "high" or "Critical".
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
