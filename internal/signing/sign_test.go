package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
)

// newRegistry starts go-containerregistry's registry on loopback and returns its host:port.
func newRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushRandom pushes a random image to host/repo:latest and returns it by digest.
func pushRandom(t *testing.T, host, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(128, 1)
	require.NoError(t, err)
	tag, err := name.NewTag(host + "/" + repo + ":latest")
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, img))
	d, err := img.Digest()
	require.NoError(t, err)
	ref, err := name.NewDigest(host + "/" + repo + "@" + d.String())
	require.NoError(t, err)
	return ref
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	priv, _, err := GenerateKey()
	require.NoError(t, err)
	key, err := LoadPrivateKey("env:" + setEnv(t, priv))
	require.NoError(t, err)
	return key
}

var envN int

// setEnv puts value in a fresh environment variable for the test and returns its name.
func setEnv(t *testing.T, value []byte) string {
	t.Helper()
	envN++
	n := fmt.Sprintf("SLIPWAY_SIGNING_TEST_%d", envN)
	t.Setenv(n, string(value))
	return n
}

// layers returns the signature image's layer descriptors.
func layers(t *testing.T, tag name.Tag) []map[string]string {
	t.Helper()
	img, err := remote.Image(tag)
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	var out []map[string]string
	for _, l := range m.Layers {
		require.Equal(t, types.MediaType(PayloadMediaType), l.MediaType)
		out = append(out, l.Annotations)
	}
	return out
}

func TestPayloadIsCosignsSimpleSigningFormat(t *testing.T) {
	ref, err := name.NewDigest("registry.example.com/team/app@sha256:" + strings.Repeat("ab", 32))
	require.NoError(t, err)
	p, err := Payload(ref)
	require.NoError(t, err)
	require.Equal(t, `{"critical":{"identity":{"docker-reference":"registry.example.com/team/app"},`+
		`"image":{"docker-manifest-digest":"sha256:`+strings.Repeat("ab", 32)+`"},`+
		`"type":"cosign container image signature"},"optional":null}`, string(p))

	// Docker Hub short names are written in canonical form, as cosign writes them.
	ref, err = name.NewDigest("nginx@sha256:" + strings.Repeat("cd", 32))
	require.NoError(t, err)
	p, err = Payload(ref)
	require.NoError(t, err)
	require.Contains(t, string(p), `"docker-reference":"index.docker.io/library/nginx"`)

	tag, err := SignatureTag(ref)
	require.NoError(t, err)
	require.Equal(t, "index.docker.io/library/nginx:sha256-"+strings.Repeat("cd", 32)+".sig", tag.Name())
}

func TestSignThenVerify(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	key := newKey(t)

	res, err := Sign(ctx, ref, key)
	require.NoError(t, err)
	require.False(t, res.AlreadySigned)
	require.Equal(t, host+"/team/app:sha256-"+strings.TrimPrefix(ref.DigestStr(), "sha256:")+".sig", res.Signature.Name())

	// The stored form: an OCI image manifest, one simple-signing layer holding the payload, the signature in
	// the layer's annotation.
	img, err := remote.Image(res.Signature)
	require.NoError(t, err)
	mt, err := img.MediaType()
	require.NoError(t, err)
	require.Equal(t, types.OCIManifestSchema1, mt)
	d, err := img.Digest()
	require.NoError(t, err)
	require.Equal(t, res.Digest, d)
	ls, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, ls, 1)
	rc, err := ls[0].Compressed()
	require.NoError(t, err)
	body, err := io.ReadAll(rc)
	require.NoError(t, err)
	want, err := Payload(ref)
	require.NoError(t, err)
	require.Equal(t, string(want), string(body))
	ann := layers(t, res.Signature)[0]
	sig, err := base64.StdEncoding.DecodeString(ann[SignatureAnnotation])
	require.NoError(t, err)
	h := sha256.Sum256(body)
	require.True(t, ecdsa.VerifyASN1(&key.PublicKey, h[:], sig))

	v, err := Verify(ctx, ref, &key.PublicKey)
	require.NoError(t, err)
	require.Equal(t, res.Signature, v.Signature)
	require.Equal(t, res.Digest, v.Digest)
}

func TestVerifyWithAnotherKey(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	_, err := Sign(ctx, ref, newKey(t))
	require.NoError(t, err)
	_, err = Verify(ctx, ref, &newKey(t).PublicKey)
	require.ErrorIs(t, err, ErrBadSignature)
	require.NotErrorIs(t, err, ErrUnsigned)
	require.ErrorContains(t, err, "none of the 1 signatures")
}

func TestVerifyUnsigned(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	_, err := Verify(ctx, ref, &newKey(t).PublicKey)
	require.ErrorIs(t, err, ErrUnsigned)
	require.NotErrorIs(t, err, ErrBadSignature)

	// A signature image without layers is no signature either.
	tag, err := SignatureTag(ref)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, mutate.MediaType(empty.Image, types.OCIManifestSchema1)))
	_, err = Verify(ctx, ref, &newKey(t).PublicKey)
	require.ErrorIs(t, err, ErrUnsigned)

	// An image that does not exist is unsigned too (no signature tag), and cannot be signed.
	missing, err := name.NewDigest(host + "/team/app@sha256:" + strings.Repeat("0", 64))
	require.NoError(t, err)
	_, err = Verify(ctx, missing, &newKey(t).PublicKey)
	require.ErrorIs(t, err, ErrUnsigned)
	_, err = Sign(ctx, missing, newKey(t))
	var terr *transport.Error
	require.ErrorAs(t, err, &terr)
	require.Equal(t, 404, terr.StatusCode)
}

func TestSignIsIdempotentAndKeepsOtherSigners(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	first, second := newKey(t), newKey(t)

	a, err := Sign(ctx, ref, first)
	require.NoError(t, err)
	again, err := Sign(ctx, ref, first)
	require.NoError(t, err)
	require.True(t, again.AlreadySigned)
	require.Equal(t, a.Digest, again.Digest, "nothing was written")
	require.Len(t, layers(t, a.Signature), 1)

	b, err := Sign(ctx, ref, second)
	require.NoError(t, err)
	require.False(t, b.AlreadySigned)
	require.NotEqual(t, a.Digest, b.Digest)
	require.Len(t, layers(t, a.Signature), 2, "the second signer's layer is appended")
	for _, k := range []*ecdsa.PrivateKey{first, second} {
		_, err := Verify(ctx, ref, &k.PublicKey)
		require.NoError(t, err)
		res, err := Sign(ctx, ref, k)
		require.NoError(t, err)
		require.True(t, res.AlreadySigned)
	}
	require.Len(t, layers(t, a.Signature), 2)
}

// A valid signature of image A, copied to B's signature tag, is no signature of B: the payload names A.
func TestVerifyRejectsASignatureOfAnotherDigest(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	a := pushRandom(t, host, "team/app")
	b := pushRandom(t, host, "team/app")
	key := newKey(t)
	res, err := Sign(ctx, a, key)
	require.NoError(t, err)
	sigA, err := remote.Image(res.Signature)
	require.NoError(t, err)
	tagB, err := SignatureTag(b)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tagB, sigA))

	_, err = Verify(ctx, b, &key.PublicKey)
	require.ErrorIs(t, err, ErrBadSignature)
	require.ErrorContains(t, err, a.DigestStr())
	_, err = Verify(ctx, a, &key.PublicKey)
	require.NoError(t, err)
}

// A payload for the right digest but another repository is refused too.
func TestVerifyRejectsAnotherRepository(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	key := newKey(t)
	other, err := name.NewDigest(host + "/team/other@" + ref.DigestStr())
	require.NoError(t, err)
	body, err := Payload(other)
	require.NoError(t, err)
	h := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	require.NoError(t, err)
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       static.NewLayer(body, PayloadMediaType),
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	require.NoError(t, err)
	tag, err := SignatureTag(ref)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, img))

	_, err = Verify(ctx, ref, &key.PublicKey)
	require.ErrorIs(t, err, ErrBadSignature)
	require.ErrorContains(t, err, host+"/team/other@")

	// Signing appends a correct signature; then it verifies.
	res, err := Sign(ctx, ref, key)
	require.NoError(t, err)
	require.False(t, res.AlreadySigned)
	_, err = Verify(ctx, ref, &key.PublicKey)
	require.NoError(t, err)
}

// Layers that are not signatures (no annotation, garbage base64, garbage payload) are skipped, not fatal.
func TestVerifySkipsMalformedLayers(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	key := newKey(t)
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer([]byte("{}"), PayloadMediaType)},
		mutate.Addendum{Layer: static.NewLayer([]byte("not json"), PayloadMediaType), Annotations: map[string]string{SignatureAnnotation: "!!"}},
	)
	require.NoError(t, err)
	tag, err := SignatureTag(ref)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, img))
	_, err = Verify(ctx, ref, &key.PublicKey)
	require.ErrorIs(t, err, ErrBadSignature)

	_, err = Sign(ctx, ref, key)
	require.NoError(t, err)
	require.Len(t, layers(t, tag), 3)
	_, err = Verify(ctx, ref, &key.PublicKey)
	require.NoError(t, err)
}

func TestSignHonoursTheContext(t *testing.T) {
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Sign(ctx, ref, newKey(t))
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	_, err = Verify(ctx, ref, &newKey(t).PublicKey)
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
}
