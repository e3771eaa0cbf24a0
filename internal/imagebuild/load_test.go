package imagebuild

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"
)

func TestLoadLayoutAndTarball(t *testing.T) {
	img, err := random.Image(512, 2)
	require.NoError(t, err)
	want, err := img.Digest()
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "oci")
	_, err = WriteLayout(img, dir)
	require.NoError(t, err)
	got, err := LoadLayout(dir)
	require.NoError(t, err)
	d, err := got.Digest()
	require.NoError(t, err)
	require.Equal(t, want, d)

	tarPath := filepath.Join(t.TempDir(), "image.tar")
	tag, err := name.NewTag("example.com/app:v1")
	require.NoError(t, err)
	require.NoError(t, tarball.WriteToFile(tarPath, tag, img))
	got, err = LoadTarball(tarPath)
	require.NoError(t, err)
	d, err = got.Digest()
	require.NoError(t, err)
	require.Equal(t, want, d, "the tarball's image is the same image")
}

func TestLoadRefusesWhatIsNotOneImage(t *testing.T) {
	two := filepath.Join(t.TempDir(), "two")
	p, err := layout.Write(two, empty.Index)
	require.NoError(t, err)
	for range 2 {
		img, err := random.Image(64, 1)
		require.NoError(t, err)
		require.NoError(t, p.AppendImage(img))
	}
	_, err = LoadLayout(two)
	require.ErrorContains(t, err, "holds 2 manifests")

	_, err = LoadLayout(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "no such file")
	file := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	_, err = LoadLayout(file)
	require.ErrorContains(t, err, "--image-tarball")
	_, err = LoadTarball(t.TempDir())
	require.ErrorContains(t, err, "--image-layout")
	_, err = LoadTarball(file)
	require.Error(t, err)
}
