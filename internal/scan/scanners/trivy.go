package scanners

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vektagraf/slipway/internal/scan"
)

// Trivy is Aqua Security's Trivy CLI (`trivy fs` for a source tree, `trivy image --input` for a layout), run
// offline against the database in CacheDir (db/trivy.db and db/metadata.json).
type Trivy struct {
	Path     string
	CacheDir string
}

var _ Backend = Trivy{}

// trivyMetadata is the part of Trivy's db/metadata.json Database reads.
type trivyMetadata struct {
	Version   int       `json:"Version"`
	UpdatedAt time.Time `json:"UpdatedAt"`
}

func (Trivy) Name() string { return scan.ScannerTrivy }

func (b Trivy) CLI() string { return b.Path }

func (b Trivy) Command(t Target) (args, env []string) {
	if t.Layout {
		args = []string{"image", "--input", t.Path}
	} else {
		args = []string{"fs"}
	}
	// --cache-backend memory: the image scan's layer cache would otherwise be a BoltDB file in the cache
	// directory, locked by one process at a time, so parallel scans would wait on each other.
	args = append(args, "--cache-dir", b.CacheDir, "--cache-backend", "memory", "--skip-db-update",
		"--skip-java-db-update", "--offline-scan", "--skip-version-check", "--disable-telemetry",
		"--scanners", "vuln", "--format", "json", "--quiet")
	if !t.Layout {
		args = append(args, t.Path)
	}
	return args, nil
}

func (b Trivy) CheckDatabase() error { return checkDatabase("Trivy", b.CacheDir, b.metadataFile()) }

func (b Trivy) Database() (scan.ScannerInfo, error) {
	meta := b.metadataFile()
	data, err := os.ReadFile(meta)
	if err != nil {
		return scan.ScannerInfo{}, fmt.Errorf("read %s: %w", meta, err)
	}
	var tm trivyMetadata
	if err := json.Unmarshal(data, &tm); err != nil {
		return scan.ScannerInfo{}, &DatabaseError{Problem: fmt.Sprintf("%s is not Trivy's metadata (%v)", meta, err), Err: err}
	}
	return scan.ScannerInfo{DBVersion: fmt.Sprint(tm.Version), DBUpdatedAt: tm.UpdatedAt.UTC()}, nil
}

func (b Trivy) DatabaseFiles() []string { return []string{b.metadataFile()} }

// Parse reads the findings with scan.ParseTrivy and Trivy's version from the report; the version is
// informative only, so a report without it still counts.
func (Trivy) Parse(report []byte) ([]scan.Finding, scan.ScannerInfo, error) {
	findings, err := scan.ParseTrivy(bytes.NewReader(report))
	if err != nil {
		return nil, scan.ScannerInfo{}, err
	}
	var doc struct {
		Trivy struct{ Version string } `json:"Trivy"`
	}
	var info scan.ScannerInfo
	if json.Unmarshal(report, &doc) == nil {
		info.Version = doc.Trivy.Version
	}
	return findings, info, nil
}

func (b Trivy) metadataFile() string { return filepath.Join(b.CacheDir, "db", "metadata.json") }
