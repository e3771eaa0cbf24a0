package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
)

// push checks the signing keys, copies the scanned digest into the production repository and puts the
// release tags on it. Its compensations, registered just before the push (with where the tags pointed), put
// every tag back where it was (or remove it) and mark the digest rejected, so no semver tag points at a build
// that failed its release, even when the push itself failed halfway.
func (r *release) push(ctx workflow.Context) (string, error) {
	s := r.in.Spec
	if sg := s.Image.Signing; sg != nil {
		// A missing key or a mismatched pair would otherwise only show after the push (sign) or after the
		// signature (verify); checked first, it stops the release before anything is written.
		if err := workflow.ExecuteActivity(withShortActivity(ctx), registry.CheckSigningKeys,
			activities.CheckSigningKeysInput{Key: sg.Key, PublicKey: sg.PublicKey}).Get(ctx, nil); err != nil {
			return "", err
		}
	}
	_, digest, _ := strings.Cut(r.scanned, "@")
	image := s.Image.Repository + "@" + digest
	reason := fmt.Sprintf("release %s of %s failed", r.in.Version, s.App.Name)
	r.saga.add(releaseapi.StagePush, "mark-rejected", func(c workflow.Context) error {
		if a := r.t.status.Abort; a != nil {
			reason = fmt.Sprintf("release %s of %s aborted by %s: %s", r.in.Version, s.App.Name, a.By, a.Reason)
		}
		err := workflow.ExecuteActivity(withShortActivity(c), registry.MarkRejected,
			activities.MarkRejectedInput{Image: image, Reason: reason}).Get(c, nil)
		if activities.ErrorType(err) == activities.ErrImageNotFound {
			return nil // the push never copied it: nothing in the repository to mark
		}
		return err
	})
	res, err := r.moveTags(ctx, releaseapi.StagePush, "restore-tags", r.scanned, digest, r.tags)
	if err != nil {
		return "", err
	}
	r.pushed = res.Image
	r.image = s.Image.Repository + ":" + r.in.Version + "@" + res.Digest
	r.t.status.Image = r.image
	return fmt.Sprintf("%s tagged %s", res.Image, tagList(res.Tags)), nil
}

// moveTags copies source (by digest) into image.repository and points tags at digest, with the
// compensation that puts them back registered before anything moves: ReadTags reads where they point, the
// compensation is registered with that reading, then PushImage runs and its own record (merged with the
// reading) replaces it. A push that fails halfway is undone too.
func (r *release) moveTags(ctx workflow.Context, stage, undo, source, digest string, tags []string) (activities.PushImageResult, error) {
	repo := r.in.Spec.Image.Repository
	var before activities.ReadTagsResult
	if err := workflow.ExecuteActivity(withShortActivity(ctx), registry.ReadTags,
		activities.ReadTagsInput{Repository: repo, Tags: tags}).Get(ctx, &before); err != nil {
		return activities.PushImageResult{}, err
	}
	changes := before.Tags
	r.saga.add(stage, undo, func(c workflow.Context) error {
		return workflow.ExecuteActivity(withShortActivity(c), registry.RestoreTags,
			activities.RestoreTagsInput{Repository: repo, Digest: digest, Tags: changes}).Get(c, nil)
	})
	var res activities.PushImageResult
	if err := workflow.ExecuteActivity(withPush(ctx), registry.PushImage,
		activities.PushImageInput{Source: source, Repository: repo, Tags: tags}).Get(ctx, &res); err != nil {
		return activities.PushImageResult{}, err
	}
	changes = mergeTagChanges(res.Tags, before.Tags, digest)
	return res, nil
}

// releaseTags moves the floating tags (major.minor, major, branch, latest) to the digest once production
// serves it and passed verify, so nobody pulling "latest" or "v1.2" gets a build that was still waiting for
// compliance or approval. An abort before the release commits puts them back.
func (r *release) releaseTags(ctx workflow.Context) (string, error) {
	if len(r.floatingTags) == 0 {
		return "no floating tags in image.tags", nil
	}
	_, digest, _ := strings.Cut(r.pushed, "@")
	res, err := r.moveTags(ctx, releaseapi.StageReleaseTags, "restore-floating-tags", r.pushed, digest, r.floatingTags)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s tagged %s", res.Image, tagList(res.Tags)), nil
}

func tagList(tcs []activities.TagChange) string {
	tags := make([]string, len(tcs))
	for i, tc := range tcs {
		tags[i] = tc.Tag
	}
	return strings.Join(tags, ", ")
}

// mergeTagChanges is PushImage's record of where each tag pointed, corrected by ReadTags' reading from before
// the push: when PushImage says a tag already pointed at the digest (previous == digest) but it did not before
// the push, an earlier attempt of PushImage moved it and its record of the origin was lost (a worker killed
// before its heartbeat went out); the reading from before is the truth then.
func mergeTagChanges(pushed, before []activities.TagChange, digest string) []activities.TagChange {
	out := make([]activities.TagChange, len(pushed))
	for i, tc := range pushed {
		out[i] = tc
		if tc.Previous != digest {
			continue
		}
		for _, b := range before {
			if b.Tag == tc.Tag && b.Previous != digest {
				out[i].Previous = b.Previous
			}
		}
	}
	return out
}

// sign signs the pushed digest with the key the spec names (read on the worker). A release without
// image.signing skips it.
func (r *release) sign(ctx workflow.Context) (string, error) {
	sg := r.in.Spec.Image.Signing
	if sg == nil {
		return "not signed: the spec has no image.signing", nil
	}
	var res activities.SignImageResult
	if err := workflow.ExecuteActivity(withShortActivity(ctx), registry.SignImage,
		activities.SignImageInput{Image: r.pushed, Key: sg.Key}).Get(ctx, &res); err != nil {
		return "", err
	}
	if !res.AlreadySigned {
		// A release that fails takes its signature back, so `cosign verify` refuses the rejected build too.
		r.saga.add(releaseapi.StageSign, "remove-signature", func(c workflow.Context) error {
			return workflow.ExecuteActivity(withShortActivity(c), registry.UnsignImage,
				activities.UnsignImageInput{Image: r.pushed, PublicKey: sg.PublicKey}).Get(c, nil)
		})
	}
	if res.AlreadySigned {
		return "already signed: " + res.Signature, nil
	}
	return "signed: " + res.Signature, nil
}

// verifySignature checks the digest's signature right before a deploy, so an image whose signature is
// missing or made with another key never reaches a cluster, whoever pushed it.
func (r *release) verifySignature(ctx workflow.Context) error {
	sg := r.in.Spec.Image.Signing
	if sg == nil {
		return nil
	}
	return workflow.ExecuteActivity(withShortActivity(ctx), registry.VerifyImage,
		activities.VerifyImageInput{Image: r.pushed, PublicKey: sg.PublicKey}).Get(ctx, nil)
}

// withPush bounds a copy between registries: a few layers, heartbeating while they move.
func withPush(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: scanHeartbeat * 20,
		HeartbeatTimeout:    scanHeartbeat,
		RetryPolicy:         retryPolicy(5),
		// An abort waits for a push in flight, so restore-tags never runs while tags are still moving.
		WaitForCancellation: true,
	})
}
