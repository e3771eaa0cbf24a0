package imagebuild

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ParseReference parses an image reference strictly: the registry and the tag (or digest) must be written
// out, so "demo-app:v1" is an error instead of a push to Docker Hub's library/demo-app, and a missing tag an
// error instead of "latest". Loopback registries (127.0.0.1:PORT, localhost:PORT, [::1]:PORT) are spoken to
// over plain HTTP, every other one over HTTPS.
func ParseReference(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err == nil {
		return r, nil
	}
	// ParseReference only says "could not parse"; the tag or digest parser says what is wrong.
	switch {
	case strings.Contains(ref, "@"):
		_, err = name.NewDigest(ref, name.StrictValidation)
	case ref != "" && !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":"):
		err = fmt.Errorf("no tag or digest (strict validation does not default to latest)")
	default:
		_, err = name.NewTag(ref, name.StrictValidation)
	}
	return nil, fmt.Errorf("imagebuild: reference %q: %v; write it out in full, e.g. 127.0.0.1:5001/slipway/demo-app:v1.0.0", ref, err)
}

// Push writes img to the registry under ref (a tag, or a digest that must be img's) and returns the digest
// of what was pushed ("sha256:..."). Credentials come from the Docker config (authn.DefaultKeychain) as for
// docker push; opts can add or override remote options (a transport, say). ctx bounds the whole push.
func Push(ctx context.Context, img v1.Image, ref string, opts ...remote.Option) (string, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return "", err
	}
	digest, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("imagebuild: push %s: digest: %w", ref, err)
	}
	if d, ok := r.(name.Digest); ok && d.DigestStr() != digest.String() {
		return "", fmt.Errorf("imagebuild: push %s: the reference's digest is not the image's (%s); push by tag, or use the image's digest", ref, digest)
	}
	all := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.Write(r, img, all...); err != nil {
		return "", fmt.Errorf("imagebuild: push %s: %w", ref, err)
	}
	return digest.String(), nil
}
