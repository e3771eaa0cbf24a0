package scanners

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/scan"
)

func TestCommands(t *testing.T) {
	trivy := Trivy{Path: "/bin/trivy", CacheDir: "/cache/trivy"}
	args, env := trivy.Command(Target{Path: "/src"})
	require.Equal(t, []string{"fs", "--cache-dir", "/cache/trivy", "--cache-backend", "memory", "--skip-db-update",
		"--skip-java-db-update", "--offline-scan", "--skip-version-check", "--disable-telemetry",
		"--scanners", "vuln", "--format", "json", "--quiet", "/src"}, args)
	require.Empty(t, env)
	args, _ = trivy.Command(Target{Path: "/img", Layout: true})
	require.Equal(t, []string{"image", "--input", "/img", "--cache-dir", "/cache/trivy"}, args[:5])
	require.NotContains(t, args[5:], "/img")

	grype := Grype{Path: "/bin/grype", DBDir: "/cache/grype"}
	args, env = grype.Command(Target{Path: "/src"})
	require.Equal(t, []string{"dir:/src", "--by-cve", "-o", "json", "-q"}, args)
	require.Contains(t, env, "GRYPE_DB_CACHE_DIR=/cache/grype")
	require.Contains(t, env, "GRYPE_DB_AUTO_UPDATE=false")
	args, _ = grype.Command(Target{Path: "/img", Layout: true})
	require.Equal(t, "oci-dir:/img", args[0])
}

func TestDatabases(t *testing.T) {
	root := t.TempDir()
	trivy := Trivy{CacheDir: filepath.Join(root, "trivy")}
	grype := Grype{DBDir: filepath.Join(root, "grype")}
	var dbErr *DatabaseError

	for _, b := range []Backend{Trivy{}, Grype{}} {
		require.ErrorAs(t, b.CheckDatabase(), &dbErr)
		require.Contains(t, dbErr.Error(), "database directory configured")
	}
	for _, b := range []Backend{trivy, grype} {
		require.ErrorAs(t, b.CheckDatabase(), &dbErr)
		require.Contains(t, dbErr.Error(), "database in "+root)
		require.True(t, errors.Is(dbErr, os.ErrNotExist))
	}

	require.NoError(t, os.MkdirAll(filepath.Join(trivy.CacheDir, "db"), 0o755))
	require.NoError(t, os.WriteFile(trivy.DatabaseFiles()[0], []byte(`not json`), 0o644))
	require.NoError(t, trivy.CheckDatabase())
	_, err := trivy.Database()
	require.ErrorAs(t, err, &dbErr)
	require.Contains(t, err.Error(), "is not Trivy's metadata")
	require.NoError(t, os.WriteFile(trivy.DatabaseFiles()[0], []byte(`{"Version":2,"UpdatedAt":"2026-11-25T23:03:37Z"}`), 0o644))
	info, err := trivy.Database()
	require.NoError(t, err)
	require.Equal(t, scan.ScannerInfo{DBVersion: "2", DBUpdatedAt: time.Date(2026, 11, 25, 23, 3, 37, 0, time.UTC)}, info)

	require.NoError(t, os.MkdirAll(filepath.Join(grype.DBDir, "6"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(grype.DBDir, "6", "vulnerability.db"), []byte("sqlite"), 0o644))
	require.NoError(t, grype.CheckDatabase())
	info, err = grype.Database()
	require.NoError(t, err, "import.json is optional")
	require.Zero(t, info)
	require.NoError(t, os.WriteFile(grype.DatabaseFiles()[0], []byte(`{"client_version":"v6.1.10"}`), 0o644))
	info, err = grype.Database()
	require.NoError(t, err)
	require.Equal(t, "v6.1.10", info.DBVersion)
}

func TestParseReadsTheScannersVersions(t *testing.T) {
	for _, tc := range []struct {
		b       Backend
		fixture string
		version string
	}{
		{Trivy{}, "trivy-vulnerable.json", "v0.74.0"},
		{Grype{}, "grype-vulnerable.json", "v0.121.2"},
	} {
		report, err := os.ReadFile(filepath.Join("..", "testdata", tc.fixture))
		require.NoError(t, err)
		findings, info, err := tc.b.Parse(report)
		require.NoError(t, err, tc.fixture)
		require.NotEmpty(t, findings)
		require.Equal(t, tc.version, info.Version)
		_, _, err = tc.b.Parse([]byte(`{"other":"tool"}`))
		require.ErrorContains(t, err, tc.b.Name()+":")
	}
}
