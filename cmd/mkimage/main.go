// Command mkimage builds a one-layer OCI image around a static Linux binary, without a container engine,
// and pushes it to a registry and/or writes it as an OCI image layout. scripts/demo.sh releases the demo
// app with it; see internal/imagebuild for what the image holds.
//
//	mkimage --binary PATH --version V [--path /app/NAME] [--user UID[:GID]] [--source URL] [--env K=V]...
//	        [--arch GOARCH] [--push REF] [--layout DIR] [--print-digest] [--timeout 5m]
//
// For example:
//
//	CGO_ENABLED=0 go build -trimpath -o bin/demoapp ./cmd/demoapp
//	mkimage --binary bin/demoapp --version v1.0.0 --push 127.0.0.1:5001/slipway/demo-app:v1.0.0
//
// It prints the image's digest ("sha256:...") on stdout, and nothing else, so a script can take it:
// digest=$(mkimage ...). What it did ("pushed REF@sha256:...", "layout DIR sha256:...") goes to stderr, unless
// --print-digest asks for the digest alone. The same binary and flags give the same digest.
//
// Registries on loopback (127.0.0.1:PORT, localhost:PORT, [::1]:PORT) are spoken to over plain HTTP, all
// others over HTTPS with the credentials of the Docker config (~/.docker/config.json, $DOCKER_CONFIG).
//
// Exit status: 0 done, 1 the push or the layout failed, 2 a bad flag (the message names it).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vektagraf/slipway/internal/imagebuild"
	"github.com/vektagraf/slipway/internal/spec"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// flagOf maps the paths of imagebuild's field errors (an Options field, or the binary) to the flags that set
// them, so an invalid option is reported by the flag's name.
var flagOf = map[string]string{
	imagebuild.BinaryField: "--binary", "Options.Version": "--version", "Options.Path": "--path",
	"Options.User": "--user", "Options.Source": "--source", "Options.Env": "--env", "Options.Architecture": "--arch",
}

// usageError is a bad flag: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func badFlag(flagName, format string, args ...any) error {
	return usageError{flagName + ": " + fmt.Sprintf(format, args...)}
}

// envFlags collects repeated --env KEY=VALUE flags.
type envFlags []string

func (e *envFlags) String() string     { return strings.Join(*e, ",") }
func (e *envFlags) Set(v string) error { *e = append(*e, v); return nil }

// run is the command without the process around it: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := mkimage(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mkimage: %v\nRun mkimage --help for the flags.\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "mkimage: %v\n", err)
		return 1
	}
}

func mkimage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	var (
		opts        imagebuild.Options
		env         envFlags
		binary      = fs.String("binary", "", "the static Linux binary to put in the image (required)")
		push        = fs.String("push", "", "push the image to this reference, written out in full: REGISTRY/REPO:TAG")
		layoutDir   = fs.String("layout", "", "write the image as an OCI image layout into this new or empty directory")
		printDigest = fs.Bool("print-digest", false, "print the digest alone: nothing on stderr unless something fails")
		timeout     = fs.Duration("timeout", 5*time.Minute, "give up on the push after this long")
	)
	fs.StringVar(&opts.Version, "version", "", "the release version, e.g. v1.0.0 (required): label "+imagebuild.LabelVersion+" and $"+imagebuild.VersionEnv)
	fs.StringVar(&opts.Path, "path", "", "where the binary goes in the image, the entrypoint (default "+imagebuild.DefaultDir+"/<binary's name>)")
	fs.StringVar(&opts.User, "user", "", "numeric user the image runs as, UID or UID:GID (default "+imagebuild.DefaultUser+")")
	fs.StringVar(&opts.Source, "source", "", "URL of the source repository (label "+imagebuild.LabelSource+")")
	fs.StringVar(&opts.Architecture, "arch", "", "the image's GOARCH; the binary must be built for it (default this machine's)")
	fs.Var(&env, "env", "extra KEY=VALUE for the image's environment (repeatable)")
	// The flag package would print the usage on every error; mkimage prints it only for --help, and a one-line
	// message naming the flag otherwise.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "Usage: mkimage --binary PATH --version V [--push REF] [--layout DIR] [flags]\n\n"+
				"Builds a one-layer OCI image around a static Linux binary and pushes it and/or writes an OCI layout.\n\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return err
		}
		return usageError{err.Error()} // the flag package names the flag
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q; every input is a flag (--binary PATH)", fs.Arg(0))}
	case *binary == "":
		return badFlag("--binary", "missing; give the static Linux binary to put in the image")
	case opts.Version == "":
		return badFlag("--version", "missing; give the release version, e.g. v1.0.0")
	case *timeout <= 0:
		return badFlag("--timeout", "%s; give a positive duration, e.g. 5m", *timeout)
	}
	opts.Env = env
	if *push != "" {
		if _, err := imagebuild.ParseReference(*push); err != nil {
			return badFlag("--push", "%s", strings.TrimPrefix(err.Error(), "imagebuild: "))
		}
	}
	if *layoutDir != "" {
		if entries, err := os.ReadDir(*layoutDir); err == nil && len(entries) > 0 {
			return badFlag("--layout", "%s is not empty; give a new or empty directory", *layoutDir)
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return badFlag("--layout", "%v", err)
		}
	}

	img, err := imagebuild.FromBinary(*binary, opts)
	if err != nil {
		var fe spec.FieldError
		if errors.As(err, &fe) && flagOf[fe.Path] != "" {
			return badFlag(flagOf[fe.Path], "%s", fe.Message)
		}
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	digest := d.String()
	var done []string
	if *layoutDir != "" {
		if _, err := imagebuild.WriteLayout(img, *layoutDir); err != nil {
			return err
		}
		done = append(done, fmt.Sprintf("layout %s %s", *layoutDir, digest))
	}
	if *push != "" {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		if _, err := imagebuild.Push(ctx, img, *push); err != nil {
			return err
		}
		done = append(done, fmt.Sprintf("pushed %s@%s", strings.SplitN(*push, "@", 2)[0], digest))
	}
	if !*printDigest {
		for _, l := range done {
			fmt.Fprintln(stderr, "mkimage: "+l)
		}
	}
	fmt.Fprintln(stdout, digest)
	return nil
}
