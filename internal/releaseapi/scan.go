package releaseapi

import (
	"fmt"
	"strings"

	"github.com/vektagraf/slipway/internal/spec"
)

// The scan's findings and counts as a release reports them (the status, the result, report.json); the
// scanners' parsers and the verdict in internal/scan produce them.

// Finding is one vulnerability in one package version, as one scanner reported it or as the scanners agreed on
// it (internal/scan). It keeps what a reviewer needs to act (which package, which version
// fixes it, where it was found, who said so) and nothing of the scanners' full records, so a list of findings
// stays small enough for a workflow history.
type Finding struct {
	// ID is the vulnerability's CVE when there is one, else the scanner's own ID (a GHSA, for instance).
	ID string `json:"id"`
	// Aliases are the other IDs of the same vulnerability (the GHSA of a CVE), sorted; a policy ignore may
	// name any of them.
	Aliases []string `json:"aliases,omitempty"`
	// Package is the package name as the scanners spell it (a Go module path, a Debian package name).
	Package          string `json:"package"`
	InstalledVersion string `json:"installedVersion"`
	// FixedVersion is the lowest version that fixes the vulnerability for InstalledVersion; empty when no fix
	// is known.
	FixedVersion string        `json:"fixedVersion,omitempty"`
	Severity     spec.Severity `json:"severity"`
	Title        string        `json:"title,omitempty"`
	// URL is a page describing the vulnerability.
	URL string `json:"url,omitempty"`
	// Targets are where the package was found (a go.mod, a binary, an OS package database), relative to the
	// scanned root and sorted; the same package version found in two places is one finding.
	Targets []string `json:"targets,omitempty"`
	// Scanners lists every scanner that reported the finding, sorted.
	Scanners []string `json:"scanners"`
	// SeverityBy records each scanner's severity, only when the scanners disagree (spec.Severity is then the
	// highest); a reviewer sees that one scanner rated it lower.
	SeverityBy map[string]spec.Severity `json:"severityBy,omitempty"`
	// FixedBy records each scanner's fixed version ("" for none), only when the scanners disagree.
	FixedBy map[string]string `json:"fixedBy,omitempty"`
}

// Counts are the numbers of findings by severity: all of them (ignored included), those that block and those
// an ignore accepted. They are complete even where the lists in a Verdict are cut short.
type Counts struct {
	Total    SeverityCounts `json:"total"`
	Blocking SeverityCounts `json:"blocking"`
	Ignored  SeverityCounts `json:"ignored"`
}

// SeverityCounts counts findings per severity, as fields rather than a map so the JSON is stable and small.
type SeverityCounts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Unknown  int `json:"unknown"`
}

// Get returns the count for one severity.
func (c SeverityCounts) Get(s spec.Severity) int {
	switch s {
	case spec.SeverityCritical:
		return c.Critical
	case spec.SeverityHigh:
		return c.High
	case spec.SeverityMedium:
		return c.Medium
	case spec.SeverityLow:
		return c.Low
	}
	return c.Unknown
}

// Sum is the number of findings counted.
func (c SeverityCounts) Sum() int { return c.Critical + c.High + c.Medium + c.Low + c.Unknown }

// String lists the non-zero counts, most severe first: "1 CRITICAL, 2 HIGH".
func (c SeverityCounts) String() string {
	var parts []string
	for _, s := range spec.Severities {
		if n := c.Get(s); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

// ReportDigests are the sha256 digests ("sha256:<hex>") of the files scan.WriteReports wrote, to record in the
// workflow so the evidence can be checked later.
type ReportDigests struct {
	JSON  string `json:"json"`
	SARIF string `json:"sarif"`
	// Raw holds, by scanner name, the digest of that scanner's own JSON output (WriteRaw), kept next to the
	// merged report so a finding can be traced to what the scanner said.
	Raw map[string]string `json:"raw,omitempty"`
}
