package compliance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vektagraf/slipway/internal/fsutil"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// ReportSchemaVersion is the version of the Report format; it changes when a field changes meaning.
const ReportSchemaVersion = 1

// ReportFile is the name WriteReport gives the report, fixed so a reader finds it in any reports directory
// (next to a scan's report.json).
const ReportFile = "compliance.json"

// summaryListed is how many rules the one-line summary names before "and N more".
const summaryListed = 3

// Report is the outcome of one evaluation: every rule that ran with its outcome, the overall status and the
// counts. It is kept as a file (its digest recorded in the workflow) as the release's compliance evidence.
type Report struct {
	SchemaVersion int `json:"schemaVersion"`
	// Time is when the rules ran; waivers are judged at this time.
	Time time.Time `json:"time"`
	// Target is the Deployment evaluated ("namespace/name"); Image the image as deployed.
	Target string `json:"target,omitempty"`
	Image  string `json:"image,omitempty"`
	// Status is passed, warning or failed: failed when any rule failed or errored, else warning when any rule
	// warned (waived ones included), else passed. A report in which no rule ran is failed.
	Status string `json:"status"`
	// Frameworks are the frameworks whose rules ran (the policy's, or all of them).
	Frameworks []string              `json:"frameworks"`
	Policy     spec.CompliancePolicy `json:"policy"`
	Rules      []RuleResult          `json:"rules"`
	Counts     Counts                `json:"counts"`
}

// Evaluate runs the built-in rules of the policy's frameworks over the input at now, applies the policy's
// waivers and computes the overall status. It never fails: a rule that panics or returns no valid status is
// an "error", which fails the report. Evaluate does not validate the policy (spec.CompliancePolicy.Validate
// does; an expired waiver here simply does not apply).
func Evaluate(in Input, p spec.CompliancePolicy, now time.Time) Report {
	return evaluate(catalog, in, p, now)
}

func evaluate(rules []Rule, in Input, p spec.CompliancePolicy, now time.Time) Report {
	r := Report{
		SchemaVersion: ReportSchemaVersion,
		Time:          now,
		Image:         in.Image,
		Frameworks:    SelectedFrameworks(p),
		Policy:        p,
		Rules:         []RuleResult{},
	}
	if r.Frameworks == nil {
		r.Frameworks = []string{}
	}
	if d := in.Deployment; d != nil {
		r.Target = d.Name
		if d.Namespace != "" {
			r.Target = d.Namespace + "/" + r.Target
		}
	}
	for _, rule := range rules {
		if !slices.ContainsFunc(rule.Frameworks, func(f string) bool { return slices.Contains(r.Frameworks, f) }) {
			continue
		}
		o := run(rule, in)
		res := RuleResult{
			ID: rule.ID, Title: rule.Title, Field: rule.Field, Frameworks: slices.Clone(rule.Frameworks),
			Severity: rule.Severity, Status: o.Status, Message: o.Message,
		}
		if o.Status == StatusFailed || o.Status == StatusWarning {
			applyWaiver(&res, p.Waivers, now)
		}
		r.Rules = append(r.Rules, res)
		countRule(&r.Counts, res)
	}
	r.Status = status(r.Counts, len(r.Rules))
	return r
}

// run evaluates one rule, turning a panic or an invalid status into an "error" outcome, so a broken rule never
// passes silently.
func run(rule Rule, in Input) (o Outcome) {
	defer func() {
		if v := recover(); v != nil {
			o = errored("the rule could not be evaluated: %v", v)
		}
	}()
	if rule.Check == nil {
		return errored("the rule has no check")
	}
	o = rule.Check(in)
	switch o.Status {
	case StatusPassed, StatusWarning, StatusFailed, StatusError:
		return o
	}
	return errored("the rule returned status %q (want passed, warning or failed): %s", o.Status, o.Message)
}

// applyWaiver turns a failed or warning result into an accepted warning when a waiver names the rule and has
// not expired at now; an expired waiver leaves the result as it was and says so.
func applyWaiver(res *RuleResult, waivers []spec.Waiver, now time.Time) {
	var lapsed *spec.Waiver
	for i := range waivers {
		w := waivers[i]
		if !strings.EqualFold(strings.TrimSpace(w.Rule), res.ID) {
			continue
		}
		if expired(w, now) || strings.TrimSpace(w.Reason) == "" {
			if lapsed == nil {
				lapsed = &w
			}
			continue
		}
		res.Waiver = &w
		res.Message = fmt.Sprintf("waived until %s: %s (%s: %s)", w.Expires, w.Reason, res.Status, res.Message)
		res.Status = StatusWarning
		return
	}
	if lapsed != nil {
		res.Message += fmt.Sprintf(" (the waiver of %s does not apply: expired on %s or has no reason)", res.ID, lapsed.Expires)
	}
}

// SelectedFrameworks returns the frameworks the policy chooses, spec.AllFrameworks when it names none, in the
// order of spec.AllFrameworks (unknown names, which validation refuses, left out), as a new slice.
func SelectedFrameworks(p spec.CompliancePolicy) []string {
	if len(p.Frameworks) == 0 {
		return slices.Clone(spec.AllFrameworks)
	}
	var out []string
	for _, f := range spec.AllFrameworks {
		if slices.Contains(p.Frameworks, f) {
			out = append(out, f)
		}
	}
	return out
}

// expired reports whether the waiver no longer applies at now; a waiver whose date cannot be read never
// applies, so a typo cannot make an exception permanent.
func expired(w spec.Waiver, now time.Time) bool {
	t, err := w.Expires.Time()
	return err != nil || !now.Before(t)
}

// status is the overall status: failed beats warning beats passed, an error counts as a failure, and no rule
// at all is a failure (a policy whose frameworks select nothing must not pass).
func status(c Counts, rules int) string {
	switch {
	case rules == 0 || c.Failed > 0 || c.Errors > 0:
		return StatusFailed
	case c.Warnings > 0 || c.Waived > 0:
		return StatusWarning
	}
	return StatusPassed
}

// Blocks reports whether the report stops the release under the policy: it failed, or it has a warning no
// waiver covers and the policy's WarningsBlock is set. A status other than passed or warning blocks too.
func (r Report) Blocks(p spec.CompliancePolicy) bool {
	switch r.Status {
	case StatusPassed:
		return false
	case StatusWarning:
		return p.WarningsBlock && r.Counts.Warnings > 0
	}
	return true
}

// Summary is one line for logs, a failed stage's message and a notification: the status, the rules that
// failed (or warned, when none failed) and the other counts, e.g.
// "failed: SEC-004 read-only root filesystem (container.securityContext.readOnlyRootFilesystem); 1 warning".
func (r Report) Summary() string {
	if len(r.Rules) == 0 {
		return fmt.Sprintf("%s: no rule applies to frameworks [%s]", r.Status, strings.Join(r.Policy.Frameworks, ", "))
	}
	var failing, warned, waived []RuleResult
	for _, res := range r.Rules {
		switch {
		case res.Status == StatusPassed:
		case res.Waived():
			waived = append(waived, res)
		case res.Status == StatusWarning:
			warned = append(warned, res)
		default:
			failing = append(failing, res)
		}
	}
	var parts []string
	switch {
	case len(failing) > 0:
		parts = append(parts, listRules(failing))
		if len(warned) > 0 {
			parts = append(parts, plural(len(warned), "warning"))
		}
	case len(warned) > 0:
		parts = append(parts, listRules(warned))
	case len(waived) == 0:
		parts = append(parts, fmt.Sprintf("all %s passed (%s)", plural(len(r.Rules), "rule"), strings.Join(r.Frameworks, ", ")))
	}
	if len(waived) > 0 {
		ids := make([]string, len(waived))
		for i, w := range waived {
			ids[i] = w.ID
		}
		parts = append(parts, fmt.Sprintf("%d waived (%s)", len(waived), strings.Join(ids, ", ")))
	}
	return r.Status + ": " + strings.Join(parts, "; ")
}

// listRules names up to summaryListed rules: "SEC-004 read-only root filesystem (container.securityContext...)".
func listRules(rs []RuleResult) string {
	names := make([]string, 0, summaryListed+1)
	for i, res := range rs {
		if i == summaryListed {
			names = append(names, fmt.Sprintf("and %d more", len(rs)-summaryListed))
			break
		}
		s := fmt.Sprintf("%s %s (%s)", res.ID, res.Title, res.Field)
		if res.Status == StatusError {
			s += " could not be evaluated"
		}
		names = append(names, s)
	}
	return strings.Join(names, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// EncodeReport is the report as WriteReport writes it: indented JSON with the schema version and empty lists
// filled in.
func EncodeReport(r Report) ([]byte, error) {
	if r.SchemaVersion == 0 {
		r.SchemaVersion = ReportSchemaVersion
	}
	if r.Rules == nil {
		r.Rules = []RuleResult{}
	}
	if r.Frameworks == nil {
		r.Frameworks = []string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("compliance: encode report: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteReport writes the report as dir/compliance.json (creating dir) and returns its digest ("sha256:<hex>").
// The file is written to a temporary file in dir and renamed into place, so a reader (or a retried activity)
// sees the old report or the new one, never half of one.
func WriteReport(dir string, r Report) (digest string, err error) {
	data, err := EncodeReport(r)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("compliance: write report: %w", err)
	}
	path := filepath.Join(dir, ReportFile)
	if err := fsutil.WriteFileAtomic(path, data, 0o644); err != nil {
		return "", fmt.Errorf("compliance: %w", err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Table writes the report as an aligned text table, one rule a line (ID, status, severity, frameworks, title,
// message), for the starter and a terminal. A waived rule shows status "waived", its message the reason.
func Table(w io.Writer, r Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tSEVERITY\tFRAMEWORKS\tTITLE\tMESSAGE")
	for _, res := range r.Rules {
		status := res.Status
		if res.Waived() {
			status = "waived"
		}
		msg := strings.Join(strings.Fields(res.Message), " ")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", res.ID, status, res.Severity, strings.Join(res.Frameworks, ","), res.Title, msg)
	}
	_ = tw.Flush()
}

// The rule results and counts are the release API's (internal/releaseapi), where statuses and results carry
// them; these names keep the compliance code reading as it did.
type (
	RuleResult = releaseapi.RuleResult
	Counts     = releaseapi.ComplianceCounts
)

// countRule counts one rule's result.
func countRule(c *Counts, r RuleResult) {
	switch {
	case r.Status == StatusPassed:
		c.Passed++
	case r.Status == StatusWarning && r.Waived():
		c.Waived++
	case r.Status == StatusWarning:
		c.Warnings++
	case r.Status == StatusFailed:
		c.Failed++
	default:
		c.Errors++
	}
}
