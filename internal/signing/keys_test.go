package signing

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// requireNoKeyMaterial fails if msg contains any line of a PEM body, or the whole ref of a pasted key.
func requireNoKeyMaterial(t *testing.T, msg string, pems ...[]byte) {
	t.Helper()
	for _, p := range pems {
		for _, line := range strings.Split(string(p), "\n") {
			if line == "" || strings.HasPrefix(line, "-----") {
				continue
			}
			require.NotContains(t, msg, line[:min(len(line), 16)], "the error quotes key material")
		}
	}
}

func TestGenerateAndLoadKeys(t *testing.T) {
	priv, pub, err := GenerateKey()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(priv), "-----BEGIN PRIVATE KEY-----\n"))
	require.True(t, strings.HasPrefix(string(pub), "-----BEGIN PUBLIC KEY-----\n"))

	key, err := LoadPrivateKey("file:" + writeFile(t, priv))
	require.NoError(t, err)
	require.Equal(t, elliptic.P256(), key.Curve)
	pk, err := LoadPublicKey("env:" + setEnv(t, pub))
	require.NoError(t, err)
	require.True(t, key.PublicKey.Equal(pk))
	again, err := PublicKeyPEM(pk)
	require.NoError(t, err)
	require.Equal(t, string(pub), string(again))

	// openssl's `ecparam -genkey` output: an EC PARAMETERS block, then a SEC 1 key.
	sec1, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	params := pemOf(t, "EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	fromOpenSSL, err := LoadPrivateKey("env:" + setEnv(t, append(params, pemOf(t, "EC PRIVATE KEY", sec1)...)))
	require.NoError(t, err)
	require.True(t, key.Equal(fromOpenSSL))
}

func TestKeyErrors(t *testing.T) {
	priv, pub, err := GenerateKey()
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaPKCS8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	require.NoError(t, err)
	rsaPub, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384PKCS8, err := x509.MarshalPKCS8PrivateKey(p384)
	require.NoError(t, err)
	p384Pub, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	edPKCS8, err := x509.MarshalPKCS8PrivateKey(edKey)
	require.NoError(t, err)
	encrypted := pemOf(t, "ENCRYPTED SIGSTORE PRIVATE KEY", []byte(`{"kdf":{"name":"scrypt"},"cipher":{"name":"nacl/secretbox"}}`))
	oldEncrypted := pemOf(t, "ENCRYPTED COSIGN PRIVATE KEY", []byte(`{"kdf":{}}`))
	secrets := [][]byte{priv, rsaPKCS8, p384PKCS8, edPKCS8}

	file := func(data []byte) string { return "file:" + writeFile(t, data) }
	env := func(data []byte) string { return "env:" + setEnv(t, data) }
	private := []struct {
		name, ref, want string
	}{
		{"empty", "", "no key reference"},
		{"relative path", "file:keys/cosign.key", "not absolute"},
		{"bare path", "/etc/slipway/cosign.key", "write file:/etc/slipway/cosign.key"},
		{"unknown scheme", "vault:secret/cosign", `unknown scheme "vault"`},
		{"kms scheme", "awskms://alias/release", `unknown scheme "awskms"`},
		{"missing file", "file:/nonexistent/cosign.key", "cannot open the key file"},
		{"unset variable", "env:SLIPWAY_SIGNING_TEST_UNSET", "unset or empty"},
		{"no variable name", "env:", "no valid variable name"},
		{"garbage", file([]byte("this is not a key\n")), "no PEM key found"},
		{"rsa", env(pemOf(t, "PRIVATE KEY", rsaPKCS8)), "RSA key"},
		{"rsa pkcs1", env(pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))), "RSA key"},
		{"p384", env(pemOf(t, "PRIVATE KEY", p384PKCS8)), "P-384, not P-256"},
		{"ed25519", env(pemOf(t, "PRIVATE KEY", edPKCS8)), "Ed25519 key"},
		{"cosign encrypted", file(encrypted), "cosign's password-encrypted key format"},
		{"old cosign encrypted", env(oldEncrypted), "cosign's password-encrypted key format"},
		{"pkcs8 encrypted", env(pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1, 2, 3})), "openssl pkcs8 -topk8 -nocrypt"},
		{"public key", env(pub), "public key, not a private key"},
		{"corrupt pkcs8", env(pemOf(t, "PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3})), "does not parse"},
		{"pasted key", string(priv), "looks like key material"},
		{"pasted base64", strings.Split(string(priv), "\n")[1], "not a key reference"},
	}
	for _, tc := range private {
		t.Run("private/"+tc.name, func(t *testing.T) {
			_, err := LoadPrivateKey(tc.ref)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrKey)
			var ke *KeyError
			require.True(t, errors.As(err, &ke))
			require.ErrorContains(t, err, tc.want)
			requireNoKeyMaterial(t, err.Error(), secrets...)
			if strings.HasPrefix(tc.ref, "file:") || strings.HasPrefix(tc.ref, "env:") {
				require.ErrorContains(t, err, tc.ref, "the error names the reference")
			}
		})
	}
	// Every "wrong kind of key" error says what is accepted and how to make one.
	_, err = LoadPrivateKey(env(pemOf(t, "PRIVATE KEY", rsaPKCS8)))
	require.ErrorContains(t, err, "go run ./cmd/keygen DIR")
	require.ErrorContains(t, err, "openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt")
	_, err = LoadPrivateKey(file(encrypted))
	require.ErrorContains(t, err, "PKCS#8")

	public := []struct {
		name, ref, want string
	}{
		{"relative path", "file:cosign.pub", "not absolute"},
		{"unknown scheme", "https://example.com/cosign.pub", `unknown scheme "https"`},
		{"garbage", file([]byte("garbage")), "no PEM key found"},
		{"private key", env(priv), "this is a private key"},
		{"rsa", env(pemOf(t, "PUBLIC KEY", rsaPub)), "RSA public key"},
		{"p384", env(pemOf(t, "PUBLIC KEY", p384Pub)), "P-384, not P-256"},
		{"certificate", env(pemOf(t, "CERTIFICATE", []byte{1})), "certificate"},
	}
	for _, tc := range public {
		t.Run("public/"+tc.name, func(t *testing.T) {
			_, err := LoadPublicKey(tc.ref)
			require.ErrorIs(t, err, ErrKey)
			require.ErrorContains(t, err, tc.want)
			requireNoKeyMaterial(t, err.Error(), secrets...)
		})
	}
}
