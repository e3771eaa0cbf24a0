package activities

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/scan"
	"github.com/vektagraf/slipway/internal/spec"
)

func TestScanCache(t *testing.T) {
	f := newFake(t, "trivy-vulnerable.json", 0, "grype-vulnerable.json", 0)
	f.s.CacheDir = filepath.Join(t.TempDir(), "cache")
	in := ScanInput{Target: ScanTarget{Dir: f.target}, Digest: "sha256:1111"}

	first, err := f.s.Scan(context.Background(), in)
	require.Equal(t, ErrVulnerable, ErrorType(err))
	require.False(t, first.Cached)

	second, err := f.s.Scan(context.Background(), in)
	require.Equal(t, ErrVulnerable, ErrorType(err))
	require.True(t, second.Cached)
	require.Equal(t, first.Verdict, second.Verdict)
	require.Equal(t, first.Scanners, second.Scanners)
	require.Equal(t, first.Databases, second.Databases)
	require.Equal(t, 1, invocations(t, f.trivyLog), "the hit ran no scanner")
	require.Equal(t, 1, invocations(t, f.grypeLog))

	// A changed policy applies to cached findings.
	in.Policy.Ignore = []spec.Ignore{
		{ID: "CVE-2099-0001", Reason: "unreachable", Expires: "2999-01-01"},
		{ID: "CVE-2022-32149", Reason: "no user input", Expires: "2999-01-01"},
	}
	third, err := f.s.Scan(context.Background(), in)
	require.NoError(t, err)
	require.True(t, third.Cached)
	require.True(t, third.Verdict.Passed)
	require.Equal(t, 2, third.Verdict.Counts.Ignored.Sum())

	// Another digest, or a new database, is a miss.
	in.Digest = "sha256:2222"
	_, err = f.s.Scan(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, 2, invocations(t, f.trivyLog))
	require.NoError(t, os.WriteFile(filepath.Join(f.s.GrypeDBDir, "6", "import.json"), []byte(`{"digest":"xxh64:0","client_version":"v6.1.10"}`), 0o644))
	res, err := f.s.Scan(context.Background(), in)
	require.NoError(t, err)
	require.False(t, res.Cached)
	require.Equal(t, 3, invocations(t, f.grypeLog))

	// Without a digest nothing is cached.
	in.Digest = ""
	for range 2 {
		res, err = f.s.Scan(context.Background(), in)
		require.NoError(t, err)
		require.False(t, res.Cached)
	}
	require.Equal(t, 5, invocations(t, f.trivyLog))
}

func TestScanSingleScannerResultIsNotCached(t *testing.T) {
	f := newFake(t, "", 1, "grype-clean.json", 0)
	f.s.CacheDir = t.TempDir()
	in := ScanInput{Target: ScanTarget{Dir: f.target}, Digest: "sha256:1111", AllowSingleScanner: true}
	for range 2 {
		res, err := f.s.Scan(context.Background(), in)
		require.NoError(t, err)
		require.False(t, res.Cached)
	}
	require.Equal(t, 2, invocations(t, f.grypeLog))
}

// TestScanCacheKeyIsStable pins the cache key's format: a change would turn every entry the workers have
// cached into a miss. The paths do not exist, so the key depends on the hashed lines alone.
func TestScanCacheKeyIsStable(t *testing.T) {
	s := &Scanners{TrivyPath: "/nonexistent/bin/trivy", GrypePath: "/nonexistent/bin/grype",
		TrivyCacheDir: "/nonexistent/trivy", GrypeDBDir: "/nonexistent/grype", CacheDir: "/nonexistent/cache"}
	dbs := map[string]scan.ScannerInfo{
		scan.ScannerTrivy: {DBVersion: "2", DBUpdatedAt: time.Date(2026, 11, 25, 23, 3, 37, 0, time.UTC)},
		scan.ScannerGrype: {DBVersion: "v6.1.10"},
	}
	require.Equal(t, "07c500be87699ce0b4e71d7f77a6e32857d1fdf3f5cf43ff325e42ba31423bea", s.cacheKey("sha256:1111", s.backends(), dbs))
	require.Empty(t, s.cacheKey("", s.backends(), dbs), "no digest, no key")
}
