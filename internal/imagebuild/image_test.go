package imagebuild

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/spec"
)

var (
	helloOnce sync.Once
	helloPath string
	helloErr  error
)

// hello returns a static Linux binary (testdata/hello, built once per test process into a shared temp dir).
func hello(t *testing.T) string {
	t.Helper()
	helloOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imagebuild-hello-")
		if err != nil {
			helloErr = err
			return
		}
		helloPath = filepath.Join(dir, "hello")
		cmd := exec.Command("go", "build", "-trimpath", "-o", helloPath, ".")
		cmd.Dir = "testdata/hello"
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH,
			"GOFLAGS=-buildvcs=false", "GOWORK=off", "GOTOOLCHAIN=local", "GOPROXY=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			helloErr = errors.New("go build testdata/hello: " + err.Error() + "\n" + string(out))
		}
	})
	require.NoError(t, helloErr)
	return helloPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if helloPath != "" {
		os.RemoveAll(filepath.Dir(helloPath))
	}
	os.Exit(code)
}

func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}

func TestFromBinaryIsDeterministic(t *testing.T) {
	bin := hello(t)
	opts := Options{Version: "v1.0.0", Source: "https://github.com/vektagraf/slipway"}
	first, err := FromBinary(bin, opts)
	require.NoError(t, err)
	second, err := FromBinary(bin, opts)
	require.NoError(t, err)
	require.Equal(t, digestOf(t, first), digestOf(t, second))

	// A copy elsewhere, with another modification time and mode, is the same image: only the bytes count.
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	cp := filepath.Join(t.TempDir(), "hello")
	require.NoError(t, os.WriteFile(cp, data, 0o700))
	require.NoError(t, os.Chtimes(cp, time.Now(), time.Now().Add(-time.Hour)))
	third, err := FromBinary(cp, opts)
	require.NoError(t, err)
	require.Equal(t, digestOf(t, first), digestOf(t, third))

	other, err := FromBinary(bin, Options{Version: "v1.0.1", Source: opts.Source})
	require.NoError(t, err)
	require.NotEqual(t, digestOf(t, first), digestOf(t, other), "the version is in the config")
}

func TestFromBinaryConfig(t *testing.T) {
	bin := hello(t)
	img, err := FromBinary(bin, Options{Version: "v2.3.4-rc.1", Source: "https://github.com/vektagraf/slipway", Env: []string{"APP_VERSION=v2.3.4-rc.1"}})
	require.NoError(t, err)

	mt, err := img.MediaType()
	require.NoError(t, err)
	require.Equal(t, types.OCIManifestSchema1, mt)
	m, err := img.Manifest()
	require.NoError(t, err)
	require.Equal(t, types.OCIConfigJSON, m.Config.MediaType)
	require.Len(t, m.Layers, 1)
	require.Equal(t, types.OCILayer, m.Layers[0].MediaType)

	cf, err := img.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, "linux", cf.OS)
	require.Equal(t, runtime.GOARCH, cf.Architecture)
	require.True(t, cf.Created.IsZero())
	require.Equal(t, []string{"/app/hello"}, cf.Config.Entrypoint)
	require.Empty(t, cf.Config.Cmd)
	require.Equal(t, DefaultUser, cf.Config.User)
	require.Equal(t, []string{defaultPATH, "SLIPWAY_IMAGE_VERSION=v2.3.4-rc.1", "APP_VERSION=v2.3.4-rc.1"}, cf.Config.Env)
	require.Equal(t, map[string]string{
		"org.opencontainers.image.version": "v2.3.4-rc.1",
		"org.opencontainers.image.source":  "https://github.com/vektagraf/slipway",
	}, cf.Config.Labels)
	require.Len(t, cf.RootFS.DiffIDs, 1)
	require.Len(t, cf.History, 1)

	want, err := os.ReadFile(bin)
	require.NoError(t, err)
	files := layerFiles(t, img)
	require.Equal(t, []string{"app/", "app/hello"}, files.names)
	for _, name := range files.names {
		h := files.headers[name]
		require.Equal(t, int64(0o755), h.Mode, name)
		require.Zero(t, h.Uid, name)
		require.Zero(t, h.Gid, name)
		require.Equal(t, int64(0), h.ModTime.Unix(), name)
	}
	require.Equal(t, byte(tar.TypeDir), files.headers["app/"].Typeflag)
	require.True(t, bytes.Equal(want, files.data["app/hello"]), "the layer holds the binary unchanged")
}

func TestFromBinaryPathUserAndCreated(t *testing.T) {
	created := time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)
	img, err := FromBinary(hello(t), Options{Version: "1.0.0", Path: "/usr/local/bin/greeter", User: "65532:65532", Created: created})
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, []string{"/usr/local/bin/greeter"}, cf.Config.Entrypoint)
	require.Equal(t, "65532:65532", cf.Config.User)
	require.True(t, created.Equal(cf.Created.Time), "created %s", cf.Created)
	require.NotContains(t, cf.Config.Labels, LabelSource)
	files := layerFiles(t, img)
	require.Equal(t, []string{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/greeter"}, files.names)
	require.True(t, created.Equal(files.headers["usr/local/bin/greeter"].ModTime))
}

func TestFromBinaryRejectsBadOptions(t *testing.T) {
	bin := hello(t)
	for _, tc := range []struct {
		name  string
		opts  Options
		field string
		text  string
	}{
		{"no version", Options{}, "Options.Version", "empty"},
		{"version with space", Options{Version: "v1 .0"}, "Options.Version", "whitespace"},
		{"version with newline", Options{Version: "v1\n"}, "Options.Version", "whitespace"},
		{"version not ASCII", Options{Version: "v1.0.0-ü"}, "Options.Version", "printable"},
		{"version too long", Options{Version: "v" + strings.Repeat("1", 128)}, "Options.Version", "at most 128"},
		{"relative path", Options{Version: "v1", Path: "app/hello"}, "Options.Path", "not absolute"},
		{"directory path", Options{Version: "v1", Path: "/app/"}, "Options.Path", "directory"},
		{"root path", Options{Version: "v1", Path: "/"}, "Options.Path", "directory"},
		{"unclean path", Options{Version: "v1", Path: "/app/../hello"}, "Options.Path", "not clean"},
		{"path with space", Options{Version: "v1", Path: "/my app/hello"}, "Options.Path", "part"},
		{"user name", Options{Version: "v1", User: "nobody"}, "Options.User", "not numeric"},
		{"relative source", Options{Version: "v1", Source: "github.com/vektagraf/slipway"}, "Options.Source", "absolute URL"},
		{"env without =", Options{Version: "v1", Env: []string{"FOO"}}, "Options.Env", "KEY=VALUE"},
		{"env sets the version", Options{Version: "v1", Env: []string{"SLIPWAY_IMAGE_VERSION=x"}}, "Options.Env", "sets itself"},
		{"env twice", Options{Version: "v1", Env: []string{"A=1", "A=2"}}, "Options.Env", "second time"},
		{"bad architecture", Options{Version: "v1", Architecture: "x86-64"}, "Options.Architecture", "GOARCH"},
		{"wrong architecture", Options{Version: "v1", Architecture: otherArch()}, BinaryField, "GOARCH=" + otherArch()},
		{"created before 1970", Options{Version: "v1", Created: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)}, "Options.Created", "1970"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromBinary(bin, tc.opts)
			var fe spec.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.field, fe.Path, "%v", err)
			require.Contains(t, err.Error(), tc.text)
		})
	}
}

func TestFromBinaryRejectsWhatTheImageCannotRun(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "run.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755))
	data, err := os.ReadFile(hello(t))
	require.NoError(t, err)
	foreign := filepath.Join(dir, "foreign")
	// e_machine is the 16-bit field at offset 18 of the ELF header (little-endian on every GOARCH tested here).
	patched := bytes.Clone(data)
	if runtime.GOARCH == "arm64" {
		patched[18], patched[19] = byte(62), 0 // EM_X86_64
	} else {
		patched[18], patched[19] = byte(183), 0 // EM_AARCH64
	}
	require.NoError(t, os.WriteFile(foreign, patched, 0o755))

	for _, tc := range []struct{ name, path, text string }{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"empty path", "", "no path given"},
		{"directory", dir, "not a regular file"},
		{"script", script, "not an ELF executable"},
		{"other architecture", foreign, "is built for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromBinary(tc.path, Options{Version: "v1", Path: "/app/x"})
			var fe spec.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, BinaryField, fe.Path)
			require.Contains(t, err.Error(), tc.text)
		})
	}
}

// otherArch is a valid GOARCH that is not this machine's, for a binary built for the wrong architecture.
func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

type tarContents struct {
	names   []string
	headers map[string]*tar.Header
	data    map[string][]byte
}

// layerFiles reads the image's only layer.
func layerFiles(t *testing.T, img v1.Image) tarContents {
	t.Helper()
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	c := tarContents{headers: map[string]*tar.Header{}, data: map[string][]byte{}}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		c.names = append(c.names, h.Name)
		c.headers[h.Name] = h
		c.data[h.Name], err = io.ReadAll(tr)
		require.NoError(t, err)
	}
	return c
}
