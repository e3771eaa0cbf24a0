package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vektagraf/slipway/activities"
)

// scannerConfig is the worker's scanner configuration, from flags with environment defaults.
type scannerConfig struct {
	trivy, grype              *string
	trivyCacheDir, grypeDBDir *string
	cacheDir, reportsDir      *string
	timeout                   *time.Duration
}

// scannerFlags declares the scanner flags. Their environment defaults are Trivy's and Grype's own variables
// for the databases (TRIVY_CACHE_DIR, GRYPE_DB_CACHE_DIR), so `eval "$(scripts/scandb.sh | sed 's/^/export /')"`
// configures a worker as it configures the CLIs.
func scannerFlags() *scannerConfig {
	return &scannerConfig{
		trivy:         flag.String("trivy", envOr("SLIPWAY_TRIVY", "trivy"), "Trivy CLI: a path, or a name looked up in PATH (scripts/tools.sh path trivy)"),
		grype:         flag.String("grype", envOr("SLIPWAY_GRYPE", "grype"), "Grype CLI: a path, or a name looked up in PATH (scripts/tools.sh path grype)"),
		trivyCacheDir: flag.String("trivy-cache-dir", os.Getenv("TRIVY_CACHE_DIR"), "Trivy's cache directory, holding db/trivy.db and db/metadata.json"),
		grypeDBDir:    flag.String("grype-db-dir", os.Getenv("GRYPE_DB_CACHE_DIR"), "Grype's database directory, holding 6/vulnerability.db"),
		cacheDir:      flag.String("scan-cache-dir", os.Getenv("SLIPWAY_SCAN_CACHE_DIR"), "where scan results are cached by image digest and databases (default: the user cache dir, slipway/scan-results)"),
		reportsDir:    flag.String("scan-reports-dir", os.Getenv("SLIPWAY_SCAN_REPORTS_DIR"), "where each release's scan reports are written, as <dir>/<app>/<version>/ (default: the user cache dir, slipway/scan-reports)"),
		timeout:       flag.Duration("scan-timeout", 5*time.Minute, "bound of one scanner run"),
	}
}

// scanners checks the configuration and builds the Scanners activity. A missing CLI stops the worker at
// start, since every release scans first; a missing database does not (releases then fail at the scan stage
// with a ScannerDatabase error that says how to build or download it), so an operator can start the worker
// and fill the databases in either order.
func (c *scannerConfig) scanners(reg *activities.Registry) (*activities.Scanners, error) {
	s := &activities.Scanners{Registry: reg, Timeout: *c.timeout}
	var errs []error
	var err error
	if s.TrivyPath, err = lookCLI("trivy", *c.trivy, "SLIPWAY_TRIVY"); err != nil {
		errs = append(errs, err)
	}
	if s.GrypePath, err = lookCLI("grype", *c.grype, "SLIPWAY_GRYPE"); err != nil {
		errs = append(errs, err)
	}
	for _, d := range []struct {
		flag, env string
		val       *string
		out       *string
	}{
		{"--trivy-cache-dir", "TRIVY_CACHE_DIR", c.trivyCacheDir, &s.TrivyCacheDir},
		{"--grype-db-dir", "GRYPE_DB_CACHE_DIR", c.grypeDBDir, &s.GrypeDBDir},
	} {
		if *d.val == "" {
			errs = append(errs, fmt.Errorf("%s (or $%s): required; the scanners never download databases, see docs/scanners.md", d.flag, d.env))
			continue
		}
		abs, err := filepath.Abs(*d.val)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.flag, err))
		}
		*d.out = abs
	}
	userCache, _ := os.UserCacheDir()
	for _, d := range []struct {
		val, def string
		out      *string
	}{
		{*c.cacheDir, "scan-results", &s.CacheDir},
		{*c.reportsDir, "scan-reports", &s.ReportsDir},
	} {
		p := d.val
		if p == "" && userCache != "" {
			p = filepath.Join(userCache, "slipway", d.def)
		}
		if p != "" {
			if p, err = filepath.Abs(p); err != nil {
				errs = append(errs, err)
			}
		}
		*d.out = p
	}
	if *c.timeout <= 0 {
		errs = append(errs, fmt.Errorf("--scan-timeout: %s must be positive", *c.timeout))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// lookCLI resolves a scanner CLI to an absolute path.
func lookCLI(name, value, env string) (string, error) {
	p, err := exec.LookPath(value)
	if err != nil {
		return "", fmt.Errorf("--%s (or $%s): %v; build the pinned CLI with scripts/tools.sh %s and pass $(scripts/tools.sh path %s)", name, env, err, name, name)
	}
	return filepath.Abs(p)
}
