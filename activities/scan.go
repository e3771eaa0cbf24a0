package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/internal/scan"
	"github.com/vektagraf/slipway/internal/scan/scanners"
)

// Error types of the Scan activity, non-retryable (listed in NonRetryableErrorTypes).
const (
	// ErrScannerDatabase: a scanner's vulnerability database is missing on the worker. Retrying on the same
	// worker cannot help; an operator must build or download it (see docs/scanners.md).
	ErrScannerDatabase = "ScannerDatabase"
	// ErrVulnerable: the scan succeeded and the policy blocks the release. The message is the verdict's
	// summary and the error's details carry the ScanResult, so a workflow can stop and still show the counts.
	ErrVulnerable = "Vulnerable"
)

const (
	// defaultScanTimeout bounds each scanner run when Scanners.Timeout is zero, so a hung CLI cannot hold an
	// attempt forever.
	defaultScanTimeout = 5 * time.Minute
	// scanHeartbeatEvery is how often Scan heartbeats while it pulls the image and the scanners run.
	scanHeartbeatEvery = 5 * time.Second
	// databaseHowTo ends the message of an ErrScannerDatabase, so the operator knows what to do.
	databaseHowTo = "build the test databases with scripts/scandb.sh, or download the real ones " +
		"(`trivy image --download-db-only --cache-dir DIR`, `GRYPE_DB_CACHE_DIR=DIR grype db update`) before starting the worker"
)

// Scanners runs the pinned Trivy and Grype CLIs (docs/scanners.md) against a target on the worker's disk and
// turns their merged findings into a verdict. The paths are the worker's configuration: the CLIs, Trivy's
// cache directory (holding db/trivy.db and db/metadata.json) and Grype's database directory (holding
// 6/vulnerability.db). The scanners never update their databases; the worker's operator does.
type Scanners struct {
	TrivyPath, GrypePath      string
	TrivyCacheDir, GrypeDBDir string
	// Timeout bounds each scanner run; zero means 5 minutes. A timeout is a retryable failure.
	Timeout time.Duration
	// CacheDir, when set, keeps the merged findings of image scans (inputs with a Digest), keyed by the digest,
	// the databases and the scanner binaries, so a retried or repeated scan of the same image skips the CLIs.
	CacheDir string
	// ReportsDir, when set, is where reports of inputs with a ReportName go: ReportsDir/ReportName/.
	ReportsDir string
	// Registry pulls Target.Image; nil means a Registry with the default keychain.
	Registry *Registry
}

// backends are the scanners Scan runs, each configured with the worker's paths; a new scanner (a file in
// internal/scan/scanners) is one line here.
func (s *Scanners) backends() []scanners.Backend {
	return []scanners.Backend{
		scanners.Trivy{Path: s.TrivyPath, CacheDir: s.TrivyCacheDir},
		scanners.Grype{Path: s.GrypePath, DBDir: s.GrypeDBDir},
	}
}

// ScanResult is what Scan returns, small enough for workflow history: the verdict (bounded lists), not the
// findings, which are in the report files.
type ScanResult struct {
	Verdict scan.Verdict `json:"verdict"`
	// Scanners lists the scanners whose findings were merged, sorted.
	Scanners []string `json:"scanners"`
	// ScannerErrors holds, by scanner name, why a scanner was left out (only with AllowSingleScanner).
	ScannerErrors map[string]string `json:"scannerErrors,omitempty"`
	// Databases holds, by scanner name, the CLI's version and its database's version and build time, so a
	// verdict can be explained later ("the database was a week old").
	Databases map[string]scan.ScannerInfo `json:"databases"`
	// ReportDigests are the sha256 digests of the written reports; zero when no report was written.
	ReportDigests scan.ReportDigests `json:"reportDigests,omitzero"`
	// ReportsDir is the directory on the worker that holds the reports, when they were written.
	ReportsDir string `json:"reportsDir,omitempty"`
	// ReportArtifact is the reports' OCI artifact (repository@sha256:...), with AttachReports.
	ReportArtifact string `json:"reportArtifact,omitempty"`
	// Cached says the findings came from the result cache and no scanner ran; the policy was still evaluated.
	Cached bool `json:"cached,omitempty"`
	// Notes records what went right but unexpectedly, e.g. a scanner that exited non-zero with a valid report.
	Notes []string `json:"notes,omitempty"`
}

// Scan scans the input's target with Trivy and Grype in parallel, merges their findings, evaluates the policy,
// and writes the reports when asked.
//
// Errors: a malformed input or an expired ignore is a non-retryable ErrInvalidInput; a missing database a
// non-retryable ErrScannerDatabase; a failed or timed-out scanner a retryable error naming it and quoting its
// stderr. A blocking verdict is returned as the result AND a non-retryable ErrVulnerable whose details carry
// the same ScanResult: a release must stop (so it is an error, and never retried, since the same image and
// databases give the same findings), but Temporal drops an activity's result when it returns an error, so the
// workflow reads the counts from the details (temporal.ApplicationError.Details).
func (s *Scanners) Scan(ctx context.Context, in ScanInput) (ScanResult, error) {
	now := time.Now().UTC()
	target, err := validateScanInput(&in, now)
	if err != nil {
		return ScanResult{}, err
	}
	backends := s.backends()
	dbs, err := databases(backends)
	if err != nil {
		return ScanResult{}, err
	}
	res := ScanResult{Databases: dbs}
	findings, raw, err := s.findings(ctx, in, target, backends, &res)
	if err != nil {
		return ScanResult{}, err
	}
	res.Verdict = scan.Evaluate(in.Policy, findings, now)
	if err := s.writeReports(ctx, in, target, now, findings, raw, &res); err != nil {
		return ScanResult{}, err
	}
	if !res.Verdict.Passed {
		return res, temporal.NewNonRetryableApplicationError(res.Verdict.Summary, ErrVulnerable, nil, res)
	}
	return res, nil
}

// databases checks that every scanner's database is there, then reads their versions, by scanner name.
func databases(backends []scanners.Backend) (map[string]scan.ScannerInfo, error) {
	for _, b := range backends {
		if err := b.CheckDatabase(); err != nil {
			return nil, databaseError(err)
		}
	}
	infos := map[string]scan.ScannerInfo{}
	for _, b := range backends {
		info, err := b.Database()
		if err != nil {
			return nil, databaseError(err)
		}
		infos[b.Name()] = info
	}
	return infos, nil
}

// databaseError makes a missing or unusable database a non-retryable ErrScannerDatabase, which says how to
// get one; other errors (reading a file) stay retryable.
func databaseError(err error) error {
	var dbErr *scanners.DatabaseError
	if errors.As(err, &dbErr) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("scan: %v; %s", dbErr, databaseHowTo), ErrScannerDatabase, dbErr.Err)
	}
	return fmt.Errorf("scan: %w", err)
}

// findings returns the merged findings and each scanner's output: from the result cache when it has them,
// else by running the scanners (on the pulled image, for a Target.Image). A result is cached only when every
// scanner contributed to it. It fills res as runScanners does, or, on a cache hit, its Scanners, Databases and
// Cached.
func (s *Scanners) findings(ctx context.Context, in ScanInput, t scanTarget, backends []scanners.Backend, res *ScanResult) ([]scan.Finding, map[string][]byte, error) {
	key := s.cacheKey(in.Digest, backends, res.Databases)
	if entry, ok := s.readCache(key); ok {
		res.Scanners, res.Databases, res.Cached = entry.Scanners, entry.Databases, true
		return entry.Findings, s.readCachedRaw(key, entry.Scanners), nil
	}
	if t.pull != "" {
		cleanup, err := s.pull(ctx, &t)
		if err != nil {
			return nil, nil, err
		}
		defer cleanup()
	}
	byScanner, raw, err := s.runScanners(ctx, in, t, backends, res)
	if err != nil {
		return nil, nil, err
	}
	findings := scan.Merge(byScanner)
	if len(res.ScannerErrors) == 0 {
		s.writeCache(ctx, key, cacheEntry{Version: scanCacheVersion, Findings: findings, Scanners: res.Scanners, Databases: res.Databases}, raw)
	}
	return findings, raw, nil
}

// pull fetches t.pull into a temporary OCI layout, heartbeating while it downloads, and points t at it. The
// returned function removes the layout.
func (s *Scanners) pull(ctx context.Context, t *scanTarget) (func(), error) {
	reg := s.registry()
	dir, err := os.MkdirTemp("", "slipway-scan-")
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	layoutDir := filepath.Join(dir, "image")
	err = runHeartbeating(ctx, scanHeartbeatEvery, func() any { return "pulling " + t.pull }, func(ctx context.Context) error {
		return reg.pullLayout(ctx, t.pull, layoutDir)
	})
	if err != nil {
		cleanup()
		// Returned as is: Temporal reads the type and retryability of the returned error only, so wrapping a
		// non-retryable ApplicationError would make it retryable.
		return nil, err
	}
	t.path = layoutDir
	return cleanup, nil
}

// scannerRun is one scanner's outcome.
type scannerRun struct {
	name string
	out  scanners.Output
	err  error
}

// runScanners runs the scanners in parallel, heartbeating until all are done, and applies AllowSingleScanner.
// It returns each scanner's findings and output, by name, and fills res.Scanners, res.ScannerErrors,
// res.Notes and the scanner versions in res.Databases.
func (s *Scanners) runScanners(ctx context.Context, in ScanInput, t scanTarget, backends []scanners.Backend, res *ScanResult) (map[string][]scan.Finding, map[string][]byte, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultScanTimeout
	}
	target := scanners.Target{Path: t.path, Layout: t.image}
	runs := make([]scannerRun, len(backends))
	start := time.Now()
	status := func() any { return fmt.Sprintf("scanning %s for %s", t.name, time.Since(start).Round(time.Second)) }
	err := runHeartbeating(ctx, scanHeartbeatEvery, status, func(ctx context.Context) error {
		var wg sync.WaitGroup
		for i, b := range backends {
			wg.Go(func() {
				out, err := scanners.Run(ctx, b, target, timeout)
				runs[i] = scannerRun{name: b.Name(), out: out, err: err}
			})
		}
		wg.Wait()
		return ctx.Err()
	})
	if err != nil {
		return nil, nil, err
	}

	byScanner := map[string][]scan.Finding{}
	raw := map[string][]byte{}
	var failed []scannerRun
	for _, r := range runs {
		if r.err != nil {
			failed = append(failed, r)
			continue
		}
		byScanner[r.name] = r.out.Findings
		raw[r.name] = r.out.Report
		res.Scanners = append(res.Scanners, r.name)
		info := res.Databases[r.name]
		info.Version = r.out.Info.Version
		if !r.out.Info.DBUpdatedAt.IsZero() {
			info.DBUpdatedAt = r.out.Info.DBUpdatedAt
		}
		if info.DBVersion == "" {
			info.DBVersion = r.out.Info.DBVersion
		}
		res.Databases[r.name] = info
		if r.out.Note != "" {
			res.Notes = append(res.Notes, r.out.Note)
		}
	}
	slices.Sort(res.Scanners)
	if len(failed) == 0 {
		return byScanner, raw, nil
	}
	if len(failed) == 1 && in.AllowSingleScanner {
		res.ScannerErrors = map[string]string{failed[0].name: failed[0].err.Error()}
		delete(res.Databases, failed[0].name)
		return byScanner, raw, nil
	}
	errs := make([]error, len(failed))
	for i, r := range failed {
		errs[i] = r.err
	}
	return nil, nil, fmt.Errorf("scan: %w", errors.Join(errs...))
}

func (s *Scanners) registry() *Registry {
	if s.Registry == nil {
		return &Registry{}
	}
	return s.Registry
}
