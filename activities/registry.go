package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.temporal.io/sdk/temporal"
)

// Error types of the registry activities.
const (
	// ErrImageNotFound: the registry has no such tag or digest. CI pushes the image before it starts the
	// release, so waiting will not make it appear; the release stops and says which reference is missing.
	ErrImageNotFound = "ImageNotFound"
	// ErrRegistryUnauthorized: the registry refused the worker's credentials (401). Unlike the Kubernetes
	// client, the registry client has no credentials to refresh between tries: the worker's docker config is
	// read on every call, and it is wrong until an operator fixes it.
	ErrRegistryUnauthorized = "RegistryUnauthorized"
)

// Registry reads the release's image from its OCI registry: it pins the release's tag to a digest, once, so
// every later stage scans and deploys exactly the same bytes even if the tag moves, and it pulls that digest
// for the scanners. Credentials are the worker's (Keychain, by default the docker config in ~/.docker or
// $DOCKER_CONFIG), never part of a workflow's input.
type Registry struct {
	// Keychain finds credentials for a registry; nil means authn.DefaultKeychain.
	Keychain authn.Keychain
	// Transport is the HTTP transport; nil means remote.DefaultTransport.
	Transport http.RoundTripper
}

// ResolvedImage is a tag pinned to the digest it pointed at when the release resolved it.
type ResolvedImage struct {
	// Reference is the reference that was resolved, as given ("registry/repo:tag").
	Reference string `json:"reference"`
	// Repository is the repository in canonical form ("index.docker.io/library/nginx" for "nginx").
	Repository string `json:"repository"`
	// Digest is the manifest digest ("sha256:...").
	Digest string `json:"digest"`
}

// Pinned is the reference by digest, Repository@Digest: what is pulled, scanned and (with image promotion)
// deployed.
func (r ResolvedImage) Pinned() string { return r.Repository + "@" + r.Digest }

func (r *Registry) options(ctx context.Context) []remote.Option {
	kc := r.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH})}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	return opts
}

// ResolveImage asks the registry which digest ref (a tag, or already a digest) points at now.
//
// Errors: a malformed reference is a non-retryable ErrInvalidInput; a missing tag ErrImageNotFound; refused
// credentials ErrRegistryUnauthorized or ErrForbidden; anything else (5xx, 429, connection) is retried.
func (r *Registry) ResolveImage(ctx context.Context, ref string) (ResolvedImage, error) {
	parsed, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return ResolvedImage{}, invalidInput("image %q: %v; write registry/repository:tag", ref, err)
	}
	desc, err := remote.Head(parsed, r.options(ctx)...)
	if err != nil {
		return ResolvedImage{}, classifyRegistry("resolve image "+ref, err)
	}
	return ResolvedImage{Reference: ref, Repository: parsed.Context().Name(), Digest: desc.Digest.String()}, nil
}

// pullLayout writes the image pinned by ref (repository@digest) into a new OCI image layout at dir, for the
// scanners, which read layouts offline. An index is resolved to the worker's platform (linux/GOARCH), the
// platform the release's Pods run on here.
func (r *Registry) pullLayout(ctx context.Context, ref, dir string) error {
	d, err := name.NewDigest(ref, name.StrictValidation)
	if err != nil {
		return invalidInput("image %q: %v; a scan pulls by digest: write registry/repository@sha256:...", ref, err)
	}
	img, err := remote.Image(d, r.options(ctx)...)
	if err != nil {
		return classifyRegistry("pull "+ref, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	if err := p.AppendImage(img); err != nil {
		return classifyRegistry("pull "+ref, err)
	}
	return nil
}

// classifyRegistry turns a registry error into a Temporal error, like classify does for the API server.
func classifyRegistry(what string, err error) error {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return fmt.Errorf("%s: %w", what, err)
	}
	msg := fmt.Sprintf("%s: %v", what, err)
	codes := map[transport.ErrorCode]bool{}
	for _, d := range terr.Errors {
		codes[d.Code] = true
	}
	switch {
	case terr.StatusCode == http.StatusNotFound || codes[transport.ManifestUnknownErrorCode] ||
		codes[transport.NameUnknownErrorCode] || codes[transport.BlobUnknownErrorCode]:
		return temporal.NewNonRetryableApplicationError(msg+"; push the image before starting the release", ErrImageNotFound, err)
	case terr.StatusCode == http.StatusUnauthorized || codes[transport.UnauthorizedErrorCode]:
		return temporal.NewNonRetryableApplicationError(msg+"; give the worker credentials for this registry (docker login as the worker's user, or $DOCKER_CONFIG)", ErrRegistryUnauthorized, err)
	case terr.StatusCode == http.StatusForbidden || codes[transport.DeniedErrorCode]:
		return temporal.NewNonRetryableApplicationError(msg, ErrForbidden, err)
	case terr.StatusCode == http.StatusBadRequest || codes[transport.NameInvalidErrorCode] || codes[transport.DigestInvalidErrorCode]:
		return temporal.NewNonRetryableApplicationError(msg, ErrInvalidInput, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Media types of the scan reports artifact. The config's media type is the artifact's type, which is how a
// registry's referrers API (and `crane`/`oras` listings) tell it apart from signatures or SBOMs.
const (
	ScanReportsArtifactType = "application/vnd.slipway.scan-reports.v1+json"
	// ComplianceReportArtifactType is the artifact type of a compliance report attached to its image.
	ComplianceReportArtifactType = "application/vnd.slipway.compliance-report.v1+json"
	reportMediaType              = "application/vnd.slipway.scan-report.v1+json"
	sarifMediaType               = "application/sarif+json"
)

// attachReports pushes the report files as one OCI artifact in the image's repository, with the image as its
// subject, and returns it as repository@digest. The artifact's content is fixed by the files, so pushing the
// same reports again is a no-op; the registry's referrers API lists it under the image's digest.
func (r *Registry) attachReports(ctx context.Context, imageRef, artifactType string, files reportFiles) (string, error) {
	d, err := name.NewDigest(imageRef, name.StrictValidation)
	if err != nil {
		return "", invalidInput("attaching reports needs the image by digest (%q): %v", imageRef, err)
	}
	subject, err := remote.Head(d, r.options(ctx)...)
	if err != nil {
		return "", classifyRegistry("attach reports to "+imageRef, err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(artifactType))
	for _, f := range files {
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:       static.NewLayer(f.data, types.MediaType(f.mediaType)),
			Annotations: map[string]string{"org.opencontainers.image.title": f.name},
		})
		if err != nil {
			return "", fmt.Errorf("scan: build the reports artifact: %w", err)
		}
	}
	artifact, ok := mutate.Subject(img, v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}).(v1.Image)
	if !ok {
		return "", fmt.Errorf("scan: build the reports artifact: not an image")
	}
	digest, err := artifact.Digest()
	if err != nil {
		return "", fmt.Errorf("scan: build the reports artifact: %w", err)
	}
	ref := d.Context().Digest(digest.String())
	if err := remote.Write(ref, artifact, r.options(ctx)...); err != nil {
		return "", classifyRegistry("push the scan reports to "+d.Context().Name(), err)
	}
	return ref.Name(), nil
}
