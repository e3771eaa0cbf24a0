package scan

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

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
