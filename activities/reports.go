package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/vektagraf/slipway/internal/scan"
)

// writeReports writes the scan's reports into the input's reports directory and attaches them to the image, as
// the input asks, recording their digests, directory and artifact in res.
func (s *Scanners) writeReports(ctx context.Context, in ScanInput, t scanTarget, now time.Time, findings []scan.Finding, raw map[string][]byte, res *ScanResult) error {
	dir := s.reportsDir(in)
	if dir == "" && !in.AttachReports {
		return nil
	}
	files, err := scanReportFiles(in, t, now, findings, raw, *res)
	if err != nil {
		return err
	}
	res.ReportDigests = files.digests()
	if dir != "" {
		if err := files.write(dir); err != nil {
			return err
		}
		res.ReportsDir = dir
	}
	if in.AttachReports {
		if res.ReportArtifact, err = s.registry().attachReports(ctx, t.pull, ScanReportsArtifactType, files); err != nil {
			return err
		}
	}
	return nil
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

// scanReportFiles builds the scan's report files: report.json, report.sarif and each scanner's own output
// (trivy.json, grype.json), in that order.
func scanReportFiles(in ScanInput, t scanTarget, now time.Time, findings []scan.Finding, raw map[string][]byte, res ScanResult) (reportFiles, error) {
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

// reportFile is one file of a scan's or a compliance evaluation's reports.
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

// slipwayVersion is the worker's module version as Go recorded it at build time ("(devel)" for a local build),
// so a SARIF log names the Slipway that wrote it.
func slipwayVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
