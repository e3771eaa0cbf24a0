package scanners

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/vektagraf/slipway/internal/scan"
)

// Grype is Anchore's Grype CLI (`grype dir:` for a source tree, `grype oci-dir:` for a layout), run offline
// against the database in DBDir (6/vulnerability.db and 6/import.json; GRYPE_DB_CACHE_DIR).
type Grype struct {
	Path  string
	DBDir string
}

var _ Backend = Grype{}

// grypeImport is the part of Grype's 6/import.json Database reads.
type grypeImport struct {
	ClientVersion string `json:"client_version"`
}

func (Grype) Name() string { return scan.ScannerGrype }

func (b Grype) CLI() string { return b.Path }

func (b Grype) Command(t Target) (args, env []string) {
	source := "dir:" + t.Path
	if t.Layout {
		source = "oci-dir:" + t.Path
	}
	return []string{source, "--by-cve", "-o", "json", "-q"}, []string{
		"GRYPE_DB_AUTO_UPDATE=false", "GRYPE_DB_VALIDATE_AGE=false", "GRYPE_CHECK_FOR_APP_UPDATE=false",
		"GRYPE_DB_CACHE_DIR=" + b.DBDir,
	}
}

func (b Grype) CheckDatabase() error {
	return checkDatabase("Grype", b.DBDir, filepath.Join(b.DBDir, "6", "vulnerability.db"))
}

// Database reads the version from import.json, which is optional: the version is informative only, and the
// report's own database status (Parse) fills in the rest.
func (b Grype) Database() (scan.ScannerInfo, error) {
	var gi grypeImport
	if data, err := os.ReadFile(b.importFile()); err == nil {
		_ = json.Unmarshal(data, &gi)
	}
	return scan.ScannerInfo{DBVersion: gi.ClientVersion}, nil
}

// DatabaseFiles is import.json, which holds the database file's digest.
func (b Grype) DatabaseFiles() []string { return []string{b.importFile()} }

// Parse reads the findings with scan.ParseGrype, and Grype's version and its database's status from the
// report's descriptor; those are informative only, so a report without them still counts.
func (Grype) Parse(report []byte) ([]scan.Finding, scan.ScannerInfo, error) {
	findings, err := scan.ParseGrype(bytes.NewReader(report))
	if err != nil {
		return nil, scan.ScannerInfo{}, err
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
	var info scan.ScannerInfo
	if json.Unmarshal(report, &doc) == nil {
		info.Version = doc.Descriptor.Version
		info.DBVersion = doc.Descriptor.DB.Status.SchemaVersion
		info.DBUpdatedAt = doc.Descriptor.DB.Status.Built.UTC()
	}
	return findings, info, nil
}

func (b Grype) importFile() string { return filepath.Join(b.DBDir, "6", "import.json") }
