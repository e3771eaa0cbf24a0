// Package promote copies a released image to its production repository by digest, adds the release's tags,
// puts the tags back when the release fails, and marks a failed digest as rejected where registries and people
// can see it. It talks to OCI registries through go-containerregistry and knows nothing of Temporal: the
// activities in package activities wrap it, classify its errors and heartbeat.
//
// Every write is idempotent: Copy skips a digest the repository already has, SetTag and RestoreTag compare
// before they write, and MarkRejected's artifact is fixed by the image and the reason, so an activity retried
// after a partial success converges on the same registry state.
package promote

import (
	"fmt"
	"regexp"
	"strings"
)

// Tag kinds understood by Tags, modelled on docker/metadata-action's tag types.
const (
	// KindSemver is the version itself, as given: "v1.2.3" or "1.2.3" (pre-releases included).
	KindSemver = "semver"
	// KindMajorMinor is "v1.2" for v1.2.3 (the leading "v" is kept when the version has one).
	KindMajorMinor = "major.minor"
	// KindMajor is "v1" for v1.2.3; never for a v0.x version, whose minor releases may break each other.
	KindMajor = "major"
	// KindSHA is "sha-" and the first 7 characters of the commit.
	KindSHA = "sha"
	// KindBranch is the branch name made into a valid tag, like metadata-action's type=ref,event=branch.
	KindBranch = "branch"
	// KindLatest is "latest".
	KindLatest = "latest"
)

// Kinds lists the tag kinds Tags understands, in the order it documents them.
var Kinds = []string{KindSemver, KindMajorMinor, KindMajor, KindSHA, KindBranch, KindLatest}

// MaxTagLength is the longest tag the distribution spec allows.
const MaxTagLength = 128

// tagPattern is the tag grammar of the OCI distribution spec (and of the docker reference format).
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// ValidTag reports whether tag is a valid tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
func ValidTag(tag string) bool { return tagPattern.MatchString(tag) }

// semverPattern is semver.org 2.0.0 with an optional leading "v" (the grammar internal/spec.ValidateVersion
// accepts); group 4 is the pre-release, group 5 the build metadata.
var semverPattern = regexp.MustCompile(`^(v?)(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

var commitPattern = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

// commitVersion is a release version that is a git commit SHA, as internal/spec.ValidateVersion accepts it.
var commitVersion = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// invalidBranchRun is a run of characters a tag may not hold; each run becomes one "-".
var invalidBranchRun = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// parsedVersion is a release version: a semantic version, or a commit (commit set, the rest empty).
type parsedVersion struct {
	commit                      bool
	v, major, minor, prerelease string
}

// final reports whether the version may move the moving tags (major.minor, major, latest): a semantic
// version without a pre-release.
func (p parsedVersion) final() bool { return !p.commit && p.prerelease == "" }

func parseVersion(version string) (parsedVersion, error) {
	if commitVersion.MatchString(version) {
		return parsedVersion{commit: true}, nil
	}
	m := semverPattern.FindStringSubmatch(version)
	if m == nil {
		return parsedVersion{}, fmt.Errorf("version %q is neither a semantic version (1.2.3, v1.2.3, v1.2.3-rc.1) nor a commit SHA (7 to 40 lower-case hex characters)", version)
	}
	if m[6] != "" {
		return parsedVersion{}, fmt.Errorf("version %q has build metadata %q, and \"+\" is not allowed in a tag; drop it", version, "+"+m[6])
	}
	return parsedVersion{v: m[1], major: m[2], minor: m[3], prerelease: m[5]}, nil
}

// Tags computes a release's tags the way docker/metadata-action would, one or none per kind, in the order of
// kinds, without duplicates:
//
//   - "semver": the version as given (v1.2.3 or 1.2.3, pre-release included);
//   - "major.minor": v1.2 (1.2 for 1.2.3);
//   - "major": v1; not for a v0.x version (no tag, not an error);
//   - "sha": sha-<the first 7 characters of commit, lower case>; commit must be 7 to 40 hex characters;
//   - "branch": the branch (a leading refs/heads/ dropped) with every run of characters other than
//     [A-Za-z0-9._-] replaced by "-", leading "." and "-" dropped, cut to 128 characters;
//   - "latest": latest.
//
// A pre-release version (v1.2.0-rc.1) gets only its "semver" tag, and "sha" and "branch" if asked: the moving
// tags major.minor, major and latest are not moved by a pre-release. The same holds for a version that is a
// commit SHA (which internal/spec.ValidateVersion accepts): "semver" is then the commit itself, as the release
// deploys repository:version. The kinds semver, major.minor, major and latest need the version, a semantic
// version (an optional "v", no build metadata) or a commit of 7 to 40 lower-case hex characters; sha and branch
// ignore it. An unknown kind, an empty list or an input a kind needs and does not get is an error naming the
// kind.
func Tags(version string, kinds []string, commit, branch string) ([]string, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no tag kinds; name at least one of %s", strings.Join(Kinds, ", "))
	}
	var parsed *parsedVersion
	needVersion := func(kind string) (parsedVersion, error) {
		if parsed != nil {
			return *parsed, nil
		}
		if version == "" {
			return parsedVersion{}, fmt.Errorf("tag kind %q needs the release version; give a semantic version like v1.2.3, or drop %q", kind, kind)
		}
		p, err := parseVersion(version)
		if err != nil {
			return parsedVersion{}, fmt.Errorf("tag kind %q: %v; fix the version or drop %q from the tag kinds", kind, err, kind)
		}
		parsed = &p
		return p, nil
	}

	var tags []string
	seen := map[string]bool{}
	add := func(kind, tag string) error {
		if !ValidTag(tag) {
			return fmt.Errorf("tag kind %q gives %q, which is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]*, at most %d characters)", kind, tag, MaxTagLength)
		}
		if !seen[tag] {
			seen[tag] = true
			tags = append(tags, tag)
		}
		return nil
	}
	for _, kind := range kinds {
		var tag string
		switch kind {
		case KindSemver:
			if _, err := needVersion(kind); err != nil {
				return nil, err
			}
			tag = version
		case KindMajorMinor, KindMajor, KindLatest:
			p, err := needVersion(kind)
			if err != nil {
				return nil, err
			}
			switch {
			case !p.final():
				continue // a pre-release or a commit never moves a moving tag
			case kind == KindMajorMinor:
				tag = p.v + p.major + "." + p.minor
			case kind == KindMajor:
				if p.major == "0" {
					continue // v0.x: minor releases may break each other, so there is no v0 tag
				}
				tag = p.v + p.major
			default:
				tag = "latest"
			}
		case KindSHA:
			if !commitPattern.MatchString(commit) {
				return nil, fmt.Errorf("tag kind %q needs the commit SHA, 7 to 40 hex characters, and got %q; give the full commit (e.g. $GITHUB_SHA) or drop %q", kind, commit, kind)
			}
			tag = "sha-" + strings.ToLower(commit[:7])
		case KindBranch:
			t, err := BranchTag(branch)
			if err != nil {
				return nil, fmt.Errorf("tag kind %q: %v", kind, err)
			}
			tag = t
		default:
			return nil, fmt.Errorf("unknown tag kind %q; use %s", kind, strings.Join(Kinds, ", "))
		}
		if err := add(kind, tag); err != nil {
			return nil, err
		}
	}
	return tags, nil
}

// BranchTag makes a branch name a valid tag: a leading refs/heads/ is dropped, every run of characters other
// than [A-Za-z0-9._-] becomes "-" ("feature/login" -> "feature-login"), leading "." and "-" are dropped, and
// the result is cut to 128 characters. A branch with nothing left is an error.
func BranchTag(branch string) (string, error) {
	b := strings.TrimPrefix(branch, "refs/heads/")
	if b == "" {
		return "", fmt.Errorf("the branch name is empty; give the branch (e.g. $GITHUB_REF_NAME) or drop the branch tag")
	}
	t := invalidBranchRun.ReplaceAllString(b, "-")
	t = strings.TrimLeft(t, ".-")
	if len(t) > MaxTagLength {
		t = t[:MaxTagLength]
	}
	if t == "" {
		return "", fmt.Errorf("branch %q has no character a tag may hold ([A-Za-z0-9_.-]); rename the branch or drop the branch tag", branch)
	}
	return t, nil
}
