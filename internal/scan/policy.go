package scan

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// DefaultFailOn is the severities a policy blocks on when it names none: the two a default Trivy or Grype gate
// would be tuned to, CRITICAL and HIGH.
var DefaultFailOn = []Severity{SeverityCritical, SeverityHigh}

// DateLayout is how an ignore's expiry date is written (YYYY-MM-DD).
const DateLayout = time.DateOnly

// Policy decides which findings block a release. It is part of the release spec (the "scan" section), so its
// JSON and YAML names are the ones a team writes.
type Policy struct {
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
	// Expires is the date (YYYY-MM-DD, UTC) from which the ignore no longer applies and Validate refuses it;
	// required.
	Expires Date `json:"expires" yaml:"expires"`
}

// Date is a calendar date written YYYY-MM-DD. It is a string so a malformed date reaches Validate, which names
// the field, instead of failing the whole decode; YAML's unquoted dates decode into it unchanged.
type Date string

// Time returns the start of the date in UTC, the instant an ignore expires.
func (d Date) Time() (time.Time, error) {
	t, err := time.Parse(DateLayout, string(d))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date; write YYYY-MM-DD", string(d))
	}
	return t, nil
}

// expired reports whether the ignore no longer applies at now; an ignore whose date cannot be read never
// applies, so a typo cannot make an exception permanent.
func (ig Ignore) expired(now time.Time) bool {
	t, err := ig.Expires.Time()
	return err != nil || !now.Before(t)
}

// matches reports whether the ignore names the finding: its ID or one of its aliases (case-insensitively, so
// "cve-2022-32149" works) and, when the ignore names a package, that package.
func (ig Ignore) matches(f Finding) bool {
	if ig.Package != "" && ig.Package != f.Package {
		return false
	}
	return strings.EqualFold(ig.ID, f.ID) || slices.ContainsFunc(f.Aliases, func(a string) bool { return strings.EqualFold(ig.ID, a) })
}

// failOn returns the severities that block, defaults applied.
func (p Policy) failOn() []Severity {
	if len(p.FailOn) == 0 {
		return DefaultFailOn
	}
	return p.FailOn
}

// ApplyDefaults fills FailOn with DefaultFailOn when it is empty, so a stored policy (in a report) shows what
// was enforced. Evaluate applies the same default itself.
func (p *Policy) ApplyDefaults() {
	if len(p.FailOn) == 0 {
		p.FailOn = slices.Clone(DefaultFailOn)
	}
}

// FieldError is one problem with a policy: the field's path in the release spec ("scan.ignore[0].reason") and
// what to do about it.
type FieldError struct {
	Path    string
	Message string
}

// Error formats "path: message".
func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// FieldErrors is every problem Validate found, in field order, so one run shows them all.
type FieldErrors []FieldError

// Error lists the errors one per line.
func (es FieldErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// policyPath is where the policy lives in the release spec; Validate's paths start with it.
const policyPath = "scan"

// Validate checks the policy at now and returns FieldErrors, or nil. Besides malformed fields, an ignore that
// has expired is an error: the release stops with a message saying which exception lapsed, rather than
// blocking on a finding the team believes is accepted, and the exception is renewed on purpose (with a new
// reason) or dropped.
func (p Policy) Validate(now time.Time) error {
	var errs FieldErrors
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	for i, s := range p.FailOn {
		if !s.valid() {
			add(fmt.Sprintf("%s.failOn[%d]", policyPath, i), "%s is not a severity; write CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN", s)
		} else if j := slices.Index(p.FailOn, s); j < i {
			add(fmt.Sprintf("%s.failOn[%d]", policyPath, i), "%s is listed twice (also failOn[%d])", s, j)
		}
	}
	// A set that blocks a severity but not a worse one (failOn: [HIGH]) would let CRITICAL findings through.
	least := SeverityCritical + 1
	for _, s := range p.FailOn {
		if s.valid() && s != SeverityUnknown && s < least {
			least = s
		}
	}
	for worse := least + 1; worse <= SeverityCritical; worse++ {
		if !slices.Contains(p.FailOn, worse) {
			add(policyPath+".failOn", "blocks %s but not %s; a policy that blocks a severity must block every worse one (add %s)", least, worse, worse)
			break
		}
	}
	for i, ig := range p.Ignore {
		path := fmt.Sprintf("%s.ignore[%d]", policyPath, i)
		switch {
		case ig.ID == "":
			add(path+".id", "required")
		case strings.ContainsFunc(ig.ID, unicode.IsSpace):
			add(path+".id", "%q is not a vulnerability ID (it contains a space); write one ID like CVE-2022-32149", ig.ID)
		}
		if strings.ContainsFunc(ig.Package, unicode.IsSpace) {
			add(path+".package", "%q is not a package name (it contains a space)", ig.Package)
		}
		if strings.TrimSpace(ig.Reason) == "" {
			add(path+".reason", "required; say why the risk is accepted")
		}
		if ig.Expires == "" {
			add(path+".expires", "required; write the date (YYYY-MM-DD) from which the ignore stops applying")
		} else if t, err := ig.Expires.Time(); err != nil {
			add(path+".expires", "%v", err)
		} else if !now.Before(t) {
			add(path, "%s expired on %s; remove it or extend it with a new reason", ig.ID, ig.Expires)
		}
		for j := range i {
			if other := p.Ignore[j]; ig.ID != "" && strings.EqualFold(other.ID, ig.ID) && other.Package == ig.Package {
				add(path, "%s is ignored twice (also %s.ignore[%d]); keep one", ig.ID, policyPath, j)
				break
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}
