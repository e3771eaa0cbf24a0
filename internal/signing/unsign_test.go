package signing

import (
	"context"
	"crypto/ecdsa"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/oci"
)

// requireNoTag asserts the tag does not exist.
func requireNoTag(t *testing.T, tag name.Tag) {
	t.Helper()
	_, err := remote.Head(tag)
	require.True(t, oci.IsNotFound(err), "%s still exists (%v)", tag, err)
}

func TestUnsignRemovesTheOnlySignatureAndTheTag(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	key := newKey(t)
	signed, err := Sign(ctx, ref, key)
	require.NoError(t, err)

	res, err := Unsign(ctx, ref, &key.PublicKey)
	require.NoError(t, err)
	require.Equal(t, UnsignResult{Removed: 1, Deleted: true}, res)
	requireNoTag(t, signed.Signature)
	_, err = Verify(ctx, ref, &key.PublicKey)
	require.ErrorIs(t, err, ErrUnsigned)

	// Idempotent: nothing left to remove.
	again, err := Unsign(ctx, ref, &key.PublicKey)
	require.NoError(t, err)
	require.Equal(t, UnsignResult{}, again)

	// Signing again works after unsigning.
	res2, err := Sign(ctx, ref, key)
	require.NoError(t, err)
	require.False(t, res2.AlreadySigned)
	_, err = Verify(ctx, ref, &key.PublicKey)
	require.NoError(t, err)
}

func TestUnsignKeepsOtherSigners(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	a, b, c := newKey(t), newKey(t), newKey(t)
	for _, k := range []*ecdsa.PrivateKey{b, a, c} {
		_, err := Sign(ctx, ref, k)
		require.NoError(t, err)
	}
	tag, err := SignatureTag(ref)
	require.NoError(t, err)
	before := layers(t, tag)
	require.Len(t, before, 3)

	res, err := Unsign(ctx, ref, &a.PublicKey)
	require.NoError(t, err)
	require.Equal(t, UnsignResult{Removed: 1}, res)

	_, err = Verify(ctx, ref, &a.PublicKey)
	require.ErrorIs(t, err, ErrBadSignature)
	require.ErrorContains(t, err, "none of the 2 signatures")
	for _, k := range []*ecdsa.PrivateKey{b, c} {
		_, err := Verify(ctx, ref, &k.PublicKey)
		require.NoError(t, err)
	}
	// The others' layers, in order, with their annotations.
	require.Equal(t, []map[string]string{before[0], before[2]}, layers(t, tag))
	img, err := remote.Image(tag)
	require.NoError(t, err)
	mt, err := img.MediaType()
	require.NoError(t, err)
	require.Equal(t, types.OCIManifestSchema1, mt)
	cfg, err := img.Manifest()
	require.NoError(t, err)
	require.Equal(t, types.OCIConfigJSON, cfg.Config.MediaType)

	again, err := Unsign(ctx, ref, &a.PublicKey)
	require.NoError(t, err)
	require.Zero(t, again.Removed)
	require.Len(t, layers(t, tag), 2)
}

func TestUnsignUnsigned(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	key := newKey(t)
	res, err := Unsign(ctx, ref, &key.PublicKey)
	require.NoError(t, err)
	require.Equal(t, UnsignResult{}, res)

	// Only other signers: nothing removed, nothing written.
	_, err = Sign(ctx, ref, newKey(t))
	require.NoError(t, err)
	tag, err := SignatureTag(ref)
	require.NoError(t, err)
	before, err := remote.Head(tag)
	require.NoError(t, err)
	res, err = Unsign(ctx, ref, &key.PublicKey)
	require.NoError(t, err)
	require.Equal(t, UnsignResult{}, res)
	after, err := remote.Head(tag)
	require.NoError(t, err)
	require.Equal(t, before.Digest, after.Digest)

	_, err = Unsign(ctx, ref, nil)
	require.ErrorIs(t, err, ErrKey)
}

// Layers that are not signatures by the key for this digest are kept: malformed ones, and the key's signature
// of another digest (copied here); a duplicate signature by the key is removed too.
func TestUnsignRemovesOnlyTheKeysSignaturesOfThisDigest(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ref := pushRandom(t, host, "team/app")
	other := pushRandom(t, host, "team/app")
	key := newKey(t)

	sigOther, err := Sign(ctx, other, key)
	require.NoError(t, err)
	otherImg, err := remote.Image(sigOther.Signature)
	require.NoError(t, err)
	otherLayers, err := otherImg.Layers()
	require.NoError(t, err)
	otherManifest, err := otherImg.Manifest()
	require.NoError(t, err)

	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer([]byte("not json"), PayloadMediaType), Annotations: map[string]string{SignatureAnnotation: "!!"}},
		mutate.Addendum{Layer: otherLayers[0], Annotations: otherManifest.Layers[0].Annotations},
	)
	require.NoError(t, err)
	tag, err := SignatureTag(ref)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, img))
	// Two signatures by the key for this digest (ECDSA is randomized; a concurrent Sign could leave both).
	_, err = Sign(ctx, ref, key)
	require.NoError(t, err)
	dup, err := remote.Image(tag)
	require.NoError(t, err)
	m, err := dup.Manifest()
	require.NoError(t, err)
	ls, err := dup.Layers()
	require.NoError(t, err)
	dup, err = mutate.Append(dup, mutate.Addendum{Layer: ls[2], Annotations: m.Layers[2].Annotations})
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, dup))
	require.Len(t, layers(t, tag), 4)

	res, err := Unsign(ctx, ref, &key.PublicKey)
	require.NoError(t, err)
	require.Equal(t, UnsignResult{Removed: 2}, res)
	left := layers(t, tag)
	require.Len(t, left, 2)
	require.Equal(t, "!!", left[0][SignatureAnnotation])
	require.Equal(t, otherManifest.Layers[0].Annotations, left[1])
	_, err = Verify(ctx, ref, &key.PublicKey)
	require.ErrorIs(t, err, ErrBadSignature)
	_, err = Verify(ctx, other, &key.PublicKey)
	require.NoError(t, err)
}

// A registry that refuses to delete tags gets a signature image without layers instead: unsigned all the same.
func TestUnsignWhereTheRegistryRefusesDeletion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		code   string
	}{
		{"unsupported", http.StatusMethodNotAllowed, "UNSUPPORTED"},
		{"digest only", http.StatusBadRequest, "DIGEST_INVALID"},
		{"denied", http.StatusForbidden, "DENIED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
			deletes := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodDelete {
					deletes++
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(`{"errors":[{"code":"` + tc.code + `","message":"no"}]}`))
					return
				}
				reg.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")
			ref := pushRandom(t, host, "team/app")
			key := newKey(t)
			_, err := Sign(ctx, ref, key)
			require.NoError(t, err)

			res, err := Unsign(ctx, ref, &key.PublicKey)
			require.NoError(t, err)
			require.Equal(t, UnsignResult{Removed: 1}, res)
			require.Equal(t, 1, deletes)
			tag, err := SignatureTag(ref)
			require.NoError(t, err)
			require.Empty(t, layers(t, tag))
			_, err = Verify(ctx, ref, &key.PublicKey)
			require.ErrorIs(t, err, ErrUnsigned)

			again, err := Unsign(ctx, ref, &key.PublicKey)
			require.NoError(t, err)
			require.Equal(t, UnsignResult{}, again)
			require.Equal(t, 1, deletes, "an emptied tag is left alone")
		})
	}
}

// Other deletion failures are errors (the registry's answer is not a refusal), and the signature stays.
func TestUnsignDeleteFailure(t *testing.T) {
	ctx := context.Background()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusInsufficientStorage)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := pushRandom(t, host, "team/app")
	key := newKey(t)
	_, err := Sign(ctx, ref, key)
	require.NoError(t, err)
	_, err = Unsign(ctx, ref, &key.PublicKey)
	var terr *transport.Error
	require.ErrorAs(t, err, &terr)
	require.Equal(t, http.StatusInsufficientStorage, terr.StatusCode)
	_, err = Verify(ctx, ref, &key.PublicKey)
	require.NoError(t, err, "a failed unsign changes nothing; retrying it is safe")
}
