package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/vektagraf/slipway/internal/fsutil"
	"github.com/vektagraf/slipway/internal/scan"
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
	// scanHeartbeatEvery is how often Scan heartbeats while the scanners run.
	scanHeartbeatEvery = 5 * time.Second
	// maxStderrTail is how much of a scanner's stderr an error message quotes (the end, where the cause is).
	maxStderrTail = 4 << 10
	// scanCacheVersion changes when the cache entry's format or meaning changes, so old entries are misses.
	scanCacheVersion = "slipway-scan-cache/v1"
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

// ScanTarget is what to scan; exactly one field is set. Dir and OCILayout are paths on the worker's disk,
// absolute and clean, because a relative path would depend on the worker's working directory.
type ScanTarget struct {
	// Image is an image in a registry, by digest (registry/repository@sha256:...): Scan pulls it into a
	// temporary OCI layout and scans that, so what is scanned is exactly what the digest names.
	Image string `json:"image,omitempty"`
	// Dir is a source tree (scanned with `trivy fs` and `grype dir:`).
	Dir string `json:"dir,omitempty"`
	// OCILayout is an OCI image layout directory (`trivy image --input` and `grype oci-dir:`).
	OCILayout string `json:"ociLayout,omitempty"`
}

// ScanInput is the input of Scan.
type ScanInput struct {
	Target ScanTarget `json:"target"`
	// Digest is the scanned image's digest ("sha256:..."), optional. It is recorded in the report and, with
	// Scanners.CacheDir, keys the result cache (a directory has no stable identity, so it is never cached).
	Digest string      `json:"digest,omitempty"`
	Policy scan.Policy `json:"policy"`
	// AllowSingleScanner lets the scan go on with one scanner's findings when the other fails; the result
	// then names the scanner used and the other's error. False means both must succeed.
	AllowSingleScanner bool `json:"allowSingleScanner,omitempty"`
	// ReportsDir, when set, receives report.json and report.sarif (created if missing); their digests are in
	// the result.
	ReportsDir string `json:"reportsDir,omitempty"`
	// AttachReports pushes the reports as an OCI artifact whose subject is the scanned image (Target.Image
	// only), so they travel with the image: `crane manifest` / the registry's referrers API find them by the
	// image's digest. Its reference is ScanResult.ReportArtifact.
	AttachReports bool `json:"attachReports,omitempty"`
	// ReportName, when set and the worker has a reports directory (Scanners.ReportsDir), puts the reports in
	// its subdirectory of that name ("demo-app/v1.2.0"), so a workflow names its reports without knowing the
	// worker's disk. Segments are letters, digits, '.', '_' and '-'.
	ReportName string `json:"reportName,omitempty"`
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
	dbs, err := s.databases()
	if err != nil {
		return ScanResult{}, err
	}

	res := ScanResult{Databases: dbs}
	var findings []scan.Finding
	var raw map[string][]byte
	key := s.cacheKey(in.Digest, dbs)
	if entry, ok := s.readCache(key); ok {
		findings, res.Scanners, res.Databases, res.Cached = entry.Findings, entry.Scanners, entry.Databases, true
		raw = s.readCachedRaw(key, entry.Scanners)
	} else {
		if target.pull != "" {
			cleanup, err := s.pull(ctx, &target)
			if err != nil {
				return ScanResult{}, err
			}
			defer cleanup()
		}
		byScanner, outputs, err := s.runBoth(ctx, in, target, &res)
		if err != nil {
			return ScanResult{}, err
		}
		findings, raw = scan.Merge(byScanner), outputs
		if len(res.ScannerErrors) == 0 {
			s.writeCache(ctx, key, cacheEntry{Version: scanCacheVersion, Findings: findings, Scanners: res.Scanners, Databases: res.Databases}, raw)
		}
	}

	res.Verdict = in.Policy.Evaluate(findings, now)
	dir := s.reportsDir(in)
	if dir != "" || in.AttachReports {
		files, err := s.reportFiles(in, target, now, findings, raw, res)
		if err != nil {
			return ScanResult{}, err
		}
		res.ReportDigests = files.digests()
		if dir != "" {
			if err := files.write(dir); err != nil {
				return ScanResult{}, err
			}
			res.ReportsDir = dir
		}
		if in.AttachReports {
			if res.ReportArtifact, err = s.registry().attachReports(ctx, target.pull, ScanReportsArtifactType, files); err != nil {
				return ScanResult{}, err
			}
		}
	}
	if !res.Verdict.Passed {
		return res, temporal.NewNonRetryableApplicationError(res.Verdict.Summary, ErrVulnerable, nil, res)
	}
	return res, nil
}

// scanTarget is a validated target: its path, whether it is an image layout, and what reports call it. For a
// Target.Image, pull is the reference and path is empty until Scan has pulled it.
type scanTarget struct {
	path  string
	image bool
	name  string
	pull  string
}

func validateScanInput(in *ScanInput, now time.Time) (scanTarget, error) {
	var t scanTarget
	set := 0
	for _, f := range []string{in.Target.Dir, in.Target.OCILayout, in.Target.Image} {
		if f != "" {
			set++
		}
	}
	switch {
	case set == 0:
		return t, invalidInput("scan: no target; set target.image, target.dir or target.ociLayout")
	case set > 1:
		return t, invalidInput("scan: %d targets (image %q, dir %q, ociLayout %q); set exactly one of them", set, in.Target.Image, in.Target.Dir, in.Target.OCILayout)
	case in.Target.Image != "":
		return validateImageTarget(in, now)
	case in.Target.Dir != "":
		t = scanTarget{path: in.Target.Dir, name: in.Target.Dir}
	default:
		t = scanTarget{path: in.Target.OCILayout, image: true, name: in.Target.OCILayout}
	}
	field := "target.dir"
	if t.image {
		field = "target.ociLayout"
	}
	if err := checkPath(field, t.path); err != nil {
		return t, err
	}
	st, err := os.Stat(t.path)
	switch {
	case err != nil:
		return t, invalidInput("scan: %s: %v", field, err)
	case !st.IsDir():
		return t, invalidInput("scan: %s: %s is not a directory", field, t.path)
	}
	if t.image {
		if _, err := os.Stat(filepath.Join(t.path, "oci-layout")); err != nil {
			return t, invalidInput("scan: %s: %s is not an OCI image layout (no oci-layout file)", field, t.path)
		}
		if _, err := os.Stat(filepath.Join(t.path, "index.json")); err != nil {
			return t, invalidInput("scan: %s: %s is not an OCI image layout (no index.json)", field, t.path)
		}
	}
	return t, validateScanOptions(in, now)
}

// validateImageTarget checks an image target: a reference by digest, whose digest becomes in.Digest (the
// cache key) when the input has none and must agree with it when it has one.
func validateImageTarget(in *ScanInput, now time.Time) (scanTarget, error) {
	d, err := name.NewDigest(in.Target.Image, name.StrictValidation)
	if err != nil {
		return scanTarget{}, invalidInput("scan: target.image %q: %v; scan an image by digest: registry/repository@sha256:...", in.Target.Image, err)
	}
	switch {
	case in.Digest == "":
		in.Digest = d.DigestStr()
	case in.Digest != d.DigestStr():
		return scanTarget{}, invalidInput("scan: digest %q differs from target.image's %q; leave digest empty or make them agree", in.Digest, d.DigestStr())
	}
	return scanTarget{image: true, name: d.Name(), pull: d.Name()}, validateScanOptions(in, now)
}

// validateScanOptions checks the fields besides the target.
func validateScanOptions(in *ScanInput, now time.Time) error {
	if in.ReportsDir != "" {
		if err := checkPath("reportsDir", in.ReportsDir); err != nil {
			return err
		}
	}
	if in.ReportName != "" {
		if problem := reportNameProblem(in.ReportName); problem != "" {
			return invalidInput("scan: reportName %q: %s", in.ReportName, problem)
		}
	}
	if in.Digest != "" {
		alg, hexPart, ok := strings.Cut(in.Digest, ":")
		if !ok || alg == "" || hexPart == "" || strings.ContainsAny(in.Digest, " /\t\n") {
			return invalidInput("scan: digest %q: want algorithm:hex, e.g. sha256:...", in.Digest)
		}
	}
	if err := in.Policy.Validate(now); err != nil {
		return invalidInput("scan: policy: %v", err)
	}
	return nil
}

// reportNameProblem says what is wrong with a report name, or "".
func reportNameProblem(n string) string {
	for seg := range strings.SplitSeq(n, "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return "want relative path segments like app/version, without empty, '.' or '..' segments"
		case strings.ContainsFunc(seg, func(c rune) bool {
			return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-')
		}):
			return fmt.Sprintf("segment %q: use letters, digits, '.', '_' and '-'", seg)
		}
	}
	return ""
}

// reportsDir is where the input's reports go: its ReportsDir, else the worker's ReportsDir/ReportName, else
// nowhere ("").
func (s *Scanners) reportsDir(in ScanInput) string {
	switch {
	case in.ReportsDir != "":
		return in.ReportsDir
	case in.ReportName != "" && s.ReportsDir != "":
		return filepath.Join(s.ReportsDir, filepath.FromSlash(in.ReportName))
	}
	return ""
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

func checkPath(field, p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return invalidInput("scan: %s: %q must be an absolute, clean path (e.g. %s)", field, p, filepath.Clean(p))
	}
	return nil
}

// trivyMetadata is the part of Trivy's db/metadata.json Scan reads.
type trivyMetadata struct {
	Version   int       `json:"Version"`
	UpdatedAt time.Time `json:"UpdatedAt"`
}

// grypeImport is the part of Grype's 6/import.json Scan reads.
type grypeImport struct {
	Digest        string `json:"digest"`
	ClientVersion string `json:"client_version"`
}

// databases checks that both databases are there and reads their versions.
func (s *Scanners) databases() (map[string]scan.ScannerInfo, error) {
	const howTo = "build the test databases with scripts/scandb.sh, or download the real ones " +
		"(`trivy image --download-db-only --cache-dir DIR`, `GRYPE_DB_CACHE_DIR=DIR grype db update`) before starting the worker"
	trivyMeta := filepath.Join(s.TrivyCacheDir, "db", "metadata.json")
	grypeDB := filepath.Join(s.GrypeDBDir, "6", "vulnerability.db")
	for _, p := range []struct{ dir, file, name string }{
		{s.TrivyCacheDir, trivyMeta, "Trivy"}, {s.GrypeDBDir, grypeDB, "Grype"},
	} {
		if p.dir == "" {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("scan: the worker has no %s database directory configured; %s", p.name, howTo), ErrScannerDatabase, nil)
		}
		if _, err := os.Stat(p.file); err != nil {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("scan: no %s database in %s (%v); %s", p.name, p.dir, err, howTo), ErrScannerDatabase, err)
		}
	}
	infos := map[string]scan.ScannerInfo{}
	var tm trivyMetadata
	if data, err := os.ReadFile(trivyMeta); err != nil {
		return nil, fmt.Errorf("scan: read %s: %w", trivyMeta, err)
	} else if err := json.Unmarshal(data, &tm); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("scan: %s is not Trivy's metadata (%v); %s", trivyMeta, err, howTo), ErrScannerDatabase, err)
	}
	infos[scan.ScannerTrivy] = scan.ScannerInfo{DBVersion: fmt.Sprint(tm.Version), DBUpdatedAt: tm.UpdatedAt.UTC()}
	var gi grypeImport
	if data, err := os.ReadFile(filepath.Join(s.GrypeDBDir, "6", "import.json")); err == nil {
		_ = json.Unmarshal(data, &gi) // optional: the version is informative only
	}
	infos[scan.ScannerGrype] = scan.ScannerInfo{DBVersion: gi.ClientVersion}
	return infos, nil
}

// scannerRun is one scanner's outcome.
type scannerRun struct {
	name     string
	findings []scan.Finding
	raw      []byte
	info     scan.ScannerInfo
	note     string
	err      error
}

// runBoth runs the two scanners in parallel, heartbeating until both are done, and applies
// AllowSingleScanner. It fills res.Scanners, res.ScannerErrors, res.Notes and the scanner versions.
func (s *Scanners) runBoth(ctx context.Context, in ScanInput, t scanTarget, res *ScanResult) (map[string][]scan.Finding, map[string][]byte, error) {
	runs := make([]scannerRun, 2)
	start := time.Now()
	status := func() any { return fmt.Sprintf("scanning %s for %s", t.name, time.Since(start).Round(time.Second)) }
	err := runHeartbeating(ctx, scanHeartbeatEvery, status, func(ctx context.Context) error {
		var wg sync.WaitGroup
		for i, name := range []string{scan.ScannerTrivy, scan.ScannerGrype} {
			wg.Go(func() { runs[i] = s.run(ctx, name, t) })
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
		byScanner[r.name] = r.findings
		raw[r.name] = r.raw
		res.Scanners = append(res.Scanners, r.name)
		info := res.Databases[r.name]
		info.Version = r.info.Version
		if !r.info.DBUpdatedAt.IsZero() {
			info.DBUpdatedAt = r.info.DBUpdatedAt
		}
		if info.DBVersion == "" {
			info.DBVersion = r.info.DBVersion
		}
		res.Databases[r.name] = info
		if r.note != "" {
			res.Notes = append(res.Notes, r.note)
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

// run runs one scanner and parses its report. The exit code is only a cross-check: a report that parses is
// used whatever the exit code (noted when non-zero), and one that does not is the scanner's failure.
func (s *Scanners) run(ctx context.Context, name string, t scanTarget) scannerRun {
	r := scannerRun{name: name}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultScanTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	path, args, env := s.command(name, t)
	if path == "" {
		r.err = fmt.Errorf("%s: the worker has no path to the %s CLI configured", name, name)
		return r
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = t.path
	if t.image {
		cmd.Dir = filepath.Dir(t.path)
	}
	cmd.Env = scannerEnv(env)
	cmd.WaitDelay = 5 * time.Second // a child holding the pipes open must not outlive the timeout by much
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: maxStderrTail}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	runErr := cmd.Run()

	if ctx.Err() == context.DeadlineExceeded {
		r.err = fmt.Errorf("%s: timed out after %s%s", name, timeout, stderr.quote())
		return r
	}
	var parseErr error
	switch name {
	case scan.ScannerTrivy:
		r.findings, parseErr = scan.ParseTrivy(bytes.NewReader(stdout.Bytes()))
	default:
		r.findings, parseErr = scan.ParseGrype(bytes.NewReader(stdout.Bytes()))
	}
	if parseErr != nil {
		why := "exit status 0"
		if runErr != nil {
			why = runErr.Error()
		}
		r.err = fmt.Errorf("%s: %s, and its output is not a report (%v)%s", name, why, parseErr, stderr.quote())
		return r
	}
	if runErr != nil {
		r.note = fmt.Sprintf("%s: %v, but its report is valid and was used", name, runErr)
	}
	r.info = reportInfo(name, stdout.Bytes())
	r.raw = stdout.Bytes()
	return r
}

// command returns the CLI, its arguments and the environment it needs for one scanner and target.
func (s *Scanners) command(name string, t scanTarget) (path string, args, env []string) {
	switch name {
	case scan.ScannerTrivy:
		if t.image {
			args = []string{"image", "--input", t.path}
		} else {
			args = []string{"fs"}
		}
		// --cache-backend memory: the image scan's layer cache would otherwise be a BoltDB file in the cache
		// directory, locked by one process at a time, so parallel scans would wait on each other.
		args = append(args, "--cache-dir", s.TrivyCacheDir, "--cache-backend", "memory", "--skip-db-update",
			"--skip-java-db-update", "--offline-scan", "--skip-version-check", "--disable-telemetry",
			"--scanners", "vuln", "--format", "json", "--quiet")
		if !t.image {
			args = append(args, t.path)
		}
		return s.TrivyPath, args, nil
	default:
		source := "dir:" + t.path
		if t.image {
			source = "oci-dir:" + t.path
		}
		return s.GrypePath, []string{source, "--by-cve", "-o", "json", "-q"}, []string{
			"GRYPE_DB_AUTO_UPDATE=false", "GRYPE_DB_VALIDATE_AGE=false", "GRYPE_CHECK_FOR_APP_UPDATE=false",
			"GRYPE_DB_CACHE_DIR=" + s.GrypeDBDir,
		}
	}
}

// scannerEnvKeep are the worker's variables the scanners get. Nothing else passes: not TRIVY_* or GRYPE_* (a
// host's severity filter must not change what a release sees), and not the worker's secrets (a Slack token, an
// env: signing key), which a scanner's stderr could otherwise echo into an error.
var scannerEnvKeep = []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// scannerEnv is the kept part of the worker's environment, plus extra.
func scannerEnv(extra []string) []string {
	var env []string
	for _, k := range scannerEnvKeep {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

// reportInfo reads the scanner's version (and Grype's database status) from its report; missing fields stay
// empty, since they are informative only.
func reportInfo(name string, report []byte) scan.ScannerInfo {
	var info scan.ScannerInfo
	if name == scan.ScannerTrivy {
		var doc struct {
			Trivy struct{ Version string } `json:"Trivy"`
		}
		if json.Unmarshal(report, &doc) == nil {
			info.Version = doc.Trivy.Version
		}
		return info
	}
	var doc struct {
		Descriptor struct {
			Version string `json:"version"`
			DB      struct {
				Status struct {
					SchemaVersion string    `json:"schemaVersion"`
					Built         time.Time `json:"built"`
				} `json:"status"`
			} `json:"db"`
		} `json:"descriptor"`
	}
	if json.Unmarshal(report, &doc) == nil {
		info.Version = doc.Descriptor.Version
		info.DBVersion = doc.Descriptor.DB.Status.SchemaVersion
		info.DBUpdatedAt = doc.Descriptor.DB.Status.Built.UTC()
	}
	return info
}

// tailBuffer keeps the last max bytes written to it: a scanner's stderr can be long, and the cause of a
// failure is at its end.
type tailBuffer struct {
	max       int
	buf       []byte
	truncated bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.truncated = true
	}
	return n, nil
}

// quote returns the tail as an error message suffix, or "" when stderr was empty.
func (b *tailBuffer) quote() string {
	s := strings.TrimSpace(string(b.buf))
	if s == "" {
		return ""
	}
	if b.truncated {
		s = "…" + s
	}
	return "; stderr:\n" + s
}

// cacheEntry is one cached scan: the merged findings and what produced them.
type cacheEntry struct {
	Version   string                      `json:"version"`
	Findings  []scan.Finding              `json:"findings"`
	Scanners  []string                    `json:"scanners"`
	Databases map[string]scan.ScannerInfo `json:"databases"`
}

// cacheKey is the cache file's name for an image digest, or "" when nothing may be cached. It covers what
// decides the findings: the image, both databases (Trivy's metadata.json and Grype's import.json, which
// holds the database file's digest) and both CLIs (path, size and modification time: a new CLI at the same
// path is a miss, without running it to ask its version).
func (s *Scanners) cacheKey(digest string, dbs map[string]scan.ScannerInfo) string {
	if s.CacheDir == "" || digest == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", scanCacheVersion, digest)
	for _, f := range []string{
		filepath.Join(s.TrivyCacheDir, "db", "metadata.json"), filepath.Join(s.GrypeDBDir, "6", "import.json"),
	} {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(h, "%s %x\n", f, sha256.Sum256(data))
	}
	for _, name := range []string{scan.ScannerTrivy, scan.ScannerGrype} {
		fmt.Fprintf(h, "%s %s %s\n", name, dbs[name].DBVersion, dbs[name].DBUpdatedAt.Format(time.RFC3339Nano))
	}
	for _, p := range []string{s.TrivyPath, s.GrypePath} {
		fmt.Fprintf(h, "%s", p)
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(h, " %d %d", st.Size(), st.ModTime().UnixNano())
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readCache returns the cached entry for key; anything unreadable is a miss.
func (s *Scanners) readCache(key string) (cacheEntry, bool) {
	if key == "" {
		return cacheEntry{}, false
	}
	data, err := os.ReadFile(filepath.Join(s.CacheDir, key+".json"))
	if err != nil {
		return cacheEntry{}, false
	}
	var e cacheEntry
	if json.Unmarshal(data, &e) != nil || e.Version != scanCacheVersion || len(e.Scanners) == 0 {
		return cacheEntry{}, false
	}
	return e, true
}

// writeCache stores an entry atomically; a failure only costs the next scan a cache miss, so it is logged,
// not returned.
func (s *Scanners) writeCache(ctx context.Context, key string, e cacheEntry, raw map[string][]byte) {
	if key == "" {
		return
	}
	err := func() error {
		if err := os.MkdirAll(s.CacheDir, 0o755); err != nil {
			return err
		}
		// The scanners' outputs first: an entry is only read when its .json exists, and its raw files are
		// then complete.
		for _, name := range e.Scanners {
			if _, err := scan.WriteRaw(s.CacheDir, key+"."+name, raw[name]); err != nil {
				return err
			}
		}
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		// 0o600, the mode entries have always had: only this worker reads its cache.
		return fsutil.WriteFileAtomic(filepath.Join(s.CacheDir, key+".json"), data, 0o600)
	}()
	if err != nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn("scan: result cache not written", "dir", s.CacheDir, "error", err)
	}
}

// readCachedRaw returns the scanners' outputs stored with a cache entry; a missing one is left out (the
// merged report is complete without it).
func (s *Scanners) readCachedRaw(key string, scanners []string) map[string][]byte {
	raw := map[string][]byte{}
	for _, name := range scanners {
		if data, err := os.ReadFile(filepath.Join(s.CacheDir, scan.RawFile(key+"."+name))); err == nil {
			raw[name] = data
		}
	}
	return raw
}

// reportFiles builds the report files: report.json, report.sarif and each scanner's own output (trivy.json,
// grype.json), in that order.
func (s *Scanners) reportFiles(in ScanInput, t scanTarget, now time.Time, findings []scan.Finding, raw map[string][]byte, res ScanResult) (reportFiles, error) {
	versions := map[string]string{}
	for name, info := range res.Databases {
		versions[name] = info.Version
	}
	sarif, err := scan.SARIF(findings, scan.ToolInfo{Version: slipwayVersion(), Scanners: versions, Target: t.name})
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	report, err := scan.EncodeReport(scan.Report{
		SchemaVersion: scan.ReportSchemaVersion, Target: t.name, Digest: in.Digest, Scanners: res.Databases,
		Time: now, Policy: in.Policy, Findings: findings, Verdict: res.Verdict,
	})
	if err != nil {
		return nil, err
	}
	files := reportFiles{
		{name: scan.ReportJSONFile, mediaType: reportMediaType, data: report},
		{name: scan.ReportSARIFFile, mediaType: sarifMediaType, data: sarif},
	}
	for _, name := range res.Scanners {
		if data, ok := raw[name]; ok {
			files = append(files, reportFile{name: scan.RawFile(name), scanner: name, mediaType: "application/json", data: data})
		}
	}
	return files, nil
}

// reportFile is one file of a scan's reports.
type reportFile struct {
	name, mediaType string
	// scanner is set for a scanner's raw output.
	scanner string
	data    []byte
}

type reportFiles []reportFile

func (fs reportFiles) digests() scan.ReportDigests {
	var d scan.ReportDigests
	for _, f := range fs {
		sum := sha256.Sum256(f.data)
		digest := "sha256:" + hex.EncodeToString(sum[:])
		switch {
		case f.name == scan.ReportJSONFile:
			d.JSON = digest
		case f.name == scan.ReportSARIFFile:
			d.SARIF = digest
		case f.scanner != "":
			if d.Raw == nil {
				d.Raw = map[string]string{}
			}
			d.Raw[f.scanner] = digest
		}
	}
	return d
}

// digestOf is the sha256 digest of the named file, or "".
func (fs reportFiles) digestOf(name string) string {
	for _, f := range fs {
		if f.name == name {
			sum := sha256.Sum256(f.data)
			return "sha256:" + hex.EncodeToString(sum[:])
		}
	}
	return ""
}

// write puts the files into dir, each atomically.
func (fs reportFiles) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("scan: reports: %w", err)
	}
	for _, f := range fs {
		if err := scan.WriteFile(dir, f.name, f.data); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scanners) registry() *Registry {
	if s.Registry == nil {
		return &Registry{}
	}
	return s.Registry
}

// slipwayVersion is the worker's module version as Go recorded it at build time ("(devel)" for a local build),
// so a SARIF log names the Slipway that wrote it.
func slipwayVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
