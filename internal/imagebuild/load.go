package imagebuild

import (
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// LoadLayout reads the one image of an OCI image layout directory (what `docker buildx build --output
// type=oci,tar=false`, `crane pull --format oci` or WriteLayout leave), so a CI build that never touched a
// registry can be released: the starter pushes it, then the release scans and promotes it by digest. A layout
// with several images, or an index of platforms, is refused: say which image to release by pushing it.
func LoadLayout(dir string) (v1.Image, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("image layout %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("image layout %s: not a directory (a tarball goes to --image-tarball)", dir)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("image layout %s holds %d manifests; release a layout with exactly one image", dir, len(m.Manifests))
	}
	desc := m.Manifests[0]
	if !desc.MediaType.IsImage() {
		return nil, fmt.Errorf("image layout %s: its manifest is a %s, not an image; push a multi-platform build to the registry instead", dir, desc.MediaType)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %w", dir, err)
	}
	return img, nil
}

// LoadTarball reads the one image of a `docker save` tarball (or one written by go-containerregistry's
// tarball package).
func LoadTarball(path string) (v1.Image, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("image tarball %s: %w", path, err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("image tarball %s: a directory (an OCI layout goes to --image-layout)", path)
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return nil, fmt.Errorf("image tarball %s: %w", path, err)
	}
	if _, err := img.Digest(); err != nil {
		return nil, fmt.Errorf("image tarball %s: %w", path, err)
	}
	return img, nil
}
