package imagebuild

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/stretchr/testify/require"
)

func TestWriteLayout(t *testing.T) {
	img, err := FromBinary(hello(t), Options{Version: "v1.0.0"})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "layout")
	digest, err := WriteLayout(img, dir)
	require.NoError(t, err)
	require.Equal(t, digestOf(t, img), digest)
	for _, f := range []string{"oci-layout", "index.json"} {
		require.FileExists(t, filepath.Join(dir, f))
	}

	idx, err := layout.ImageIndexFromPath(dir)
	require.NoError(t, err)
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, m.Manifests, 1)
	require.Equal(t, digest, m.Manifests[0].Digest.String())
	read, err := idx.Image(m.Manifests[0].Digest)
	require.NoError(t, err)
	require.Equal(t, digest, digestOf(t, read))
	cf, err := read.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, []string{"/app/hello"}, cf.Config.Entrypoint)

	// An empty existing directory is fine; one with files in it is not.
	empty := t.TempDir()
	_, err = WriteLayout(img, empty)
	require.NoError(t, err)
	_, err = WriteLayout(img, dir)
	require.ErrorContains(t, err, "not empty")
	_, err = WriteLayout(img, "")
	require.ErrorContains(t, err, "no directory")
	require.NoError(t, os.RemoveAll(dir))
}
