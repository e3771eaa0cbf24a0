package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.temporal.io/sdk/activity"

	"github.com/vektagraf/slipway/internal/promote"
	"github.com/vektagraf/slipway/internal/spec"
)

// promoteHeartbeatEvery is how often PushImage heartbeats while it copies.
const promoteHeartbeatEvery = 5 * time.Second

// PushImageInput names the scanned build and where it is released.
type PushImageInput struct {
	// Source is the build by digest: registry/repository@sha256:... (registry/repository:tag@sha256:... is
	// accepted; the tag is ignored).
	Source string `json:"source"`
	// Repository is the production repository, registry/repository, with no tag or digest.
	Repository string `json:"repository"`
	// Tags are the release tags to point at the digest, in order (see promote.Tags); none is allowed.
	Tags []string `json:"tags,omitempty"`
}

// TagChange is one tag PushImage pointed at the digest, and where it pointed before: what RestoreTags needs to
// put it back.
type TagChange struct {
	Tag string `json:"tag"`
	// Previous is the digest the tag pointed at before ("sha256:..."); "" if the tag did not exist. It equals
	// the pushed digest when the tag already pointed there, and RestoreTags then leaves the tag alone.
	Previous string `json:"previous,omitempty"`
}

// PushImageResult is the released image.
type PushImageResult struct {
	// Image is the image in the production repository by digest: registry/repository@sha256:...
	Image string `json:"image"`
	// Digest is the manifest digest, the source's.
	Digest string `json:"digest"`
	// Tags are the tags set, in the input's order.
	Tags []TagChange `json:"tags,omitempty"`
}

// RestoreTagsInput is PushImage's input repository and result, to undo its tags.
type RestoreTagsInput struct {
	Repository string      `json:"repository"`
	Digest     string      `json:"digest"`
	Tags       []TagChange `json:"tags,omitempty"`
}

// RestoreTagsResult says what became of each tag.
type RestoreTagsResult struct {
	// Restored tags point at their previous digest again.
	Restored []string `json:"restored,omitempty"`
	// Deleted tags did not exist before the push and are gone again.
	Deleted []string `json:"deleted,omitempty"`
	// LeftAlone tags were not changed: someone else moved them since the push, they already pointed at the
	// digest before it, the registry refuses to delete tags, or their previous digest is gone. Notes says which.
	LeftAlone []string `json:"leftAlone,omitempty"`
	// Notes says why each LeftAlone tag was left alone, by tag.
	Notes map[string]string `json:"notes,omitempty"`
}

// MarkRejectedInput names the image that failed its release, and why.
type MarkRejectedInput struct {
	// Image is the image by digest: registry/repository@sha256:...
	Image string `json:"image"`
	// Reason is why it was rejected; cut to 1 KiB.
	Reason string `json:"reason"`
}

// MarkRejectedResult names the marker.
type MarkRejectedResult struct {
	// Marker is the rejection artifact, registry/repository@sha256:..., also tagged sha256-HEX.rejected.
	Marker string `json:"marker"`
}

// pushProgress is PushImage's heartbeat. Its Tags record where each tag pointed before the push wrote it,
// recorded before the write, so a retry after a partial push still knows the tags' original digests (a retry
// finds the tags it already moved pointing at the digest, and could not tell otherwise).
type pushProgress struct {
	Stage      string      `json:"stage"`
	Repository string      `json:"repository"`
	Digest     string      `json:"digest"`
	Tags       []TagChange `json:"tags,omitempty"`
}

// PushImage copies the source digest into the production repository (an image, or an index with all its
// images; blobs mounted or streamed by go-containerregistry) and points each tag at it, returning where every
// tag pointed before. Every field is checked before anything is written. It is safe to retry: a digest
// already there is not copied again, a tag already on the digest is not written, and where the tags pointed
// before the first try is kept in the heartbeat, so a retry reports the original digests.
//
// Errors: a malformed input is ErrInvalidInput (naming the field); a source missing from its registry
// ErrImageNotFound; refused credentials ErrRegistryUnauthorized or ErrForbidden; other registry errors are
// retried.
func (r *Registry) PushImage(ctx context.Context, in PushImageInput) (PushImageResult, error) {
	src, err := parseDigestRef("PushImage: source", in.Source)
	if err != nil {
		return PushImageResult{}, err
	}
	dst, err := parseRepository("PushImage: repository", in.Repository)
	if err != nil {
		return PushImageResult{}, err
	}
	seen := map[string]bool{}
	for i, tag := range in.Tags {
		if !spec.ValidTag(tag) {
			return PushImageResult{}, invalidInput("PushImage: tags[%d] %q is not a valid tag: write [A-Za-z0-9_][A-Za-z0-9._-]*, at most %d characters", i, tag, spec.MaxTagLength)
		}
		if seen[tag] {
			return PushImageResult{}, invalidInput("PushImage: tags[%d] %q is repeated; give each tag once", i, tag)
		}
		seen[tag] = true
	}
	opts := r.options(ctx)
	digest, _ := v1.NewHash(src.DigestStr()) // parseDigestRef checked it
	progress := pushProgress{Stage: "copy", Repository: dst.Name(), Digest: digest.String()}
	recorded := recordedTags(ctx, progress)
	progress.Tags = recorded

	if err := r.copyHeartbeating(ctx, src, dst, progress, opts); err != nil {
		return PushImageResult{}, err
	}

	res := PushImageResult{Image: dst.Digest(digest.String()).Name(), Digest: digest.String()}
	for _, tag := range in.Tags {
		cur, err := promote.TagDigest(ctx, dst, tag, opts...)
		if err != nil {
			return PushImageResult{}, classifyRegistry("PushImage: read tag "+tag, err)
		}
		change := TagChange{Tag: tag}
		if cur != nil {
			change.Previous = cur.String()
		}
		if i := slices.IndexFunc(recorded, func(tc TagChange) bool { return tc.Tag == tag }); i >= 0 && cur != nil && *cur == digest {
			change.Previous = recorded[i].Previous // moved by an earlier try: keep where it pointed before that
		}
		res.Tags = append(res.Tags, change)
		// Recorded before the write: if the write's answer is lost, the retry still knows the tag's origin.
		progress.Stage, progress.Tags = "tag "+tag, withRecorded(res.Tags, recorded)
		heartbeat(ctx, progress)
		prev, err := promote.SetTag(ctx, dst, tag, digest, opts...)
		if err != nil {
			return PushImageResult{}, classifyRegistry("PushImage: tag "+tag, err)
		}
		if prev != nil && *prev != digest && !sameDigest(cur, prev) {
			// The tag moved between the read and the write; the write saw prev.
			res.Tags[len(res.Tags)-1].Previous = prev.String()
		}
	}
	return res, nil
}

// copyHeartbeating runs promote.Copy, heartbeating progress before it starts and while it runs.
func (r *Registry) copyHeartbeating(ctx context.Context, src name.Digest, dst name.Repository, progress pushProgress, opts []remote.Option) error {
	heartbeat(ctx, progress)
	err := runHeartbeating(ctx, promoteHeartbeatEvery, func() any { return progress }, func(ctx context.Context) error {
		_, err := promote.Copy(ctx, src, dst, opts...)
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, promote.ErrNotImage):
		return invalidInput("PushImage: source %s: %v; release an image or an image index", src, err)
	}
	return classifyRegistry("PushImage: copy "+src.String()+" to "+dst.Name(), err)
}

// recordedTags returns the tags an earlier try of this push recorded in its heartbeat, or nil.
func recordedTags(ctx context.Context, want pushProgress) []TagChange {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return nil
	}
	var last pushProgress
	if err := activity.GetHeartbeatDetails(ctx, &last); err != nil ||
		last.Repository != want.Repository || last.Digest != want.Digest {
		return nil
	}
	return last.Tags
}

// withRecorded is done followed by the recorded changes of tags not in done, so every heartbeat keeps what
// earlier tries recorded until this try has handled the tag itself.
func withRecorded(done, recorded []TagChange) []TagChange {
	out := append([]TagChange(nil), done...)
	for _, tc := range recorded {
		if !slices.ContainsFunc(done, func(d TagChange) bool { return d.Tag == tc.Tag }) {
			out = append(out, tc)
		}
	}
	return out
}

func sameDigest(a, b *v1.Hash) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// RestoreTags undoes PushImage's tags, last first: each tag that still points at the digest goes back to its
// previous digest, or is deleted if it did not exist before. A tag someone else moved since is left alone and
// reported, not an error; so is one the registry refuses to delete (many registries do not delete tags: it
// keeps pointing at the digest, which MarkRejected marks) and one whose previous digest was deleted. A retry
// finds the tags already restored and writes nothing.
//
// Errors: a malformed input is ErrInvalidInput; refused credentials ErrRegistryUnauthorized or ErrForbidden
// (deleting a tag may need a "delete" permission of its own); other registry errors are retried.
func (r *Registry) RestoreTags(ctx context.Context, in RestoreTagsInput) (RestoreTagsResult, error) {
	repo, err := parseRepository("RestoreTags: repository", in.Repository)
	if err != nil {
		return RestoreTagsResult{}, err
	}
	digest, err := parseDigest("RestoreTags: digest", in.Digest)
	if err != nil {
		return RestoreTagsResult{}, err
	}
	previous := make([]*v1.Hash, len(in.Tags))
	for i, tc := range in.Tags {
		if !spec.ValidTag(tc.Tag) {
			return RestoreTagsResult{}, invalidInput("RestoreTags: tags[%d].tag %q is not a valid tag", i, tc.Tag)
		}
		if tc.Previous != "" {
			h, err := parseDigest(fmt.Sprintf("RestoreTags: tags[%d].previous", i), tc.Previous)
			if err != nil {
				return RestoreTagsResult{}, err
			}
			previous[i] = &h
		}
	}
	opts := r.options(ctx)
	var res RestoreTagsResult
	leave := func(tag, note string) {
		res.LeftAlone = append(res.LeftAlone, tag)
		if res.Notes == nil {
			res.Notes = map[string]string{}
		}
		res.Notes[tag] = note
	}
	for i := len(in.Tags) - 1; i >= 0; i-- {
		tag, prev := in.Tags[i].Tag, previous[i]
		if prev != nil && *prev == digest {
			leave(tag, "it already pointed at "+digest.String()+" before the push")
			continue
		}
		err := promote.RestoreTag(ctx, repo, tag, digest, prev, opts...)
		var moved *promote.TagMovedError
		switch {
		case err == nil && prev == nil:
			res.Deleted = append(res.Deleted, tag)
		case err == nil:
			res.Restored = append(res.Restored, tag)
		case errors.As(err, &moved):
			if moved.Current == nil {
				leave(tag, "someone else deleted it since the push")
			} else {
				leave(tag, "someone else moved it to "+moved.Current.String()+" since the push")
			}
		case errors.Is(err, promote.ErrTagDeleteUnsupported):
			leave(tag, fmt.Sprintf("%v; it still points at the rejected digest %s: delete it with the registry's own tools", err, digest))
		case errors.Is(err, promote.ErrPreviousGone):
			leave(tag, "its previous digest "+prev.String()+" is no longer in the repository; it still points at the rejected digest "+digest.String())
		default:
			return RestoreTagsResult{}, classifyRegistry("RestoreTags: tag "+tag, err)
		}
		heartbeat(ctx, res)
	}
	return res, nil
}

// MarkRejected marks the image as rejected where people and tools can see it: an OCI artifact of type
// promote.RejectedArtifactType whose subject is the image (listed by the registry's referrers API) and which
// holds the reason, tagged sha256-HEX.rejected. Marking again with the same reason writes nothing.
//
// Errors: a malformed input is ErrInvalidInput; an image missing from the registry ErrImageNotFound; refused
// credentials ErrRegistryUnauthorized or ErrForbidden; other registry errors are retried.
func (r *Registry) MarkRejected(ctx context.Context, in MarkRejectedInput) (MarkRejectedResult, error) {
	image, err := parseDigestRef("MarkRejected: image", in.Image)
	if err != nil {
		return MarkRejectedResult{}, err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return MarkRejectedResult{}, invalidInput("MarkRejected: reason is empty; say why the image was rejected")
	}
	marker, err := promote.MarkRejected(ctx, image, in.Reason, r.options(ctx)...)
	if err != nil {
		return MarkRejectedResult{}, classifyRegistry("MarkRejected: "+image.String(), err)
	}
	return MarkRejectedResult{Marker: marker}, nil
}

// parseDigestRef parses registry/repository@sha256:HEX (a tag before the digest is allowed and ignored) into
// the canonical repository@digest.
func parseDigestRef(field, ref string) (name.Digest, error) {
	d, err := name.NewDigest(ref, name.StrictValidation)
	if err != nil {
		return name.Digest{}, invalidInput("%s %q: %v; write registry/repository@sha256:<64 hex>", field, ref, err)
	}
	if _, err := parseDigest(field, d.DigestStr()); err != nil {
		return name.Digest{}, err
	}
	return d.Context().Digest(d.DigestStr()), nil
}

// parseDigest parses sha256:<64 lower-case hex>.
func parseDigest(field, digest string) (v1.Hash, error) {
	h, err := v1.NewHash(digest)
	if err != nil || h.Algorithm != "sha256" || h.String() != digest || strings.ToLower(h.Hex) != h.Hex {
		return v1.Hash{}, invalidInput("%s %q is not a sha256 digest: write sha256:<64 lower-case hex>", field, digest)
	}
	return h, nil
}

// parseRepository parses registry/repository, strictly: the registry is required, and no tag or digest.
func parseRepository(field, repo string) (name.Repository, error) {
	r, err := name.NewRepository(repo, name.StrictValidation)
	if err != nil {
		return name.Repository{}, invalidInput("%s %q: %v; write registry/repository, without a tag or digest", field, repo, err)
	}
	return r, nil
}

// ReadTagsInput names tags to read in a repository.
type ReadTagsInput struct {
	Repository string   `json:"repository"`
	Tags       []string `json:"tags,omitempty"`
}

// ReadTagsResult holds, for each tag in the input's order, the digest it points at now ("" when it does not
// exist), in TagChange's Previous.
type ReadTagsResult struct {
	Tags []TagChange `json:"tags,omitempty"`
}

// ReadTags reads where the release tags point before the push stage moves them. The workflow registers the
// push stage's compensation with this list before PushImage runs, so a push that fails halfway (some tags
// moved, then an error) still has its tags put back; PushImage's own result replaces the list when it
// succeeds. It only reads.
//
// Errors: a malformed input is ErrInvalidInput; refused credentials ErrRegistryUnauthorized or ErrForbidden;
// other registry errors are retried.
func (r *Registry) ReadTags(ctx context.Context, in ReadTagsInput) (ReadTagsResult, error) {
	repo, err := parseRepository("ReadTags: repository", in.Repository)
	if err != nil {
		return ReadTagsResult{}, err
	}
	var res ReadTagsResult
	for i, tag := range in.Tags {
		if !spec.ValidTag(tag) {
			return ReadTagsResult{}, invalidInput("ReadTags: tags[%d] %q is not a valid tag", i, tag)
		}
		cur, err := promote.TagDigest(ctx, repo, tag, r.options(ctx)...)
		if err != nil {
			return ReadTagsResult{}, classifyRegistry("ReadTags: read tag "+tag, err)
		}
		change := TagChange{Tag: tag}
		if cur != nil {
			change.Previous = cur.String()
		}
		res.Tags = append(res.Tags, change)
	}
	return res, nil
}
