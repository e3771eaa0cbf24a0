package promote

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/stretchr/testify/require"
)

// testRegistry is go-containerregistry's registry on loopback, recording the requests that change it.
type testRegistry struct {
	host   string
	mu     sync.Mutex
	writes []string // "PUT /v2/.../manifests/..." and DELETEs, blob uploads left out
	// refuseDelete makes DELETE answer 405 UNSUPPORTED, as registries that keep tags do.
	refuseDelete bool
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	tr := &testRegistry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") && (r.Method == http.MethodPut || r.Method == http.MethodDelete) {
			tr.mu.Lock()
			tr.writes = append(tr.writes, r.Method+" "+r.URL.Path)
			refuse := tr.refuseDelete
			tr.mu.Unlock()
			if refuse && r.Method == http.MethodDelete {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusMethodNotAllowed)
				_, _ = w.Write([]byte(`{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}`))
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

func (tr *testRegistry) setRefuseDelete(refuse bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.refuseDelete = refuse
}

func (tr *testRegistry) manifestWrites() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.writes...)
}

func (tr *testRegistry) repo(t *testing.T, path string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(tr.host+"/"+path, name.StrictValidation)
	require.NoError(t, err)
	return r
}

// pushImage writes a random image under repo:tag and returns it by digest.
func (tr *testRegistry) pushImage(t *testing.T, repoTag string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 2)
	require.NoError(t, err)
	ref, err := name.NewTag(tr.host+"/"+repoTag, name.StrictValidation)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(t, err)
	return ref.Context().Digest(d.String())
}

func tagDigest(t *testing.T, repo name.Repository, tag string) *v1.Hash {
	t.Helper()
	h, err := TagDigest(context.Background(), repo, tag)
	require.NoError(t, err)
	return h
}

func listTags(t *testing.T, repo name.Repository) []string {
	t.Helper()
	tags, err := remote.List(repo)
	require.NoError(t, err)
	return tags
}

func TestCopyImage(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	src := tr.pushImage(t, "ci/app:build-1")
	dst := tr.repo(t, "prod/app")

	desc, err := Copy(ctx, src, dst)
	require.NoError(t, err)
	require.Equal(t, src.DigestStr(), desc.Digest.String())
	require.True(t, desc.MediaType.IsImage(), desc.MediaType)
	require.NotZero(t, desc.Size)

	// Same digest, same bytes, every blob there, and no tag in the target.
	img, err := remote.Image(dst.Digest(src.DigestStr()))
	require.NoError(t, err)
	require.NoError(t, validateLayers(img))
	tags, err := remote.List(dst)
	require.NoError(t, err)
	require.Empty(t, tags)

	// Again: a HEAD finds it and nothing is written.
	before := len(tr.manifestWrites())
	again, err := Copy(ctx, src, dst)
	require.NoError(t, err)
	require.Equal(t, desc, again)
	require.Len(t, tr.manifestWrites(), before, "an idempotent copy writes nothing")
}

func validateLayers(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			return err
		}
		rc.Close()
	}
	return nil
}

func TestCopyIndex(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	idx, err := random.Index(128, 1, 3)
	require.NoError(t, err)
	srcTag, err := name.NewTag(tr.host+"/ci/app:multi", name.StrictValidation)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(srcTag, idx))
	d, err := idx.Digest()
	require.NoError(t, err)
	src := srcTag.Context().Digest(d.String())
	dst := tr.repo(t, "prod/app")

	desc, err := Copy(ctx, src, dst)
	require.NoError(t, err)
	require.Equal(t, d, desc.Digest)
	require.True(t, desc.MediaType.IsIndex(), desc.MediaType)

	got, err := remote.Index(dst.Digest(d.String()))
	require.NoError(t, err)
	im, err := got.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 3)
	for _, m := range im.Manifests {
		img, err := got.Image(m.Digest)
		require.NoError(t, err)
		require.NoError(t, validateLayers(img), "child %s", m.Digest)
	}
	require.Empty(t, listTags(t, dst))

	before := len(tr.manifestWrites())
	_, err = Copy(ctx, src, dst)
	require.NoError(t, err)
	require.Len(t, tr.manifestWrites(), before)
}

// TestCopyAcrossRegistries: the loopback registry keeps one blob store for all repositories, so a copy within
// it finds every blob already there; a second registry makes the copy stream the blobs.
func TestCopyAcrossRegistries(t *testing.T) {
	ci, prod := newTestRegistry(t), newTestRegistry(t)
	src := ci.pushImage(t, "ci/app:build-1")
	dst := prod.repo(t, "prod/app")
	desc, err := Copy(context.Background(), src, dst)
	require.NoError(t, err)
	require.Equal(t, src.DigestStr(), desc.Digest.String())
	img, err := remote.Image(dst.Digest(src.DigestStr()))
	require.NoError(t, err)
	require.NoError(t, validateLayers(img))
	cfg, err := img.RawConfigFile()
	require.NoError(t, err)
	require.NotEmpty(t, cfg)
}

func TestCopyMissingSource(t *testing.T) {
	tr := newTestRegistry(t)
	src, err := name.NewDigest(tr.host+"/ci/app@sha256:"+strings.Repeat("a", 64), name.StrictValidation)
	require.NoError(t, err)
	_, err = Copy(context.Background(), src, tr.repo(t, "prod/app"))
	var terr *transport.Error
	require.ErrorAs(t, err, &terr)
	require.Equal(t, http.StatusNotFound, terr.StatusCode)
}

func TestSetTag(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	old := tr.pushImage(t, "prod/app:latest")
	img := tr.pushImage(t, "ci/app:build-2")
	repo := tr.repo(t, "prod/app")
	_, err := Copy(ctx, img, repo)
	require.NoError(t, err)
	h, err := v1.NewHash(img.DigestStr())
	require.NoError(t, err)
	oldHash, err := v1.NewHash(old.DigestStr())
	require.NoError(t, err)

	// New tag: no previous.
	prev, err := SetTag(ctx, repo, "v2.0.0", h)
	require.NoError(t, err)
	require.Nil(t, prev)
	require.Equal(t, h, *tagDigest(t, repo, "v2.0.0"))

	// Existing tag on another digest: moved, the old digest returned.
	prev, err = SetTag(ctx, repo, "latest", h)
	require.NoError(t, err)
	require.Equal(t, oldHash, *prev)
	require.Equal(t, h, *tagDigest(t, repo, "latest"))

	// Already there: nothing written, the digest itself returned.
	before := len(tr.manifestWrites())
	prev, err = SetTag(ctx, repo, "latest", h)
	require.NoError(t, err)
	require.Equal(t, h, *prev)
	require.Len(t, tr.manifestWrites(), before)

	// A digest the repository does not hold.
	_, err = SetTag(ctx, tr.repo(t, "other/app"), "v2.0.0", h)
	require.Error(t, err)
	_, err = SetTag(ctx, repo, "-bad", h)
	require.ErrorContains(t, err, "not a valid tag")
}

// setUp pushes "old" as prod/app:latest, copies "new" to prod/app and tags it latest and v2.
func setUp(t *testing.T, tr *testRegistry) (repo name.Repository, oldHash, newHash v1.Hash, prevLatest, prevV2 *v1.Hash) {
	t.Helper()
	ctx := context.Background()
	old := tr.pushImage(t, "prod/app:latest")
	img := tr.pushImage(t, "ci/app:build-3")
	repo = tr.repo(t, "prod/app")
	_, err := Copy(ctx, img, repo)
	require.NoError(t, err)
	newHash, err = v1.NewHash(img.DigestStr())
	require.NoError(t, err)
	oldHash, err = v1.NewHash(old.DigestStr())
	require.NoError(t, err)
	prevLatest, err = SetTag(ctx, repo, "latest", newHash)
	require.NoError(t, err)
	prevV2, err = SetTag(ctx, repo, "v2", newHash)
	require.NoError(t, err)
	require.Nil(t, prevV2)
	return
}

func TestRestoreTag(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	repo, oldHash, newHash, prevLatest, prevV2 := setUp(t, tr)

	// Back to the previous digest.
	require.NoError(t, RestoreTag(ctx, repo, "latest", newHash, prevLatest))
	require.Equal(t, oldHash, *tagDigest(t, repo, "latest"))

	// A tag the release created is deleted; the loopback registry deletes tags (202) and keeps the digest.
	require.NoError(t, RestoreTag(ctx, repo, "v2", newHash, prevV2))
	require.Nil(t, tagDigest(t, repo, "v2"))
	require.NotContains(t, listTags(t, repo), "v2")
	_, err := remote.Head(repo.Digest(newHash.String()))
	require.NoError(t, err, "deleting a tag leaves the manifest")
	require.Contains(t, tr.manifestWrites(), "DELETE /v2/prod/app/manifests/v2")

	// Retries are no-ops.
	before := len(tr.manifestWrites())
	require.NoError(t, RestoreTag(ctx, repo, "latest", newHash, prevLatest))
	require.NoError(t, RestoreTag(ctx, repo, "v2", newHash, prevV2))
	require.Len(t, tr.manifestWrites(), before)

	// A tag SetTag found already on the digest was not moved by the release and is not touched.
	same := newHash
	require.NoError(t, RestoreTag(ctx, repo, "v9", newHash, &same))
	require.Len(t, tr.manifestWrites(), before)
}

func TestRestoreTagLeavesAMovedTagAlone(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	repo, _, newHash, prevLatest, prevV2 := setUp(t, tr)

	// Someone releases again in between: latest and v2 now point at a third image.
	third := tr.pushImage(t, "prod/app:latest")
	thirdHash, err := v1.NewHash(third.DigestStr())
	require.NoError(t, err)
	_, err = SetTag(ctx, repo, "v2", thirdHash)
	require.NoError(t, err)

	for tag, prev := range map[string]*v1.Hash{"latest": prevLatest, "v2": prevV2} {
		err = RestoreTag(ctx, repo, tag, newHash, prev)
		require.ErrorIs(t, err, ErrTagMoved, tag)
		var moved *TagMovedError
		require.ErrorAs(t, err, &moved)
		require.Equal(t, thirdHash, *moved.Current)
		require.Equal(t, thirdHash, *tagDigest(t, repo, tag), "left alone")
	}

	// Someone deleted the tag the release moved: it stays deleted.
	require.NoError(t, remote.Delete(repo.Tag("latest")))
	err = RestoreTag(ctx, repo, "latest", newHash, prevLatest)
	var moved *TagMovedError
	require.ErrorAs(t, err, &moved)
	require.Nil(t, moved.Current)
	require.Nil(t, tagDigest(t, repo, "latest"))
}

func TestRestoreTagDeleteUnsupported(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	repo, _, newHash, _, prevV2 := setUp(t, tr)
	tr.setRefuseDelete(true)
	err := RestoreTag(ctx, repo, "v2", newHash, prevV2)
	require.ErrorIs(t, err, ErrTagDeleteUnsupported)
	var terr *transport.Error
	require.ErrorAs(t, err, &terr, "the registry's answer is kept")
	require.Equal(t, http.StatusMethodNotAllowed, terr.StatusCode)
	require.Equal(t, newHash, *tagDigest(t, repo, "v2"))
}

func TestRestoreTagPreviousGone(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	repo, oldHash, newHash, prevLatest, _ := setUp(t, tr)
	require.NoError(t, remote.Delete(repo.Digest(oldHash.String())))
	err := RestoreTag(ctx, repo, "latest", newHash, prevLatest)
	require.ErrorIs(t, err, ErrPreviousGone)
	require.Equal(t, newHash, *tagDigest(t, repo, "latest"))
}

func TestMarkRejected(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	img := tr.pushImage(t, "prod/app:v3")
	h, err := v1.NewHash(img.DigestStr())
	require.NoError(t, err)

	rejected, reason, err := IsRejected(ctx, img)
	require.NoError(t, err)
	require.False(t, rejected)
	require.Empty(t, reason)

	marker, err := MarkRejected(ctx, img, "smoke check /healthz failed")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(marker, tr.host+"/prod/app@sha256:"), marker)

	// The referrers API lists it, with its type and reason.
	idx, err := remote.Referrers(img)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	require.Equal(t, RejectedArtifactType, im.Manifests[0].ArtifactType)
	require.Equal(t, "smoke check /healthz failed", im.Manifests[0].Annotations[ReasonAnnotation])
	require.Equal(t, marker, img.Context().Digest(im.Manifests[0].Digest.String()).Name())

	// The tag shows it in a listing and points at the marker.
	require.Contains(t, listTags(t, img.Context()), "sha256-"+h.Hex+".rejected")
	tagged := tagDigest(t, img.Context(), RejectedTag(h))
	require.Equal(t, marker, img.Context().Digest(tagged.String()).Name())

	// Its blobs are there, as a registry that checks them requires.
	m, err := remote.Image(img.Context().Digest(tagged.String()))
	require.NoError(t, err)
	mf, err := m.Manifest()
	require.NoError(t, err)
	require.Equal(t, h, mf.Subject.Digest)
	require.Equal(t, RejectedArtifactType, mf.ArtifactType)
	cfg, err := m.RawConfigFile()
	require.NoError(t, err)
	require.JSONEq(t, `{"reason":"smoke check /healthz failed"}`, string(cfg))
	require.NoError(t, validateLayers(m))

	rejected, reason, err = IsRejected(ctx, img)
	require.NoError(t, err)
	require.True(t, rejected)
	require.Equal(t, "smoke check /healthz failed", reason)

	// Idempotent: the same reason is the same artifact, and nothing is written.
	before := len(tr.manifestWrites())
	again, err := MarkRejected(ctx, img, "smoke check /healthz failed")
	require.NoError(t, err)
	require.Equal(t, marker, again)
	require.Len(t, tr.manifestWrites(), before)

	// A different reason is a second marker; the tag follows the latest.
	other, err := MarkRejected(ctx, img, "rollout timed out")
	require.NoError(t, err)
	require.NotEqual(t, marker, other)
	_, reason, err = IsRejected(ctx, img)
	require.NoError(t, err)
	require.Equal(t, "rollout timed out", reason)
	idx, err = remote.Referrers(img)
	require.NoError(t, err)
	im, err = idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 2)
}

func TestMarkRejectedThroughReferrersOnly(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	img := tr.pushImage(t, "prod/app:v4")
	h, err := v1.NewHash(img.DigestStr())
	require.NoError(t, err)
	_, err = MarkRejected(ctx, img, "scan found CVE-2026-0001")
	require.NoError(t, err)
	// Without the tag (someone cleaned tags up), the referrers API still tells.
	require.NoError(t, remote.Delete(img.Context().Tag(RejectedTag(h))))
	rejected, reason, err := IsRejected(ctx, img)
	require.NoError(t, err)
	require.True(t, rejected)
	require.Equal(t, "scan found CVE-2026-0001", reason)
}

func TestMarkRejectedErrors(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	img := tr.pushImage(t, "prod/app:v5")
	_, err := MarkRejected(ctx, img, "  ")
	require.ErrorContains(t, err, "reason is empty")
	missing := img.Context().Digest("sha256:" + strings.Repeat("b", 64))
	_, err = MarkRejected(ctx, missing, "x")
	var terr *transport.Error
	require.ErrorAs(t, err, &terr)
	require.Equal(t, http.StatusNotFound, terr.StatusCode)
}

func TestTruncateReason(t *testing.T) {
	require.Equal(t, "short", TruncateReason("short"))
	long := strings.Repeat("é", 600) // 1200 bytes
	got := TruncateReason(long)
	require.LessOrEqual(t, len(got), MaxReasonBytes)
	require.True(t, strings.HasSuffix(got, "…"))
	require.True(t, strings.HasPrefix(long, strings.TrimSuffix(got, "…")))
	require.Equal(t, "a\uFFFDb", TruncateReason("a\xffb"))
	require.Len(t, TruncateReason(strings.Repeat("a", 5000)), MaxReasonBytes)

	tr := newTestRegistry(t)
	img := tr.pushImage(t, "prod/app:v6")
	_, err := MarkRejected(context.Background(), img, strings.Repeat("x", 5000))
	require.NoError(t, err)
	_, reason, err := IsRejected(context.Background(), img)
	require.NoError(t, err)
	require.Len(t, reason, MaxReasonBytes)
}
