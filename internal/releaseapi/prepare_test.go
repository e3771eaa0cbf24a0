package releaseapi

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/spec"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func demoInput(t *testing.T, version string) ReleaseInput {
	t.Helper()
	s, err := spec.Load(filepath.Join("..", "..", "examples", "demo", "slipway.yaml"))
	require.NoError(t, err)
	return ReleaseInput{Spec: *s, Version: version,
		Trigger: Trigger{Commit: "0123456789abcdef0123456789abcdef01234567", Branch: "main"}}
}

func TestPrepareSplitsTagsAndNamesTheImages(t *testing.T) {
	in := demoInput(t, "v1.4.2")
	in.Spec.Image.Source = "127.0.0.1:5001/ci/demo-app"
	in.Spec.Image.Tags = []string{spec.TagSemver, spec.TagMajorMinor, spec.TagSHA, spec.TagBranch, spec.TagLatest}
	p, err := Prepare(in, now)
	require.NoError(t, err)
	require.Equal(t, in.Spec.Image.Repository+":v1.4.2", p.Image)
	require.Equal(t, "127.0.0.1:5001/ci/demo-app:v1.4.2", p.Source)
	require.Equal(t, p.Source, p.ScanRef(), "the scan reads where CI pushed")
	require.Equal(t, []string{"v1.4.2", "sha-0123456"}, p.Tags, "tags that name this build move at push")
	require.Equal(t, []string{"v1.4", "main", "latest"}, p.FloatingTags, "floating tags move after verify")

	in.Spec.Image.Source = ""
	p, err = Prepare(in, now)
	require.NoError(t, err)
	require.Equal(t, p.Image, p.ScanRef())
}

func TestPrepareFillsDefaultsWithoutChangingItsInput(t *testing.T) {
	in := demoInput(t, "v1.0.0")
	in.Spec.Smoke.Attempts = 0
	p, err := Prepare(in, now)
	require.NoError(t, err)
	require.Positive(t, p.Spec.Smoke.Attempts, "the defaulted spec is what the release records")
	require.Zero(t, in.Spec.Smoke.Attempts)
}

func TestPrepareNamesEveryProblem(t *testing.T) {
	in := demoInput(t, "$(id)")
	in.Spec.Environments.Production.Replicas = -1
	_, err := Prepare(in, now)
	require.ErrorContains(t, err, `version: version "$(id)" is not accepted`)
	require.ErrorContains(t, err, "environments.production.replicas")

	in = demoInput(t, "v1.0.0")
	in.Spec.Scan.Ignore = []spec.Ignore{{ID: "CVE-2099-0001", Reason: "accepted", Expires: "2026-12-01"}}
	_, err = Prepare(in, now)
	require.ErrorContains(t, err, "scan.ignore[0]: CVE-2099-0001 expired on 2026-12-01", "expiry is judged at the time given")
	_, err = Prepare(in, now.AddDate(-1, 0, 0))
	require.NoError(t, err)

	in = demoInput(t, "v1.0.0")
	in.Spec.Image.Tags = []string{spec.TagSHA}
	in.Trigger.Commit = ""
	_, err = Prepare(in, now)
	require.ErrorContains(t, err, `image.tags: tag kind "sha" needs the commit SHA`)
}

func TestPrepareRollbackIgnoresLapsedExceptions(t *testing.T) {
	in := demoInput(t, "v1.0.0")
	in.Spec.Scan.Ignore = []spec.Ignore{{ID: "CVE-2099-0001", Reason: "accepted", Expires: "2020-01-01"}}
	s, err := PrepareRollback(in.Spec)
	require.NoError(t, err, "a rollback must work with a lapsed exception in the spec")
	require.Equal(t, in.Spec.App.Name, s.App.Name)
}

func TestButtonValueRoundTrips(t *testing.T) {
	id, run, err := ParseButtonValue(ButtonValue(WorkflowID("shop", "shop-production"), "run-1"))
	require.NoError(t, err)
	require.Equal(t, "slipway.shop.shop-production", id)
	require.Equal(t, "run-1", run)
	for _, bad := range []string{"", "a", "a|b|c", "|r", "w|", "w x|r"} {
		_, _, err := ParseButtonValue(bad)
		require.Error(t, err, bad)
	}
}
