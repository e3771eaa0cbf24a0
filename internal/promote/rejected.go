package promote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/vektagraf/slipway/internal/oci"
)

const (
	// RejectedArtifactType is the artifact type (and config media type) of the marker MarkRejected pushes.
	// The registry's referrers API reports it, so `oras discover` or `crane` can filter on it.
	RejectedArtifactType = "application/vnd.slipway.rejected.v1+json"
	// ReasonAnnotation holds the reason on the marker's manifest (and on its entry in the referrers list).
	ReasonAnnotation = "dev.slipway.rejected.reason"
	// MaxReasonBytes is the longest reason kept; a longer one is cut at a character boundary and ends in "…".
	MaxReasonBytes = 1024
	// RejectedTagSuffix ends the marker's tag, sha256-<hex>.rejected, next to cosign's sha256-<hex>.sig.
	RejectedTagSuffix = ".rejected"
)

// emptyJSON is the OCI empty descriptor's content, the one layer of an artifact without files.
var emptyJSON = []byte("{}")

// RejectedTag is the tag of the marker of digest: "sha256-<hex>.rejected".
func RejectedTag(digest v1.Hash) string {
	return digest.Algorithm + "-" + digest.Hex + RejectedTagSuffix
}

// TruncateReason cuts reason to MaxReasonBytes at a character boundary (invalid UTF-8 is replaced first).
func TruncateReason(reason string) string {
	reason = strings.ToValidUTF8(reason, "\uFFFD")
	if len(reason) <= MaxReasonBytes {
		return reason
	}
	const ellipsis = "…"
	cut := MaxReasonBytes - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut] + ellipsis
}

type rawManifest struct {
	raw []byte
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// rejectedConfig is the marker's config blob.
type rejectedConfig struct {
	Reason string `json:"reason"`
}

// MarkRejected records that image must not be released: it pushes, in the image's repository, a small OCI
// artifact (type RejectedArtifactType) whose subject is the image and whose annotation ReasonAnnotation holds
// the reason (cut to MaxReasonBytes), and tags it RejectedTag(digest) so a tag listing shows it too. The
// registry's referrers API (remote.Referrers) lists it under the image's digest. The artifact holds no time, so
// the same image and reason always give the same artifact, and marking twice writes nothing new. It returns the
// marker as repository@digest.
func MarkRejected(ctx context.Context, image name.Digest, reason string, opts ...remote.Option) (string, error) {
	opts = withContext(ctx, opts)
	if strings.TrimSpace(reason) == "" {
		return "", fmt.Errorf("mark %s rejected: the reason is empty; say why the release failed", image)
	}
	reason = TruncateReason(reason)
	repo := image.Context()
	subject, err := describe(image, opts...)
	if err != nil {
		return "", fmt.Errorf("mark %s rejected: %w", image, err)
	}

	cfg, err := json.Marshal(rejectedConfig{Reason: reason})
	if err != nil {
		return "", err
	}
	cfgLayer := static.NewLayer(cfg, RejectedArtifactType)
	emptyLayer := static.NewLayer(emptyJSON, types.MediaType("application/vnd.oci.empty.v1+json"))
	manifest := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  RejectedArtifactType,
		Config:        layerDescriptor(cfgLayer, cfg),
		Layers:        []v1.Descriptor{layerDescriptor(emptyLayer, emptyJSON)},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   map[string]string{ReasonAnnotation: reason},
	}
	raw, err := json.Marshal(manifest)
	if err != nil {
		return "", err
	}
	digest, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	marker := repo.Digest(digest.String())
	tag := repo.Tag(RejectedTag(subject.Digest))

	if _, err := describe(marker, opts...); oci.IsNotFound(err) {
		for _, l := range []v1.Layer{cfgLayer, emptyLayer} {
			if err := remote.WriteLayer(repo, l, opts...); err != nil {
				return "", fmt.Errorf("mark %s rejected: push a blob: %w", image, err)
			}
		}
		if err := remote.Put(marker, rawManifest{raw}, opts...); err != nil {
			return "", fmt.Errorf("mark %s rejected: push the marker: %w", image, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("mark %s rejected: look for %s: %w", image, marker, err)
	}
	if cur, err := TagDigest(ctx, repo, tag.TagStr(), opts...); err != nil {
		return "", fmt.Errorf("mark %s rejected: %w", image, err)
	} else if cur == nil || *cur != digest {
		if err := remote.Put(tag, rawManifest{raw}, opts...); err != nil {
			return "", fmt.Errorf("mark %s rejected: tag the marker %s: %w", image, tag, err)
		}
	}
	return marker.Name(), nil
}

func layerDescriptor(l v1.Layer, content []byte) v1.Descriptor {
	d, _ := l.Digest() // static layers cannot fail
	mt, _ := l.MediaType()
	return v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(content))}
}

// IsRejected reports whether image has a rejection marker, and its reason: first through the marker's tag
// (RejectedTag), which works on every registry, then through the referrers API (with go-containerregistry's
// fallback to the referrers tag scheme). With several markers (MarkRejected called with different reasons),
// the tagged one wins, else the one with the smallest digest.
func IsRejected(ctx context.Context, image name.Digest, opts ...remote.Option) (bool, string, error) {
	opts = withContext(ctx, opts)
	repo := image.Context()
	h, err := v1.NewHash(image.DigestStr())
	if err != nil {
		return false, "", fmt.Errorf("image %s: %w", image, err)
	}
	m, err := remote.Get(repo.Tag(RejectedTag(h)), opts...)
	switch {
	case err == nil:
		if reason, ok := markerReason(m.Manifest, h); ok {
			return true, reason, nil
		}
	case !oci.IsNotFound(err):
		return false, "", fmt.Errorf("read the rejection tag of %s: %w", image, err)
	}

	idx, err := remote.Referrers(image, opts...)
	if err != nil {
		return false, "", fmt.Errorf("list the referrers of %s: %w", image, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return false, "", fmt.Errorf("list the referrers of %s: %w", image, err)
	}
	var markers []v1.Descriptor
	for _, d := range im.Manifests {
		if d.ArtifactType == RejectedArtifactType {
			markers = append(markers, d)
		}
	}
	if len(markers) == 0 {
		return false, "", nil
	}
	sort.Slice(markers, func(i, j int) bool { return markers[i].Digest.String() < markers[j].Digest.String() })
	if reason, ok := markers[0].Annotations[ReasonAnnotation]; ok {
		return true, reason, nil
	}
	// The registry did not copy the annotations into the referrers list: read the marker itself.
	got, err := remote.Get(repo.Digest(markers[0].Digest.String()), opts...)
	if err != nil {
		return true, "", fmt.Errorf("read the rejection marker of %s: %w", image, err)
	}
	reason, _ := markerReason(got.Manifest, h)
	return true, reason, nil
}

// markerReason reads a marker manifest: its reason, and whether it is a rejection marker of subject.
func markerReason(raw []byte, subject v1.Hash) (string, bool) {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil || m.Subject == nil || m.Subject.Digest != subject {
		return "", false
	}
	if m.ArtifactType != RejectedArtifactType && string(m.Config.MediaType) != RejectedArtifactType {
		return "", false
	}
	return m.Annotations[ReasonAnnotation], true
}
