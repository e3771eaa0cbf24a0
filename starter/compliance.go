package main

import (
	"fmt"
	"time"

	"github.com/vektagraf/slipway/internal/compliance"
	"github.com/vektagraf/slipway/internal/render"
	"github.com/vektagraf/slipway/internal/spec"
)

// compliance evaluates the compliance rules over the production Deployment the spec renders, as the
// release's compliance stage does, without Temporal or a cluster: the release's evidence (the pinned image,
// the scan, the signature) is what the flags say.
func (c *command) compliance(args []string) int {
	fs := c.flags()
	version := fs.String("version", "v0.0.0-local", "version to render")
	image := fs.String("image", "", "the image as it would be deployed (default <image.repository>:<version>; a release pins it by digest)")
	scanned := fs.Bool("scanned", false, "count the image as scanned without blocking findings")
	signed := fs.Bool("signed", false, "count the image as signed")
	if !c.parse(args) {
		return exitUsage
	}
	s, code := c.loadSpec()
	if s == nil {
		return code
	}
	if err := spec.ValidateVersion(*version); err != nil {
		return c.fail(exitUsage, "--version: %v", err)
	}
	img := *image
	if img == "" {
		var err error
		if img, err = spec.ImageRef(s.Image.Repository, *version); err != nil {
			return c.fail(exitUsage, "image: %v", err)
		}
	} else if err := spec.ValidateImageRef(img); err != nil {
		return c.fail(exitUsage, "--image: %v", err)
	}
	if err := s.Compliance.CompliancePolicy.Validate(time.Now()); err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	prod := s.Environments.Production
	dep := render.Deployment(render.DeploymentInput{
		Namespace: prod.Namespace, Name: s.App.Name, App: s.App.Name, Image: img, Version: *version,
		Replicas: prod.Replicas, PullPolicy: s.Image.PullPolicy, Container: s.Container, ProgressDeadline: s.BlueGreen.ProgressDeadline,
	})
	report := compliance.Evaluate(compliance.Input{Deployment: dep, Settings: s.Compliance.Settings, Image: img,
		Scanned: *scanned, ScanPassed: *scanned, Signed: *signed}, s.Compliance.Policy(), time.Now().UTC())
	if c.asJSON {
		out, err := compliance.EncodeReport(report)
		if err != nil {
			return c.fail(exitError, "%v", err)
		}
		fmt.Fprint(c.stdout, string(out))
	} else {
		compliance.Table(c.stdout, report)
		fmt.Fprintf(c.stdout, "\n%s\n", report.Summary())
	}
	if report.Blocks(s.Compliance.Policy()) {
		return exitFailed
	}
	return exitOK
}
