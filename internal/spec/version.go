package spec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
)

// maxVersionLength is the longest image tag a registry accepts; the version becomes the tag.
const maxVersionLength = 128

// semverPattern is the regular expression of semver.org 2.0.0, with an optional leading "v"; group 5 is the
// build metadata.
var semverPattern = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

var commitSHA = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// tagPattern is the tag grammar of the distribution reference format.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

const versionHelp = "use a semantic version like 1.2.3, v1.2.3 or v1.2.3-rc.1, or a git commit SHA (7 to 40 lowercase hex characters)"

// ValidateVersion accepts a release version: a semantic version (semver.org, optional leading "v",
// pre-release allowed) or a git commit SHA of 7 to 40 lowercase hex characters. The version becomes an image
// tag, a label value and part of workflow IDs, so anything else, including build metadata ("+" cannot appear
// in an image tag), is refused; the refused value is quoted, never echoed raw.
func ValidateVersion(v string) error {
	switch {
	case v == "":
		return errors.New("version is required; " + versionHelp)
	case len(v) > maxVersionLength:
		return fmt.Errorf("version %s is %d characters long; an image tag holds at most %d", quoteShort(v), len(v), maxVersionLength)
	case commitSHA.MatchString(v):
		return nil
	}
	m := semverPattern.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("version %s is not accepted; %s", quoteShort(v), versionHelp)
	}
	if m[5] != "" {
		return fmt.Errorf("version %s has build metadata %s, which is not allowed because \"+\" is not allowed in an image tag; drop it or make it a pre-release (v1.2.3-rc.1)", quoteShort(v), quoteShort("+"+m[5]))
	}
	return nil
}

// ImageRef checks an image repository and a release version and joins them into the reference deployed,
// "repository:version", so every Deployment Slipway renders names an image that a registry can resolve.
func ImageRef(repository, version string) (string, error) {
	if msg := repositoryProblem(repository); msg != "" {
		return "", errors.New("image repository " + msg)
	}
	if err := ValidateVersion(version); err != nil {
		return "", err
	}
	ref := repository + ":" + version
	if _, err := name.NewTag(ref, name.StrictValidation); err != nil {
		return "", fmt.Errorf("image reference %s is not valid: %v", quoteShort(ref), err)
	}
	return ref, nil
}

// ValidateImageRef checks a full image reference, repository:tag or repository@sha256:... (or both), such as
// one read back from a Deployment before Slipway puts it back; a reference without a tag or digest is refused
// because it would deploy whatever "latest" is at the time.
func ValidateImageRef(ref string) error {
	if ref == "" {
		return errors.New("image reference is required")
	}
	if strings.IndexFunc(ref, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("image reference %s must not contain whitespace", quoteShort(ref))
	}
	repo, hasDigest := ref, false
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		repo, hasDigest = ref[:i], true
	}
	tag := ""
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo, tag = repo[:i], repo[i+1:]
		if !tagPattern.MatchString(tag) {
			return fmt.Errorf("image reference %s has an invalid tag %s", quoteShort(ref), quoteShort(tag))
		}
	}
	if tag == "" && !hasDigest {
		return fmt.Errorf("image reference %s names neither a tag nor a digest; write repository:tag or repository@sha256:...", quoteShort(ref))
	}
	if msg := repositoryProblem(repo); msg != "" {
		return errors.New("image reference: repository " + msg)
	}
	if _, err := name.ParseReference(ref, name.StrictValidation); err != nil {
		return fmt.Errorf("image reference %s is not valid: %v", quoteShort(ref), err)
	}
	return nil
}
