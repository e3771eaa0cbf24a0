package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/signing"
)

func keygenRun(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestKeygenWritesAKeyPairTheSigningPackageReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	code, stdout, stderr := keygenRun(dir)
	require.Equal(t, 0, code, stderr)
	keyPath, pubPath := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	require.Equal(t, keyPath+"\n"+pubPath+"\n", stdout)

	for path, mode := range map[string]os.FileMode{keyPath: 0o600, pubPath: 0o644} {
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, mode, st.Mode().Perm(), path)
	}
	key, err := signing.LoadPrivateKey("file:" + keyPath)
	require.NoError(t, err)
	pub, err := signing.LoadPublicKey("file:" + pubPath)
	require.NoError(t, err)
	require.True(t, key.PublicKey.Equal(pub), "the public key is the private key's")
	data, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----\n"))
	require.NotContains(t, stdout+stderr, strings.Split(string(data), "\n")[1], "the key is never printed")

	// Never overwrites: both files stay as they were, whichever one exists.
	code, _, stderr = keygenRun(dir)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "exists")
	again, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	require.Equal(t, data, again)

	require.NoError(t, os.Remove(keyPath))
	code, _, stderr = keygenRun(dir)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, pubPath+" exists")
	_, err = os.Stat(keyPath)
	require.ErrorIs(t, err, os.ErrNotExist, "no private key is left without its public key")
}

func TestKeygenUsage(t *testing.T) {
	code, stdout, stderr := keygenRun()
	require.Equal(t, 2, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "usage: keygen DIR")
	code, _, _ = keygenRun("a", "b")
	require.Equal(t, 2, code)
	code, _, stderr = keygenRun("--help")
	require.Equal(t, 0, code)
	require.Contains(t, stderr, "usage")
}
