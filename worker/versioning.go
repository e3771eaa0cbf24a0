package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"runtime/debug"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Values of --set-current: when this worker's build becomes the deployment's current version, the one that
// new releases start on.
const (
	// setCurrentIfNone makes the build current only when the deployment has no current version yet: the first
	// worker of a fresh deployment serves releases at once, and a later build waits for an operator.
	setCurrentIfNone = "if-none"
	// setCurrentAlways makes the build current as soon as it polls (a single-worker setup such as the demo).
	setCurrentAlways = "always"
	// setCurrentNever leaves routing to an operator (`temporal worker deployment set-current-version`).
	setCurrentNever = "never"
)

// versioning is the worker's Worker Deployment identity. Releases wait for hours (approvals, monitoring
// windows), so the workflows are pinned: a release runs to its end on the build it started on, and a new
// build takes only the releases started after it became current.
type versioning struct {
	enabled    bool
	deployment string
	buildID    string
	setCurrent string
}

// deploymentNamePattern is what Temporal accepts as a deployment name, kept strict (no "." or ":", which
// Temporal reserves), since it is also part of search attributes users query.
var deploymentNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)

// buildIDPattern bounds a build ID to what reads well in `temporal worker deployment` output.
var buildIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

func versioningFlags() *versioning {
	v := &versioning{}
	flag.BoolVar(&v.enabled, "versioning", envOr("SLIPWAY_VERSIONING", "true") == "true",
		"run as a Worker Deployment version with the workflows pinned (false: an unversioned worker)")
	flag.StringVar(&v.deployment, "deployment-name", envOr("SLIPWAY_DEPLOYMENT_NAME", "slipway"),
		"Worker Deployment this worker belongs to")
	flag.StringVar(&v.buildID, "build-id", os.Getenv("SLIPWAY_BUILD_ID"),
		"build ID of this worker (default: the VCS revision the binary was built from, else a digest of the binary)")
	flag.StringVar(&v.setCurrent, "set-current", envOr("SLIPWAY_SET_CURRENT", setCurrentIfNone),
		"make this build the deployment's current version: if-none, always or never")
	return v
}

// resolve checks the flags and fills the default build ID.
func (v *versioning) resolve() error {
	if !v.enabled {
		return nil
	}
	if !deploymentNamePattern.MatchString(v.deployment) {
		return fmt.Errorf("--deployment-name %q: write letters, digits, - and _ (at most 100)", v.deployment)
	}
	if v.buildID == "" {
		id, err := defaultBuildID()
		if err != nil {
			return fmt.Errorf("--build-id: none given and %w; pass --build-id", err)
		}
		v.buildID = id
	}
	if !buildIDPattern.MatchString(v.buildID) {
		return fmt.Errorf("--build-id %q: write letters, digits, ., - and _ (at most 100)", v.buildID)
	}
	switch v.setCurrent {
	case setCurrentIfNone, setCurrentAlways, setCurrentNever:
	default:
		return fmt.Errorf("--set-current %q: write %s, %s or %s", v.setCurrent, setCurrentIfNone, setCurrentAlways, setCurrentNever)
	}
	return nil
}

// options are the worker options for this identity.
func (v *versioning) options() worker.DeploymentOptions {
	if !v.enabled {
		return worker.DeploymentOptions{}
	}
	return worker.DeploymentOptions{
		UseVersioning:             true,
		Version:                   worker.WorkerDeploymentVersion{DeploymentName: v.deployment, BuildID: v.buildID},
		DefaultVersioningBehavior: workflow.VersioningBehaviorPinned,
	}
}

// defaultBuildID is the VCS revision in the binary's build info (a clean checkout), else the first 12 hex
// digits of the binary's sha256: either way two different builds get different IDs and the same binary the
// same one, so restarting a worker never splits its releases between two versions.
func defaultBuildID() (string, error) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if len(rev) >= 12 && !modified {
			return rev[:12], nil
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("the binary cannot be found: %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("the binary cannot be read: %w", err)
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", fmt.Errorf("the binary cannot be read: %w", err)
	}
	return "sha-" + hex.EncodeToString(sum.Sum(nil))[:12], nil
}

// makeCurrent applies --set-current once the worker polls. The version exists on the server only some time
// after its first poll, so "not found" is retried until the deadline.
func (v *versioning) makeCurrent(ctx context.Context, c client.Client, logger *slog.Logger) error {
	if !v.enabled || v.setCurrent == setCurrentNever {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	h := c.WorkerDeploymentClient().GetHandle(v.deployment)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		err := v.trySetCurrent(ctx, h, logger)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("make build %s current in deployment %s: %w", v.buildID, v.deployment, err)
		case <-time.After(wait):
		}
	}
}

var errNotYet = errors.New("the version is not registered yet")

func (v *versioning) trySetCurrent(ctx context.Context, h client.WorkerDeploymentHandle, logger *slog.Logger) error {
	desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		return err // "not found" until the first poll registers the deployment
	}
	if cur := desc.Info.RoutingConfig.CurrentVersion; cur != nil {
		if cur.BuildID == v.buildID {
			logger.Info("worker build is the current version", "deployment", v.deployment, "buildID", v.buildID)
			return nil
		}
		if v.setCurrent == setCurrentIfNone {
			logger.Info("worker build is not current: new releases go to the current build until an operator switches",
				"deployment", v.deployment, "buildID", v.buildID, "current", cur.BuildID)
			return nil
		}
	}
	registered := false
	for _, s := range desc.Info.VersionSummaries {
		registered = registered || s.Version.BuildID == v.buildID
	}
	if !registered {
		return errNotYet
	}
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{
		BuildID: v.buildID, ConflictToken: desc.ConflictToken}); err != nil {
		return err
	}
	logger.Info("worker build made current", "deployment", v.deployment, "buildID", v.buildID)
	return nil
}
