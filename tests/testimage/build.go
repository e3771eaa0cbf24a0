// Package testimage builds the programs Slipway's integration tests put into images: the fixture program
// whose dependencies the fixture vulnerability databases flag (tests/fixtures/vulnapp), and the demo app
// (cmd/demoapp). Both are built statically for Linux with the local Go toolchain, so that
// internal/imagebuild can wrap them into images the real scanners look at, without Docker and without the
// internet beyond the Go module proxy.
package testimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ModulePath is the repository's root module, which RepoRoot looks for.
const ModulePath = "github.com/vektagraf/slipway"

// VulnAppDir is the fixture program's directory (a module of its own), relative to the repository root.
const VulnAppDir = "tests/fixtures/vulnapp"

// maxOutput is how much of the go command's output an error quotes (its end, where the cause is).
const maxOutput = 8 << 10

// VulnAppDeps are the module versions the fixture program is built with, each flagged by an advisory in
// tests/fixtures/advisories.json; a test can compare them with the binary's build information.
var VulnAppDeps = map[string]string{
	"golang.org/x/text":          "v0.3.7", // CVE-2022-32149, HIGH, fixed in v0.3.8
	"github.com/example/vuln":    "v1.1.0", // CVE-2099-0001, CRITICAL, fixed in v1.2.0
	"github.com/example/lowrisk": "v1.0.0", // CVE-2099-0002, LOW, no fix
}

// RepoRoot returns the repository's root directory: the nearest directory above this package's source file,
// or else above the working directory, whose go.mod declares ModulePath. Tests run with the package as the
// working directory, and the source file's path is not usable when the test binary was built with -trimpath.
func RepoRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declares(data, ModulePath) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("testimage: no go.mod of module %s above %s; run from inside the repository", ModulePath, strings.Join(starts, " or "))
}

// declares reports whether go.mod's module line names mod.
func declares(gomod []byte, mod string) bool {
	m := moduleLine.FindSubmatch(gomod)
	return m != nil && string(m[1]) == mod
}

// BuildVulnApp builds the fixture program (VulnAppDir) into outDir/vulnapp and returns the binary's path.
// Its build information names VulnAppDeps. The fictional modules come from a file proxy of the fixture
// modules (GoProxy, in a temporary directory removed afterwards), golang.org/x/text from the module cache or
// the configured proxy; go.sum is complete, so no checksum database is asked, and the build fails rather
// than change the fixture's go.mod or go.sum.
func BuildVulnApp(ctx context.Context, outDir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	proxyDir, err := os.MkdirTemp("", "testimage-goproxy-")
	if err != nil {
		return "", fmt.Errorf("testimage: %w", err)
	}
	defer os.RemoveAll(proxyDir)
	proxy, err := writeGoProxy(filepath.Join(root, ModulesDir), proxyDir)
	if err != nil {
		return "", err
	}
	upstream, err := goEnv(ctx, root, "GOPROXY")
	if err != nil {
		return "", err
	}
	if upstream == "" {
		upstream = "https://proxy.golang.org,direct"
	}
	return build(ctx, filepath.Join(root, VulnAppDir), ".", outDir, "vulnapp",
		"GOPROXY="+proxy+","+upstream,
		// The fictional modules are in no checksum database (go.sum has their hashes), and must not be
		// fetched directly from a server by a GOPRIVATE or GONOPROXY that matches them.
		"GONOSUMDB=github.com/example", "GOPRIVATE=", "GONOPROXY=")
}

// BuildDemoApp builds the demo app (./cmd/demoapp of the root module) into outDir/demoapp and returns the
// binary's path. It has no dependencies outside the standard library.
func BuildDemoApp(ctx context.Context, outDir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return build(ctx, root, "./cmd/demoapp", outDir, "demoapp")
}

// build runs go build in dir for pkg: a static, reproducible Linux binary (CGO_ENABLED=0, -trimpath, no VCS
// stamp) for this machine's architecture, with the module files read-only. extraEnv is added last.
func build(ctx context.Context, dir, pkg, outDir, name string, extraEnv ...string) (string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("testimage: output directory: %w", err)
	}
	out, err := filepath.Abs(filepath.Join(outDir, name))
	if err != nil {
		return "", fmt.Errorf("testimage: output directory: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(buildEnv(), extraEnv...)
	output, err := cmd.CombinedOutput()
	if err != nil {
		if len(output) > maxOutput {
			output = append([]byte("..."), output[len(output)-maxOutput:]...)
		}
		return "", fmt.Errorf("testimage: go build %s in %s: %w\n%s", pkg, dir, err, bytes.TrimSpace(output))
	}
	return out, nil
}

// buildEnv is the environment without what would change the build (GOFLAGS from the caller, a workspace,
// a cross-compilation target, cgo), plus the settings of a static, reproducible Linux build. GOFLAGS is
// replaced whole: a caller's -mod=vendor or -mod=mod would break or rewrite the fixture modules.
func buildEnv() []string {
	drop := map[string]bool{"GOFLAGS": true, "GOWORK": true, "GOOS": true, "GOARCH": true, "CGO_ENABLED": true,
		"GOTOOLCHAIN": true, "GOPROXY": true, "GONOSUMDB": true, "GOPRIVATE": true, "GONOPROXY": true}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, "GOFLAGS=-buildvcs=false -mod=readonly", "GOWORK=off", "GOTOOLCHAIN=local",
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
}

// goEnv returns one go env variable as the go command sees it (from the environment or the go env file).
func goEnv(ctx context.Context, dir, name string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", name)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || stderr.Len() > 0 {
			return "", fmt.Errorf("testimage: go env %s: %w\n%s", name, err, bytes.TrimSpace(stderr.Bytes()))
		}
		return "", fmt.Errorf("testimage: go env %s: %w (is the go command in PATH?)", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}
