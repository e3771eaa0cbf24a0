package testimage

import (
	"context"
	"debug/buildinfo"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/imagebuild"
)

func TestGoProxyServesTheFixtureModules(t *testing.T) {
	dir := t.TempDir()
	u, err := GoProxy(dir)
	require.NoError(t, err)
	require.Equal(t, "file://"+filepath.ToSlash(dir), u)
	for mod, version := range map[string]string{"github.com/example/vuln": "v1.1.0", "github.com/example/lowrisk": "v1.0.0"} {
		list, err := os.ReadFile(filepath.Join(dir, mod, "@v", "list"))
		require.NoError(t, err)
		require.Equal(t, version+"\n", string(list))
		for _, ext := range []string{".info", ".mod", ".zip"} {
			require.FileExists(t, filepath.Join(dir, mod, "@v", version+ext))
		}
	}
	require.Equal(t, "!foo/!bar", escapePath("Foo/Bar"))
}

func TestBuildVulnAppAndDemoApp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out := t.TempDir()

	start := time.Now()
	vulnapp, err := BuildVulnApp(ctx, out)
	require.NoError(t, err)
	t.Logf("BuildVulnApp took %s", time.Since(start).Round(time.Millisecond))
	require.Equal(t, filepath.Join(out, "vulnapp"), vulnapp)
	info, err := buildinfo.ReadFile(vulnapp)
	require.NoError(t, err)
	require.Equal(t, "example.com/vulnapp", info.Main.Path)
	deps := map[string]string{}
	for _, d := range info.Deps {
		require.Nil(t, d.Replace, "%s is replaced", d.Path)
		require.NotEmpty(t, d.Sum, "%s has no checksum in the build information", d.Path)
		deps[d.Path] = d.Version
	}
	require.Equal(t, VulnAppDeps, deps)
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	require.Equal(t, "0", settings["CGO_ENABLED"])
	require.Equal(t, "linux", settings["GOOS"])
	require.Equal(t, "true", settings["-trimpath"])

	start = time.Now()
	demoapp, err := BuildDemoApp(ctx, out)
	require.NoError(t, err)
	t.Logf("BuildDemoApp took %s", time.Since(start).Round(time.Millisecond))
	info, err = buildinfo.ReadFile(demoapp)
	require.NoError(t, err)
	require.Equal(t, "github.com/vektagraf/slipway/cmd/demoapp", info.Path)
	for _, d := range info.Deps {
		// The demo app links client_golang for its /metrics; none of the fixture's vulnerable modules.
		require.NotContains(t, VulnAppDeps, d.Path, "the clean image must stay clean")
	}

	// The fixture binary goes into an image the scanners can read as an OCI layout.
	img, err := imagebuild.FromBinary(vulnapp, imagebuild.Options{Version: "v0.0.1-vulnerable"})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "layout")
	digest, err := imagebuild.WriteLayout(img, dir)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(digest, "sha256:"), digest)
	idx, err := layout.ImageIndexFromPath(dir)
	require.NoError(t, err)
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, m.Manifests, 1)
	require.Equal(t, digest, m.Manifests[0].Digest.String())
}

func TestBuildErrorsQuoteTheGoCommand(t *testing.T) {
	_, err := build(context.Background(), t.TempDir(), "./nothing-here", t.TempDir(), "x")
	require.ErrorContains(t, err, "go build ./nothing-here")
	require.ErrorContains(t, err, "go.mod") // the go command's own complaint: no module here
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	require.True(t, declares(data, ModulePath))
	require.DirExists(t, filepath.Join(root, VulnAppDir))
}
