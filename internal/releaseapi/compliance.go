package releaseapi

import "github.com/vektagraf/slipway/internal/spec"

// The compliance gate's rule results and counts as a release reports them (the status, the result,
// compliance.json); internal/compliance produces them.

// RuleResult is one rule's outcome in a report. A waived rule has status warning and carries its Waiver.
type RuleResult struct {
	ID         string       `json:"id"`
	Title      string       `json:"title"`
	Field      string       `json:"field"`
	Frameworks []string     `json:"frameworks"`
	Severity   string       `json:"severity"`
	Status     string       `json:"status"`
	Message    string       `json:"message"`
	Waiver     *spec.Waiver `json:"waiver,omitempty"`
}

// Waived reports whether a waiver turned the rule's failure or warning into an accepted warning.
func (r RuleResult) Waived() bool { return r.Waiver != nil }

// ComplianceCounts are the numbers of rules by outcome. Warnings counts the warnings no waiver covers; Waived the rules
// a waiver covers (their status is warning too).
type ComplianceCounts struct {
	Passed   int `json:"passed"`
	Warnings int `json:"warnings"`
	Waived   int `json:"waived"`
	Failed   int `json:"failed"`
	Errors   int `json:"errors"`
}
