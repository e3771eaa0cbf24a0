package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

const (
	ciRepo   = "ci.example.com/builds/demo-app"
	prodRepo = "localhost/slipway/demo-app"
)

// promotingInput is a release of version from the CI repository into the production one, with release tags
// and signing.
func promotingInput(version string) releaseapi.ReleaseInput {
	in := releaseInput(version)
	in.Spec.Image.Source = ciRepo
	in.Spec.Image.Tags = []string{spec.TagSemver, spec.TagMajorMinor, spec.TagSHA}
	in.Spec.Image.Signing = &spec.Signing{Key: "env:SLIPWAY_SIGNING_KEY", PublicKey: "file:/etc/slipway/cosign.pub"}
	in.Trigger.Commit = "0123456789abcdef0123456789abcdef01234567"
	return in
}

func TestReleasePromotesTheScannedDigestSignsItAndVerifiesBeforeEachDeploy(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.regTags[prodRepo+":v1.1"] = "sha256:old"
	h.env.ExecuteWorkflow(ReleaseWorkflow, promotingInput("v1.1.0"))
	require.NoError(t, h.env.GetWorkflowError())

	digest := fakeDigest(ciRepo + ":v1.1.0")
	pushed := prodRepo + "@" + digest
	require.Equal(t, []string{
		"ResolveImage " + ciRepo + ":v1.1.0", "Scan " + ciRepo + "@" + digest, "CheckSigningKeys env:SLIPWAY_SIGNING_KEY",
		"ReadTags " + prodRepo, "PushImage " + prodRepo, "SetTag " + prodRepo + ":v1.1.0", "SetTag " + prodRepo + ":sha-0123456",
		"SignImage " + pushed, "VerifyImage " + pushed,
	}, h.fc.callsOf("")[:9], "the CI build is scanned, then copied, tagged with its own tags and signed; the signature is checked before staging")
	// The floating tag moves only once production serves the build and passed verify.
	calls := h.fc.callsOf("")
	require.Greater(t, indexOf(calls, "SetTag "+prodRepo+":v1.1"), indexOf(calls, "SwitchService "+prodActive+"=green"))
	var verified []int
	for i, c := range h.fc.callsOf("") {
		if c == "VerifyImage "+pushed {
			verified = append(verified, i)
		}
	}
	require.Len(t, verified, 2, "verified before the staging and before the production deploy")

	for _, tag := range []string{"v1.1.0", "v1.1", "sha-0123456"} {
		require.Equal(t, digest, h.fc.regTags[prodRepo+":"+tag], tag)
	}
	var res releaseapi.ReleaseResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.Equal(t, prodRepo+":v1.1.0@"+digest, res.Image)
	require.Equal(t, res.Image, h.fc.deployment(greenDep).image, "production runs the promoted digest")
	st := h.status(t)
	require.Contains(t, stageByName(st, releaseapi.StagePush).Message, "tagged v1.1.0, sha-0123456")
	require.Contains(t, stageByName(st, releaseapi.StageReleaseTags).Message, "tagged v1.1")
	require.Contains(t, stageByName(st, releaseapi.StageSign).Message, "signed: ")
	require.Empty(t, h.fc.rejected)
}

func TestFailureAfterPushPutsTheTagsBackAndMarksTheDigestRejected(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.regTags[prodRepo+":v1.1"] = "sha256:old"
	h.fc.failNext("SmokeCheck", prodActive, temporal.NewNonRetryableApplicationError("503", activities.ErrSmokeCheckFailed, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, promotingInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	requireRolledBack(t, h)

	_, ok := h.fc.regTags[prodRepo+":v1.1.0"]
	require.False(t, ok, "no semver tag is left on the rejected build")
	require.Equal(t, "sha256:old", h.fc.regTags[prodRepo+":v1.1"], "a moving tag points where it pointed before")
	pushed := prodRepo + "@" + fakeDigest(ciRepo+":v1.1.0")
	require.Equal(t, "release v1.1.0 of demo-app failed", h.fc.rejected[pushed])
	require.False(t, h.fc.signed[pushed], "the signature the release added is gone")

	st := h.status(t)
	var comps []string
	for _, c := range st.Compensations {
		comps = append(comps, c.Name)
	}
	require.Equal(t, []string{"switch-back-to-blue", "scale-down-green", "restore-staging", "remove-signature", "restore-tags", "mark-rejected"}, comps)
	require.Equal(t, releaseapi.StateCompensated, stageByName(st, releaseapi.StagePush).State)
}

func TestFloatingTagFailureRollsBackEverything(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.regTags[prodRepo+":v1.1"] = "sha256:old"
	h.fc.failNext("SetTag", prodRepo+":v1.1", temporal.NewNonRetryableApplicationError("denied", activities.ErrForbidden, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, promotingInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), "stage release-tags failed")
	requireRolledBack(t, h)
	require.Equal(t, "sha256:old", h.fc.regTags[prodRepo+":v1.1"])
	_, ok := h.fc.regTags[prodRepo+":v1.1.0"]
	require.False(t, ok)
	var comps []string
	for _, c := range h.status(t).Compensations {
		comps = append(comps, c.Name)
	}
	require.Equal(t, []string{"restore-floating-tags", "switch-back-to-blue", "scale-down-green", "restore-staging",
		"remove-signature", "restore-tags", "mark-rejected"}, comps)
}

func TestUnsignedImageIsNeverDeployed(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	pushed := prodRepo + "@" + fakeDigest(ciRepo+":v1.1.0")
	// The signature is gone (or was made with another key) by the time staging deploys.
	h.fc.failNext("VerifyImage", pushed, temporal.NewNonRetryableApplicationError("no signature", activities.ErrUnsigned, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, promotingInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), "stage staging-deploy failed: no signature [Unsigned]")
	require.Empty(t, h.fc.callsOf("ApplyDeployment"), "nothing deployed")
	requireRolledBack(t, h)
	require.Contains(t, h.fc.rejected, pushed)
}

func TestMismatchedSigningKeysStopTheReleaseBeforeThePush(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.failNext("CheckSigningKeys", "env:SLIPWAY_SIGNING_KEY",
		temporal.NewNonRetryableApplicationError("image.signing.publicKey is not the public key of image.signing.key", activities.ErrSigningKey, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, promotingInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), "stage push failed")
	require.Empty(t, h.fc.callsOf("PushImage"), "nothing pushed or tagged")
	require.Empty(t, h.fc.regTags)
	require.Empty(t, h.status(t).Compensations, "nothing to undo")
}

func TestPushFailingHalfwayPutsBackTheTagsItMoved(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.regTags[prodRepo+":v1.1"] = "sha256:old"
	// The second tag's write fails for good: v1.1.0 is already moved, sha-0123456 is not.
	h.fc.failNext("SetTag", prodRepo+":sha-0123456", temporal.NewNonRetryableApplicationError("denied", activities.ErrForbidden, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, promotingInput("v1.1.0"))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.Contains(t, err.Error(), "stage push failed")
	_, ok := h.fc.regTags[prodRepo+":v1.1.0"]
	require.False(t, ok, "the tag the failed push created is gone")
	require.Equal(t, "sha256:old", h.fc.regTags[prodRepo+":v1.1"])
	require.Empty(t, h.fc.callsOf("ApplyDeployment"))
	pushed := prodRepo + "@" + fakeDigest(ciRepo+":v1.1.0")
	require.Contains(t, h.fc.rejected, pushed, "the copied digest is marked rejected")
}

func TestPushThatNeverCopiedHasNothingToMark(t *testing.T) {
	h := newHarness(t)
	h.fc.failNext("PushImage", prodRepo, temporal.NewNonRetryableApplicationError("no such source", activities.ErrImageNotFound, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, promotingInput("v1.1.0"))
	require.Equal(t, releaseapi.ErrRolledBack, errType(h.env.GetWorkflowError()))
	st := h.status(t)
	for _, c := range st.Compensations {
		require.Equal(t, releaseapi.StateSucceeded, c.State, c.Name)
	}
	require.Empty(t, h.fc.rejected)
}

func TestReleaseWithoutSigningSkipsSignAndVerify(t *testing.T) {
	h := newHarness(t)
	in := promotingInput("v1.1.0")
	in.Spec.Image.Signing = nil
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	require.NoError(t, h.env.GetWorkflowError())
	require.Empty(t, h.fc.callsOf("SignImage"))
	require.Empty(t, h.fc.callsOf("VerifyImage"))
	require.Equal(t, "not signed: the spec has no image.signing", stageByName(h.status(t), releaseapi.StageSign).Message)
}

func TestBadReleaseTagsAreRefusedBeforeAnything(t *testing.T) {
	h := newHarness(t)
	in := promotingInput("v1.1.0")
	in.Trigger.Commit = "" // the sha tag needs the commit
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrInvalidRelease, errType(err))
	require.Contains(t, err.Error(), "image.tags")
	require.Empty(t, h.fc.callsOf(""))
}

// pushCompensations are the last compensations of every release that fails after its push stage: the tags
// go back, then the digest is marked rejected.
var pushCompensations = []string{"restore-tags", "mark-rejected"}

func TestMergeTagChangesKeepsTheOriginAnEarlierAttemptLost(t *testing.T) {
	const d = "sha256:new"
	pushed := []activities.TagChange{{Tag: "v1.1.0"}, {Tag: "v1.1", Previous: d}, {Tag: "latest", Previous: d}}
	before := []activities.TagChange{{Tag: "v1.1.0"}, {Tag: "v1.1", Previous: "sha256:old"}, {Tag: "latest", Previous: d}}
	require.Equal(t, []activities.TagChange{{Tag: "v1.1.0"}, {Tag: "v1.1", Previous: "sha256:old"}, {Tag: "latest", Previous: d}},
		mergeTagChanges(pushed, before, d), "v1.1 was moved by a lost attempt; latest already pointed here before the release")
}

// TestSignatureThatWasThereBeforeStays: a digest that was already signed (an earlier release of the same build)
// keeps its signature when this release fails; only a signature the release added is removed.
func TestSignatureThatWasThereBeforeStays(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	pushed := prodRepo + "@" + fakeDigest(ciRepo+":v1.1.0")
	h.fc.signed[pushed] = true
	h.fc.failNext("SmokeCheck", prodActive, temporal.NewNonRetryableApplicationError("503", activities.ErrSmokeCheckFailed, nil))
	h.env.ExecuteWorkflow(ReleaseWorkflow, promotingInput("v1.1.0"))
	require.Equal(t, releaseapi.ErrRolledBack, errType(h.env.GetWorkflowError()))
	require.True(t, h.fc.signed[pushed])
	require.Empty(t, h.fc.callsOf("UnsignImage"))
}
