package activities

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/internal/signing"
)

// keyPair writes a new key pair into a temporary directory and returns file: references to both.
func keyPair(t *testing.T) (private, public string, privatePEM []byte) {
	t.Helper()
	priv, pub, err := signing.GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cosign.key"), priv, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cosign.pub"), pub, 0o644))
	return "file:" + filepath.Join(dir, "cosign.key"), "file:" + filepath.Join(dir, "cosign.pub"), priv
}

// requireAppError asserts err is itself a non-retryable ApplicationError of type typ (not wrapped: Temporal
// reads the returned error's type only) whose message contains want.
func requireAppError(t *testing.T, err error, typ, want string) {
	t.Helper()
	appErr, ok := err.(*temporal.ApplicationError)
	require.True(t, ok, "%T: %v", err, err)
	require.Equal(t, typ, appErr.Type(), "%v", err)
	require.True(t, appErr.NonRetryable())
	require.ErrorContains(t, err, want)
	require.Contains(t, NonRetryableErrorTypes, typ)
}

func TestSignImageThenVerifyImage(t *testing.T) {
	ctx := context.Background()
	tr := newTestRegistry(t)
	d := tr.push(t, "team/app:v1.0.0")
	image := tr.host + "/team/app@" + d.String()
	key, pub, _ := keyPair(t)
	var r Registry

	res, err := r.SignImage(ctx, SignImageInput{Image: image, Key: key})
	require.NoError(t, err)
	require.False(t, res.AlreadySigned)
	require.Equal(t, tr.host+"/team/app:sha256-"+d.Hex+".sig", res.Signature)

	again, err := r.SignImage(ctx, SignImageInput{Image: image, Key: key})
	require.NoError(t, err)
	require.True(t, again.AlreadySigned, "a retried or re-run signing writes nothing")
	require.Equal(t, res.Signature, again.Signature)

	v, err := r.VerifyImage(ctx, VerifyImageInput{Image: image, PublicKey: pub})
	require.NoError(t, err)
	require.Equal(t, image, v.Image)
	require.Equal(t, res.Signature, v.Signature)

	// The public key may come from the worker's environment too.
	pubPEM, err := os.ReadFile(strings.TrimPrefix(pub, "file:"))
	require.NoError(t, err)
	t.Setenv("SLIPWAY_TEST_COSIGN_PUB", string(pubPEM))
	_, err = r.VerifyImage(ctx, VerifyImageInput{Image: image, PublicKey: "env:SLIPWAY_TEST_COSIGN_PUB"})
	require.NoError(t, err)
}

func TestVerifyImageRefusesWhatWasNotSignedByTheKey(t *testing.T) {
	ctx := context.Background()
	tr := newTestRegistry(t)
	signed := tr.host + "/team/app@" + tr.push(t, "team/app:v1.0.0").String()
	unsigned := tr.host + "/team/app@" + tr.push(t, "team/app:v1.0.1").String()
	key, _, _ := keyPair(t)
	_, otherPub, _ := keyPair(t)
	var r Registry
	_, err := r.SignImage(ctx, SignImageInput{Image: signed, Key: key})
	require.NoError(t, err)

	_, err = r.VerifyImage(ctx, VerifyImageInput{Image: signed, PublicKey: otherPub})
	requireAppError(t, err, ErrBadSignature, "none of the 1 signatures")
	_, err = r.VerifyImage(ctx, VerifyImageInput{Image: unsigned, PublicKey: otherPub})
	requireAppError(t, err, ErrUnsigned, "not signed")
}

func TestSigningActivityErrors(t *testing.T) {
	ctx := context.Background()
	tr := newTestRegistry(t)
	d := tr.push(t, "team/app:v1.0.0")
	image := tr.host + "/team/app@" + d.String()
	key, pub, privPEM := keyPair(t)
	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
	}))
	t.Cleanup(unauthorized.Close)
	unauthorizedImage := strings.TrimPrefix(unauthorized.URL, "http://") + "/team/app@" + d.String()
	var r Registry

	for _, tc := range []struct {
		name       string
		image, key string
		typ, want  string
	}{
		{"tag instead of digest", tr.host + "/team/app:v1.0.0", key, ErrInvalidInput, `image "` + tr.host + `/team/app:v1.0.0"`},
		{"no image", "", key, ErrInvalidInput, "registry/repository@sha256:"},
		{"relative key path", image, "file:cosign.key", ErrSigningKey, "not absolute"},
		{"missing key file", image, "file:/nonexistent/cosign.key", ErrSigningKey, "cannot open the key file"},
		{"unset variable", image, "env:SLIPWAY_TEST_NO_SUCH_KEY", ErrSigningKey, "unset or empty"},
		{"public key as private key", image, pub, ErrSigningKey, "not a private key"},
		{"key pasted into the reference", image, string(privPEM), ErrSigningKey, "looks like key material"},
		{"missing image", tr.host + "/team/app@sha256:" + strings.Repeat("0", 64), key, ErrImageNotFound, "push the image"},
		{"unauthorized", unauthorizedImage, key, ErrRegistryUnauthorized, "credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.SignImage(ctx, SignImageInput{Image: tc.image, Key: tc.key})
			requireAppError(t, err, tc.typ, tc.want)
			require.Zero(t, res)
			requireNoPEM(t, err.Error(), privPEM)
		})
	}

	for _, tc := range []struct {
		name       string
		image, key string
		typ, want  string
	}{
		{"tag instead of digest", tr.host + "/team/app:v1.0.0", pub, ErrInvalidInput, "image"},
		{"private key as public key", image, key, ErrSigningKey, "this is a private key"},
		{"unknown scheme", image, "https://example.com/cosign.pub", ErrSigningKey, `unknown scheme "https"`},
		{"unauthorized", unauthorizedImage, pub, ErrRegistryUnauthorized, "credentials"},
	} {
		t.Run("verify "+tc.name, func(t *testing.T) {
			res, err := r.VerifyImage(ctx, VerifyImageInput{Image: tc.image, PublicKey: tc.key})
			requireAppError(t, err, tc.typ, tc.want)
			require.Zero(t, res)
			requireNoPEM(t, err.Error(), privPEM)
		})
	}
}

// A registry that fails with a 5xx is retried: the error is not a non-retryable ApplicationError. (507, because
// go-containerregistry itself retries 500/502/503/504 with a backoff of seconds before it gives up.)
func TestSigningRetriesRegistryOutages(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInsufficientStorage)
	}))
	t.Cleanup(down.Close)
	key, pub, _ := keyPair(t)
	image := strings.TrimPrefix(down.URL, "http://") + "/team/app@sha256:" + strings.Repeat("1", 64)
	var r Registry
	_, err := r.SignImage(context.Background(), SignImageInput{Image: image, Key: key})
	require.Error(t, err)
	require.Empty(t, ErrorType(err), "%v", err)
	_, err = r.VerifyImage(context.Background(), VerifyImageInput{Image: image, PublicKey: pub})
	require.Error(t, err)
	require.Empty(t, ErrorType(err), "%v", err)
}

func requireNoPEM(t *testing.T, msg string, pemData []byte) {
	t.Helper()
	for _, line := range strings.Split(string(pemData), "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			require.NotContains(t, msg, line[:min(16, len(line))], fmt.Sprintf("the error quotes the key: %q", msg))
		}
	}
}

func TestCheckSigningKeys(t *testing.T) {
	key, pub, privPEM := keyPair(t)
	_, otherPub, _ := keyPair(t)
	var r Registry
	res, err := r.CheckSigningKeys(context.Background(), CheckSigningKeysInput{Key: key, PublicKey: pub})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(res.KeyID, "sha256:"), res.KeyID)

	_, err = r.CheckSigningKeys(context.Background(), CheckSigningKeysInput{Key: key, PublicKey: otherPub})
	requireAppError(t, err, ErrSigningKey, "is not the public key of image.signing.key")
	_, err = r.CheckSigningKeys(context.Background(), CheckSigningKeysInput{Key: "file:/nonexistent/cosign.key", PublicKey: pub})
	requireAppError(t, err, ErrSigningKey, "image.signing.key")
	t.Setenv("SLIPWAY_TEST_EMPTY_KEY", "")
	_, err = r.CheckSigningKeys(context.Background(), CheckSigningKeysInput{Key: "env:SLIPWAY_TEST_EMPTY_KEY", PublicKey: pub})
	requireAppError(t, err, ErrSigningKey, "SLIPWAY_TEST_EMPTY_KEY")
	require.NotContains(t, err.Error(), string(privPEM[30:60]), "no key material in errors")
}

// manifestStatus is the registry's status code for GET of a manifest reference (a tag or a digest).
func manifestStatus(t *testing.T, host, repo, reference string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+host+"/v2/"+repo+"/manifests/"+reference, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

func TestUnsignImage(t *testing.T) {
	ctx := context.Background()
	tr := newTestRegistry(t)
	d := tr.push(t, "team/app:v1.0.0")
	image := tr.host + "/team/app@" + d.String()
	sigTag := "sha256-" + d.Hex + ".sig"
	key, pub, _ := keyPair(t)
	var r Registry

	// Unsigned: nothing to remove, no error.
	res, err := r.UnsignImage(ctx, UnsignImageInput{Image: image, PublicKey: pub})
	require.NoError(t, err)
	require.Equal(t, UnsignImageResult{}, res)

	_, err = r.SignImage(ctx, SignImageInput{Image: image, Key: key})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, manifestStatus(t, tr.host, "team/app", sigTag))
	res, err = r.UnsignImage(ctx, UnsignImageInput{Image: image, PublicKey: pub})
	require.NoError(t, err)
	require.Equal(t, UnsignImageResult{Removed: 1, Deleted: true}, res)
	require.Equal(t, http.StatusNotFound, manifestStatus(t, tr.host, "team/app", sigTag), "the .sig tag is gone")
	_, err = r.VerifyImage(ctx, VerifyImageInput{Image: image, PublicKey: pub})
	requireAppError(t, err, ErrUnsigned, "not signed")

	// A retried compensation removes nothing more.
	res, err = r.UnsignImage(ctx, UnsignImageInput{Image: image, PublicKey: pub})
	require.NoError(t, err)
	require.Equal(t, UnsignImageResult{}, res)
}

func TestUnsignImageKeepsOtherSigners(t *testing.T) {
	ctx := context.Background()
	tr := newTestRegistry(t)
	image := tr.host + "/team/app@" + tr.push(t, "team/app:v1.0.0").String()
	keyA, pubA, _ := keyPair(t)
	keyB, pubB, _ := keyPair(t)
	var r Registry
	for _, k := range []string{keyA, keyB} {
		_, err := r.SignImage(ctx, SignImageInput{Image: image, Key: k})
		require.NoError(t, err)
	}

	res, err := r.UnsignImage(ctx, UnsignImageInput{Image: image, PublicKey: pubA})
	require.NoError(t, err)
	require.Equal(t, UnsignImageResult{Removed: 1}, res)
	_, err = r.VerifyImage(ctx, VerifyImageInput{Image: image, PublicKey: pubB})
	require.NoError(t, err)
	_, err = r.VerifyImage(ctx, VerifyImageInput{Image: image, PublicKey: pubA})
	requireAppError(t, err, ErrBadSignature, "none of the 1 signatures")

	res, err = r.UnsignImage(ctx, UnsignImageInput{Image: image, PublicKey: pubA})
	require.NoError(t, err)
	require.Zero(t, res.Removed)
	_, err = r.VerifyImage(ctx, VerifyImageInput{Image: image, PublicKey: pubB})
	require.NoError(t, err)
}

func TestUnsignImageErrors(t *testing.T) {
	ctx := context.Background()
	tr := newTestRegistry(t)
	d := tr.push(t, "team/app:v1.0.0")
	image := tr.host + "/team/app@" + d.String()
	key, pub, privPEM := keyPair(t)
	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
	}))
	t.Cleanup(unauthorized.Close)
	var r Registry

	for _, tc := range []struct {
		name       string
		image, key string
		typ, want  string
	}{
		{"tag instead of digest", tr.host + "/team/app:v1.0.0", pub, ErrInvalidInput, `image "` + tr.host + `/team/app:v1.0.0"`},
		{"no image", "", pub, ErrInvalidInput, "registry/repository@sha256:"},
		{"private key as public key", image, key, ErrSigningKey, "this is a private key"},
		{"missing key file", image, "file:/nonexistent/cosign.pub", ErrSigningKey, "cannot open the key file"},
		{"unknown scheme", image, "https://example.com/cosign.pub", ErrSigningKey, `unknown scheme "https"`},
		{"key pasted into the reference", image, string(privPEM), ErrSigningKey, "looks like key material"},
		{"unauthorized", strings.TrimPrefix(unauthorized.URL, "http://") + "/team/app@" + d.String(), pub, ErrRegistryUnauthorized, "credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.UnsignImage(ctx, UnsignImageInput{Image: tc.image, PublicKey: tc.key})
			requireAppError(t, err, tc.typ, tc.want)
			require.Zero(t, res)
			requireNoPEM(t, err.Error(), privPEM)
		})
	}

	// A registry outage is retried.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInsufficientStorage)
	}))
	t.Cleanup(down.Close)
	_, err := r.UnsignImage(ctx, UnsignImageInput{Image: strings.TrimPrefix(down.URL, "http://") + "/team/app@" + d.String(), PublicKey: pub})
	require.Error(t, err)
	require.Empty(t, ErrorType(err), "%v", err)
}
