//go:build integration

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/imagebuild"
	"github.com/vektagraf/slipway/internal/promote"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/signing"
	"github.com/vektagraf/slipway/internal/spec"
)

// writeKeys writes a fresh key pair into a temporary directory and returns file: references to them.
func writeKeys(t *testing.T) (key, pub string) {
	t.Helper()
	priv, pubPEM, err := signing.GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cosign.key"), priv, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cosign.pub"), pubPEM, 0o644))
	return "file:" + filepath.Join(dir, "cosign.key"), "file:" + filepath.Join(dir, "cosign.pub")
}

// pushToCI pushes the demo app's image for version to the CI repository (what a CI build does) and returns
// its digest.
func pushToCI(t *testing.T, ciRepo, version string) string {
	t.Helper()
	img, err := imagebuild.FromBinary(filepath.Join(h.bin, "demoapp"), imagebuild.Options{Version: version})
	require.NoError(t, err)
	d, err := imagebuild.Push(deadline(t, time.Minute), img, ciRepo+":"+version)
	require.NoError(t, err)
	return d
}

// tagDigest is what a tag in the production repository points at ("" when it does not exist).
func tagDigest(t *testing.T, tag string) string {
	t.Helper()
	repo, err := name.NewRepository(demoImage)
	require.NoError(t, err)
	d, err := promote.TagDigest(context.Background(), repo, tag)
	require.NoError(t, err)
	if d == nil {
		return ""
	}
	return d.String()
}

func TestReleasePromotesSignsAndVerifiesAndAFailureTakesItsTagsBack(t *testing.T) {
	s := appSpec(t, "promote")
	ciRepo := h.registry + "/ci/demo-app"
	key, pub := writeKeys(t)
	s.Image.Source = ciRepo
	s.Image.Tags = []string{spec.TagSemver, spec.TagMajorMinor, spec.TagSHA}
	s.Image.Signing = &spec.Signing{Key: key, PublicKey: pub}
	const commit = "89abcdef0123456789abcdef0123456789abcdef"
	ctx := deadline(t, 4*time.Minute)

	// v3.1.0: built into the CI repository, scanned there, copied into production with its tags, signed.
	d1 := pushToCI(t, ciRepo, "v3.1.0")
	run, err := h.releases.StartRelease(ctx, releaseapi.ReleaseInput{Spec: s, Version: "v3.1.0", Trigger: releaseapi.Trigger{Commit: commit, Actor: t.Name()}})
	require.NoError(t, err)
	var res releaseapi.ReleaseResult
	require.NoError(t, h.releases.Follow(ctx, run, &res, nil))
	recordHistory(t, run, "release-promoted-signed")
	require.Equal(t, demoImage+":v3.1.0@"+d1, res.Image, "production runs the CI build's digest, from the production repository")
	require.Equal(t, ciRepo+"@"+d1, res.Scan.Image, "the CI build is what was scanned")
	require.Equal(t, res.Image, deploymentOf(t, s.Environments.Production.Namespace, "demo-app-blue").Image)
	for _, tag := range []string{"v3.1.0", "v3.1", "sha-89abcde"} {
		require.Equal(t, d1, tagDigest(t, tag), tag)
	}

	// The signature is cosign's format (tests/cosign runs the real CLI on it): it verifies with the right key
	// only, and only for this digest.
	pushed, err := name.NewDigest(demoImage + "@" + d1)
	require.NoError(t, err)
	pubKey, err := signing.LoadPublicKey(pub)
	require.NoError(t, err)
	_, err = signing.Verify(ctx, pushed, pubKey)
	require.NoError(t, err)
	_, otherPub := writeKeys(t)
	otherKey, err := signing.LoadPublicKey(otherPub)
	require.NoError(t, err)
	_, err = signing.Verify(ctx, pushed, otherKey)
	require.ErrorIs(t, err, signing.ErrBadSignature)
	unsigned, err := name.NewDigest(ciRepo + "@" + d1)
	require.NoError(t, err)
	_, err = signing.Verify(ctx, unsigned, pubKey)
	require.ErrorIs(t, err, signing.ErrUnsigned)

	// v3.1.1 with a signing key the worker cannot read: refused at the start of push, before anything is
	// written to the production repository.
	d2 := pushToCI(t, ciRepo, "v3.1.1")
	const commit2 = "fedcba9876543210fedcba9876543210fedcba98"
	noKey := s
	noKey.Image.Signing = &spec.Signing{Key: "env:SLIPWAY_IT_KEY_THAT_IS_NOT_SET", PublicKey: pub}
	run, err = h.releases.StartRelease(ctx, releaseapi.ReleaseInput{Spec: noKey, Version: "v3.1.1", Trigger: releaseapi.Trigger{Commit: commit2, Actor: t.Name()}})
	require.NoError(t, err)
	err = h.releases.Follow(ctx, run, &res, nil)
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err), "%v", err)
	require.Contains(t, err.Error(), "stage push failed")
	require.Contains(t, err.Error(), "[SigningKey]")
	require.Empty(t, tagDigest(t, "v3.1.1"), "nothing pushed")
	require.Equal(t, d1, tagDigest(t, "v3.1"))

	// v3.1.1 again, failing after its push (its staging smoke check cannot pass): v3.1 goes back to v3.1.0's
	// digest, v3.1.1 and its sha tag are removed, the digest is marked rejected, production is untouched.
	failing := s
	failing.Smoke.Checks = []spec.Check{{Name: "missing page", Path: "/does-not-exist", ExpectStatus: 200}}
	failing.Smoke.Attempts = 2
	run, err = h.releases.StartRelease(ctx, releaseapi.ReleaseInput{Spec: failing, Version: "v3.1.1", Trigger: releaseapi.Trigger{Commit: commit2, Actor: t.Name()}})
	require.NoError(t, err)
	err = h.releases.Follow(ctx, run, &res, nil)
	recordHistory(t, run, "release-fails-after-push-tags-restored")
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err), "%v", err)
	require.Contains(t, err.Error(), "stage staging-smoke failed")
	require.Equal(t, d1, tagDigest(t, "v3.1"), "the moving tag is back on the last good release")
	require.Empty(t, tagDigest(t, "v3.1.1"), "no semver tag on the rejected build")
	require.Empty(t, tagDigest(t, "sha-fedcba9"))
	unsignedRef, err := name.NewDigest(demoImage + "@" + d2)
	require.NoError(t, err)
	_, err = signing.Verify(ctx, unsignedRef, pubKey)
	require.ErrorIs(t, err, signing.ErrUnsigned, "the failed release took its signature back")
	rejectedRef, err := name.NewDigest(demoImage + "@" + d2)
	require.NoError(t, err)
	rejected, reason, err := promote.IsRejected(ctx, rejectedRef)
	require.NoError(t, err)
	require.True(t, rejected)
	require.Contains(t, reason, "release v3.1.1 of demo-app failed")
	require.Equal(t, d1, tagDigest(t, "v3.1.0"))
	require.Equal(t, demoImage+":v3.1.0@"+d1, deploymentOf(t, s.Environments.Production.Namespace, "demo-app-blue").Image,
		"production still runs v3.1.0")

	// The registry holds what the tags say: the rejected digest is still there (by digest), untagged.
	_, err = remote.Head(rejectedRef)
	require.NoError(t, err)

	// v3.2.0 from a build that never went to a registry: the starter pushes the OCI layout to image.source as
	// :v3.2.0, then the release scans, promotes and signs it like any other.
	img, err := imagebuild.FromBinary(filepath.Join(h.bin, "demoapp"), imagebuild.Options{Version: "v3.2.0"})
	require.NoError(t, err)
	layoutDir := filepath.Join(t.TempDir(), "oci")
	d3, err := imagebuild.WriteLayout(img, layoutDir)
	require.NoError(t, err)
	demo, err := os.ReadFile(filepath.Join(h.repo, "examples/demo/slipway.yaml"))
	require.NoError(t, err)
	specFile := filepath.Join(t.TempDir(), "slipway.yaml")
	require.NoError(t, os.WriteFile(specFile, []byte(strings.NewReplacer(
		"demo-production", s.Environments.Production.Namespace, "demo-staging", s.Environments.Staging.Namespace,
		"127.0.0.1:5001/", h.registry+"/", "env:SLIPWAY_DEMO_SIGNING_KEY", key, "env:SLIPWAY_DEMO_SIGNING_PUBLIC_KEY", pub,
	).Replace(string(demo))), 0o644))
	code, stdout, stderr := starter(t, "release", "--spec", specFile, "--version", "v3.2.0", "--commit", commit,
		"--image-layout", layoutDir, "--wait", "--timeout", "2m")
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	require.Contains(t, stdout, "pushed "+ciRepo+":v3.2.0@"+d3)
	require.Contains(t, stdout, "released v3.2.0 of demo-app")
	require.Equal(t, d3, tagDigest(t, "v3.2.0"))
	require.Equal(t, d3, tagDigest(t, "v3.2"))
}
