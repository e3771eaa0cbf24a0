package spec

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Validate checks the policy at now and returns FieldErrors with the paths of the spec's scan section
// ("scan.ignore[0].reason"), in field order, or nil. Besides malformed fields, an ignore that has expired is an
// error: the release stops with a message saying which exception lapsed, rather than blocking on a finding the
// team believes is accepted, and the exception is renewed on purpose (with a new reason) or dropped. The zero
// time is before every date, so Validate(time.Time{}) skips the expiry check. The scanner validates its input
// with it too, so a hand-written activity input is held to the spec's rules.
func (p ScanPolicy) Validate(now time.Time) error {
	v := &validator{}
	v.scanPolicy(&p, now)
	return v.result()
}

// scanPolicyPath is where the scan policy lives in the spec; its errors' paths start with it.
const scanPolicyPath = "scan"

// scanPolicy checks the scan section's policy.
func (v *validator) scanPolicy(p *ScanPolicy, now time.Time) {
	for i, s := range p.FailOn {
		if !s.valid() {
			v.add(fmt.Sprintf("%s.failOn[%d]", scanPolicyPath, i), "%s is not a severity; write CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN", s)
		} else if j := slices.Index(p.FailOn, s); j < i {
			v.add(fmt.Sprintf("%s.failOn[%d]", scanPolicyPath, i), "%s is listed twice (also failOn[%d])", s, j)
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
			v.add(scanPolicyPath+".failOn", "blocks %s but not %s; a policy that blocks a severity must block every worse one (add %s)", least, worse, worse)
			break
		}
	}
	for i, ig := range p.Ignore {
		path := fmt.Sprintf("%s.ignore[%d]", scanPolicyPath, i)
		switch {
		case ig.ID == "":
			v.add(path+".id", "required")
		case strings.ContainsFunc(ig.ID, unicode.IsSpace):
			v.add(path+".id", "%q is not a vulnerability ID (it contains a space); write one ID like CVE-2022-32149", ig.ID)
		}
		if strings.ContainsFunc(ig.Package, unicode.IsSpace) {
			v.add(path+".package", "%q is not a package name (it contains a space)", ig.Package)
		}
		if strings.TrimSpace(ig.Reason) == "" {
			v.add(path+".reason", "required; say why the risk is accepted")
		}
		if v.lapsed(path, ig.Expires, now, "ignore") {
			v.add(path, "%s expired on %s; remove it or extend it with a new reason", ig.ID, ig.Expires)
		}
		for j := range i {
			if other := p.Ignore[j]; ig.ID != "" && strings.EqualFold(other.ID, ig.ID) && other.Package == ig.Package {
				v.add(path, "%s is ignored twice (also %s.ignore[%d]); keep one", ig.ID, scanPolicyPath, j)
				break
			}
		}
	}
}

// lapsed checks the expiry date of the exception at path (an ignore or a waiver, as what names it): it is
// required and must be a date. It reports whether the date is valid and not after now, for the caller to say
// which exception lapsed.
func (v *validator) lapsed(path string, d Date, now time.Time, what string) bool {
	if d == "" {
		v.add(path+".expires", "required; write the date (YYYY-MM-DD) from which the %s stops applying", what)
		return false
	}
	t, err := d.Time()
	if err != nil {
		v.add(path+".expires", "%v", err)
		return false
	}
	return !now.Before(t)
}

// Validate checks the policy at now and returns FieldErrors with the paths of the spec's compliance section
// ("compliance.waivers[0].rule"), in field order, or nil. Besides malformed fields, a waiver that has expired
// is an error: the release stops saying which exception lapsed, rather than failing on a rule the team
// believes is waived, and the waiver is renewed on purpose (with a new reason) or dropped. The zero time is
// before every date, so Validate(time.Time{}) skips the expiry check (for reading a spec, not for releasing).
// The compliance gate validates its input with it too.
func (p CompliancePolicy) Validate(now time.Time) error {
	v := &validator{}
	v.compliancePolicy(&p, now)
	return v.result()
}

// compliancePolicyPath is where the compliance policy lives in the spec; its errors' paths start with it.
const compliancePolicyPath = "compliance"

// compliancePolicy checks the compliance section's policy.
func (v *validator) compliancePolicy(p *CompliancePolicy, now time.Time) {
	for i, f := range p.Frameworks {
		path := fmt.Sprintf("%s.frameworks[%d]", compliancePolicyPath, i)
		switch {
		case !slices.Contains(AllFrameworks, f):
			if lower := strings.ToLower(strings.TrimSpace(f)); slices.Contains(AllFrameworks, lower) {
				v.add(path, "%q: write %s", f, lower)
			} else {
				v.add(path, "%q is not a framework; write %s", f, strings.Join(AllFrameworks, ", "))
			}
		case slices.Index(p.Frameworks, f) < i:
			v.add(path, "%s is listed twice (also frameworks[%d])", f, slices.Index(p.Frameworks, f))
		}
	}
	for i, w := range p.Waivers {
		path := fmt.Sprintf("%s.waivers[%d]", compliancePolicyPath, i)
		known := false
		switch {
		case w.Rule == "":
			v.add(path+".rule", "required; write a rule ID like %s", RuleReadOnlyRootFilesystem)
		case slices.Contains(RuleIDs, w.Rule):
			known = true
		default:
			if upper := strings.ToUpper(strings.TrimSpace(w.Rule)); slices.Contains(RuleIDs, upper) {
				v.add(path+".rule", "%q: write %s", w.Rule, upper)
			} else {
				v.add(path+".rule", "%q is not a rule; the rules are %s", w.Rule, strings.Join(RuleIDs, ", "))
			}
		}
		if strings.TrimSpace(w.Reason) == "" {
			v.add(path+".reason", "required; say why the risk is accepted and what covers it meanwhile")
		}
		if v.lapsed(path, w.Expires, now, "waiver") {
			v.add(path, "%s waiver expired on %s; remove it or extend it with a new reason", w.Rule, w.Expires)
		}
		if known {
			for j := range i {
				if p.Waivers[j].Rule == w.Rule {
					v.add(path, "%s is waived twice (also %s.waivers[%d]); keep one", w.Rule, compliancePolicyPath, j)
					break
				}
			}
		}
	}
}
