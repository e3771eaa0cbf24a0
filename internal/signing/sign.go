package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/vektagraf/slipway/internal/oci"
)

// The storage format, as cosign writes and reads it (cosign's specs/SIGNATURE_SPEC.md): the signatures of
// REPO@sha256:HEX are the layers of an OCI image manifest tagged REPO:sha256-HEX.sig. Each layer's blob is a
// simple-signing payload naming the digest; the layer's SignatureAnnotation holds the base64 ASN.1 ECDSA
// signature of the SHA-256 of that blob.
const (
	// PayloadMediaType is the media type of a signature layer (cosign's simple signing payload).
	PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds a layer's signature, base64 (standard encoding).
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// PayloadType is the value of critical.type in a payload.
	PayloadType = "cosign container image signature"
	// SignatureTagSuffix ends the tag that holds an image's signatures.
	SignatureTagSuffix = ".sig"
)

// Limits on what Verify reads from a registry, so a hostile signature image cannot exhaust the worker.
// cosign refuses more than 1000 signature layers too.
const (
	maxLayers      = 1000
	maxPayloadSize = 1 << 20
)

var (
	// ErrUnsigned: the image has no signatures at all (no signature tag, or one without layers).
	ErrUnsigned = errors.New("image is not signed")
	// ErrBadSignature: the image has signatures, but none is by the key for this digest.
	ErrBadSignature = errors.New("no valid signature")
)

// SignResult says where the signature is.
type SignResult struct {
	// Signature is the tag holding the image's signatures (REPO:sha256-HEX.sig).
	Signature name.Tag
	// Digest is the digest of the signature manifest the tag points at afterwards.
	Digest v1.Hash
	// AlreadySigned: the tag already held a valid signature by this key for this digest; nothing was written.
	AlreadySigned bool
}

// VerifyResult says which signature verified.
type VerifyResult struct {
	// Signature is the tag holding the image's signatures (REPO:sha256-HEX.sig).
	Signature name.Tag
	// Digest is the digest of the signature manifest that was read.
	Digest v1.Hash
	// Layer is the digest of the layer (payload) whose signature verified.
	Layer v1.Hash
}

// SignatureTag returns the tag that holds ref's signatures: REPO:sha256-HEX.sig.
func SignatureTag(ref name.Digest) (name.Tag, error) {
	h, err := v1.NewHash(ref.DigestStr())
	if err != nil {
		return name.Tag{}, fmt.Errorf("signature tag of %s: %w", ref, err)
	}
	return ref.Context().Tag(h.Algorithm + "-" + h.Hex + SignatureTagSuffix), nil
}

// payload is cosign's simple signing payload. The field order is cosign's (it marshals the same structs), so
// Slipway's payload for a digest is byte for byte the one `cosign sign` writes without annotations.
type payload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// Payload returns the simple signing payload Slipway signs for ref:
//
//	{"critical":{"identity":{"docker-reference":"REPO"},"image":{"docker-manifest-digest":"sha256:HEX"},
//	 "type":"cosign container image signature"},"optional":null}
//
// REPO is the repository in canonical form (ref.Context().Name()), as cosign writes it.
func Payload(ref name.Digest) ([]byte, error) {
	if _, err := v1.NewHash(ref.DigestStr()); err != nil {
		return nil, fmt.Errorf("payload for %s: %w", ref, err)
	}
	var p payload
	p.Critical.Identity.DockerReference = ref.Context().Name()
	p.Critical.Image.DockerManifestDigest = ref.DigestStr()
	p.Critical.Type = PayloadType
	return json.Marshal(p)
}

// Sign signs ref with key and stores the signature as cosign does, next to the image in its repository.
//
// It is idempotent: if the signature tag already holds a signature that verifies with key's public key for
// ref, nothing is written (ECDSA signatures are randomized, so signing again would add a duplicate). Otherwise
// the signature is appended as a new layer of the existing signature image, keeping other signers' layers.
// The image itself must exist in the registry.
//
// Registry errors are returned wrapped (errors.As finds the *transport.Error).
func Sign(ctx context.Context, ref name.Digest, key *ecdsa.PrivateKey, opts ...remote.Option) (SignResult, error) {
	if key == nil {
		return SignResult{}, fmt.Errorf("sign %s: %w", ref, &KeyError{Reason: "no private key"})
	}
	tag, err := SignatureTag(ref)
	if err != nil {
		return SignResult{}, err
	}
	opts = append(append([]remote.Option(nil), opts...), remote.WithContext(ctx))
	if _, err := remote.Head(ref, opts...); err != nil {
		return SignResult{}, fmt.Errorf("sign %s: look up the image: %w", ref, err)
	}
	body, err := Payload(ref)
	if err != nil {
		return SignResult{}, err
	}

	// Registries have no compare-and-swap for tags: a concurrent signer may replace the signature image with
	// one that lacks this layer. Reading it back after the write tells; the next round appends again.
	const rounds = 3
	for round := 1; ; round++ {
		existing, desc, err := readSignatures(tag, opts)
		if err != nil {
			return SignResult{}, fmt.Errorf("sign %s: %w", ref, err)
		}
		if existing != nil {
			found, err := findValid(existing, ref, &key.PublicKey)
			if err != nil {
				return SignResult{}, fmt.Errorf("sign %s: read %s: %w", ref, tag, err)
			}
			if found.ok {
				return SignResult{Signature: tag, Digest: desc.Digest, AlreadySigned: round == 1}, nil
			}
		}
		if round > rounds {
			return SignResult{}, fmt.Errorf("sign %s: the signature written to %s was replaced by another writer %d times", ref, tag, rounds)
		}
		base := existing
		if base == nil {
			base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		}
		digest := sha256.Sum256(body)
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			return SignResult{}, fmt.Errorf("sign %s: %w", ref, err)
		}
		img, err := mutate.Append(base, mutate.Addendum{
			Layer:       static.NewLayer(body, PayloadMediaType),
			Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
		})
		if err != nil {
			return SignResult{}, fmt.Errorf("sign %s: build the signature image: %w", ref, err)
		}
		if err := remote.Write(tag, img, opts...); err != nil {
			return SignResult{}, fmt.Errorf("sign %s: push %s: %w", ref, tag, err)
		}
	}
}

// Verify checks that ref has a signature by pub: a layer of its signature image whose annotation is a valid
// signature by pub of the layer's payload, and whose payload names ref's digest and repository.
//
// Errors: ErrUnsigned if there are no signatures; ErrBadSignature if there are, but none by pub for ref (check
// with errors.Is). Registry errors are returned wrapped (errors.As finds the *transport.Error).
func Verify(ctx context.Context, ref name.Digest, pub *ecdsa.PublicKey, opts ...remote.Option) (VerifyResult, error) {
	if pub == nil {
		return VerifyResult{}, fmt.Errorf("verify %s: %w", ref, &KeyError{Reason: "no public key"})
	}
	tag, err := SignatureTag(ref)
	if err != nil {
		return VerifyResult{}, err
	}
	opts = append(append([]remote.Option(nil), opts...), remote.WithContext(ctx))
	img, desc, err := readSignatures(tag, opts)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify %s: %w", ref, err)
	}
	if img == nil {
		return VerifyResult{}, fmt.Errorf("verify %s: %w: no signature tag %s", ref, ErrUnsigned, tag.TagStr())
	}
	found, err := findValid(img, ref, pub)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify %s: read %s: %w", ref, tag, err)
	}
	switch {
	case found.ok:
		return VerifyResult{Signature: tag, Digest: desc.Digest, Layer: found.layer}, nil
	case found.layers == 0:
		return VerifyResult{}, fmt.Errorf("verify %s: %w: the signature image %s has no layers", ref, ErrUnsigned, tag.TagStr())
	case found.mismatch != "":
		return VerifyResult{}, fmt.Errorf("verify %s: %w: a signature by this key is for %s, not for this image", ref, ErrBadSignature, found.mismatch)
	}
	return VerifyResult{}, fmt.Errorf("verify %s: %w: none of the %d signatures in %s is by this key", ref, ErrBadSignature, found.layers, tag.TagStr())
}

// readSignatures fetches the signature image tag points at; a nil image (and no error) means there is none.
func readSignatures(tag name.Tag, opts []remote.Option) (v1.Image, *remote.Descriptor, error) {
	desc, err := remote.Get(tag, opts...)
	if err != nil {
		if oci.IsNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("read %s: %w", tag, err)
	}
	if !desc.MediaType.IsImage() {
		return nil, nil, fmt.Errorf("read %s: %w: it is a %s, not an image manifest", tag, ErrBadSignature, desc.MediaType)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", tag, err)
	}
	return img, desc, nil
}

// found is what findValid saw.
type found struct {
	ok       bool
	layer    v1.Hash
	layers   int
	mismatch string // the digest a signature by this key covers instead, if any
}

// findValid looks for a layer of img signed by pub for ref. Only registry errors are returned; a layer that
// is malformed or signed by someone else is skipped.
func findValid(img v1.Image, ref name.Digest, pub *ecdsa.PublicKey) (found, error) {
	m, err := img.Manifest()
	if err != nil {
		return found{}, err
	}
	f := found{layers: len(m.Layers)}
	if len(m.Layers) > maxLayers {
		return f, fmt.Errorf("%w: %d signature layers, more than the %d accepted", ErrBadSignature, len(m.Layers), maxLayers)
	}
	for _, l := range m.Layers {
		p, err := signedPayload(img, l, pub)
		if err != nil {
			return f, err
		}
		if p == nil || p.Critical.Type != PayloadType {
			continue
		}
		if p.Critical.Image.DockerManifestDigest != ref.DigestStr() {
			f.mismatch = p.Critical.Image.DockerManifestDigest
			continue
		}
		if !sameRepository(p.Critical.Identity.DockerReference, ref.Context()) {
			f.mismatch = p.Critical.Identity.DockerReference + "@" + p.Critical.Image.DockerManifestDigest
			continue
		}
		f.ok, f.layer = true, l.Digest
		return f, nil
	}
	return f, nil
}

// signedPayload returns the payload of layer l of img if the layer's annotation is a valid signature by pub of
// it and it parses as a simple signing payload, and nil otherwise. Only registry errors are returned; a layer
// that is malformed, corrupt, missing or signed by someone else gives nil.
func signedPayload(img v1.Image, l v1.Descriptor, pub *ecdsa.PublicKey) (*payload, error) {
	b64, ok := l.Annotations[SignatureAnnotation]
	if !ok || l.Size > maxPayloadSize {
		return nil, nil
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, nil
	}
	body, err := readLayer(img, l)
	if err != nil && (errors.Is(err, errCorruptLayer) || oci.IsNotFound(err) || strings.HasPrefix(err.Error(), "error verifying")) {
		// Another signer's missing or corrupt blob (go-containerregistry's digest and size checks say
		// "error verifying ...") must not hide a good signature. Other errors (network, auth) are returned:
		// they are not a verdict on the signature.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return nil, nil
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, nil
	}
	return &p, nil
}

var errCorruptLayer = errors.New("the blob does not match its digest")

// readLayer returns a signature layer's blob (as stored, which is what was signed), checked against its digest.
func readLayer(img v1.Image, desc v1.Descriptor) ([]byte, error) {
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return nil, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, maxPayloadSize+1))
	if err != nil {
		return nil, err
	}
	if h := sha256.Sum256(body); desc.Digest.Algorithm != "sha256" || hex.EncodeToString(h[:]) != desc.Digest.Hex {
		return nil, errCorruptLayer
	}
	return body, nil
}

// sameRepository reports whether a payload's docker-reference (a repository, or a tag or digest reference in
// it, as `cosign sign --sign-container-identity` may write) names repo.
func sameRepository(dockerReference string, repo name.Repository) bool {
	if dockerReference == "" || strings.TrimSpace(dockerReference) != dockerReference {
		return false
	}
	parsed, err := name.ParseReference(dockerReference)
	if err != nil {
		return false
	}
	return parsed.Context().Name() == repo.Name()
}
