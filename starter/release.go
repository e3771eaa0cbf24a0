package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vektagraf/slipway/internal/imagebuild"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// release starts, or attaches to, the release of --version. It checks all input first and pushes a local build
// given as --image-layout or --image-tarball to image.source (or image.repository) as :VERSION before the
// start, so nothing starts on bad input or a failed push; with --wait it follows the run to its end.
func (c *command) release(ctx context.Context, args []string) int {
	fs := c.flags()
	version := fs.String("version", "", "version to release: semver (v1.2.3) or a git commit SHA; becomes the image tag")
	wait := fs.Bool("wait", false, "stream stage progress and exit with the release's outcome")
	commit := fs.String("commit", "", "source commit (default $GITHUB_SHA)")
	branch := fs.String("branch", "", "source branch, for the \"branch\" release tag (default $GITHUB_REF_NAME on a branch build)")
	layoutDir := fs.String("image-layout", "", "an OCI image layout holding the build: pushed to image.source (or image.repository) as :VERSION before the release starts")
	tarballPath := fs.String("image-tarball", "", "a `docker save` tarball holding the build: pushed like --image-layout")
	var in releaseapi.ReleaseInput
	var upload v1.Image
	_, rc, done, code := c.prepare(args, func(s *spec.Spec) error {
		if *version == "" {
			return errors.New("--version: required (for example --version v1.2.3)")
		}
		in = releaseapi.ReleaseInput{Spec: *s, Version: *version, Trigger: c.trigger()}
		if *commit != "" {
			in.Trigger.Commit = *commit
		}
		if *branch != "" {
			in.Trigger.Branch = *branch
		}
		if err := prepare(&in); err != nil {
			return err
		}
		var err error
		switch {
		case *layoutDir != "" && *tarballPath != "":
			return errors.New("--image-layout and --image-tarball: give at most one")
		case *layoutDir != "":
			if upload, err = imagebuild.LoadLayout(*layoutDir); err != nil {
				return fmt.Errorf("--image-layout: %w", err)
			}
		case *tarballPath != "":
			if upload, err = imagebuild.LoadTarball(*tarballPath); err != nil {
				return fmt.Errorf("--image-tarball: %w", err)
			}
		}
		return nil
	})
	if code != exitOK {
		return code
	}
	defer done()
	if upload != nil {
		repo := cmp.Or(in.Spec.Image.Source, in.Spec.Image.Repository)
		ref := repo + ":" + in.Version
		digest, err := imagebuild.Push(ctx, upload, ref)
		if err != nil {
			return c.fail(exitError, "push the build to %s: %v\nnothing was started", ref, err)
		}
		fmt.Fprintf(c.stdout, "pushed %s@%s\n", ref, digest)
	}
	run, err := rc.StartRelease(ctx, in)
	if code := c.startError(err); code != exitOK {
		return code
	}
	c.printRun("release "+in.Version+" of "+in.Spec.App.Name, run)
	if !*wait {
		return exitOK
	}
	var res releaseapi.ReleaseResult
	return c.follow(ctx, rc, run, &res)
}

// prepare checks the --version flag, naming the flag, then runs releaseapi.Prepare (the workflow's own
// validation) and keeps the defaulted spec, so bad input never starts a workflow.
func prepare(in *releaseapi.ReleaseInput) error {
	if err := spec.ValidateVersion(in.Version); err != nil {
		return fmt.Errorf("--version: %w", err)
	}
	p, err := releaseapi.Prepare(*in, time.Now())
	if err != nil {
		return err
	}
	in.Spec = p.Spec
	return nil
}
