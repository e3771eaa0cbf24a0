package main

import (
	"bytes"
	"context"
	"debug/elf"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
)

// demoapp builds cmd/demoapp statically for Linux, the binary scripts/demo.sh puts in an image.
func demoapp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "demoapp")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../demoapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=-buildvcs=false")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func mk(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestBadFlagsExitTwoNamingTheFlag(t *testing.T) {
	bin := demoapp(t)
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644))
	for _, tc := range []struct {
		name string
		args []string
		text string
	}{
		{"unknown flag", []string{"--bogus"}, "-bogus"},
		{"positional", []string{"--binary", bin, "--version", "v1", "extra"}, `unexpected argument "extra"`},
		{"no binary", []string{"--version", "v1"}, "--binary: missing"},
		{"no version", []string{"--binary", bin}, "--version: missing"},
		{"missing binary", []string{"--binary", bin + ".nope", "--version", "v1"}, "--binary: "},
		{"not a binary", []string{"--binary", "main.go", "--version", "v1"}, "--binary: main.go is not an ELF"},
		{"bad version", []string{"--binary", bin, "--version", "v 1"}, "--version: "},
		{"bad path", []string{"--binary", bin, "--version", "v1", "--path", "app/x"}, "--path: "},
		{"bad user", []string{"--binary", bin, "--version", "v1", "--user", "root"}, "--user: "},
		{"bad env", []string{"--binary", bin, "--version", "v1", "--env", "X"}, "--env: "},
		{"bad source", []string{"--binary", bin, "--version", "v1", "--source", "nowhere"}, "--source: "},
		{"bad push", []string{"--binary", bin, "--version", "v1", "--push", "demo-app:v1"}, "--push: "},
		{"push without tag", []string{"--binary", bin, "--version", "v1", "--push", "127.0.0.1:1/demo-app"}, "--push: "},
		{"full layout dir", []string{"--binary", bin, "--version", "v1", "--layout", full}, "--layout: "},
		{"bad timeout", []string{"--binary", bin, "--version", "v1", "--timeout", "0s"}, "--timeout: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := mk(t, tc.args...)
			require.Equal(t, 2, code, stderr)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.text)
		})
	}
}

func TestPushAndLayout(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	bin := demoapp(t)
	ref := host + "/slipway/demo-app:v1.0.0"
	dir := filepath.Join(t.TempDir(), "layout")

	code, stdout, stderr := mk(t, "--binary", bin, "--version", "v1.0.0", "--push", ref, "--layout", dir)
	require.Equal(t, 0, code, stderr)
	digest := strings.TrimSuffix(stdout, "\n")
	require.Regexp(t, `^sha256:[0-9a-f]{64}$`, digest, "stdout is the digest alone")
	require.Equal(t, "mkimage: layout "+dir+" "+digest+"\nmkimage: pushed "+ref+"@"+digest+"\n", stderr)
	require.FileExists(t, filepath.Join(dir, "index.json"))

	r, err := name.ParseReference(ref)
	require.NoError(t, err)
	desc, err := remote.Get(r)
	require.NoError(t, err)
	require.Equal(t, digest, desc.Digest.String())

	// The same binary and flags give the same digest; --print-digest leaves stderr empty.
	code, stdout, stderr = mk(t, "--binary", bin, "--version", "v1.0.0", "--push", ref, "--print-digest")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, digest+"\n", stdout)
	require.Empty(t, stderr)
	code, stdout, stderr = mk(t, "--binary", bin, "--version", "v1.0.0")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, digest+"\n", stdout)
	require.Empty(t, stderr, "nothing pushed or written")
}

// TestDynamicBinaryIsABadFlag: a binary linked against libc cannot run in an image without one, so it is
// refused with the fix (go build with cgo links the net package dynamically when a C compiler is there).
func TestDynamicBinaryIsABadFlag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "demoapp")
	cmd := exec.Command("go", "build", "-o", bin, "../demoapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("no cgo build here: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	require.NoError(t, err)
	dynamic := f.Section(".interp") != nil
	f.Close()
	if !dynamic {
		t.Skip("go build with cgo gave a static binary here")
	}
	code, stdout, stderr := mk(t, "--binary", bin, "--version", "v1.0.0")
	require.Equal(t, 2, code, stderr)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "--binary: "+bin+" is dynamically linked")
	require.Contains(t, stderr, "CGO_ENABLED=0")
}

func TestPushFailureExitsOne(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close() // nothing listens there any more
	code, stdout, stderr := mk(t, "--binary", demoapp(t), "--version", "v1.0.0", "--push", host+"/slipway/demo-app:v1.0.0", "--timeout", "10s")
	require.Equal(t, 1, code, stderr)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "push "+host)
}
