package scan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// SARIFSchema and SARIFVersion are the schema and version every log declares, and SARIFDriver the driver name
// code-scanning tools group Slipway's results under.
const (
	SARIFSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	SARIFVersion = "2.1.0"
	SARIFDriver  = "slipway-scan"
	// DefaultInformationURI is the driver's informationUri when ToolInfo leaves it empty.
	DefaultInformationURI = "https://github.com/vektagraf/slipway"
)

// fingerprintKey names the stable identity of a result (ID, package, installed version) in
// partialFingerprints, so code scanning tracks one alert across releases instead of opening a new one.
const fingerprintKey = "slipwayFinding/v1"

// ToolInfo describes the program that wrote a SARIF log and what it scanned: Slipway's version and, as
// extensions, the scanners (name to version) whose findings it merged, so a log says which scanner versions
// produced it.
type ToolInfo struct {
	Version        string
	InformationURI string
	Scanners       map[string]string
	// Target is what was scanned (Report.Target); a finding without a target of its own is located there,
	// because code-scanning tools reject a result without a location. Empty means ".".
	Target string
}

// SARIF renders findings as a SARIF 2.1.0 log, the format code-scanning tools (GitHub's among them) import:
// one rule per vulnerability ID, carrying the title, a help link and a security-severity score, and one
// result per finding, located at each of its targets. The same findings give the same bytes, whatever their
// order, so the log's digest can be recorded and compared.
func SARIF(findings []Finding, tool ToolInfo) ([]byte, error) {
	findings = sortedFindings(findings)

	// One rule per ID, with the highest severity and the first title and link found for it.
	type ruleInfo struct {
		severity   Severity
		title, url string
	}
	infos := map[string]*ruleInfo{}
	for _, f := range findings {
		ri, ok := infos[f.ID]
		if !ok {
			ri = &ruleInfo{severity: f.Severity}
			infos[f.ID] = ri
		}
		ri.severity = max(ri.severity, f.Severity)
		ri.title = firstNonEmpty(ri.title, f.Title)
		ri.url = firstNonEmpty(ri.url, f.URL)
	}
	ids := slices.Sorted(maps.Keys(infos))
	ruleIndex := make(map[string]int, len(ids))
	rules := make([]sarifRule, 0, len(ids))
	for i, id := range ids {
		ruleIndex[id] = i
		ri := infos[id]
		text := firstNonEmpty(ri.title, id)
		rule := sarifRule{
			ID:                   id,
			ShortDescription:     sarifText{Text: text},
			DefaultConfiguration: sarifConfiguration{Level: sarifLevel(ri.severity)},
			Help:                 sarifText{Text: fmt.Sprintf("%s (%s): %s", id, ri.severity, text)},
			Properties: sarifRuleProperties{
				Tags:             []string{"security", "vulnerability", ri.severity.String()},
				SecuritySeverity: securityScore(ri.severity),
			},
		}
		if validURI(ri.url) {
			rule.HelpURI = ri.url
			rule.Help.Text += " " + ri.url
		}
		rules = append(rules, rule)
	}

	results := make([]sarifResult, 0, len(findings))
	for _, f := range findings {
		targets := f.Targets
		if len(targets) == 0 {
			targets = []string{firstNonEmpty(tool.Target, ".")}
		}
		locations := make([]sarifLocation, 0, len(targets))
		for _, t := range targets {
			locations = append(locations, sarifLocation{PhysicalLocation: sarifPhysicalLocation{
				ArtifactLocation: sarifArtifactLocation{URI: targetURI(t)},
			}})
		}
		sum := sha256.Sum256([]byte(f.ID + "\x00" + f.Package + "\x00" + normalizeVersion(f.InstalledVersion)))
		results = append(results, sarifResult{
			RuleID:              f.ID,
			RuleIndex:           ruleIndex[f.ID],
			Level:               sarifLevel(f.Severity),
			Message:             sarifText{Text: resultMessage(f)},
			Locations:           locations,
			PartialFingerprints: map[string]string{fingerprintKey: hex.EncodeToString(sum[:])},
			Properties: sarifResultProperties{
				Severity:         f.Severity,
				Package:          f.Package,
				InstalledVersion: f.InstalledVersion,
				FixedVersion:     f.FixedVersion,
				Aliases:          f.Aliases,
				Scanners:         f.Scanners,
			},
		})
	}

	extensions := []sarifComponent{}
	for _, name := range slices.Sorted(maps.Keys(tool.Scanners)) {
		extensions = append(extensions, sarifComponent{Name: name, Version: tool.Scanners[name]})
	}
	log := sarifLog{
		Schema:  SARIFSchema,
		Version: SARIFVersion,
		Runs: []sarifRun{{
			Tool: sarifTool{
				Driver: sarifComponent{
					Name:           SARIFDriver,
					Version:        tool.Version,
					InformationURI: firstNonEmpty(tool.InformationURI, DefaultInformationURI),
					Rules:          rules,
				},
				Extensions: extensions,
			},
			Results: results,
		}},
	}
	b, err := marshalIndent(log)
	if err != nil {
		return nil, fmt.Errorf("scan: render SARIF: %w", err)
	}
	return b, nil
}

// marshalIndent writes indented JSON ending in a newline, without escaping "<", ">" and "&", which links and
// titles contain and a reader of the file should see as they are.
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// resultMessage says what is wrong and what to do: "github.com/example/vuln 1.1.0 is affected by
// CVE-2099-0001 (CRITICAL); fixed in 1.2.0. Reported by grype, trivy."
func resultMessage(f Finding) string {
	var b strings.Builder
	b.WriteString(f.Package)
	if f.InstalledVersion != "" {
		b.WriteString(" " + f.InstalledVersion)
	}
	fmt.Fprintf(&b, " is affected by %s (%s)", f.ID, f.Severity)
	if f.Title != "" {
		b.WriteString(": " + f.Title)
	}
	if f.FixedVersion != "" {
		b.WriteString("; fixed in " + f.FixedVersion)
	} else {
		b.WriteString("; no fixed version is known")
	}
	if len(f.Scanners) > 0 {
		b.WriteString(". Reported by " + strings.Join(f.Scanners, ", "))
	}
	b.WriteString(".")
	return b.String()
}

// targetURI turns a scanner's target into a URI reference: a relative path stays relative (escaped, and made
// unambiguous when its first segment has a colon, as in "alpine:3.20 (alpine 3.20.3)"), an absolute one
// becomes a file URI.
func targetURI(target string) string {
	if strings.HasPrefix(target, "/") {
		return (&url.URL{Scheme: "file", Path: target}).String()
	}
	return (&url.URL{Path: target}).String()
}

// validURI accepts only absolute http(s) links for helpUri, which must be a URI.
func validURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// The SARIF 2.1.0 objects this package writes, fields in a fixed order for deterministic output.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver     sarifComponent   `json:"driver"`
		Extensions []sarifComponent `json:"extensions,omitempty"`
	}
	sarifComponent struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri,omitempty"`
		Rules          []sarifRule `json:"rules,omitempty"`
	}
	sarifRule struct {
		ID                   string              `json:"id"`
		ShortDescription     sarifText           `json:"shortDescription"`
		DefaultConfiguration sarifConfiguration  `json:"defaultConfiguration"`
		HelpURI              string              `json:"helpUri,omitempty"`
		Help                 sarifText           `json:"help"`
		Properties           sarifRuleProperties `json:"properties"`
	}
	sarifConfiguration struct {
		Level string `json:"level"`
	}
	sarifRuleProperties struct {
		Tags             []string `json:"tags"`
		SecuritySeverity string   `json:"security-severity,omitempty"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID              string                `json:"ruleId"`
		RuleIndex           int                   `json:"ruleIndex"`
		Level               string                `json:"level"`
		Message             sarifText             `json:"message"`
		Locations           []sarifLocation       `json:"locations"`
		PartialFingerprints map[string]string     `json:"partialFingerprints"`
		Properties          sarifResultProperties `json:"properties"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
	}
	sarifPhysicalLocation struct {
		ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	}
	sarifArtifactLocation struct {
		URI string `json:"uri"`
	}
	sarifResultProperties struct {
		Severity         Severity `json:"severity"`
		Package          string   `json:"package"`
		InstalledVersion string   `json:"installedVersion"`
		FixedVersion     string   `json:"fixedVersion,omitempty"`
		Aliases          []string `json:"aliases,omitempty"`
		Scanners         []string `json:"scanners"`
	}
)

// securityScore is the CVSS-like number GitHub code scanning reads from a SARIF rule's
// properties.security-severity to rank alerts; each value sits inside the CVSS band of its severity.
func securityScore(s Severity) string {
	switch s {
	case SeverityCritical:
		return "9.5"
	case SeverityHigh:
		return "8.0"
	case SeverityMedium:
		return "5.5"
	case SeverityLow:
		return "2.0"
	}
	return "" // UNKNOWN: no score rather than an invented one.
}

// sarifLevel maps a severity to a SARIF result level: error for what a default policy blocks on, warning for
// MEDIUM, note for the rest.
func sarifLevel(s Severity) string {
	switch s {
	case SeverityCritical, SeverityHigh:
		return "error"
	case SeverityMedium:
		return "warning"
	}
	return "note"
}
