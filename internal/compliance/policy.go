package compliance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vektagraf/slipway/internal/scan"
)

// Frameworks a rule can belong to and a policy can choose, written as a spec writes them.
const (
	FrameworkGDPR  = "gdpr"
	FrameworkHIPAA = "hipaa"
	FrameworkSOX   = "sox"
	FrameworkPCI   = "pci"
)

// AllFrameworks lists every framework, in the order reports show them; a policy naming none chooses all.
var AllFrameworks = []string{FrameworkGDPR, FrameworkHIPAA, FrameworkPCI, FrameworkSOX}

// Path is where the policy lives in the release spec (the "compliance" section); Validate's paths start with
// it.
const Path = "compliance"

// SettingsPath is where the spec keeps Settings; the settings rules name their fields under it
// ("compliance.settings.encryptionAtRest").
const SettingsPath = Path + ".settings"

// Settings is what the team declares about the app: facts Slipway cannot see in a Deployment (whether the data
// store encrypts, whether the app writes an audit log, whether something in front of it limits request
// rates). Nil means not declared, which the rules treat as not done (a warning for rate limiting); declaring
// a false value is allowed and honest, and fails the rule.
type Settings struct {
	// EncryptionAtRest: the data the app stores (its database, its volumes, its backups) is encrypted at rest.
	EncryptionAtRest *bool `json:"encryptionAtRest,omitempty" yaml:"encryptionAtRest,omitempty"`
	// AuditLogging: the app records who read or changed which data, and keeps the record.
	AuditLogging *bool `json:"auditLogging,omitempty" yaml:"auditLogging,omitempty"`
	// RateLimiting: requests to the app are rate limited (by the app, an ingress or a gateway).
	RateLimiting *bool `json:"rateLimiting,omitempty" yaml:"rateLimiting,omitempty"`
}

// Waiver accepts one rule's failure (or warning) until a date. A waived rule passes with a warning that
// carries the reason, so the exception is visible in every report; it never hides an "error".
type Waiver struct {
	// Rule is the rule's ID, e.g. "SEC-004".
	Rule string `json:"rule" yaml:"rule"`
	// Reason says why the risk is accepted and what replaces the control meanwhile; required.
	Reason string `json:"reason" yaml:"reason"`
	// Expires is the date (YYYY-MM-DD, UTC) from which the waiver no longer applies and Validate refuses it;
	// required.
	Expires scan.Date `json:"expires" yaml:"expires"`
}

// Policy chooses the frameworks whose rules run, the accepted exceptions, and whether warnings block. It is
// part of the release spec (the "compliance" section), so its JSON and YAML names are the ones a team writes.
type Policy struct {
	// Frameworks lists the frameworks whose rules run (gdpr, hipaa, sox, pci); empty means all of them. A rule
	// runs when it belongs to any chosen framework.
	Frameworks []string `json:"frameworks,omitempty" yaml:"frameworks,omitempty"`
	// Waivers lists accepted exceptions, each with a reason and an expiry date.
	Waivers []Waiver `json:"waivers,omitempty" yaml:"waivers,omitempty"`
	// WarningsBlock stops the release on a warning too (an undeclared setting, an unsigned image); waived rules
	// still pass, since their warning is an exception someone accepted on purpose.
	WarningsBlock bool `json:"warningsBlock,omitempty" yaml:"warningsBlock,omitempty"`
}

// SelectedFrameworks returns the frameworks the policy chooses, AllFrameworks when it names none, in the order
// of AllFrameworks (unknown names, which Validate refuses, left out), as a new slice.
func (p Policy) SelectedFrameworks() []string {
	if len(p.Frameworks) == 0 {
		return slices.Clone(AllFrameworks)
	}
	var out []string
	for _, f := range AllFrameworks {
		if slices.Contains(p.Frameworks, f) {
			out = append(out, f)
		}
	}
	return out
}

// expired reports whether the waiver no longer applies at now; a waiver whose date cannot be read never
// applies, so a typo cannot make an exception permanent.
func (w Waiver) expired(now time.Time) bool {
	t, err := w.Expires.Time()
	return err != nil || !now.Before(t)
}

// FieldError and FieldErrors are the scan policy's: a path in the release spec
// ("compliance.waivers[0].reason") and what to do about it, all of them in field order.
type (
	FieldError  = scan.FieldError
	FieldErrors = scan.FieldErrors
)

// Validate checks the policy at now and returns FieldErrors, or nil. Besides malformed fields, a waiver that
// has expired is an error: the release stops saying which exception lapsed, rather than failing on a rule the
// team believes is waived, and the waiver is renewed on purpose (with a new reason) or dropped. The zero time
// is before every date, so Validate(time.Time{}) skips the expiry check (for reading a spec, not for
// releasing).
func (p Policy) Validate(now time.Time) error {
	var errs FieldErrors
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	for i, f := range p.Frameworks {
		path := fmt.Sprintf("%s.frameworks[%d]", Path, i)
		switch {
		case !slices.Contains(AllFrameworks, f):
			if lower := strings.ToLower(strings.TrimSpace(f)); slices.Contains(AllFrameworks, lower) {
				add(path, "%q: write %s", f, lower)
			} else {
				add(path, "%q is not a framework; write %s", f, strings.Join(AllFrameworks, ", "))
			}
		case slices.Index(p.Frameworks, f) < i:
			add(path, "%s is listed twice (also frameworks[%d])", f, slices.Index(p.Frameworks, f))
		}
	}
	for i, w := range p.Waivers {
		path := fmt.Sprintf("%s.waivers[%d]", Path, i)
		known := false
		switch _, ok := ruleByID(w.Rule); {
		case w.Rule == "":
			add(path+".rule", "required; write a rule ID like SEC-004")
		case ok:
			known = true
		default:
			if r, ok := ruleByID(strings.ToUpper(strings.TrimSpace(w.Rule))); ok {
				add(path+".rule", "%q: write %s", w.Rule, r.ID)
			} else {
				add(path+".rule", "%q is not a rule; the rules are %s", w.Rule, strings.Join(ruleIDs(), ", "))
			}
		}
		if strings.TrimSpace(w.Reason) == "" {
			add(path+".reason", "required; say why the risk is accepted and what covers it meanwhile")
		}
		if w.Expires == "" {
			add(path+".expires", "required; write the date (YYYY-MM-DD) from which the waiver stops applying")
		} else if t, err := w.Expires.Time(); err != nil {
			add(path+".expires", "%v", err)
		} else if !now.Before(t) {
			add(path, "%s waiver expired on %s; remove it or extend it with a new reason", w.Rule, w.Expires)
		}
		if known {
			for j := range i {
				if p.Waivers[j].Rule == w.Rule {
					add(path, "%s is waived twice (also %s.waivers[%d]); keep one", w.Rule, Path, j)
					break
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}
