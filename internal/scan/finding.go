package scan

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Finding is one vulnerability in one package version, as one scanner reported it (ParseTrivy, ParseGrype) or
// as the scanners agreed on it (Merge). It keeps what a reviewer needs to act (which package, which version
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
	FixedVersion string   `json:"fixedVersion,omitempty"`
	Severity     Severity `json:"severity"`
	Title        string   `json:"title,omitempty"`
	// URL is a page describing the vulnerability.
	URL string `json:"url,omitempty"`
	// Targets are where the package was found (a go.mod, a binary, an OS package database), relative to the
	// scanned root and sorted; the same package version found in two places is one finding.
	Targets []string `json:"targets,omitempty"`
	// Scanners lists every scanner that reported the finding, sorted.
	Scanners []string `json:"scanners"`
	// SeverityBy records each scanner's severity, only when the scanners disagree (Severity is then the
	// highest); a reviewer sees that one scanner rated it lower.
	SeverityBy map[string]Severity `json:"severityBy,omitempty"`
	// FixedBy records each scanner's fixed version ("" for none), only when the scanners disagree.
	FixedBy map[string]string `json:"fixedBy,omitempty"`
}

// maxTitle bounds a title: Grype has no title, only a description that can run to pages.
const maxTitle = 200

// shortTitle keeps the first line of a description, at most maxTitle bytes, cut on a rune boundary.
func shortTitle(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if len(s) <= maxTitle {
		return s
	}
	cut := maxTitle - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut]) + "…"
}

// compareFindings orders findings the way every list in this package is ordered: the most severe first, then
// by ID, package and installed version, so output does not depend on the scanners' or a map's order.
func compareFindings(a, b Finding) int {
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Package, b.Package); c != 0 {
		return c
	}
	if c := compareVersions(a.InstalledVersion, b.InstalledVersion); c != 0 {
		return c
	}
	if c := strings.Compare(a.InstalledVersion, b.InstalledVersion); c != 0 {
		return c
	}
	return slices.Compare(a.Targets, b.Targets)
}

// sortedFindings returns a sorted copy, leaving the caller's slice alone.
func sortedFindings(fs []Finding) []Finding {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, compareFindings)
	return out
}

// sortedUnique sorts and deduplicates a list of strings, dropping empty ones and the ones in drop.
func sortedUnique(ss []string, drop ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(drop, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
