package imagebuild

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
)

// testRegistry starts an in-process registry on loopback and returns its host:port.
func testRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestPushToALoopbackRegistry(t *testing.T) {
	host := testRegistry(t)
	require.True(t, strings.HasPrefix(host, "127.0.0.1:"), host)
	img, err := FromBinary(hello(t), Options{Version: "v1.0.0"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ref := host + "/slipway/demo-app:v1.0.0"
	digest, err := Push(ctx, img, ref)
	require.NoError(t, err)
	require.Equal(t, digestOf(t, img), digest)

	parsed, err := name.ParseReference(ref)
	require.NoError(t, err)
	desc, err := remote.Get(parsed, remote.WithContext(ctx))
	require.NoError(t, err)
	require.Equal(t, digest, desc.Digest.String())
	pulled, err := desc.Image()
	require.NoError(t, err)
	cf, err := pulled.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, "v1.0.0", cf.Config.Labels[LabelVersion])

	// Pushing again, and pushing by the image's own digest, are no-ops that give the same digest.
	again, err := Push(ctx, img, ref)
	require.NoError(t, err)
	require.Equal(t, digest, again)
	byDigest, err := Push(ctx, img, host+"/slipway/demo-app@"+digest)
	require.NoError(t, err)
	require.Equal(t, digest, byDigest)
}

func TestPushRejectsBadReferences(t *testing.T) {
	img, err := FromBinary(hello(t), Options{Version: "v1.0.0"})
	require.NoError(t, err)
	other, err := FromBinary(hello(t), Options{Version: "v9.9.9"})
	require.NoError(t, err)
	for _, tc := range []struct{ name, ref, text string }{
		{"empty", "", "reference \"\""},
		{"no registry", "slipway/demo-app:v1.0.0", "strict validation"},
		{"no tag", "127.0.0.1:1/slipway/demo-app", "strict validation"},
		{"upper case", "127.0.0.1:1/Slipway/demo-app:v1", "repository can only contain"},
		{"bad tag", "127.0.0.1:1/slipway/demo-app:v1+build", "tag can only contain"},
		{"another image's digest", "127.0.0.1:1/slipway/demo-app@" + digestOf(t, other), "not the image's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Port 1 on loopback: nothing listens, so reaching the network would fail differently.
			_, err := Push(context.Background(), img, tc.ref)
			require.ErrorContains(t, err, tc.text)
		})
	}
}

func TestParseReferenceUsesPlainHTTPOnlyForLoopback(t *testing.T) {
	for ref, scheme := range map[string]string{
		"127.0.0.1:5001/slipway/demo-app:v1.0.0": "http",
		"localhost:5001/slipway/demo-app:v1.0.0": "http",
		"[::1]:5001/slipway/demo-app:v1.0.0":     "http",
		"registry.example.com/team/app:v1":       "https",
		"registry.example.com:5000/team/app:v1":  "https",
	} {
		r, err := ParseReference(ref)
		require.NoError(t, err, ref)
		require.Equal(t, scheme, r.Context().Registry.Scheme(), ref)
	}
}
