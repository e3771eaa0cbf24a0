package testimage

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ModulesDir is where the fixture modules' sources are, relative to the repository root: one directory per
// module version, named <module path>@<version> (tests/fixtures/modules/README.md).
const ModulesDir = "tests/fixtures/modules"

// moduleTime is the publication time the proxy gives every fixture version (.info), fixed so that
// nothing about a build depends on when the proxy was written.
var moduleTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	semver     = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
	moduleLine = regexp.MustCompile(`(?m)^module\s+"?([^\s"]+)"?\s*$`)
)

// GoProxy writes a file-based Go module proxy for the fixture modules (ModulesDir) into dir, which is
// created if missing, and returns its GOPROXY URL ("file:///abs/dir"). The go command reads such a
// directory as it would https://proxy.golang.org; that is how programs that import the fictional
// github.com/example/* modules get built, with no server and no network. Put it first in GOPROXY, before
// the real proxy for everything else.
func GoProxy(dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return writeGoProxy(filepath.Join(root, ModulesDir), dir)
}

// writeGoProxy serves every <module>@<version> directory under src from the proxy directory dst.
func writeGoProxy(src, dst string) (string, error) {
	abs, err := filepath.Abs(dst)
	if err != nil {
		return "", fmt.Errorf("testimage: proxy directory: %w", err)
	}
	versions := map[string][]string{} // module path → versions
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || !strings.Contains(d.Name(), "@") {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		mod, version, _ := strings.Cut(filepath.ToSlash(rel), "@")
		if !semver.MatchString(version) {
			return fmt.Errorf("testimage: %s: %q is not a semantic version (vMAJOR.MINOR.PATCH); rename the directory", p, version)
		}
		if err := writeModule(abs, p, mod, version); err != nil {
			return err
		}
		versions[mod] = append(versions[mod], version)
		return fs.SkipDir
	})
	if err != nil {
		return "", err
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("testimage: no module versions (<module>@<version> directories) under %s", src)
	}
	for mod, vs := range versions {
		slices.Sort(vs)
		list := strings.Join(vs, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(abs, escapePath(mod), "@v", "list"), []byte(list), 0o644); err != nil {
			return "", fmt.Errorf("testimage: proxy: %w", err)
		}
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// writeModule writes one module version's .info, .mod and .zip into the proxy directory.
func writeModule(proxy, srcDir, mod, version string) error {
	gomod, err := os.ReadFile(filepath.Join(srcDir, "go.mod"))
	if err != nil {
		return fmt.Errorf("testimage: module %s@%s: %w; every module version needs its go.mod", mod, version, err)
	}
	if m := moduleLine.FindSubmatch(gomod); m == nil || string(m[1]) != mod {
		return fmt.Errorf("testimage: %s: its module line does not say %q; fix the go.mod or the directory name", filepath.Join(srcDir, "go.mod"), mod)
	}
	var files []string
	err = filepath.WalkDir(srcDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		} else if !d.IsDir() {
			return fmt.Errorf("testimage: %s: only regular files can be in a module", p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(files)

	// The zip's entries are <module>@<version>/<file>, as the go command expects; go.sum hashes the files'
	// names and contents, not the zip's bytes, but the zip is made reproducible anyway.
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, f := range files {
		rel, err := filepath.Rel(srcDir, f)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("testimage: %w", err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: path.Join(mod+"@"+version, filepath.ToSlash(rel)), Method: zip.Deflate, Modified: moduleTime})
		if err != nil {
			return fmt.Errorf("testimage: zip %s@%s: %w", mod, version, err)
		}
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("testimage: zip %s@%s: %w", mod, version, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("testimage: zip %s@%s: %w", mod, version, err)
	}

	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, moduleTime})
	if err != nil {
		return err
	}
	dir := filepath.Join(proxy, escapePath(mod), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("testimage: proxy: %w", err)
	}
	ev := escapePath(version)
	for name, data := range map[string][]byte{ev + ".info": info, ev + ".mod": gomod, ev + ".zip": zbuf.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("testimage: proxy: %w", err)
		}
	}
	return nil
}

// escapePath is the module proxy protocol's case encoding: every upper-case letter becomes '!' and its
// lower-case form, so module paths differing only in case stay apart on case-insensitive file systems.
func escapePath(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return filepath.FromSlash(b.String())
}
