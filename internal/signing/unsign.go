package signing

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/vektagraf/slipway/internal/oci"
)

// UnsignResult says what Unsign changed.
type UnsignResult struct {
	// Removed is the number of signature layers by the key that were removed (0 if there were none).
	Removed int
	// Deleted: no layer was left, and the signature tag was deleted. It is false when the registry refused to
	// delete the tag: the tag then holds a signature image without layers, which cosign and Verify treat as
	// unsigned.
	Deleted bool
}

// Unsign removes ref's signatures by pub from its signature image, so neither Verify nor
// `cosign verify --key` accepts ref with that key any more. It undoes Sign: a release whose later stages fail
// calls it to withdraw the signature it added. It takes the public key because what identifies "our"
// signature is that it verifies with it.
//
// A layer is removed when its annotation is a valid signature by pub of its payload and the payload names ref's
// digest, whatever repository it names (cosign verify checks the digest, not the docker-reference). Every other
// layer (other signers', malformed ones, signatures by pub of other digests) is kept, in order, with its
// descriptor (media type, digest, annotations) unchanged: the manifest is rewritten with those layers'
// descriptors only, its other fields as they were, so no blob is pushed.
//
// When no layer is left, the tag is deleted (DELETE of the tag's manifest reference). Registries that refuse to
// delete tags (405 or UNSUPPORTED, as deletes-disabled or digest-only registries answer, 400, or 403/DENIED for
// credentials that may push but not delete) get a signature image without layers in the tag instead, which is
// as unsigned to cosign and Verify; Deleted is then false. Unsign never deletes by digest: identical signature
// manifests (an emptied one, a copied one) may be tagged for other images too.
//
// It is idempotent: an image without a signature tag, or without signatures by pub, is left alone (Removed 0,
// no error). Registries have no compare-and-swap for tags; the signature image is read again after each
// write, and removal repeats if a concurrent signer put a signature by pub back. A concurrent signer using
// another key may have to sign again (Sign does, when its read-back misses its layer).
//
// Errors: an index or a signature image with more than 1000 layers at the tag wraps ErrBadSignature (cosign
// refuses it too); registry errors are returned wrapped (errors.As finds the *transport.Error).
func Unsign(ctx context.Context, ref name.Digest, pub *ecdsa.PublicKey, opts ...remote.Option) (UnsignResult, error) {
	if pub == nil {
		return UnsignResult{}, fmt.Errorf("unsign %s: %w", ref, &KeyError{Reason: "no public key"})
	}
	tag, err := SignatureTag(ref)
	if err != nil {
		return UnsignResult{}, err
	}
	opts = append(append([]remote.Option(nil), opts...), remote.WithContext(ctx))

	var res UnsignResult
	const rounds = 3
	for round := 1; ; round++ {
		img, _, err := readSignatures(tag, opts)
		if err != nil {
			return res, fmt.Errorf("unsign %s: %w", ref, err)
		}
		if img == nil {
			return res, nil
		}
		// The tag exists (again): whatever a previous round did, it was not the last word.
		res.Deleted = false
		raw, removed, left, err := withoutSignatures(img, ref, pub)
		if err != nil {
			return res, fmt.Errorf("unsign %s: read %s: %w", ref, tag, err)
		}
		if removed == 0 {
			return res, nil
		}
		if round > rounds {
			return res, fmt.Errorf("unsign %s: a signature by this key was put back in %s by another writer %d times", ref, tag, rounds)
		}
		res.Removed += removed
		if left == 0 {
			err := remote.Delete(tag, opts...)
			switch {
			case err == nil, oci.IsNotFound(err):
				res.Deleted = true
				continue
			case !refusesDelete(err):
				return res, fmt.Errorf("unsign %s: delete %s: %w", ref, tag, err)
			}
			// Deletion refused: write the image without layers.
		}
		if err := remote.Put(tag, raw, opts...); err != nil {
			return res, fmt.Errorf("unsign %s: push %s: %w", ref, tag, err)
		}
	}
}

// rawManifest is a manifest to put as is.
type rawManifest struct {
	body      []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// withoutSignatures returns img's manifest without the layers signed by pub for ref, how many it dropped, and
// how many are left. The other top-level fields and the kept layers' descriptors are kept as they are.
func withoutSignatures(img v1.Image, ref name.Digest, pub *ecdsa.PublicKey) (rawManifest, int, int, error) {
	m, err := img.Manifest()
	if err != nil {
		return rawManifest{}, 0, 0, err
	}
	if len(m.Layers) > maxLayers {
		return rawManifest{}, 0, 0, fmt.Errorf("%w: %d signature layers, more than the %d accepted", ErrBadSignature, len(m.Layers), maxLayers)
	}
	body, err := img.RawManifest()
	if err != nil {
		return rawManifest{}, 0, 0, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return rawManifest{}, 0, 0, err
	}
	var top map[string]json.RawMessage
	var layers []json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return rawManifest{}, 0, 0, err
	}
	if l, ok := top["layers"]; ok && string(l) != "null" {
		if err := json.Unmarshal(l, &layers); err != nil {
			return rawManifest{}, 0, 0, err
		}
	}
	if len(layers) != len(m.Layers) {
		return rawManifest{}, 0, 0, fmt.Errorf("%w: the manifest's layers do not parse", ErrBadSignature)
	}
	kept := make([]json.RawMessage, 0, len(layers))
	for i, l := range m.Layers {
		p, err := signedPayload(img, l, pub)
		if err != nil {
			return rawManifest{}, 0, 0, err
		}
		if p != nil && p.Critical.Image.DockerManifestDigest == ref.DigestStr() {
			continue
		}
		kept = append(kept, layers[i])
	}
	removed := len(layers) - len(kept)
	if removed == 0 {
		return rawManifest{}, 0, len(kept), nil
	}
	if top["layers"], err = json.Marshal(kept); err != nil {
		return rawManifest{}, 0, 0, err
	}
	if body, err = json.Marshal(top); err != nil {
		return rawManifest{}, 0, 0, err
	}
	return rawManifest{body: body, mediaType: mt}, removed, len(kept), nil
}

// refusesDelete reports whether err is a registry refusing to delete a tag (rather than failing to).
func refusesDelete(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	switch terr.StatusCode {
	case http.StatusMethodNotAllowed, http.StatusBadRequest, http.StatusForbidden:
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.UnsupportedErrorCode || d.Code == transport.DeniedErrorCode {
			return true
		}
	}
	return false
}
