package scan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// MaxTop and MaxListed keep a Verdict small enough for a workflow history, however many findings a scan has;
// the full list is in the Report.
const (
	// MaxTop is how many findings Verdict.Top holds.
	MaxTop = 10
	// MaxListed is how many findings Verdict.Blocking and Verdict.Ignored hold each.
	MaxListed = 50
	// summaryListed is how many blocking findings the one-line summary names.
	summaryListed = 3
)

// Verdict is the outcome of a policy over a scan: whether the release may go on, why, and the few findings a
// person needs to see first. It is bounded in size (counts plus at most MaxListed and MaxTop findings) because
// it travels through the workflow's history; the complete findings are in the Report.
type Verdict struct {
	Passed bool `json:"passed"`
	// Summary is one line for logs, the Web UI and a failed stage's message.
	Summary string `json:"summary"`
	Counts  Counts `json:"counts"`
	// Blocking lists the findings that block the release, the most severe first, at most MaxListed of them;
	// BlockingOmitted says how many more there are.
	Blocking        []Finding `json:"blocking"`
	BlockingOmitted int       `json:"blockingOmitted,omitempty"`
	// Ignored lists the findings an ignore accepted, with that ignore, at most MaxListed of them.
	Ignored        []IgnoredFinding `json:"ignored"`
	IgnoredOmitted int              `json:"ignoredOmitted,omitempty"`
	// Top is the MaxTop findings to look at first: blocking ones, then the most severe of the rest (ignored
	// findings left out).
	Top []Finding `json:"top"`
}

// IgnoredFinding is a finding together with the ignore that accepted it, so the report shows the reason and
// the expiry next to the risk.
type IgnoredFinding struct {
	Finding Finding     `json:"finding"`
	Ignore  spec.Ignore `json:"ignore"`
}

// Evaluate applies the policy to merged findings at now. A finding blocks when its severity is in FailOn
// (default spec.DefaultFailOn: CRITICAL and HIGH), it has a fix or OnlyFixed is off, and no ignore matches
// it; an ignore matches by ID or alias, and by package when it names one, and only before its expiry date (an
// expired ignore is also a validation error; here it simply stops protecting, so the gate fails closed). The
// release passes when nothing blocks. The result does not depend on the order of findings.
func Evaluate(p spec.ScanPolicy, findings []Finding, now time.Time) Verdict {
	failOn := blockingSeverities(p)
	v := Verdict{Blocking: []Finding{}, Ignored: []IgnoredFinding{}, Top: []Finding{}}
	var rest []Finding
	for _, f := range sortedFindings(findings) {
		addSeverity(&v.Counts.Total, f.Severity)
		if i := slices.IndexFunc(p.Ignore, func(ig spec.Ignore) bool { return ignores(ig, f) && !expired(ig, now) }); i >= 0 {
			addSeverity(&v.Counts.Ignored, f.Severity)
			if len(v.Ignored) < MaxListed {
				v.Ignored = append(v.Ignored, IgnoredFinding{Finding: f, Ignore: p.Ignore[i]})
			} else {
				v.IgnoredOmitted++
			}
			continue
		}
		if !slices.Contains(failOn, f.Severity) || (p.OnlyFixed && f.FixedVersion == "") {
			if len(rest) < MaxTop {
				rest = append(rest, f)
			}
			continue
		}
		addSeverity(&v.Counts.Blocking, f.Severity)
		if len(v.Blocking) < MaxListed {
			v.Blocking = append(v.Blocking, f)
		} else {
			v.BlockingOmitted++
		}
	}
	v.Passed = v.Counts.Blocking.Sum() == 0
	v.Top = append(v.Top, v.Blocking[:min(len(v.Blocking), MaxTop)]...)
	v.Top = append(v.Top, rest[:min(len(rest), MaxTop-len(v.Top))]...)
	v.Summary = v.summary()
	return v
}

// blockingSeverities returns the severities that block, spec.DefaultFailOn when the policy names none (a policy
// that did not come through spec.ApplyDefaults).
func blockingSeverities(p spec.ScanPolicy) []Severity {
	if len(p.FailOn) == 0 {
		return spec.DefaultFailOn
	}
	return p.FailOn
}

// expired reports whether the ignore no longer applies at now; an ignore whose date cannot be read never
// applies, so a typo cannot make an exception permanent.
func expired(ig spec.Ignore, now time.Time) bool {
	t, err := ig.Expires.Time()
	return err != nil || !now.Before(t)
}

// ignores reports whether the ignore names the finding: its ID or one of its aliases (case-insensitively, so
// "cve-2022-32149" works) and, when the ignore names a package, that package.
func ignores(ig spec.Ignore, f Finding) bool {
	if ig.Package != "" && ig.Package != f.Package {
		return false
	}
	return strings.EqualFold(ig.ID, f.ID) || slices.ContainsFunc(f.Aliases, func(a string) bool { return strings.EqualFold(ig.ID, a) })
}

// summary writes the one-line outcome, e.g. "blocked: 1 CRITICAL, 1 HIGH (CVE-2099-0001 in
// github.com/example/vuln 1.1.0, fixed in 1.2.0; ...)" or "passed: 2 findings, none blocking (2 LOW)".
func (v Verdict) summary() string {
	var b strings.Builder
	considered := minus(v.Counts.Total, v.Counts.Ignored)
	switch {
	case !v.Passed:
		b.WriteString("blocked: " + v.Counts.Blocking.String() + " (")
		for i, f := range v.Blocking[:min(len(v.Blocking), summaryListed)] {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(describe(f))
		}
		if more := v.Counts.Blocking.Sum() - summaryListed; more > 0 {
			fmt.Fprintf(&b, "; and %d more", more)
		}
		b.WriteString(")")
	case v.Counts.Total.Sum() == 0:
		return "passed: no findings"
	case considered.Sum() == 0:
		return fmt.Sprintf("passed: %s, all ignored", plural(v.Counts.Ignored.Sum(), "finding"))
	default:
		fmt.Fprintf(&b, "passed: %s, none blocking (%s)", plural(considered.Sum(), "finding"), considered)
	}
	if n := v.Counts.Ignored.Sum(); n > 0 {
		fmt.Fprintf(&b, "; %d ignored", n)
	}
	return b.String()
}

// describe names a finding in a sentence: "CVE-2099-0001 in github.com/example/vuln 1.1.0, fixed in 1.2.0".
// Both versions are written without Go's "v", as advisories write fixed versions, so the two read alike.
func describe(f Finding) string {
	s := f.ID + " in " + f.Package
	if f.InstalledVersion != "" {
		s += " " + normalizeVersion(f.InstalledVersion)
	}
	if f.FixedVersion != "" {
		return s + ", fixed in " + normalizeVersion(f.FixedVersion)
	}
	return s + ", no fix yet"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// The finding and count types are the release API's (internal/releaseapi), where statuses and results carry
// them; these names keep the scan code reading as it did.
type (
	Finding        = releaseapi.Finding
	Counts         = releaseapi.Counts
	SeverityCounts = releaseapi.SeverityCounts
	ReportDigests  = releaseapi.ReportDigests
)

// addSeverity counts one finding of severity s.
func addSeverity(c *SeverityCounts, s Severity) {
	switch s {
	case SeverityCritical:
		c.Critical++
	case SeverityHigh:
		c.High++
	case SeverityMedium:
		c.Medium++
	case SeverityLow:
		c.Low++
	default:
		c.Unknown++
	}
}

// minus subtracts o from c, severity by severity.
func minus(c, o SeverityCounts) SeverityCounts {
	return SeverityCounts{Critical: c.Critical - o.Critical, High: c.High - o.High, Medium: c.Medium - o.Medium,
		Low: c.Low - o.Low, Unknown: c.Unknown - o.Unknown}
}
