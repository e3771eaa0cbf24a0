package scan

import "github.com/vektagraf/slipway/internal/spec"

// Severity is spec.Severity: the spec's scan.failOn is written in severities, so the type lives in
// internal/spec, and findings carry the same type so a policy and a finding compare directly. The alias keeps
// the parsers, the merge and the reports of this package (and their callers) writing scan.Severity.
type Severity = spec.Severity

// SeverityUnknown, SeverityLow, SeverityMedium, SeverityHigh and SeverityCritical are spec's severities under
// this package's names, for the same reason as Severity.
const (
	SeverityUnknown  = spec.SeverityUnknown
	SeverityLow      = spec.SeverityLow
	SeverityMedium   = spec.SeverityMedium
	SeverityHigh     = spec.SeverityHigh
	SeverityCritical = spec.SeverityCritical
)

// ParseSeverity is spec.ParseSeverity, which already reads both scanners' spellings; it is here so the
// scanner parsers read a report's severities without naming the spec.
func ParseSeverity(s string) (Severity, error) { return spec.ParseSeverity(s) }
