package imagebuild

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vektagraf/slipway/internal/spec"
)

// Defaults FromBinary uses for empty Options fields.
const (
	// DefaultUser is the numeric non-root user the image runs as: numeric, because the image has no
	// /etc/passwd to resolve a name, and non-root so it passes runAsNonRoot admission checks.
	DefaultUser = "10001"
	// DefaultDir is the directory the binary goes into when Options.Path is empty (as DefaultDir/<basename>).
	DefaultDir = "/app"
	// VersionEnv is the environment variable the image sets to Options.Version, so the program (and a person
	// with a shell in the container) can tell which release it is without the registry.
	VersionEnv = "SLIPWAY_IMAGE_VERSION"
	// LabelVersion and LabelSource are the OCI annotation keys FromBinary sets as config labels.
	LabelVersion = "org.opencontainers.image.version"
	LabelSource  = "org.opencontainers.image.source"
)

// maxVersionLen matches the longest tag a registry accepts, so a version can always be used as the tag.
const maxVersionLen = 128

// Options describes the image FromBinary builds around a binary. Only Version is required; the zero value of
// every other field means its default, and the same binary with the same Options always gives the same
// image digest (nothing is taken from the clock or the file system's metadata).
type Options struct {
	// Version is the release version, e.g. "v1.0.0": required, at most 128 printable ASCII characters without
	// whitespace. It becomes the org.opencontainers.image.version label and $SLIPWAY_IMAGE_VERSION.
	Version string
	// Path is where the binary goes in the image, absolute and clean, e.g. "/app/demoapp"; it is also the
	// entrypoint. Empty means /app/<the binary's base name>.
	Path string
	// User is the config's user, "uid" or "uid:gid" (numeric, since the image has no /etc/passwd).
	// Empty means DefaultUser.
	User string
	// Source, when set, is the absolute URL of the source repository (label org.opencontainers.image.source).
	Source string
	// Env holds extra KEY=VALUE entries for the config's environment, after PATH and $SLIPWAY_IMAGE_VERSION,
	// which they may not redefine.
	Env []string
	// Architecture is the image's GOARCH. Empty means runtime.GOARCH. The binary must be built for it.
	Architecture string
	// Created is the image's creation time and the files' modification time. Zero means the config says
	// 0001-01-01T00:00:00Z and the files the Unix epoch: fixed, so rebuilding gives the same digest.
	Created time.Time
}

// BinaryField is the path of the field errors about the binary itself (FromBinary's binaryPath); an invalid
// option's path is "Options." and the field's name ("Options.Version").
const BinaryField = "binary"

// fieldErr reports an invalid option (field is its name in Options) or binary (field is BinaryField) as a
// spec.FieldError, the module's one field error type, so a command line finds the field with errors.As and
// names its own flag; the message reads "imagebuild: Options.Version: ...".
func fieldErr(field, format string, args ...any) error {
	path := "Options." + field
	if field == BinaryField {
		path = BinaryField
	}
	return fmt.Errorf("imagebuild: %w", spec.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

var (
	numericUser = regexp.MustCompile(`^[0-9]{1,10}(:[0-9]{1,10})?$`)
	envKey      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	goarch      = regexp.MustCompile(`^[a-z0-9]+$`)
	pathPart    = regexp.MustCompile(`^[A-Za-z0-9._+@-]+$`)
)

// withDefaults validates o and returns it with the defaults filled in; binaryPath gives the default Path.
func (o Options) withDefaults(binaryPath string) (Options, error) {
	switch {
	case o.Version == "":
		return o, fieldErr("Version", "empty; give the release version, e.g. v1.0.0")
	case len(o.Version) > maxVersionLen:
		return o, fieldErr("Version", "%d characters; at most %d (a registry tag's limit)", len(o.Version), maxVersionLen)
	case !printableNoSpace(o.Version):
		return o, fieldErr("Version", "%q has whitespace or non-printable characters; use printable ASCII without spaces, e.g. v1.0.0", o.Version)
	}

	if o.Path == "" {
		base := path.Base(strings.ReplaceAll(binaryPath, "\\", "/"))
		if !pathPart.MatchString(base) || base == "." || base == ".." {
			return o, fieldErr("Path", "empty, and the binary's name %q cannot be used as a file name in the image; set Path, e.g. /app/server", base)
		}
		o.Path = DefaultDir + "/" + base
	}
	if err := checkImagePath(o.Path); err != nil {
		return o, err
	}

	if o.User == "" {
		o.User = DefaultUser
	}
	if !numericUser.MatchString(o.User) {
		return o, fieldErr("User", "%q is not numeric; use \"uid\" or \"uid:gid\", e.g. 10001 (the image has no /etc/passwd to look a name up in)", o.User)
	}

	if o.Source != "" {
		u, err := url.Parse(o.Source)
		if err != nil || u.Scheme == "" || u.Host == "" || !printableNoSpace(o.Source) {
			return o, fieldErr("Source", "%q is not an absolute URL; use e.g. https://github.com/vektagraf/slipway", o.Source)
		}
	}

	seen := map[string]bool{"PATH": true, VersionEnv: true}
	for i, kv := range o.Env {
		key, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok || !envKey.MatchString(key):
			return o, fieldErr("Env", "entry %d (%q) is not KEY=VALUE with KEY of letters, digits and _ (not starting with a digit)", i, kv)
		case key == "PATH" || key == VersionEnv:
			return o, fieldErr("Env", "entry %d sets %s, which the image sets itself; leave it out", i, key)
		case seen[key]:
			return o, fieldErr("Env", "entry %d sets %s a second time; keep one", i, key)
		case strings.ContainsAny(kv, "\x00\n"):
			return o, fieldErr("Env", "entry %d (%s) has a NUL or newline; remove it", i, key)
		}
		seen[key] = true
	}

	if o.Architecture == "" {
		o.Architecture = runtime.GOARCH
	}
	if !goarch.MatchString(o.Architecture) {
		return o, fieldErr("Architecture", "%q is not a GOARCH; use e.g. amd64 or arm64, or leave it empty for %s", o.Architecture, runtime.GOARCH)
	}
	if !o.Created.IsZero() && (o.Created.Year() < 1970 || o.Created.Year() > 9999) {
		return o, fieldErr("Created", "%s is outside 1970..9999; leave it zero for a fixed time", o.Created.Format(time.RFC3339))
	}
	return o, nil
}

// checkImagePath accepts an absolute, clean path of plain file-name characters below the root.
func checkImagePath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fieldErr("Path", "%q is not absolute; use e.g. /app/server", p)
	case p == "/" || strings.HasSuffix(p, "/"):
		return fieldErr("Path", "%q names a directory; give the binary's file path, e.g. /app/server", p)
	case path.Clean(p) != p:
		return fieldErr("Path", "%q is not clean (// or . or .. parts); use %q", p, path.Clean(p))
	}
	for _, part := range strings.Split(p[1:], "/") {
		if !pathPart.MatchString(part) || part == "." || part == ".." {
			return fieldErr("Path", "%q has the part %q; use letters, digits and . _ + @ - only", p, part)
		}
	}
	return nil
}

// printableNoSpace reports whether s is printable ASCII without whitespace.
func printableNoSpace(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}
