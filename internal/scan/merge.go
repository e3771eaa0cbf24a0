package scan

import (
	"maps"
	"slices"
)

// mergeKey identifies one vulnerability in one package version. The version is normalized ("v0.3.7" and
// "0.3.7" are one version) because Go module versions are printed with or without the "v" depending on the
// scanner and the ecosystem; the target is not part of the key, so a package found in two places is one
// finding with two targets.
type mergeKey struct{ id, pkg, version string }

// scannerView is what one scanner said about one finding (several of its findings may share a key, for
// instance the same module in two go.mod files).
type scannerView struct {
	severity  Severity
	installed string
	fixes     []string
	titles    []string
	urls      []string
	targets   []string
	aliases   []string
}

// Merge combines the findings of several scanners (keyed by scanner name, e.g. ScannerTrivy) into one finding
// per vulnerability, package and installed version, so a vulnerability both scanners see is counted and shown
// once, with the evidence of both:
//   - Scanners lists every scanner that reported it, sorted;
//   - Severity is the highest any scanner gave (a policy must not pass because one scanner rated lower), and
//     SeverityBy records each scanner's rating when they disagree;
//   - FixedVersion is the fix a scanner knows; when they name different ones, the lowest that is above the
//     installed version (compared semver-ish), and FixedBy records each scanner's answer;
//   - InstalledVersion is the shortest of the scanners' spellings ("1.1.0" rather than "v1.1.0");
//   - Aliases and Targets are the union of all scanners', Title the shortest non-empty one (Trivy's title over
//     Grype's description) and URL the first scanner's (by name) that has one.
//
// The result is sorted by severity (highest first), then ID, package and installed version, and does not
// depend on map or input order.
func Merge(byScanner map[string][]Finding) []Finding {
	views := map[mergeKey]map[string]*scannerView{}
	var keys []mergeKey
	for _, scanner := range slices.Sorted(maps.Keys(byScanner)) {
		for _, f := range byScanner[scanner] {
			k := mergeKey{f.ID, f.Package, normalizeVersion(f.InstalledVersion)}
			byName, ok := views[k]
			if !ok {
				byName = map[string]*scannerView{}
				views[k] = byName
				keys = append(keys, k)
			}
			v, ok := byName[scanner]
			if !ok {
				v = &scannerView{severity: f.Severity, installed: f.InstalledVersion}
				byName[scanner] = v
			}
			v.severity = max(v.severity, f.Severity)
			v.fixes = append(v.fixes, f.FixedVersion)
			v.titles = append(v.titles, f.Title)
			v.urls = append(v.urls, f.URL)
			v.targets = append(v.targets, f.Targets...)
			v.aliases = append(v.aliases, f.Aliases...)
		}
	}
	out := make([]Finding, 0, len(keys))
	for _, k := range keys {
		out = append(out, mergeViews(k, views[k]))
	}
	slices.SortFunc(out, compareFindings)
	return out
}

// mergeViews builds one finding from every scanner's view of it, reading scanners in name order.
func mergeViews(k mergeKey, byName map[string]*scannerView) Finding {
	scanners := slices.Sorted(maps.Keys(byName))
	f := Finding{ID: k.id, Package: k.pkg, Scanners: scanners}
	var aliases, targets, titles []string
	severities := map[string]Severity{}
	fixes := map[string]string{}
	for i, name := range scanners {
		v := byName[name]
		// Prefer the spelling without Go's "v" (Trivy's "1.1.0" over Grype's "v1.1.0"), the one fixed
		// versions are written in, so "1.1.0, fixed in 1.2.0" reads consistently.
		if i == 0 || len(v.installed) < len(f.InstalledVersion) {
			f.InstalledVersion = v.installed
		}
		f.Severity = max(f.Severity, v.severity)
		severities[name] = v.severity
		fixes[name] = pickFix(v.installed, v.fixes)
		aliases = append(aliases, v.aliases...)
		targets = append(targets, v.targets...)
		titles = append(titles, v.titles...)
		if f.URL == "" {
			f.URL = firstNonEmpty(v.urls...)
		}
	}
	f.Aliases = sortedUnique(aliases, f.ID)
	f.Targets = sortedUnique(targets)
	f.Title = shortest(titles)

	if distinct(slices.Collect(maps.Values(severities)), func(a, b Severity) bool { return a == b }) > 1 {
		f.SeverityBy = severities
	}
	var known []string
	for _, name := range scanners {
		if fixes[name] != "" {
			known = append(known, fixes[name])
		}
	}
	f.FixedVersion = pickFix(f.InstalledVersion, known)
	sameFix := func(a, b string) bool { return (a == "") == (b == "") && compareVersions(a, b) == 0 }
	if distinct(slices.Collect(maps.Values(fixes)), sameFix) > 1 {
		f.FixedBy = fixes
	}
	return f
}

// distinct counts the classes of equal values.
func distinct[T any](vs []T, equal func(a, b T) bool) int {
	var seen []T
	for _, v := range vs {
		if !slices.ContainsFunc(seen, func(s T) bool { return equal(s, v) }) {
			seen = append(seen, v)
		}
	}
	return len(seen)
}

// shortest returns the shortest non-empty string, the smallest of equally short ones.
func shortest(ss []string) string {
	best := ""
	for _, s := range ss {
		if s != "" && (best == "" || len(s) < len(best) || len(s) == len(best) && s < best) {
			best = s
		}
	}
	return best
}
