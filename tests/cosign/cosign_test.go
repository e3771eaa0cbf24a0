//go:build integration

// Package cosign checks internal/signing against the real cosign CLI (the version scripts/tools.sh pins),
// offline, on a loopback registry: `cosign verify --key` accepts the signatures Slipway writes and refuses
// them with another key or on an unsigned digest, and Slipway verifies the signatures `cosign sign --key`
// writes, with cosign's own key pair or with Slipway's key imported into cosign.
package cosign

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/signing"
)

var env struct {
	cosign      string // the cosign binary
	host        string // the loopback registry, 127.0.0.1:PORT
	trustedRoot string // an empty Sigstore trusted root: keeps `cosign verify` off the network
	home        string // HOME and TUF_ROOT for cosign, so it reads and writes nothing of the user's
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cosign setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		return 0, err
	}
	// A cold build of cosign takes about 4 minutes (tools.sh waits for a build already running); every other
	// command below is bounded by a minute.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "scripts/tools.sh", "path", "cosign")
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("scripts/tools.sh path cosign: %w\n%s", err, stderr.String())
	}
	env.cosign = strings.TrimSpace(string(out))

	tmp, err := os.MkdirTemp("", "slipway-cosign-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	env.home = filepath.Join(tmp, "home")
	if err := os.MkdirAll(env.home, 0o700); err != nil {
		return 0, err
	}
	env.trustedRoot = filepath.Join(tmp, "trusted_root.json")
	if err := os.WriteFile(env.trustedRoot, []byte(`{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		return 0, err
	}

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	env.host = strings.TrimPrefix(srv.URL, "http://")
	return m.Run(), nil
}

// cosign runs the cosign CLI for at most a minute and returns its exit status and output.
func cosign(t *testing.T, extraEnv []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.cosign, args...)
	cmd.Dir = env.home
	for _, kv := range os.Environ() {
		// The host's own cosign and Sigstore settings must not change what the test sees.
		if !strings.HasPrefix(kv, "COSIGN_") && !strings.HasPrefix(kv, "SIGSTORE_") && !strings.HasPrefix(kv, "TUF_") &&
			!strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "DOCKER_CONFIG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+env.home, "TUF_ROOT="+filepath.Join(env.home, "tuf"),
		"DOCKER_CONFIG="+filepath.Join(env.home, "docker"))
	cmd.Env = append(cmd.Env, extraEnv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "cosign %v timed out\n%s", args, errOut.String())
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errOut.String()
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), out.String(), errOut.String()
	}
	require.NoError(t, err, "run cosign %v", args)
	return -1, "", ""
}

// cosignVerify runs `cosign verify --key`, offline, without a transparency log, as docs/notes prescribe.
func cosignVerify(t *testing.T, pubPath string, ref name.Digest) (code int, stdout, stderr string) {
	t.Helper()
	return cosign(t, nil, "verify", "--key", pubPath, "--insecure-ignore-tlog=true", "--offline=true",
		"--trusted-root", env.trustedRoot, "--allow-insecure-registry", "--allow-http-registry", ref.String())
}

// cosignSign runs `cosign sign --key` on ref with a cosign key whose password is empty, without uploading to
// a transparency log.
func cosignSign(t *testing.T, keyPath string, ref name.Digest) {
	t.Helper()
	code, stdout, stderr := cosign(t, []string{"COSIGN_PASSWORD="}, "sign", "--key", keyPath, "--tlog-upload=false",
		"--allow-insecure-registry", "--allow-http-registry", "--yes", ref.String())
	require.Equal(t, 0, code, "cosign sign:\n%s\n%s", stdout, stderr)
}

// pushImage pushes a random image and returns it by digest.
func pushImage(t *testing.T, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	tag, err := name.NewTag(env.host + "/" + repo + ":latest")
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, img))
	d, err := img.Digest()
	require.NoError(t, err)
	ref, err := name.NewDigest(env.host + "/" + repo + "@" + d.String())
	require.NoError(t, err)
	return ref
}

// keyPair makes a key pair with internal/signing, writes it to files and returns the parsed private key and
// the two paths.
func keyPair(t *testing.T) (key *ecdsa.PrivateKey, keyPath, pubPath string) {
	t.Helper()
	priv, pub, err := signing.GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	keyPath, pubPath = filepath.Join(dir, "slipway.key"), filepath.Join(dir, "slipway.pub")
	require.NoError(t, os.WriteFile(keyPath, priv, 0o600))
	require.NoError(t, os.WriteFile(pubPath, pub, 0o644))
	key, err = signing.LoadPrivateKey("file:" + keyPath)
	require.NoError(t, err)
	return key, keyPath, pubPath
}

// signatureLayers returns the payload blobs of ref's signature image, in order.
func signatureLayers(t *testing.T, ref name.Digest) []string {
	t.Helper()
	tag, err := signing.SignatureTag(ref)
	require.NoError(t, err)
	img, err := remote.Image(tag)
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	var out []string
	for _, l := range layers {
		rc, err := l.Compressed()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		out = append(out, string(b))
	}
	return out
}

func TestCosignVerifiesSlipwaysSignature(t *testing.T) {
	ctx := context.Background()
	ref := pushImage(t, "team/app")
	key, _, pubPath := keyPair(t)
	res, err := signing.Sign(ctx, ref, key)
	require.NoError(t, err)
	require.False(t, res.AlreadySigned)

	code, stdout, stderr := cosignVerify(t, pubPath, ref)
	require.Equal(t, 0, code, "cosign verify refused Slipway's signature:\n%s\n%s", stdout, stderr)
	// cosign prints the verified payloads: ours, naming the digest.
	var payloads []struct {
		Critical struct {
			Image struct {
				DockerManifestDigest string `json:"docker-manifest-digest"`
			} `json:"image"`
		} `json:"critical"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(stdout)), &payloads), stdout)
	require.Len(t, payloads, 1)
	require.Equal(t, ref.DigestStr(), payloads[0].Critical.Image.DockerManifestDigest)
	t.Logf("cosign verify (exit 0): %s", strings.TrimSpace(stderr))

	// Another key: refused.
	_, _, otherPub := keyPair(t)
	code, _, stderr = cosignVerify(t, otherPub, ref)
	require.NotEqual(t, 0, code, "cosign verify accepted another key's public key")
	require.Contains(t, stderr, "no matching signatures")
	t.Logf("cosign verify, another key (exit %d): %s", code, strings.TrimSpace(stderr))

	// An unsigned digest in the same repository: refused.
	unsigned := pushImage(t, "team/app")
	code, _, stderr = cosignVerify(t, pubPath, unsigned)
	require.NotEqual(t, 0, code, "cosign verify accepted an unsigned digest")
	require.Contains(t, stderr, "no signatures found")
	t.Logf("cosign verify, unsigned digest (exit %d): %s", code, strings.TrimSpace(stderr))

	// The signature image of ref, copied to the unsigned digest's signature tag: a valid signature by the
	// key, but of another digest. cosign refuses it, like signing.Verify.
	sigImage, err := remote.Image(res.Signature)
	require.NoError(t, err)
	copied, err := signing.SignatureTag(unsigned)
	require.NoError(t, err)
	require.NoError(t, remote.Write(copied, sigImage))
	code, _, stderr = cosignVerify(t, pubPath, unsigned)
	require.NotEqual(t, 0, code, "cosign verify accepted a signature of another digest")
	require.Contains(t, stderr, "invalid or missing digest in claim")
	t.Logf("cosign verify, signature of another digest (exit %d): %s", code, strings.TrimSpace(stderr))
	_, err = signing.Verify(ctx, unsigned, &key.PublicKey)
	require.ErrorIs(t, err, signing.ErrBadSignature)

	// A second Slipway signer appends a layer; cosign accepts either key, and signing again adds nothing.
	second, _, secondPub := keyPair(t)
	res2, err := signing.Sign(ctx, ref, second)
	require.NoError(t, err)
	require.False(t, res2.AlreadySigned)
	res3, err := signing.Sign(ctx, ref, key)
	require.NoError(t, err)
	require.True(t, res3.AlreadySigned)
	require.Len(t, signatureLayers(t, ref), 2)
	for _, pub := range []string{pubPath, secondPub} {
		code, stdout, stderr := cosignVerify(t, pub, ref)
		require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	}
}

// cosign's own key pair: `cosign generate-key-pair` (encrypted private key, PEM PKIX cosign.pub).
func TestSlipwayVerifiesCosignsSignature(t *testing.T) {
	ctx := context.Background()
	ref := pushImage(t, "team/cosign-signed")
	dir := t.TempDir()
	code, stdout, stderr := cosign(t, []string{"COSIGN_PASSWORD="}, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign"))
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	cosignSign(t, filepath.Join(dir, "cosign.key"), ref)

	pub, err := signing.LoadPublicKey("file:" + filepath.Join(dir, "cosign.pub"))
	require.NoError(t, err, "Slipway reads cosign.pub")
	res, err := signing.Verify(ctx, ref, pub)
	require.NoError(t, err, "Slipway refused cosign's signature")
	require.Equal(t, env.host+"/team/cosign-signed:sha256-"+strings.TrimPrefix(ref.DigestStr(), "sha256:")+".sig", res.Signature.Name())

	// cosign's payload is byte for byte the one Slipway signs for the same digest.
	want, err := signing.Payload(ref)
	require.NoError(t, err)
	require.Equal(t, []string{string(want)}, signatureLayers(t, ref))

	other, _, _ := keyPair(t)
	_, err = signing.Verify(ctx, ref, &other.PublicKey)
	require.ErrorIs(t, err, signing.ErrBadSignature)

	// cosign's encrypted private key is refused with a message that says what to use instead.
	_, err = signing.LoadPrivateKey("file:" + filepath.Join(dir, "cosign.key"))
	require.ErrorIs(t, err, signing.ErrKey)
	require.ErrorContains(t, err, "cosign's password-encrypted key format")

	// Slipway appends its signature to cosign's signature image; both tools accept both.
	key, _, slipwayPub := keyPair(t)
	signed, err := signing.Sign(ctx, ref, key)
	require.NoError(t, err)
	require.False(t, signed.AlreadySigned)
	require.Len(t, signatureLayers(t, ref), 2)
	_, err = signing.Verify(ctx, ref, pub)
	require.NoError(t, err)
	for _, p := range []string{filepath.Join(dir, "cosign.pub"), slipwayPub} {
		code, stdout, stderr := cosignVerify(t, p, ref)
		require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	}
}

// Slipway's key, imported into cosign (`cosign import-key-pair`): cosign signs with it, Slipway verifies with
// its own public key, and signing again with Slipway finds cosign's signature and adds nothing.
func TestSlipwaysKeyImportedIntoCosign(t *testing.T) {
	ctx := context.Background()
	ref := pushImage(t, "team/imported")
	key, keyPath, _ := keyPair(t)
	dir := t.TempDir()
	code, stdout, stderr := cosign(t, []string{"COSIGN_PASSWORD="}, "import-key-pair", "--key", keyPath,
		"--output-key-prefix", filepath.Join(dir, "imported"))
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	cosignSign(t, filepath.Join(dir, "imported.key"), ref)

	_, err := signing.Verify(ctx, ref, &key.PublicKey)
	require.NoError(t, err, "Slipway refused cosign's signature made with Slipway's key")
	res, err := signing.Sign(ctx, ref, key)
	require.NoError(t, err)
	require.True(t, res.AlreadySigned, "cosign's signature with the same key counts")
	require.Len(t, signatureLayers(t, ref), 1)

	// cosign's exported public key is Slipway's.
	pub, err := signing.LoadPublicKey("file:" + filepath.Join(dir, "imported.pub"))
	require.NoError(t, err)
	require.True(t, key.PublicKey.Equal(pub))
}
