package activities

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// testRegistry is go-containerregistry's registry on loopback, counting manifest and blob GETs so tests can
// tell whether an image was pulled.
type testRegistry struct {
	host string
	gets atomic.Int64
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	tr := &testRegistry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && (strings.Contains(r.URL.Path, "/manifests/") || strings.Contains(r.URL.Path, "/blobs/")) {
			tr.gets.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

// push writes a random one-layer image under repo:tag and returns its digest.
func (tr *testRegistry) push(t *testing.T, repoTag string) v1.Hash {
	t.Helper()
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(tr.host + "/" + repoTag)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(t, err)
	return d
}

func TestResolveImagePinsTheTag(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "team/app:v1.0.0")
	var r Registry
	got, err := r.ResolveImage(context.Background(), tr.host+"/team/app:v1.0.0")
	require.NoError(t, err)
	require.Equal(t, d.String(), got.Digest)
	require.Equal(t, tr.host+"/team/app", got.Repository)
	require.Equal(t, tr.host+"/team/app@"+d.String(), got.Pinned())

	// The tag moves; a new resolve follows it, which is why a release resolves once and keeps the digest.
	d2 := tr.push(t, "team/app:v1.0.0")
	got, err = r.ResolveImage(context.Background(), tr.host+"/team/app:v1.0.0")
	require.NoError(t, err)
	require.Equal(t, d2.String(), got.Digest)
}

func TestResolveImageErrors(t *testing.T) {
	tr := newTestRegistry(t)
	tr.push(t, "team/app:v1.0.0")
	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
	}))
	t.Cleanup(unauthorized.Close)
	var r Registry
	for _, tc := range []struct {
		ref, typ, want string
	}{
		{tr.host + "/team/app:v9.9.9", ErrImageNotFound, "push the image"},
		{tr.host + "/team/other:v1.0.0", ErrImageNotFound, "push the image"},
		{"Not A Reference", ErrInvalidInput, "registry/repository:tag"},
		{strings.TrimPrefix(unauthorized.URL, "http://") + "/team/app:v1", ErrRegistryUnauthorized, "credentials"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := r.ResolveImage(context.Background(), tc.ref)
			appErr, ok := err.(*temporal.ApplicationError)
			require.True(t, ok, "%T: %v", err, err)
			require.Equal(t, tc.typ, appErr.Type(), "%v", err)
			require.True(t, appErr.NonRetryable())
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestScanPullsTheImageByDigest checks an image target end to end with fake scanners: the image is pulled
// from the registry into a layout the scanners are given, the layout is removed afterwards, the digest keys
// the cache, and a cached re-scan does not pull.
func TestScanPullsTheImageByDigest(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "team/app:v1.0.0")
	f := newFake(t, "trivy-vulnerable.json", 0, "grype-vulnerable.json", 0)
	f.s.CacheDir = t.TempDir()
	f.s.ReportsDir = t.TempDir()
	pinned := tr.host + "/team/app@" + d.String()
	in := ScanInput{Target: ScanTarget{Image: pinned}, ReportName: "app/v1.0.0"}

	res, err := f.s.Scan(context.Background(), in)
	require.Equal(t, ErrVulnerable, ErrorType(err), "%v", err)
	require.False(t, res.Cached)
	require.NotZero(t, tr.gets.Load(), "the image was pulled")
	require.Equal(t, filepath.Join(f.s.ReportsDir, "app", "v1.0.0"), res.ReportsDir)
	report, err := os.ReadFile(filepath.Join(res.ReportsDir, "report.json"))
	require.NoError(t, err)
	require.Contains(t, string(report), d.String())
	require.Contains(t, string(report), pinned, "the report names the image, not the temporary layout")

	args, err := os.ReadFile(f.trivyLog)
	require.NoError(t, err)
	fields := strings.Fields(string(args))
	require.Equal(t, []string{"image", "--input"}, fields[:2])
	layoutDir := fields[2]
	require.True(t, strings.HasSuffix(layoutDir, "/image"), layoutDir)
	_, err = os.Stat(layoutDir)
	require.ErrorIs(t, err, os.ErrNotExist, "the pulled layout is removed after the scan")
	grypeArgs, err := os.ReadFile(f.grypeLog)
	require.NoError(t, err)
	require.Contains(t, string(grypeArgs), "oci-dir:"+layoutDir)

	// Both scanners' own outputs are kept next to the merged report.
	require.Len(t, res.ReportDigests.Raw, 2)
	want, err := os.ReadFile(filepath.Join("..", "internal", "scan", "testdata", "trivy-vulnerable.json"))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(res.ReportsDir, "trivy.json"))
	require.NoError(t, err)
	require.Equal(t, want, got)

	pulls := tr.gets.Load()
	in.ReportName = "app/v1.0.0-again"
	res, err = f.s.Scan(context.Background(), in)
	require.Equal(t, ErrVulnerable, ErrorType(err))
	require.True(t, res.Cached)
	require.Equal(t, pulls, tr.gets.Load(), "a cached digest is not pulled again")
	require.Len(t, res.ReportDigests.Raw, 2, "a cached scan still keeps the scanners' outputs")
	_, err = os.Stat(filepath.Join(res.ReportsDir, "grype.json"))
	require.NoError(t, err)
}

func TestScanOfAMissingImage(t *testing.T) {
	tr := newTestRegistry(t)
	f := newFake(t, "trivy-clean.json", 0, "grype-clean.json", 0)
	_, err := f.s.Scan(context.Background(), ScanInput{Target: ScanTarget{Image: tr.host + "/team/app@sha256:" + strings.Repeat("a", 64)}})
	// Temporal reads the type of the returned error itself, not of a wrapped one.
	appErr, ok := err.(*temporal.ApplicationError)
	require.True(t, ok, "%T: %v", err, err)
	require.Equal(t, ErrImageNotFound, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Zero(t, invocations(t, f.trivyLog)+invocations(t, f.grypeLog))
}

// TestScanAttachesReportsToTheImage: with AttachReports, the reports are an OCI artifact whose subject is the
// scanned image, found through the registry's referrers API, holding the same bytes the digests name.
func TestScanAttachesReportsToTheImage(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "team/app:v1.0.0")
	f := newFake(t, "trivy-vulnerable.json", 0, "grype-vulnerable.json", 0)
	pinned := tr.host + "/team/app@" + d.String()
	res, err := f.s.Scan(context.Background(), ScanInput{Target: ScanTarget{Image: pinned}, AttachReports: true})
	require.Equal(t, ErrVulnerable, ErrorType(err), "%v", err)
	require.True(t, strings.HasPrefix(res.ReportArtifact, tr.host+"/team/app@sha256:"), res.ReportArtifact)
	require.Empty(t, res.ReportsDir, "no reports directory on this worker")

	subject, err := name.NewDigest(pinned)
	require.NoError(t, err)
	idx, err := remote.Referrers(subject)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	require.Equal(t, ScanReportsArtifactType, im.Manifests[0].ArtifactType)
	require.Equal(t, res.ReportArtifact, tr.host+"/team/app@"+im.Manifests[0].Digest.String())

	ref, err := name.NewDigest(res.ReportArtifact)
	require.NoError(t, err)
	img, err := remote.Image(ref)
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	titles := map[string]string{}
	for _, l := range m.Layers {
		titles[l.Annotations["org.opencontainers.image.title"]] = l.Digest.String()
	}
	require.Equal(t, map[string]string{
		"report.json": res.ReportDigests.JSON, "report.sarif": res.ReportDigests.SARIF,
		"trivy.json": res.ReportDigests.Raw["trivy"], "grype.json": res.ReportDigests.Raw["grype"],
	}, titles)
	require.Equal(t, d, m.Subject.Digest)
}
