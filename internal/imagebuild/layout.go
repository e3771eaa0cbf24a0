package imagebuild

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// WriteLayout writes img as an OCI image layout in dir (oci-layout, index.json, blobs/) and returns its
// digest. The layout holds this one image: dir must not exist or be empty, because the scanners that read
// layouts (trivy image --input, grype oci-dir:) expect a single image, and appending to an old layout would
// leave them a choice.
func WriteLayout(img v1.Image, dir string) (string, error) {
	if dir == "" {
		return "", errors.New("imagebuild: layout: no directory given")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", fmt.Errorf("imagebuild: layout: %w", err)
	case len(entries) > 0:
		return "", fmt.Errorf("imagebuild: layout: %s is not empty; give a new or empty directory", dir)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("imagebuild: layout: digest: %w", err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", fmt.Errorf("imagebuild: layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img); err != nil {
		return "", fmt.Errorf("imagebuild: layout %s: %w", dir, err)
	}
	return digest.String(), nil
}
