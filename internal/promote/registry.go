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
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/vektagraf/slipway/internal/oci"
	"github.com/vektagraf/slipway/internal/spec"
)

var (
	// ErrTagMoved: RestoreTag found the tag pointing neither at the digest the release set nor at the one it
	// should go back to, so someone else moved it since; RestoreTag left it alone. Returned as a *TagMovedError.
	ErrTagMoved = errors.New("the tag was moved by someone else since the release set it")
	// ErrTagDeleteUnsupported: the registry refused to delete a tag (405 Method Not Allowed, or an UNSUPPORTED
	// or DIGEST_INVALID error code), as the OCI distribution spec 1.1 allows: deleting tags is optional, and
	// registries with deletion disabled or that delete only by digest refuse it. The tag keeps pointing at the
	// release's digest: delete it with the registry's own API or UI, and rely on MarkRejected to tell people
	// the digest failed. go-containerregistry's pkg/registry does delete tags (202 Accepted).
	ErrTagDeleteUnsupported = errors.New("the registry does not support deleting tags")
	// ErrPreviousGone: RestoreTag would put the tag back on its previous digest, but the repository no longer
	// has that manifest (someone deleted it), so there is nothing to point the tag at; the tag is left alone.
	ErrPreviousGone = errors.New("the tag's previous manifest is no longer in the repository")
	// ErrNotImage: Copy was given a manifest that is neither an image nor an index (e.g. a schema 1 manifest),
	// which it does not know how to copy with its blobs.
	ErrNotImage = errors.New("the manifest is neither an image nor an index")
)

// TagMovedError is RestoreTag's answer for a tag someone else moved: it is left where it is.
type TagMovedError struct {
	Tag string
	// Expected is the digest the release set the tag to.
	Expected v1.Hash
	// Current is where the tag points now; nil if someone deleted it.
	Current *v1.Hash
}

func (e *TagMovedError) Error() string {
	now := "was deleted"
	if e.Current != nil {
		now = "points at " + e.Current.String()
	}
	return fmt.Sprintf("tag %s %s, not at %s: %v; it is left alone", e.Tag, now, e.Expected, ErrTagMoved)
}

// Is makes errors.Is(err, ErrTagMoved) true.
func (e *TagMovedError) Is(target error) bool { return target == ErrTagMoved }

// describe returns the manifest descriptor ref points at (HEAD), falling back to a GET for registries whose HEAD
// answers lack a header go-containerregistry needs (Docker-Content-Digest, Content-Type, Content-Length).
func describe(ref name.Reference, opts ...remote.Option) (*v1.Descriptor, error) {
	d, err := remote.Head(ref, opts...)
	if err == nil {
		return d, nil
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return nil, err
	}
	got, gerr := remote.Get(ref, opts...)
	if gerr != nil {
		return nil, gerr
	}
	return &got.Descriptor, nil
}

// TagDigest returns the digest tag points at in repo, or nil if the tag (or the repository) does not exist.
func TagDigest(ctx context.Context, repo name.Repository, tag string, opts ...remote.Option) (*v1.Hash, error) {
	if !spec.ValidTag(tag) {
		return nil, fmt.Errorf("tag %q is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]*, at most %d characters)", tag, spec.MaxTagLength)
	}
	d, err := describe(repo.Tag(tag), withContext(ctx, opts)...)
	if oci.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tag %s: %w", repo.Tag(tag), err)
	}
	return &d.Digest, nil
}

// withContext puts ctx last, so it wins over a context in opts.
func withContext(ctx context.Context, opts []remote.Option) []remote.Option {
	return append(append([]remote.Option(nil), opts...), remote.WithContext(ctx))
}

// Copy copies the manifest src names, an image or an index with every image it lists, to dst under the same
// digest and without a tag; go-containerregistry mounts the blobs when both repositories are on one registry
// and streams them otherwise. If dst already has the digest, nothing is written (one HEAD). It returns the
// manifest's descriptor (media type, digest, size).
func Copy(ctx context.Context, src name.Digest, dst name.Repository, opts ...remote.Option) (v1.Descriptor, error) {
	opts = withContext(ctx, opts)
	target := dst.Digest(src.DigestStr())
	if d, err := describe(target, opts...); err == nil {
		return v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, nil
	} else if !oci.IsNotFound(err) {
		return v1.Descriptor{}, fmt.Errorf("look for %s: %w", target, err)
	}
	desc, err := remote.Get(src, opts...)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("read %s: %w", src, err)
	}
	if !desc.MediaType.IsImage() && !desc.MediaType.IsIndex() {
		return v1.Descriptor{}, fmt.Errorf("copy %s: media type %s: %w", src, desc.MediaType, ErrNotImage)
	}
	// remote.Push writes an index's images, an image's blobs, then the manifest's own bytes, so the digest is
	// the source's.
	if err := remote.Push(target, desc, opts...); err != nil {
		return v1.Descriptor{}, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}, nil
}

// SetTag points tag in repo at digest, which repo must already hold (Copy it first). It compares before it
// writes: a tag already on digest is not written. It returns where the tag pointed before: nil if it did not
// exist, digest itself if it already pointed there. The compare and the write are two requests, and the
// distribution spec has no conditional PUT, so a tag moved in between is overwritten.
func SetTag(ctx context.Context, repo name.Repository, tag string, digest v1.Hash, opts ...remote.Option) (previous *v1.Hash, err error) {
	opts = withContext(ctx, opts)
	prev, err := TagDigest(ctx, repo, tag, opts...)
	if err != nil {
		return nil, err
	}
	if prev != nil && *prev == digest {
		return prev, nil
	}
	if err := pointTag(repo, tag, digest, opts); err != nil {
		return nil, err
	}
	return prev, nil
}

func pointTag(repo name.Repository, tag string, digest v1.Hash, opts []remote.Option) error {
	m, err := remote.Get(repo.Digest(digest.String()), opts...)
	if err != nil {
		return fmt.Errorf("tag %s: read %s: %w", repo.Tag(tag), repo.Digest(digest.String()), err)
	}
	if err := remote.Tag(repo.Tag(tag), m, opts...); err != nil {
		return fmt.Errorf("tag %s as %s: %w", repo.Digest(digest.String()), repo.Tag(tag), err)
	}
	return nil
}

// RestoreTag undoes SetTag(repo, tag, expect) that returned previous: the tag goes back to previous, or is
// deleted if previous is nil. It is done only while the tag still points at expect; a tag that already
// points at previous (or is already gone, for a nil previous) is left as it is, so a retry is a no-op. Errors:
//
//   - *TagMovedError (errors.Is ErrTagMoved): someone else moved or deleted the tag since; it is left alone;
//   - ErrTagDeleteUnsupported (wrapped with the registry's answer): the registry refuses DELETE of a tag;
//   - ErrPreviousGone: previous is no longer in the repository; the tag is left alone.
func RestoreTag(ctx context.Context, repo name.Repository, tag string, expect v1.Hash, previous *v1.Hash, opts ...remote.Option) error {
	opts = withContext(ctx, opts)
	if previous != nil && *previous == expect {
		return nil // SetTag found the tag on expect already: the release did not move it
	}
	cur, err := TagDigest(ctx, repo, tag, opts...)
	if err != nil {
		return err
	}
	switch {
	case sameHash(cur, previous):
		return nil // already restored (or deleted), e.g. by an earlier try
	case cur == nil || *cur != expect:
		return &TagMovedError{Tag: tag, Expected: expect, Current: cur}
	case previous != nil:
		if _, err := describe(repo.Digest(previous.String()), opts...); oci.IsNotFound(err) {
			return fmt.Errorf("tag %s: cannot go back to %s: %w", repo.Tag(tag), previous, ErrPreviousGone)
		} else if err != nil {
			return fmt.Errorf("tag %s: look for %s: %w", repo.Tag(tag), previous, err)
		}
		return pointTag(repo, tag, *previous, opts)
	}
	err = remote.Delete(repo.Tag(tag), opts...)
	switch {
	case err == nil:
		return nil
	case oci.IsNotFound(err):
		return nil // deleted in between: what we wanted
	case deleteUnsupported(err):
		return fmt.Errorf("delete tag %s: %w: %w", repo.Tag(tag), ErrTagDeleteUnsupported, err)
	}
	return fmt.Errorf("delete tag %s: %w", repo.Tag(tag), err)
}

func sameHash(a, b *v1.Hash) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// deleteUnsupported reports whether a DELETE of a tag was refused because the registry does not delete tags
// (or manifests at all): 405, an UNSUPPORTED code, or DIGEST_INVALID (the answer of registries that delete
// manifests only by digest).
func deleteUnsupported(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusMethodNotAllowed {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.UnsupportedErrorCode || d.Code == transport.DigestInvalidErrorCode {
			return true
		}
	}
	return false
}
