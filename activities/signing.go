package activities

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/internal/signing"
)

// Error types of the signing activities. All three are non-retryable: a key is fixed by an operator, not by
// waiting, and a release must never deploy a digest whose signature is missing or does not verify.
const (
	// ErrSigningKey: the key reference is malformed, names nothing the worker can read, or holds something
	// other than an unencrypted ECDSA P-256 key (the message says which, and how to make one; never the key).
	ErrSigningKey = "SigningKey"
	// ErrUnsigned: the image has no signatures at all.
	ErrUnsigned = "Unsigned"
	// ErrBadSignature: the image has signatures, but none by the given public key for this digest and
	// repository (another signer's, a corrupted one, or one copied from another image).
	ErrBadSignature = "BadSignature"
)

// SignImageInput names the image to sign and the worker-side private key to sign it with.
type SignImageInput struct {
	// Image is the image by digest: registry/repository@sha256:...
	Image string `json:"image"`
	// Key references the private key on the worker: "file:/absolute/path" or "env:VARIABLE" (holding the PEM).
	// The key itself is never part of an input, a result or an error.
	Key string `json:"key"`
}

// SignImageResult says where the signature is.
type SignImageResult struct {
	// Signature is the tag holding the image's signatures: registry/repository:sha256-HEX.sig.
	Signature string `json:"signature"`
	// AlreadySigned: the image already had a signature by this key, and nothing was written.
	AlreadySigned bool `json:"alreadySigned"`
}

// VerifyImageInput names the image to check and the public key its signature must verify with.
type VerifyImageInput struct {
	// Image is the image by digest: registry/repository@sha256:...
	Image string `json:"image"`
	// PublicKey references the public key on the worker: "file:/absolute/path" or "env:VARIABLE" (holding
	// the PEM, e.g. the contents of cosign.pub).
	PublicKey string `json:"publicKey"`
}

// VerifyImageResult names what was verified.
type VerifyImageResult struct {
	// Image is the verified image, repository@digest in canonical form.
	Image string `json:"image"`
	// Signature is the tag holding the signature that verified.
	Signature string `json:"signature"`
}

// SignImage signs the image with the key as `cosign sign --key` would, storing the signature next to the
// image (repository:sha256-HEX.sig), so `cosign verify --key cosign.pub IMAGE` accepts it. Signing an image
// that already has a signature by this key writes nothing, so retries and re-runs are safe.
//
// Errors: an image not given by digest is ErrInvalidInput; a key problem ErrSigningKey; an image missing from
// the registry ErrImageNotFound; refused credentials ErrRegistryUnauthorized or ErrForbidden (pushing the
// signature needs write access to the repository); other registry errors are retried.
func (r *Registry) SignImage(ctx context.Context, in SignImageInput) (SignImageResult, error) {
	ref, err := parseSignedImage(in.Image)
	if err != nil {
		return SignImageResult{}, err
	}
	key, err := signing.LoadPrivateKey(in.Key)
	if err != nil {
		return SignImageResult{}, classifySigning("SignImage: the key", err)
	}
	res, err := signing.Sign(ctx, ref, key, r.options(ctx)...)
	if err != nil {
		return SignImageResult{}, classifySigning("SignImage", err)
	}
	return SignImageResult{Signature: res.Signature.Name(), AlreadySigned: res.AlreadySigned}, nil
}

// VerifyImage checks that the image has a signature that verifies with the public key, for this digest and
// repository. Workflows call it before every deploy.
//
// Errors: an image not given by digest is ErrInvalidInput; a key problem ErrSigningKey; no signature
// ErrUnsigned; signatures, but none valid for this key and digest, ErrBadSignature; refused credentials
// ErrRegistryUnauthorized or ErrForbidden; other registry errors are retried.
func (r *Registry) VerifyImage(ctx context.Context, in VerifyImageInput) (VerifyImageResult, error) {
	ref, err := parseSignedImage(in.Image)
	if err != nil {
		return VerifyImageResult{}, err
	}
	pub, err := signing.LoadPublicKey(in.PublicKey)
	if err != nil {
		return VerifyImageResult{}, classifySigning("VerifyImage: the public key", err)
	}
	res, err := signing.Verify(ctx, ref, pub, r.options(ctx)...)
	if err != nil {
		return VerifyImageResult{}, classifySigning("VerifyImage", err)
	}
	return VerifyImageResult{Image: ref.Context().Name() + "@" + ref.DigestStr(), Signature: res.Signature.Name()}, nil
}

func parseSignedImage(image string) (name.Digest, error) {
	ref, err := name.NewDigest(image, name.StrictValidation)
	if err != nil {
		return name.Digest{}, invalidInput("image %q: %v; signatures are made and checked by digest: write registry/repository@sha256:...", image, err)
	}
	return ref, nil
}

// classifySigning turns an error of internal/signing into a Temporal error. The non-retryable ones are
// returned as the *temporal.ApplicationError itself: Temporal reads the type of the returned error only.
func classifySigning(what string, err error) error {
	msg := what + ": " + err.Error()
	switch {
	case errors.Is(err, signing.ErrKey):
		return temporal.NewNonRetryableApplicationError(msg, ErrSigningKey, nil)
	case errors.Is(err, signing.ErrUnsigned):
		return temporal.NewNonRetryableApplicationError(msg+"; the release signs the image it promotes before deploying it: "+
			"check that signing ran, and that the registry keeps the sha256-*.sig tag", ErrUnsigned, nil)
	case errors.Is(err, signing.ErrBadSignature):
		return temporal.NewNonRetryableApplicationError(msg+"; check that the public key is the signing key's", ErrBadSignature, nil)
	}
	return classifyRegistry(what, err)
}

// CheckSigningKeysInput names the key pair a release signs and verifies with.
type CheckSigningKeysInput struct {
	Key       string `json:"key"`
	PublicKey string `json:"publicKey"`
}

// CheckSigningKeysResult identifies the checked key without revealing it.
type CheckSigningKeysResult struct {
	// KeyID is "sha256:" and the hex SHA-256 of the public key's PKIX encoding.
	KeyID string `json:"keyID"`
}

// CheckSigningKeys reads both keys the spec names and checks that the public key is the private key's. A
// release calls it before its push stage, so a missing key or a mismatched pair stops the release before
// anything is pushed, tagged or deployed, instead of after the push (sign) or after the signature (verify).
//
// Errors: a missing, unreadable or invalid key, or a public key that is not the private key's, is a
// non-retryable ErrSigningKey. No key material appears in errors or in the result.
func (r *Registry) CheckSigningKeys(_ context.Context, in CheckSigningKeysInput) (CheckSigningKeysResult, error) {
	key, err := signing.LoadPrivateKey(in.Key)
	if err != nil {
		return CheckSigningKeysResult{}, classifySigning("image.signing.key", err)
	}
	pub, err := signing.LoadPublicKey(in.PublicKey)
	if err != nil {
		return CheckSigningKeysResult{}, classifySigning("image.signing.publicKey", err)
	}
	if !key.PublicKey.Equal(pub) {
		return CheckSigningKeysResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"image.signing.publicKey (%s) is not the public key of image.signing.key (%s): deploys would refuse every signature; name the pair's public key",
			in.PublicKey, in.Key), ErrSigningKey, nil)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return CheckSigningKeysResult{}, temporal.NewNonRetryableApplicationError("image.signing.publicKey: "+err.Error(), ErrSigningKey, nil)
	}
	sum := sha256.Sum256(der)
	return CheckSigningKeysResult{KeyID: "sha256:" + hex.EncodeToString(sum[:])}, nil
}

// UnsignImageInput names the image whose signature is withdrawn and the public key that identifies it.
type UnsignImageInput struct {
	// Image is the image by digest: registry/repository@sha256:...
	Image string `json:"image"`
	// PublicKey references the public key of the pair that signed: "file:/absolute/path" or "env:VARIABLE".
	// The signatures that verify with it for this digest are the ones removed.
	PublicKey string `json:"publicKey"`
}

// UnsignImageResult says what was removed.
type UnsignImageResult struct {
	// Removed is the number of signatures by the key that were removed; 0 if the image had none.
	Removed int `json:"removed"`
	// Deleted: no signature was left, and the signature tag (repository:sha256-HEX.sig) was deleted. False
	// with nothing left means the registry refused to delete the tag, which now holds a signature image without
	// signatures: unsigned to cosign and VerifyImage alike.
	Deleted bool `json:"deleted"`
}

// UnsignImage removes the image's signatures that verify with the public key, keeping other signers', so
// `cosign verify --key` and VerifyImage refuse the image from then on. A release whose later stages fail calls
// it to withdraw the signature SignImage added. It is idempotent: an image without such a signature (or without
// any) is left alone and Removed is 0.
//
// Errors: as VerifyImage's (ErrInvalidInput, ErrSigningKey, ErrRegistryUnauthorized, ErrForbidden; other
// registry errors are retried), except that no signature is not an error; something other than an image
// manifest at the signature tag, or one with more than 1000 layers, is ErrBadSignature.
func (r *Registry) UnsignImage(ctx context.Context, in UnsignImageInput) (UnsignImageResult, error) {
	ref, err := parseSignedImage(in.Image)
	if err != nil {
		return UnsignImageResult{}, err
	}
	pub, err := signing.LoadPublicKey(in.PublicKey)
	if err != nil {
		return UnsignImageResult{}, classifySigning("UnsignImage: the public key", err)
	}
	res, err := signing.Unsign(ctx, ref, pub, r.options(ctx)...)
	if err != nil {
		return UnsignImageResult{}, classifySigning("UnsignImage", err)
	}
	return UnsignImageResult{Removed: res.Removed, Deleted: res.Deleted}, nil
}
