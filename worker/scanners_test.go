package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/activities"
)

// parseScannerFlags declares the scanner flags on a fresh flag set, as main does, and parses args.
func parseScannerFlags(t *testing.T, args ...string) *scannerConfig {
	t.Helper()
	old := flag.CommandLine
	t.Cleanup(func() { flag.CommandLine = old })
	flag.CommandLine = flag.NewFlagSet("worker", flag.ContinueOnError)
	c := scannerFlags()
	require.NoError(t, flag.CommandLine.Parse(args))
	return c
}

func fakeCLI(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755))
	return p
}

func TestScannerConfigNamesWhatIsMissing(t *testing.T) {
	for _, k := range []string{"SLIPWAY_TRIVY", "SLIPWAY_GRYPE", "TRIVY_CACHE_DIR", "GRYPE_DB_CACHE_DIR", "SLIPWAY_SCAN_CACHE_DIR", "SLIPWAY_SCAN_REPORTS_DIR"} {
		t.Setenv(k, "")
	}
	t.Setenv("PATH", t.TempDir()) // no trivy or grype to find
	_, err := parseScannerFlags(t).scanners(&activities.Registry{})
	require.Error(t, err)
	for _, want := range []string{
		"--trivy (or $SLIPWAY_TRIVY)", "scripts/tools.sh trivy",
		"--grype (or $SLIPWAY_GRYPE)",
		"--trivy-cache-dir (or $TRIVY_CACHE_DIR): required",
		"--grype-db-dir (or $GRYPE_DB_CACHE_DIR): required",
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestScannerConfigFromEnvironment(t *testing.T) {
	bin := t.TempDir()
	t.Setenv("SLIPWAY_TRIVY", fakeCLI(t, bin, "trivy"))
	t.Setenv("SLIPWAY_GRYPE", "")
	t.Setenv("PATH", bin)
	fakeCLI(t, bin, "grype") // found in PATH by name, the default
	t.Setenv("TRIVY_CACHE_DIR", "/var/cache/trivy")
	t.Setenv("GRYPE_DB_CACHE_DIR", "/var/cache/grype")
	t.Setenv("SLIPWAY_SCAN_REPORTS_DIR", "/var/lib/slipway/reports")
	t.Setenv("SLIPWAY_SCAN_CACHE_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/home/w/.cache")
	reg := &activities.Registry{}
	s, err := parseScannerFlags(t, "--scan-timeout", "2m").scanners(reg)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(bin, "trivy"), s.TrivyPath)
	require.Equal(t, filepath.Join(bin, "grype"), s.GrypePath)
	require.Equal(t, "/var/cache/trivy", s.TrivyCacheDir)
	require.Equal(t, "/var/cache/grype", s.GrypeDBDir)
	require.Equal(t, "/var/lib/slipway/reports", s.ReportsDir)
	require.Equal(t, "/home/w/.cache/slipway/scan-results", s.CacheDir, "the user cache dir by default")
	require.Equal(t, "2m0s", s.Timeout.String())
	require.Same(t, reg, s.Registry)
}
