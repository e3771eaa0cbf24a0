package spec

import (
	"fmt"
	"regexp"
	"strings"
)

// The tags a release puts on its image, modelled on docker/metadata-action's tag types; Image.Tags names the
// kinds (TagKinds). They live with the version grammar they parse, so the spec, the starter, the workflow
// and the push activity agree on what a release's tags are.

// MaxTagLength is the longest tag the distribution spec allows.
const MaxTagLength = 128

// ValidTag reports whether tag is a valid tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
func ValidTag(tag string) bool { return tagPattern.MatchString(tag) }

var commitPattern = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

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
	if commitSHA.MatchString(version) {
		return parsedVersion{commit: true}, nil
	}
	m := semverPattern.FindStringSubmatch(version)
	if m == nil {
		return parsedVersion{}, fmt.Errorf("version %q is neither a semantic version (1.2.3, v1.2.3, v1.2.3-rc.1) nor a commit SHA (7 to 40 lower-case hex characters)", version)
	}
	if m[5] != "" {
		return parsedVersion{}, fmt.Errorf("version %q has build metadata %q, and \"+\" is not allowed in a tag; drop it", version, "+"+m[5])
	}
	v := ""
	if strings.HasPrefix(version, "v") {
		v = "v"
	}
	return parsedVersion{v: v, major: m[1], minor: m[2], prerelease: m[4]}, nil
}

// ReleaseTags computes a release's tags the way docker/metadata-action would, one or none per kind, in the order of
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
func ReleaseTags(version string, kinds []string, commit, branch string) ([]string, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no tag kinds; name at least one of %s", strings.Join(TagKinds, ", "))
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
		case TagSemver:
			if _, err := needVersion(kind); err != nil {
				return nil, err
			}
			tag = version
		case TagMajorMinor, TagMajor, TagLatest:
			p, err := needVersion(kind)
			if err != nil {
				return nil, err
			}
			switch {
			case !p.final():
				continue // a pre-release or a commit never moves a moving tag
			case kind == TagMajorMinor:
				tag = p.v + p.major + "." + p.minor
			case kind == TagMajor:
				if p.major == "0" {
					continue // v0.x: minor releases may break each other, so there is no v0 tag
				}
				tag = p.v + p.major
			default:
				tag = "latest"
			}
		case TagSHA:
			if !commitPattern.MatchString(commit) {
				return nil, fmt.Errorf("tag kind %q needs the commit SHA, 7 to 40 hex characters, and got %q; give the full commit (e.g. $GITHUB_SHA) or drop %q", kind, commit, kind)
			}
			tag = "sha-" + strings.ToLower(commit[:7])
		case TagBranch:
			t, err := BranchTag(branch)
			if err != nil {
				return nil, fmt.Errorf("tag kind %q: %v", kind, err)
			}
			tag = t
		default:
			return nil, fmt.Errorf("unknown tag kind %q; use %s", kind, strings.Join(TagKinds, ", "))
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
