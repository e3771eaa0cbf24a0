package spec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/util/validation"
)

// versionLabel is the label of every Deployment Slipway renders that holds the release version
// (activities.LabelVersion); a version that is not a valid label value would be left out of it.
const versionLabel = "app.kubernetes.io/version"

// maxVersionLength is the longest Kubernetes label value, which is shorter than the longest image tag (128):
// the version becomes both.
const maxVersionLength = validation.LabelValueMaxLength

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
// tag, the value of the Kubernetes label app.kubernetes.io/version and a workflow memo, so anything else is
// refused: build metadata ("+" cannot appear in an image tag), more than 63 characters, or a pre-release
// ending in "-" (a label value must start and end with a letter or digit). The refused value is quoted, never
// echoed raw.
func ValidateVersion(v string) error {
	switch {
	case v == "":
		return errors.New("version is required; " + versionHelp)
	case len(v) > maxVersionLength:
		return fmt.Errorf("version %s is %d characters long; it becomes the value of the Kubernetes label %s, which holds at most %d",
			quoteShort(v), len(v), versionLabel, maxVersionLength)
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
	if len(validation.IsValidLabelValue(v)) > 0 {
		// Within the length limit, a semantic version fails only by ending in "-" ("1.0.0-rc-").
		return fmt.Errorf("version %s is not a valid Kubernetes label value, and it becomes the label %s: a label value must start and end with a letter or digit", quoteShort(v), versionLabel)
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
