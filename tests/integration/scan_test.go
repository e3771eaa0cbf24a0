//go:build integration

package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/imagebuild"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/scan"
	"github.com/vektagraf/slipway/internal/spec"
	"github.com/vektagraf/slipway/tests/testimage"
)

// pushVulnApp pushes, as the demo app's version, an image whose Go binary links github.com/example/vuln
// v1.1.0 (CRITICAL in the fixture databases), golang.org/x/text v0.3.7 (HIGH) and github.com/example/lowrisk
// v1.0.0 (LOW, no fix). It returns the image's digest.
func pushVulnApp(t *testing.T, version string) string {
	t.Helper()
	bin, err := testimage.BuildVulnApp(deadline(t, 5*time.Minute), t.TempDir())
	require.NoError(t, err)
	img, err := imagebuild.FromBinary(bin, imagebuild.Options{Version: version})
	require.NoError(t, err)
	d, err := imagebuild.Push(deadline(t, time.Minute), img, demoImage+":"+version)
	require.NoError(t, err)
	h.pushMu.Lock()
	defer h.pushMu.Unlock()
	h.pushed[version] = d // so release() does not push the demo app over it
	return d
}

// requireNothingDeployed checks that the release's namespaces hold no Deployment and no Service.
func requireNothingDeployed(t *testing.T, namespaces ...string) {
	t.Helper()
	for _, ns := range namespaces {
		deps, err := h.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, deps.Items, "Deployments in %s", ns)
		svcs, err := h.cs.CoreV1().Services(ns).List(context.Background(), metav1.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, svcs.Items, "Services in %s", ns)
	}
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestCriticalVulnerabilityBlocksTheReleaseBeforeAnyKubernetesObject(t *testing.T) {
	s := appSpec(t, "scanblock")
	digest := pushVulnApp(t, "v6.6.6")

	_, run, err := release(t, h.releases, s, "v6.6.6")
	recordHistory(t, run, "release-scan-blocked")
	require.Equal(t, releaseapi.ErrScanBlocked, appErrType(err), "%v", err)
	require.Contains(t, err.Error(), "nothing was deployed")
	require.Contains(t, err.Error(), "CVE-2099-0001 in github.com/example/vuln 1.1.0, fixed in 1.2.0")
	requireNothingDeployed(t, s.Environments.Staging.Namespace, s.Environments.Production.Namespace)

	st, err := h.releases.Status(deadline(t, 30*time.Second), run.ID, run.RunID)
	require.NoError(t, err)
	require.Equal(t, releaseapi.PhaseBlocked, st.Phase)
	require.NotNil(t, st.Scan)
	require.False(t, st.Scan.Passed)
	require.Equal(t, digest, st.Scan.Digest, "the digest the tag pointed at is what was scanned")
	require.Equal(t, 1, st.Scan.Counts.Blocking.Critical)
	require.Equal(t, 1, st.Scan.Counts.Blocking.High)
	require.Equal(t, 1, st.Scan.Counts.Total.Low)
	top := st.Scan.Top[0]
	require.Equal(t, "CVE-2099-0001", top.ID)
	require.Equal(t, "github.com/example/vuln", top.Package)
	require.Equal(t, "v1.1.0", top.InstalledVersion, "as the binary's build info spells it")
	require.Equal(t, "1.2.0", top.FixedVersion)
	require.Equal(t, scan.SeverityCritical, top.Severity)
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, top.Scanners, "both scanners found it")

	// The reports: the merged JSON and SARIF, and each scanner's own output, with the digests the status
	// recorded.
	dir := filepath.Join(h.reportsDir, "demo-app", "v6.6.6")
	require.Equal(t, dir, st.Scan.ReportsDir)
	require.Equal(t, st.Scan.ReportDigests.JSON, fileDigest(t, filepath.Join(dir, scan.ReportJSONFile)))
	require.Equal(t, st.Scan.ReportDigests.SARIF, fileDigest(t, filepath.Join(dir, scan.ReportSARIFFile)))
	for _, name := range []string{scan.ScannerTrivy, scan.ScannerGrype} {
		require.Equal(t, st.Scan.ReportDigests.Raw[name], fileDigest(t, filepath.Join(dir, scan.RawFile(name))), name)
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	data, err := os.ReadFile(filepath.Join(dir, scan.ReportSARIFFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &sarif))
	require.Equal(t, "2.1.0", sarif.Version)
	require.NotEmpty(t, sarif.Runs)
	var rules []string
	for _, r := range sarif.Runs[0].Results {
		rules = append(rules, r.RuleID)
	}
	require.Contains(t, rules, "CVE-2099-0001")
}

func TestIgnoredVulnerabilitiesLetTheReleaseThroughAndExpiredOnesAreRefused(t *testing.T) {
	s := appSpec(t, "scanignore")
	pushVulnApp(t, "v6.6.7")

	// An expired exception is refused before anything starts, saying which one lapsed.
	expired := s
	expired.Scan.Ignore = []spec.Ignore{{ID: "CVE-2099-0001", Reason: "accepted for the Q1 release", Expires: "2026-01-01"}}
	_, err := h.releases.StartRelease(deadline(t, 30*time.Second), releaseapi.ReleaseInput{Spec: expired, Version: "v6.6.7"})
	require.ErrorContains(t, err, "scan.ignore[0]: CVE-2099-0001 expired on 2026-01-01; remove it or extend it with a new reason")
	requireNoWorkflow(t, s.App.Name, s.Environments.Production.Namespace)

	// With both blocking findings accepted (reason and a future date), the same image is released.
	s.Scan.Ignore = []spec.Ignore{
		{ID: "CVE-2099-0001", Package: "github.com/example/vuln", Reason: "Shout is never called with user input", Expires: "2999-01-01"},
		{ID: "GHSA-69ch-w2m2-3vjp", Reason: "only parses our own Accept-Language configuration", Expires: "2999-01-01"},
	}
	res, _, err := release(t, h.releases, s, "v6.6.7")
	require.NoError(t, err)
	require.True(t, res.Scan.Passed)
	require.Equal(t, 1, res.Scan.Counts.Ignored.Critical)
	require.Equal(t, 1, res.Scan.Counts.Ignored.High, "an ignore may name an alias (the GHSA of the CVE)")
	require.Equal(t, 0, res.Scan.Counts.Blocking.Sum())
}

func TestCleanImagePassesTheScanAndKeepsTheScannersOutput(t *testing.T) {
	s := appSpec(t, "scanclean")
	s.Scan.AttachReports = true
	res, _, err := release(t, h.releases, s, "v2.0.0")
	require.NoError(t, err)
	require.NotNil(t, res.Scan)
	require.True(t, res.Scan.Passed)
	require.Zero(t, res.Scan.Counts.Total.Sum())
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, res.Scan.Scanners)
	require.Equal(t, pinned(t, "v2.0.0"), res.Image, "deployed by the digest that was scanned")
	for _, name := range []string{scan.ScannerTrivy, scan.ScannerGrype} {
		raw, err := os.ReadFile(filepath.Join(res.Scan.ReportsDir, scan.RawFile(name)))
		require.NoError(t, err)
		require.True(t, json.Valid(raw), name)
	}

	// scan.attachReports: the same reports sit next to the image as an OCI artifact referring to it.
	subject, err := name.NewDigest(demoImage + "@" + res.Scan.Digest)
	require.NoError(t, err)
	idx, err := remote.Referrers(subject)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	require.Equal(t, activities.ScanReportsArtifactType, im.Manifests[0].ArtifactType)
	require.Equal(t, demoImage+"@"+im.Manifests[0].Digest.String(), res.Scan.ReportArtifact)
	artifact, err := remote.Image(subject.Context().Digest(im.Manifests[0].Digest.String()))
	require.NoError(t, err)
	m, err := artifact.Manifest()
	require.NoError(t, err)
	var layers []string
	for _, l := range m.Layers {
		layers = append(layers, l.Digest.String())
	}
	require.Contains(t, layers, res.Scan.ReportDigests.SARIF, "the artifact holds the SARIF log the release recorded")
}
