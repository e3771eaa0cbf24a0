//go:build integration

package scanners

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ggcrtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/scan"
	"github.com/vektagraf/slipway/internal/spec"
)

// scanners is the Scan activity configured with the real CLIs and the fixture databases.
func scanners(t *testing.T) *activities.Scanners {
	return &activities.Scanners{
		TrivyPath: tools.trivy, GrypePath: tools.grype,
		TrivyCacheDir: tools.trivyCache, GrypeDBDir: tools.grypeCache,
		Timeout: 2 * time.Minute,
	}
}

func target(name string) activities.ScanTarget {
	return activities.ScanTarget{Dir: filepath.Join(tools.repo, "tests/fixtures/scan-targets", name)}
}

func TestScanActivityBlocksTheVulnerableTargetAndWritesReports(t *testing.T) {
	reports := filepath.Join(t.TempDir(), "reports")
	res, err := scanners(t).Scan(context.Background(), activities.ScanInput{Target: target("vulnerable"), ReportsDir: reports})
	require.Equal(t, activities.ErrVulnerable, activities.ErrorType(err), "%v", err)
	require.False(t, res.Verdict.Passed)
	require.Equal(t, 1, res.Verdict.Counts.Blocking.Critical)
	require.Equal(t, 1, res.Verdict.Counts.Blocking.High)
	require.Equal(t, 1, res.Verdict.Counts.Total.Low)
	require.Equal(t, res.Verdict.Summary, err.Error()[:len(res.Verdict.Summary)])
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, res.Scanners)
	require.Empty(t, res.Notes)
	require.Equal(t, "v0.74.0", res.Databases[scan.ScannerTrivy].Version)
	require.Equal(t, "v0.121.2", res.Databases[scan.ScannerGrype].Version)
	require.Equal(t, "2", res.Databases[scan.ScannerTrivy].DBVersion)
	require.NotEmpty(t, res.Databases[scan.ScannerGrype].DBVersion)
	require.False(t, res.Databases[scan.ScannerTrivy].DBUpdatedAt.IsZero())
	require.False(t, res.Databases[scan.ScannerGrype].DBUpdatedAt.IsZero())

	files := map[string][]byte{}
	for file, digest := range map[string]string{scan.ReportJSONFile: res.ReportDigests.JSON, scan.ReportSARIFFile: res.ReportDigests.SARIF} {
		data, err := os.ReadFile(filepath.Join(reports, file))
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), digest, file)
		files[file] = data
	}
	var report scan.Report
	require.NoError(t, json.Unmarshal(files[scan.ReportJSONFile], &report))
	require.Len(t, report.Findings, 3)
	require.Equal(t, res.Verdict.Counts, report.Verdict.Counts)
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(files[scan.ReportSARIFFile], &sarif))
	require.Equal(t, "2.1.0", sarif.Version)
	require.Len(t, sarif.Runs[0].Results, 3)
}

func TestScanActivityPassesTheCleanTarget(t *testing.T) {
	res, err := scanners(t).Scan(context.Background(), activities.ScanInput{Target: target("clean")})
	require.NoError(t, err)
	require.True(t, res.Verdict.Passed)
	require.Equal(t, "passed: no findings", res.Verdict.Summary)
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, res.Scanners)
}

func TestScanActivityPassesWithIgnores(t *testing.T) {
	in := activities.ScanInput{Target: target("vulnerable"), Policy: spec.ScanPolicy{Ignore: []spec.Ignore{
		{ID: "CVE-2099-0001", Reason: "not reachable", Expires: "2999-01-31"},
		{ID: "CVE-2022-32149", Package: "golang.org/x/text", Reason: "no user-supplied Accept-Language", Expires: "2999-01-31"},
	}}}
	res, err := scanners(t).Scan(context.Background(), in)
	require.NoError(t, err)
	require.True(t, res.Verdict.Passed, res.Verdict.Summary)
	require.Equal(t, 2, res.Verdict.Counts.Ignored.Sum())
}

func TestScanActivityCachesByDigest(t *testing.T) {
	s := scanners(t)
	s.CacheDir = t.TempDir()
	in := activities.ScanInput{Target: target("vulnerable"), Digest: "sha256:" + hex.EncodeToString(make([]byte, 32))}
	first, err := s.Scan(context.Background(), in)
	require.Equal(t, activities.ErrVulnerable, activities.ErrorType(err), "%v", err)
	require.False(t, first.Cached)

	start := time.Now()
	second, err := s.Scan(context.Background(), in)
	require.Equal(t, activities.ErrVulnerable, activities.ErrorType(err), "%v", err)
	require.True(t, second.Cached)
	require.Equal(t, first.Verdict, second.Verdict)
	require.Equal(t, first.Databases, second.Databases)
	t.Logf("cache hit took %s", time.Since(start))
}

// TestScanActivityReadsAnOCILayout checks that both CLIs accept an OCI image layout offline, with the
// arguments Scan gives them: a one-layer image holding the vulnerable go.mod. Image scans catalogue binaries,
// not go.mod files, so the findings are not asserted, only that both scanners produced a report.
func TestScanActivityReadsAnOCILayout(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join(tools.repo, "tests/fixtures/scan-targets/vulnerable/go.mod"))
	require.NoError(t, err)
	layout := writeLayout(t, map[string][]byte{"app/go.mod": gomod})
	res, err := scanners(t).Scan(context.Background(), activities.ScanInput{Target: activities.ScanTarget{OCILayout: layout}})
	if activities.ErrorType(err) != activities.ErrVulnerable {
		require.NoError(t, err)
	}
	require.Equal(t, []string{scan.ScannerGrype, scan.ScannerTrivy}, res.Scanners)
	t.Logf("OCI layout: %s; notes %v", res.Verdict.Summary, res.Notes)
}

// writeLayout writes an OCI image layout (go-containerregistry) holding one layer with files.
func writeLayout(t testing.TB, files map[string][]byte) string {
	t.Helper()
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: filepath.Dir(name) + "/", Typeflag: tar.TypeDir, Mode: 0o755}))
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name]))}))
		_, err := tw.Write(files[name])
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	layer, err := ggcrtarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarball.Bytes())), nil
	})
	require.NoError(t, err)
	img, err := mutate.AppendLayers(empty.Image, layer)
	require.NoError(t, err)
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	require.NoError(t, err)
	require.NoError(t, p.AppendImage(img))
	return dir
}

// BenchmarkScan reports the scan stage's wall time for one small image (an OCI layout) and one source tree,
// each scanned by both real CLIs, and the time of a re-scan of the same digest served from the cache.
func BenchmarkScan(b *testing.B) {
	gomod, err := os.ReadFile(filepath.Join(tools.repo, "tests/fixtures/scan-targets/vulnerable/go.mod"))
	require.NoError(b, err)
	image := activities.ScanTarget{OCILayout: writeLayout(b, map[string][]byte{"app/go.mod": gomod})}
	s := &activities.Scanners{TrivyPath: tools.trivy, GrypePath: tools.grype,
		TrivyCacheDir: tools.trivyCache, GrypeDBDir: tools.grypeCache, Timeout: 2 * time.Minute}
	scanOnce := func(b *testing.B, s *activities.Scanners, in activities.ScanInput) {
		if _, err := s.Scan(context.Background(), in); err != nil && activities.ErrorType(err) != activities.ErrVulnerable {
			b.Fatal(err)
		}
	}
	b.Run("image", func(b *testing.B) {
		for b.Loop() {
			scanOnce(b, s, activities.ScanInput{Target: image})
		}
	})
	b.Run("source-tree", func(b *testing.B) {
		for b.Loop() {
			scanOnce(b, s, activities.ScanInput{Target: target("vulnerable")})
		}
	})
	b.Run("cached-rescan", func(b *testing.B) {
		cached := *s
		cached.CacheDir = b.TempDir()
		in := activities.ScanInput{Target: image, Digest: "sha256:" + hex.EncodeToString(make([]byte, 32))}
		scanOnce(b, &cached, in) // fills the cache
		for b.Loop() {
			scanOnce(b, &cached, in)
		}
	})
}
