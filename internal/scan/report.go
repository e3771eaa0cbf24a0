package scan

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/vektagraf/slipway/internal/fsutil"
	"github.com/vektagraf/slipway/internal/spec"
)

// ReportSchemaVersion is the version of the Report format; it changes when a field changes meaning, so a
// consumer of old reports can tell.
const ReportSchemaVersion = 1

// ReportJSONFile and ReportSARIFFile are the names WriteReports gives its files, fixed so a reader (the Web
// UI, a person) finds them in any scan directory.
const (
	ReportJSONFile  = "report.json"
	ReportSARIFFile = "report.sarif"
)

// Report is the complete record of one scan: what was scanned, with which scanners and databases, under which
// policy, every merged finding and the verdict. It is kept as a file (and its digest recorded) rather than
// carried in the workflow, where only the Verdict goes.
type Report struct {
	SchemaVersion int `json:"schemaVersion"`
	// Target is what was scanned: an image reference or a directory.
	Target string `json:"target"`
	// Digest is the scanned image's digest ("sha256:..."); empty when the target is not an image.
	Digest string `json:"digest"`
	// Scanners holds each scanner's version and database, keyed by scanner name, so a result can be
	// reproduced or explained later ("the database was a week old").
	Scanners map[string]ScannerInfo `json:"scanners"`
	// Time is when the scan ran.
	Time     time.Time       `json:"time"`
	Policy   spec.ScanPolicy `json:"policy"`
	Findings []Finding       `json:"findings"`
	Verdict  Verdict         `json:"verdict"`
}

// ScannerInfo identifies one scanner run: the CLI's version and the vulnerability database it used.
type ScannerInfo struct {
	Version string `json:"version"`
	// DBVersion is the database's schema or release (Trivy's "2", Grype's "v6.1.3").
	DBVersion string `json:"dbVersion,omitempty"`
	// DBUpdatedAt is when the database was built or last updated, the measure of how current the scan is.
	DBUpdatedAt time.Time `json:"dbUpdatedAt,omitzero"`
}

// RawFile is the name WriteRaw gives a scanner's output in a reports directory ("trivy.json").
func RawFile(scanner string) string { return scanner + ".json" }

// WriteFile writes data as dir/name atomically (a reader sees the old file or the new one, never half of it).
func WriteFile(dir, name string, data []byte) error {
	if name == "" || strings.ContainsAny(name, `/\\`) || name == "." || name == ".." {
		return fmt.Errorf("scan: write %q: not a file name", name)
	}
	_, err := writeAtomic(filepath.Join(dir, name), data)
	return err
}

// WriteRaw writes one scanner's unparsed JSON output as dir/RawFile(scanner), atomically, and returns its
// digest.
func WriteRaw(dir, scanner string, data []byte) (string, error) {
	if scanner == "" || strings.ContainsAny(scanner, `/\`) || scanner == "." || scanner == ".." {
		return "", fmt.Errorf("scan: write raw report: %q is not a scanner name", scanner)
	}
	return writeAtomic(filepath.Join(dir, RawFile(scanner)), data)
}

// WriteReports writes the report as dir/report.json and the SARIF log as dir/report.sarif and returns their
// digests. Each file is written to a temporary file in dir and renamed into place, so a reader (or a retried
// activity) never sees half a report: either the old file or the new one.
func WriteReports(dir string, r Report, sarif []byte) (ReportDigests, error) {
	if len(sarif) == 0 {
		return ReportDigests{}, errors.New("scan: write reports: the SARIF log is empty")
	}
	data, err := EncodeReport(r)
	if err != nil {
		return ReportDigests{}, err
	}
	var d ReportDigests
	if d.JSON, err = writeAtomic(filepath.Join(dir, ReportJSONFile), data); err != nil {
		return ReportDigests{}, err
	}
	if d.SARIF, err = writeAtomic(filepath.Join(dir, ReportSARIFFile), sarif); err != nil {
		return ReportDigests{}, err
	}
	return d, nil
}

// EncodeReport is the report as WriteReports writes it (indented JSON, schema version and an empty findings
// list filled in), for a caller that stores it elsewhere too (an OCI artifact).
func EncodeReport(r Report) ([]byte, error) {
	if r.SchemaVersion == 0 {
		r.SchemaVersion = ReportSchemaVersion
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	data, err := marshalIndent(r)
	if err != nil {
		return nil, fmt.Errorf("scan: encode report: %w", err)
	}
	return data, nil
}

// writeAtomic writes data to path atomically (fsutil.WriteFileAtomic) and returns the digest of what it wrote,
// which the caller records so the file can be checked later.
func writeAtomic(path string, data []byte) (digest string, err error) {
	if err := fsutil.WriteFileAtomic(path, data, 0o644); err != nil {
		return "", fmt.Errorf("scan: %w", err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
