// Package imagebuild builds a small OCI image around one static Linux binary without a container engine,
// pushes it to a registry and writes it as an OCI image layout (for the scanners). Slipway uses it to
// release the demo app and to build the images its scan tests look at; a builder with a Docker daemon is
// not available (or wanted) on the machines that run them.
//
// The image has one layer holding the binary (mode 0755, owned by 0:0), runs it as its entrypoint as a
// non-root numeric user, and carries no clock or file-system metadata, so the same binary and Options
// always give the same digest.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// defaultPATH is the image's $PATH, the usual one, so tools that expect it (kubectl debug, exec) behave.
const defaultPATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// FromBinary returns an OCI image (linux/Options.Architecture) whose only layer holds the binary at
// opts.Path, with the binary as the entrypoint. The binary must be a statically linked Linux ELF executable
// for that architecture (a Go program built with CGO_ENABLED=0 GOOS=linux), since the image has no libc or
// loader to run anything else. The file is read once, so changing it afterwards does not change the image.
//
// Invalid options and unusable binaries are spec.FieldError values (wrapped) whose Path names the field
// ("Options.Version"; BinaryField for the binary).
func FromBinary(binaryPath string, opts Options) (v1.Image, error) {
	o, err := opts.withDefaults(binaryPath)
	if err != nil {
		return nil, err
	}
	data, err := readBinary(binaryPath, o.Architecture)
	if err != nil {
		return nil, err
	}

	mtime := time.Unix(0, 0).UTC()
	var created v1.Time
	if !o.Created.IsZero() {
		mtime = o.Created.UTC().Truncate(time.Second)
		created = v1.Time{Time: mtime}
	}
	layerTar, err := tarFile(o.Path, data, mtime)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("imagebuild: layer for %s: %w", binaryPath, err)
	}

	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "imagebuild.FromBinary " + o.Path},
	})
	if err != nil {
		return nil, fmt.Errorf("imagebuild: add the layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("imagebuild: config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.OS = "linux"
	cf.Architecture = o.Architecture
	cf.Config = v1.Config{
		Entrypoint: []string{o.Path},
		User:       o.User,
		Env:        append([]string{defaultPATH, VersionEnv + "=" + o.Version}, o.Env...),
		Labels:     map[string]string{LabelVersion: o.Version},
	}
	if o.Source != "" {
		cf.Config.Labels[LabelSource] = o.Source
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("imagebuild: config: %w", err)
	}
	// Compute the digest now (compressing the layer once; the result is cached), so a problem shows here and
	// not in the middle of a push.
	if _, err := img.Digest(); err != nil {
		return nil, fmt.Errorf("imagebuild: digest: %w", err)
	}
	return img, nil
}

// readBinary reads the binary and checks that the image can run it: a static Linux ELF executable for arch.
func readBinary(binaryPath, arch string) ([]byte, error) {
	if binaryPath == "" {
		return nil, fieldErr(BinaryField, "no path given; build the program first (CGO_ENABLED=0 GOOS=linux go build)")
	}
	st, err := os.Stat(binaryPath)
	if err != nil {
		return nil, fieldErr(BinaryField, "%v", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fieldErr(BinaryField, "%s is not a regular file", binaryPath)
	}
	data, err := os.ReadFile(binaryPath)
	if err != nil {
		return nil, fieldErr(BinaryField, "%v", err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fieldErr(BinaryField, "%s is not an ELF executable (%v); build it for Linux: GOOS=linux go build", binaryPath, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fieldErr(BinaryField, "%s is an ELF %s, not an executable", binaryPath, f.Type)
	}
	if got := elfArch(f); got != "" && got != arch {
		return nil, fieldErr(BinaryField, "%s is built for %s, the image is for %s; build it with GOARCH=%s or set Options.Architecture to %s", binaryPath, got, arch, arch, got)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			interp, _ := io.ReadAll(io.LimitReader(p.Open(), 256))
			return nil, fieldErr(BinaryField, "%s is dynamically linked (loader %s), and the image has no libc; build it statically: CGO_ENABLED=0 go build", binaryPath, strings.TrimRight(string(interp), "\x00"))
		}
	}
	return data, nil
}

// elfArch returns the GOARCH of an ELF file's machine, or "" when it is not one this package knows.
func elfArch(f *elf.File) string {
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_386:
		return "386"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_LOONGARCH:
		return "loong64"
	case elf.EM_PPC64:
		if f.ByteOrder == binary.LittleEndian {
			return "ppc64le"
		}
		return "ppc64"
	}
	return ""
}

// tarFile returns a tar archive holding the file at the absolute path p with its parent directories, all
// owned by 0:0 with the modification time mtime, so the archive depends on nothing but its arguments.
func tarFile(p string, data []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	rel := strings.TrimPrefix(p, "/")
	parts := strings.Split(path.Dir(rel), "/")
	for i := range parts {
		if parts[0] == "." {
			break
		}
		dir := strings.Join(parts[:i+1], "/") + "/"
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: mtime}); err != nil {
			return nil, fmt.Errorf("imagebuild: layer: %w", err)
		}
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o755, Size: int64(len(data)), ModTime: mtime}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("imagebuild: layer: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return nil, fmt.Errorf("imagebuild: layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("imagebuild: layer: %w", err)
	}
	return buf.Bytes(), nil
}
