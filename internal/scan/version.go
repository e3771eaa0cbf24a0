package scan

import (
	"strings"
)

// compareVersions compares two version strings the simple, semver-ish way, good enough to choose between
// fixed versions two scanners propose for one package: a leading "v" and build metadata ("+...") are ignored,
// dot-separated parts compare numerically where they are numbers ("1.10" > "1.9"), missing parts count as zero
// ("1.2" == "1.2.0"), and a pre-release ("1.2.0-rc.1") sorts before its release. It is not an ecosystem's
// exact ordering (Debian epochs and revisions, for one), and it never fails: text compares as text.
func compareVersions(a, b string) int {
	aMain, aPre := splitVersion(a)
	bMain, bPre := splitVersion(b)
	if c := compareDotted(aMain, bMain, true); c != 0 {
		return c
	}
	switch {
	case aPre == bPre:
		return 0
	case aPre == "":
		return 1
	case bPre == "":
		return -1
	}
	return compareDotted(aPre, bPre, false)
}

// splitVersion trims a version to the parts that order it: the main part and the pre-release, without a
// leading "v" and without build metadata.
func splitVersion(v string) (main, pre string) {
	v = normalizeVersion(v)
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	main, pre, _ = strings.Cut(v, "-")
	return main, pre
}

// normalizeVersion drops surrounding space and the "v" Go puts in front of module versions ("v0.3.7"), which
// one scanner may print and another not.
func normalizeVersion(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') && v[1] >= '0' && v[1] <= '9' {
		v = v[1:]
	}
	return v
}

// compareDotted compares dot-separated identifiers pairwise; with padZero a missing identifier counts as "0"
// (release parts), otherwise the shorter list sorts first (pre-release parts, as in semver).
func compareDotted(a, b string, padZero bool) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y string
		switch {
		case i < len(as) && i < len(bs):
			x, y = as[i], bs[i]
		case !padZero && i >= len(as):
			return -1
		case !padZero:
			return 1
		case i < len(as):
			x, y = as[i], "0"
		default:
			x, y = "0", bs[i]
		}
		if c := compareIdentifier(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// compareIdentifier compares two version identifiers run by run, numbers numerically (without overflow, by
// length first) and text as text, so "10" > "9" and "3a" < "3b"; a number sorts before text, as in semver.
func compareIdentifier(a, b string) int {
	for a != "" && b != "" {
		ra, restA := nextRun(a)
		rb, restB := nextRun(b)
		na, nb := isDigit(ra[0]), isDigit(rb[0])
		switch {
		case na && nb:
			ra, rb = strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if len(ra) != len(rb) {
				if len(ra) < len(rb) {
					return -1
				}
				return 1
			}
			if c := strings.Compare(ra, rb); c != 0 {
				return c
			}
		case na:
			return -1
		case nb:
			return 1
		default:
			if c := strings.Compare(ra, rb); c != 0 {
				return c
			}
		}
		a, b = restA, restB
	}
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	}
	return 1
}

// nextRun splits off the leading run of digits or of non-digits.
func nextRun(s string) (run, rest string) {
	digit := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == digit {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// pickFix chooses, among the versions said to fix a vulnerability, the lowest one above the installed
// version: the smallest upgrade that fixes it on the installed line (a list like "0.3.8, 0.4.1" names one fix
// per release line). When none is above the installed version (an ordering this comparison gets wrong), the
// lowest candidate is kept rather than none. Ties between spellings of one version keep the first given.
func pickFix(installed string, candidates []string) string {
	var all, above []string
	for _, c := range candidates {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		all = append(all, c)
		if installed == "" || compareVersions(c, installed) > 0 {
			above = append(above, c)
		}
	}
	if len(above) == 0 {
		above = all
	}
	best := ""
	for _, c := range above {
		if best == "" || compareVersions(c, best) < 0 {
			best = c
		}
	}
	return best
}

// splitFixList splits Trivy's FixedVersion, which joins the fixes of several release lines with ", ".
func splitFixList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
