package spec

import (
	"fmt"
	"time"
)

// DateLayout is how an expiry date (of an ignore in scan.ignore, a waiver in compliance.waivers) is written:
// YYYY-MM-DD.
const DateLayout = time.DateOnly

// ScanPolicy decides which findings of the security scan block a release: the scan section of the spec (its
// fields sit at the top level of the section, see Scan). It is also the scanner's input
// (activities.ScanInput.Policy) and part of the scan report, so its JSON and YAML names are the ones a team
// writes. internal/scan evaluates it against findings.
type ScanPolicy struct {
	// FailOn lists the severities that block; empty means DefaultFailOn.
	FailOn []Severity `json:"failOn,omitempty" yaml:"failOn,omitempty"`
	// OnlyFixed counts only findings that have a fixed version: a team cannot act on the others except by
	// dropping the package, and they should not stop every release until upstream ships a fix.
	OnlyFixed bool `json:"onlyFixed,omitempty" yaml:"onlyFixed,omitempty"`
	// Ignore lists accepted risks; each needs a reason and an expiry date, so no exception is permanent or
	// unexplained.
	Ignore []Ignore `json:"ignore,omitempty" yaml:"ignore,omitempty"`
}

// Ignore accepts one vulnerability (by its ID or any alias), in one package or in all, until a date.
type Ignore struct {
	ID string `json:"id" yaml:"id"`
	// Package limits the ignore to one package; empty matches the vulnerability in every package.
	Package string `json:"package,omitempty" yaml:"package,omitempty"`
	// Reason says why the risk is accepted (not reachable, mitigated by ...); required.
	Reason string `json:"reason" yaml:"reason"`
	// Expires is the date (YYYY-MM-DD, UTC) from which the ignore no longer applies and validation refuses
	// it; required.
	Expires Date `json:"expires" yaml:"expires"`
}

// Date is a calendar date written YYYY-MM-DD. It is a string so a malformed date reaches validation, which
// names the field, instead of failing the whole decode; YAML's unquoted dates decode into it unchanged.
type Date string

// Time returns the start of the date in UTC, the instant an ignore or a waiver expires, so validation and
// evaluation agree on that instant.
func (d Date) Time() (time.Time, error) {
	t, err := time.Parse(DateLayout, string(d))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date; write YYYY-MM-DD", string(d))
	}
	return t, nil
}
