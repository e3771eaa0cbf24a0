package releaseapi

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vektagraf/slipway/internal/spec"
)

// Prepared is a release input after Prepare: the defaulted spec, the image to deploy
// (image.repository:version), the image to scan when the spec names a source repository
// (image.source:version), and the release tags.
type Prepared struct {
	Spec   spec.Spec `json:"spec"`
	Image  string    `json:"image"`
	Source string    `json:"source,omitempty"`
	// Tags name this build only (semver, sha); the push stage puts them on the digest.
	Tags []string `json:"tags,omitempty"`
	// FloatingTags move from build to build (major.minor, major, branch, latest); the release-tags stage moves
	// them once production serves the build and verify passed, so nobody pulls an unapproved build by them.
	FloatingTags []string `json:"floatingTags,omitempty"`
}

// ScanRef is the image the scan stage resolves: image.source:version when the spec has a source (where CI
// pushes), else the image to deploy.
func (p Prepared) ScanRef() string {
	if p.Source != "" {
		return p.Source
	}
	return p.Image
}

// floatingKinds are the tag kinds that move from build to build.
var floatingKinds = []string{spec.TagMajorMinor, spec.TagMajor, spec.TagBranch, spec.TagLatest}

// Prepare fills the spec's defaults and checks a release input: the spec (with scan ignores and compliance
// waivers judged at now), the version, the image references and the release tags. It is the one validation
// of a release: the client runs it so bad input never starts a workflow, and the workflow runs it again (in a
// local activity, so its result and the clock are recorded in history) because a release started with the
// plain Temporal CLI never passed through a client. The error lists every problem, field by field.
func Prepare(in ReleaseInput, now time.Time) (Prepared, error) {
	spec.ApplyDefaults(&in.Spec)
	var problems []error
	if err := in.Spec.ValidateAt(now); err != nil {
		problems = append(problems, err)
	}
	p := Prepared{Spec: in.Spec}
	if err := spec.ValidateVersion(in.Version); err != nil {
		problems = append(problems, fmt.Errorf("version: %w", err))
	}
	if len(problems) > 0 {
		return Prepared{}, errors.Join(problems...)
	}
	var err error
	if p.Image, err = spec.ImageRef(in.Spec.Image.Repository, in.Version); err != nil {
		return Prepared{}, fmt.Errorf("image: %w", err)
	}
	if in.Spec.Image.Source != "" {
		if p.Source, err = spec.ImageRef(in.Spec.Image.Source, in.Version); err != nil {
			return Prepared{}, fmt.Errorf("image.source: %w", err)
		}
	}
	var fixedKinds, floatKinds []string
	for _, k := range in.Spec.Image.Tags {
		if slices.Contains(floatingKinds, k) {
			floatKinds = append(floatKinds, k)
		} else {
			fixedKinds = append(fixedKinds, k)
		}
	}
	for _, part := range []struct {
		kinds []string
		out   *[]string
	}{{fixedKinds, &p.Tags}, {floatKinds, &p.FloatingTags}} {
		if len(part.kinds) == 0 {
			continue
		}
		if *part.out, err = spec.ReleaseTags(in.Version, part.kinds, in.Trigger.Commit, in.Trigger.Branch); err != nil {
			return Prepared{}, fmt.Errorf("image.tags: %w", err)
		}
	}
	return p, nil
}

// PrepareRollback fills the spec's defaults and checks it, for a rollback. Expiry dates are not judged: a
// rollback must work with a lapsed exception in the spec.
func PrepareRollback(s spec.Spec) (spec.Spec, error) {
	spec.ApplyDefaults(&s)
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}
