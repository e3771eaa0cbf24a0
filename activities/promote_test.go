package activities

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/vektagraf/slipway/internal/promote"
)

// pushTagDigest is where repo:tag points now, "" if nowhere.
func pushTagDigest(t *testing.T, repo, tag string) string {
	t.Helper()
	r, err := name.NewRepository(repo)
	require.NoError(t, err)
	h, err := promote.TagDigest(context.Background(), r, tag)
	require.NoError(t, err)
	if h == nil {
		return ""
	}
	return h.String()
}

func pushRepo(t *testing.T, repo string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(repo)
	require.NoError(t, err)
	return r
}

func pushDigest(t *testing.T, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref)
	require.NoError(t, err)
	return d
}

func requirePromoteError(t *testing.T, err error, typ string, contains ...string) {
	t.Helper()
	// Temporal reads the type of the returned error itself, not of a wrapped one.
	appErr, ok := err.(*temporal.ApplicationError)
	require.True(t, ok, "%T: %v", err, err)
	require.Equal(t, typ, appErr.Type(), "%v", err)
	require.True(t, appErr.NonRetryable(), "%v", err)
	for _, c := range contains {
		require.ErrorContains(t, err, c)
	}
}

func TestPushImageCopiesAndTags(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "ci/app:build-7")
	old := tr.push(t, "prod/app:latest")
	var r Registry
	ctx := context.Background()
	in := PushImageInput{
		Source:     tr.host + "/ci/app:build-7@" + d.String(),
		Repository: tr.host + "/prod/app",
		Tags:       []string{"v1.2.3", "v1.2", "v1", "latest"},
	}
	res, err := r.PushImage(ctx, in)
	require.NoError(t, err)
	require.Equal(t, tr.host+"/prod/app@"+d.String(), res.Image)
	require.Equal(t, d.String(), res.Digest)
	require.Equal(t, []TagChange{{Tag: "v1.2.3"}, {Tag: "v1.2"}, {Tag: "v1"}, {Tag: "latest", Previous: old.String()}}, res.Tags)
	for _, tag := range in.Tags {
		require.Equal(t, d.String(), pushTagDigest(t, in.Repository, tag), tag)
	}

	// A retry changes nothing and finds every tag on the digest already.
	again, err := r.PushImage(ctx, in)
	require.NoError(t, err)
	require.Equal(t, res.Image, again.Image)
	for _, tc := range again.Tags {
		require.Equal(t, d.String(), tc.Previous)
	}

	// No tags: only the copy.
	res, err = r.PushImage(ctx, PushImageInput{Source: in.Source, Repository: tr.host + "/other/app"})
	require.NoError(t, err)
	require.Empty(t, res.Tags)
	tags, err := remote.List(pushRepo(t, tr.host+"/other/app"))
	require.NoError(t, err)
	require.Empty(t, tags)
}

func TestPushImageInvalidInputWritesNothing(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "ci/app:build-7")
	src := tr.host + "/ci/app@" + d.String()
	repo := tr.host + "/prod/app"
	var r Registry
	for _, tc := range []struct {
		name string
		in   PushImageInput
		want []string
	}{
		{"source by tag", PushImageInput{Source: tr.host + "/ci/app:build-7", Repository: repo}, []string{"PushImage: source", "registry/repository@sha256"}},
		{"source short digest", PushImageInput{Source: tr.host + "/ci/app@sha256:abc", Repository: repo}, []string{"PushImage: source"}},
		{"source without registry", PushImageInput{Source: "ci/app@" + d.String(), Repository: repo}, []string{"PushImage: source", "registry"}},
		{"source sha512", PushImageInput{Source: tr.host + "/ci/app@sha512:" + strings.Repeat("a", 128), Repository: repo}, []string{"PushImage: source", "not a sha256 digest"}},
		{"repository with tag", PushImageInput{Source: src, Repository: repo + ":v1"}, []string{"PushImage: repository", "without a tag"}},
		{"repository without registry", PushImageInput{Source: src, Repository: "prod/app"}, []string{"PushImage: repository"}},
		{"repository empty", PushImageInput{Source: src}, []string{"PushImage: repository"}},
		{"bad tag", PushImageInput{Source: src, Repository: repo, Tags: []string{"v1", "-v1"}}, []string{`tags[1] "-v1"`}},
		{"tag with space", PushImageInput{Source: src, Repository: repo, Tags: []string{"v 1"}}, []string{`tags[0] "v 1"`}},
		{"long tag", PushImageInput{Source: src, Repository: repo, Tags: []string{strings.Repeat("a", 129)}}, []string{"tags[0]", "at most 128"}},
		{"repeated tag", PushImageInput{Source: src, Repository: repo, Tags: []string{"v1", "latest", "v1"}}, []string{`tags[2] "v1" is repeated`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.PushImage(context.Background(), tc.in)
			requirePromoteError(t, err, ErrInvalidInput, tc.want...)
		})
	}
	// Nothing reached the production repository: it does not even exist.
	_, err := remote.List(pushRepo(t, tr.host+"/prod/app"))
	require.ErrorContains(t, err, "NAME_UNKNOWN")
}

func TestPushImageOfAMissingSource(t *testing.T) {
	tr := newTestRegistry(t)
	var r Registry
	_, err := r.PushImage(context.Background(), PushImageInput{
		Source: tr.host + "/ci/app@sha256:" + strings.Repeat("a", 64), Repository: tr.host + "/prod/app", Tags: []string{"v1"},
	})
	requirePromoteError(t, err, ErrImageNotFound, "PushImage: copy")
}

// promoteRegistry is the loopback registry behind a hook that may answer a request itself.
func promoteRegistry(t *testing.T, hook func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) string {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hook != nil && hook(w, r, h) {
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestPushImageRetryKeepsThePreviousDigests: the first try moves v1.2.3 and latest, but the registry's answer
// to the latest write is lost (a 409 after the write). The retry finds both tags on the digest already; the
// heartbeat of the first try tells it where they pointed before, so the compensation can put them back.
func TestPushImageRetryKeepsThePreviousDigests(t *testing.T) {
	var breakLatest atomic.Bool
	host := promoteRegistry(t, func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodPut && r.URL.Path == "/v2/prod/app/manifests/latest" && breakLatest.Load() {
			next.ServeHTTP(httptest.NewRecorder(), r) // the write happens...
			w.WriteHeader(http.StatusConflict)        // ...and its answer is lost
			return true
		}
		return false
	})
	tr := &testRegistry{host: host}
	d := tr.push(t, "ci/app:build-8")
	old := tr.push(t, "prod/app:latest")
	breakLatest.Store(true)
	var r Registry
	in := PushImageInput{Source: host + "/ci/app@" + d.String(), Repository: host + "/prod/app", Tags: []string{"v1.2.3", "latest"}}

	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	var mu sync.Mutex
	var last *pushProgress
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p pushProgress
		if details.HasValues() && details.Get(&p) == nil {
			mu.Lock()
			last = &p
			mu.Unlock()
		}
	})
	env.RegisterActivity(r.PushImage)
	_, err := env.ExecuteActivity(r.PushImage, in)
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.False(t, appErr.NonRetryable(), "a 409 is retried: %v", err)
	require.Equal(t, d.String(), pushTagDigest(t, in.Repository, "latest"), "the write happened")
	mu.Lock()
	require.NotNil(t, last)
	require.Equal(t, []TagChange{{Tag: "v1.2.3"}, {Tag: "latest", Previous: old.String()}}, last.Tags)
	mu.Unlock()

	// The retry, with the first try's heartbeat.
	breakLatest.Store(false)
	retry := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	retry.RegisterActivity(r.PushImage)
	retry.SetHeartbeatDetails(*last)
	var firstBeat *pushProgress
	retry.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p pushProgress
		mu.Lock()
		defer mu.Unlock()
		if firstBeat == nil && details.HasValues() && details.Get(&p) == nil {
			firstBeat = &p
		}
	})
	val, err := retry.ExecuteActivity(r.PushImage, in)
	require.NoError(t, err)
	var res PushImageResult
	require.NoError(t, val.Get(&res))
	require.Equal(t, []TagChange{{Tag: "v1.2.3"}, {Tag: "latest", Previous: old.String()}}, res.Tags)
	mu.Lock()
	require.NotNil(t, firstBeat)
	require.Equal(t, "copy", firstBeat.Stage)
	require.Equal(t, res.Tags, firstBeat.Tags, "the retry's heartbeats keep what the first try recorded")
	mu.Unlock()

	// The compensation puts latest back and removes v1.2.3.
	restored, err := r.RestoreTags(context.Background(), RestoreTagsInput{Repository: in.Repository, Digest: res.Digest, Tags: res.Tags})
	require.NoError(t, err)
	require.Equal(t, []string{"latest"}, restored.Restored)
	require.Equal(t, []string{"v1.2.3"}, restored.Deleted)
	require.Equal(t, old.String(), pushTagDigest(t, in.Repository, "latest"))

	// Without the heartbeat (another push, or a lost heartbeat), the tags already on the digest report it.
	res, err = r.PushImage(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, TagChange{Tag: "v1.2.3"}, res.Tags[0])
	require.Equal(t, TagChange{Tag: "latest", Previous: old.String()}, res.Tags[1])
	res, err = r.PushImage(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, []TagChange{{Tag: "v1.2.3", Previous: d.String()}, {Tag: "latest", Previous: d.String()}}, res.Tags)
}

func TestRestoreTags(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "ci/app:build-9")
	old := tr.push(t, "prod/app:latest")
	oldV1 := tr.push(t, "prod/app:v1")
	var r Registry
	ctx := context.Background()
	repo := tr.host + "/prod/app"
	pushed, err := r.PushImage(ctx, PushImageInput{Source: tr.host + "/ci/app@" + d.String(), Repository: repo, Tags: []string{"v1.2.3", "v1.2", "v1", "latest"}})
	require.NoError(t, err)

	// Someone else releases v1 meanwhile.
	other := tr.push(t, "prod/app:v1")

	in := RestoreTagsInput{Repository: repo, Digest: pushed.Digest, Tags: pushed.Tags}
	res, err := r.RestoreTags(ctx, in)
	require.NoError(t, err)
	require.Equal(t, []string{"latest"}, res.Restored)
	require.Equal(t, []string{"v1.2", "v1.2.3"}, res.Deleted, "last first")
	require.Equal(t, []string{"v1"}, res.LeftAlone)
	require.Contains(t, res.Notes["v1"], "someone else moved it to "+other.String())
	require.Equal(t, old.String(), pushTagDigest(t, repo, "latest"))
	require.Equal(t, other.String(), pushTagDigest(t, repo, "v1"))
	require.NotEqual(t, oldV1, other)
	require.Empty(t, pushTagDigest(t, repo, "v1.2.3"))
	require.Empty(t, pushTagDigest(t, repo, "v1.2"))
	// The digest itself stays: it is what MarkRejected marks.
	_, err = remote.Head(pushDigest(t, pushed.Image))
	require.NoError(t, err)

	// A retry writes nothing and says the same.
	again, err := r.RestoreTags(ctx, in)
	require.NoError(t, err)
	require.Equal(t, res, again)

	// A tag that already pointed at the digest before the push is left as it was.
	res, err = r.RestoreTags(ctx, RestoreTagsInput{Repository: repo, Digest: pushed.Digest, Tags: []TagChange{{Tag: "stable", Previous: pushed.Digest}}})
	require.NoError(t, err)
	require.Equal(t, []string{"stable"}, res.LeftAlone)
	require.Contains(t, res.Notes["stable"], "already pointed at")
}

// TestRestoreTagsWhereTagsCannotBeDeleted: a registry that refuses DELETE (405 UNSUPPORTED) keeps the new tag;
// RestoreTags says so and still restores the others.
func TestRestoreTagsWhereTagsCannotBeDeleted(t *testing.T) {
	host := promoteRegistry(t, func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}`))
		return true
	})
	tr := &testRegistry{host: host}
	d := tr.push(t, "ci/app:build-10")
	old := tr.push(t, "prod/app:latest")
	var r Registry
	ctx := context.Background()
	repo := host + "/prod/app"
	pushed, err := r.PushImage(ctx, PushImageInput{Source: host + "/ci/app@" + d.String(), Repository: repo, Tags: []string{"v2.0.0", "latest"}})
	require.NoError(t, err)
	res, err := r.RestoreTags(ctx, RestoreTagsInput{Repository: repo, Digest: pushed.Digest, Tags: pushed.Tags})
	require.NoError(t, err)
	require.Equal(t, []string{"latest"}, res.Restored)
	require.Empty(t, res.Deleted)
	require.Equal(t, []string{"v2.0.0"}, res.LeftAlone)
	require.Contains(t, res.Notes["v2.0.0"], "does not support deleting tags")
	require.Contains(t, res.Notes["v2.0.0"], "UNSUPPORTED")
	require.Equal(t, old.String(), pushTagDigest(t, repo, "latest"))
	require.Equal(t, d.String(), pushTagDigest(t, repo, "v2.0.0"))
}

func TestRestoreTagsInvalidInput(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "prod/app:v1")
	repo := tr.host + "/prod/app"
	var r Registry
	for _, tc := range []struct {
		name string
		in   RestoreTagsInput
		want string
	}{
		{"repository", RestoreTagsInput{Repository: "prod app", Digest: d.String()}, "RestoreTags: repository"},
		{"digest", RestoreTagsInput{Repository: repo, Digest: "v1"}, "RestoreTags: digest"},
		{"upper-case digest", RestoreTagsInput{Repository: repo, Digest: strings.ToUpper(d.String())}, "RestoreTags: digest"},
		{"tag", RestoreTagsInput{Repository: repo, Digest: d.String(), Tags: []TagChange{{Tag: ".v1"}}}, `tags[0].tag ".v1"`},
		{"previous", RestoreTagsInput{Repository: repo, Digest: d.String(), Tags: []TagChange{{Tag: "v1", Previous: "sha256:x"}}}, "tags[0].previous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.RestoreTags(context.Background(), tc.in)
			requirePromoteError(t, err, ErrInvalidInput, tc.want)
		})
	}
	require.Equal(t, d.String(), pushTagDigest(t, repo, "v1"))
}

func TestMarkRejected(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "prod/app:v3")
	var r Registry
	ctx := context.Background()
	image := tr.host + "/prod/app@" + d.String()
	res, err := r.MarkRejected(ctx, MarkRejectedInput{Image: image, Reason: "release v3 of app failed: smoke check"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(res.Marker, tr.host+"/prod/app@sha256:"), res.Marker)

	ref, err := name.NewDigest(image)
	require.NoError(t, err)
	rejected, reason, err := promote.IsRejected(ctx, ref)
	require.NoError(t, err)
	require.True(t, rejected)
	require.Equal(t, "release v3 of app failed: smoke check", reason)
	idx, err := remote.Referrers(ref)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	require.Equal(t, promote.RejectedArtifactType, im.Manifests[0].ArtifactType)
	require.Equal(t, res.Marker, tr.host+"/prod/app@"+im.Manifests[0].Digest.String())
	require.Equal(t, strings.TrimPrefix(res.Marker, tr.host+"/prod/app@"), pushTagDigest(t, tr.host+"/prod/app", "sha256-"+d.Hex+".rejected"))

	again, err := r.MarkRejected(ctx, MarkRejectedInput{Image: image, Reason: "release v3 of app failed: smoke check"})
	require.NoError(t, err)
	require.Equal(t, res, again)
}

func TestMarkRejectedErrors(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "prod/app:v3")
	var r Registry
	for _, tc := range []struct {
		name string
		in   MarkRejectedInput
		typ  string
		want string
	}{
		{"by tag", MarkRejectedInput{Image: tr.host + "/prod/app:v3", Reason: "x"}, ErrInvalidInput, "MarkRejected: image"},
		{"no reason", MarkRejectedInput{Image: tr.host + "/prod/app@" + d.String(), Reason: " "}, ErrInvalidInput, "reason is empty"},
		{"missing", MarkRejectedInput{Image: tr.host + "/prod/app@" + v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("c", 64)}.String(), Reason: "x"}, ErrImageNotFound, "MarkRejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.MarkRejected(context.Background(), tc.in)
			requirePromoteError(t, err, tc.typ, tc.want)
		})
	}
}

func TestReadTagsReportsWhereTagsPointNow(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "team/app:v1.0")
	var r Registry
	res, err := r.ReadTags(context.Background(), ReadTagsInput{Repository: tr.host + "/team/app", Tags: []string{"v1.0", "v1.1"}})
	require.NoError(t, err)
	require.Equal(t, []TagChange{{Tag: "v1.0", Previous: d.String()}, {Tag: "v1.1"}}, res.Tags)

	_, err = r.ReadTags(context.Background(), ReadTagsInput{Repository: tr.host + "/team/app", Tags: []string{"bad tag"}})
	appErr, ok := err.(*temporal.ApplicationError)
	require.True(t, ok, "%T: %v", err, err)
	require.Equal(t, ErrInvalidInput, appErr.Type())
}
