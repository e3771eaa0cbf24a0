// Command scandb writes small, offline vulnerability databases for the pinned Trivy and Grype CLIs from one
// JSON list of advisories, so the scan stage can be tested with real scanners and no network:
//
//	scandb -advisories tests/fixtures/advisories.json -trivy-cache T -grype-cache G [-built 2026-01-02T15:04:05Z]
//
// Trivy reads T/db/trivy.db (BoltDB, schema v2) and T/db/metadata.json; run it with
// `trivy fs --cache-dir T --skip-db-update --offline-scan ...`. Grype reads G/6/vulnerability.db (SQLite,
// schema v6) and G/6/import.json; run it with GRYPE_DB_CACHE_DIR=G GRYPE_DB_AUTO_UPDATE=false
// GRYPE_DB_VALIDATE_AGE=false. See docs/scanners.md.
//
// This is a module of its own (tools/scandb/go.mod) so that trivy-db and grype's db/v6 API, with their
// hundreds of dependencies, never enter the main module. The same input and -built time give the same files.
package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
	trivydb "github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	trivytypes "github.com/aquasecurity/trivy-db/pkg/types"
	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite", the one grype's gorm dialect uses
	"github.com/spf13/afero"
	bolt "go.etcd.io/bbolt"
	"gorm.io/gorm"
)

// advisory is one entry of the input file: a CVE, its GitHub advisory, and one affected package.
type advisory struct {
	ID          string     `json:"id"`                    // CVE-YYYY-NNNN
	GHSA        string     `json:"ghsa"`                  // GHSA-xxxx-xxxx-xxxx
	Ecosystem   string     `json:"ecosystem"`             // "go" or "npm"
	Package     string     `json:"package"`               // module path or npm package name
	Vulnerable  string     `json:"vulnerable"`            // GitHub-advisory range, e.g. "< 0.3.8" or ">= 1.0.0, < 1.2.0"
	Fixed       string     `json:"fixed,omitempty"`       // first fixed version; empty: no fix (range must end "<= last affected")
	Severity    string     `json:"severity"`              // LOW, MEDIUM, HIGH or CRITICAL
	Title       string     `json:"title"`                 // one line
	Description string     `json:"description,omitempty"` // defaults to the title
	Published   *time.Time `json:"published,omitempty"`   // defaults to the build time
}

type input struct {
	Comment    string     `json:"comment,omitempty"`
	Advisories []advisory `json:"advisories"`
}

// ecosystem maps an input ecosystem onto the names each scanner's database uses for it.
type ecosystem struct {
	trivyPrefix  string // Trivy bucket "<prefix>::GitHub Security Advisory <ghsaName>"
	ghsaName     string // GitHub's ecosystem name
	grypePkgType string // syft package type (grype's Package.Ecosystem)
	grypeVersion string // grype version format of the range
}

var ecosystems = map[string]ecosystem{
	"go":  {trivyPrefix: "go", ghsaName: "Go", grypePkgType: "go-module", grypeVersion: "go"},
	"npm": {trivyPrefix: "npm", ghsaName: "npm", grypePkgType: "npm", grypeVersion: "npm"},
}

func (e ecosystem) trivyBucket() string {
	return e.trivyPrefix + "::GitHub Security Advisory " + e.ghsaName
}

var (
	cveRE      = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	ghsaRE     = regexp.MustCompile(`^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$`)
	bareLessRE = regexp.MustCompile(`(^|,)\s*<\s*[^=\s]`) // a "< X" bound (not "<= X")
	severities = map[string]trivytypes.Severity{
		"LOW": trivytypes.SeverityLow, "MEDIUM": trivytypes.SeverityMedium,
		"HIGH": trivytypes.SeverityHigh, "CRITICAL": trivytypes.SeverityCritical,
	}
)

func main() {
	advisoriesPath := flag.String("advisories", "", "JSON file with the advisories (required)")
	trivyCache := flag.String("trivy-cache", "", "Trivy cache directory to write db/trivy.db and db/metadata.json into (required)")
	grypeCache := flag.String("grype-cache", "", "Grype cache directory to write 6/vulnerability.db and 6/import.json into (required)")
	builtFlag := flag.String("built", "", "build time, RFC 3339 (default: now); same input and time give the same files")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: scandb -advisories FILE -trivy-cache DIR -grype-cache DIR [-built RFC3339]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *advisoriesPath == "" || *trivyCache == "" || *grypeCache == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	built := time.Now()
	if *builtFlag != "" {
		t, err := time.Parse(time.RFC3339, *builtFlag)
		if err != nil {
			fail(fmt.Errorf("-built: %w", err))
		}
		built = t
	}
	built = built.UTC().Truncate(time.Second) // grype keeps whole seconds; both scanners get the same instant

	raw, err := os.ReadFile(*advisoriesPath)
	if err != nil {
		fail(err)
	}
	advs, err := parse(raw)
	if err != nil {
		fail(fmt.Errorf("%s: %w", *advisoriesPath, err))
	}
	sum := sha256.Sum256(raw)
	digest := "sha256:" + hex.EncodeToString(sum[:])

	if err := writeTrivy(filepath.Join(*trivyCache, "db"), advs, built); err != nil {
		fail(fmt.Errorf("trivy db: %w", err))
	}
	if err := writeGrype(filepath.Join(*grypeCache, strconv.Itoa(v6.ModelVersion)), advs, built, digest); err != nil {
		fail(fmt.Errorf("grype db: %w", err))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scandb:", err)
	os.Exit(1)
}

// parse decodes and checks the advisories; every mistake is reported with the entry it is in.
func parse(raw []byte) ([]advisory, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var in input
	if err := dec.Decode(&in); err != nil {
		return nil, err
	}
	if len(in.Advisories) == 0 {
		return nil, errors.New(`no advisories (want {"advisories": [...]})`)
	}
	seen := map[string]bool{}
	var errs []error
	for i := range in.Advisories {
		a := &in.Advisories[i]
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("advisories[%d] (%s): %s", i, a.ID, fmt.Sprintf(format, args...)))
		}
		a.Severity = strings.ToUpper(strings.TrimSpace(a.Severity))
		switch {
		case !cveRE.MatchString(a.ID):
			bad("id %q is not a CVE ID", a.ID)
		case seen[a.ID]:
			bad("duplicate id (one affected package per CVE)")
		}
		seen[a.ID] = true
		if !ghsaRE.MatchString(a.GHSA) {
			bad("ghsa %q is not a GHSA ID", a.GHSA)
		}
		if _, ok := ecosystems[a.Ecosystem]; !ok {
			bad("ecosystem %q not supported (go, npm)", a.Ecosystem)
		}
		if a.Package == "" {
			bad("package is empty")
		}
		if !strings.ContainsAny(a.Vulnerable, "<>=") {
			bad("vulnerable %q is not a range such as \"< 1.2.0\"", a.Vulnerable)
		}
		if a.Fixed == "" && bareLessRE.MatchString(a.Vulnerable) {
			// Trivy reads "< X" in an advisory without patched versions as "fixed in X".
			bad("vulnerable %q has a \"<\" bound but no fixed version; without a fix use \"<=\" the last affected version, as GitHub does", a.Vulnerable)
		}
		if _, ok := severities[a.Severity]; !ok {
			bad("severity %q is not LOW, MEDIUM, HIGH or CRITICAL", a.Severity)
		}
		if a.Title == "" {
			bad("title is empty")
		}
		if a.Description == "" {
			a.Description = a.Title
		}
	}
	return in.Advisories, errors.Join(errs...)
}

func (a advisory) published(built time.Time) *time.Time {
	if a.Published != nil {
		t := a.Published.UTC()
		return &t
	}
	return &built
}

// writeTrivy writes dbDir/trivy.db and dbDir/metadata.json in the form trivy-db's own build leaves them:
// a data-source entry per ecosystem bucket, bucket -> package -> CVE advisories, and CVE -> vulnerability.
func writeTrivy(dbDir string, advs []advisory, built time.Time) error {
	for _, f := range []string{trivydb.Path(dbDir), metadata.Path(dbDir)} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := trivydb.Init(dbDir); err != nil {
		return err
	}
	defer trivydb.Close()
	dbc := trivydb.Config{}
	// One transaction per write: bbolt spills the buckets a transaction touched in map order, so writing
	// several sibling buckets in one transaction would lay the pages out differently on every run.
	update := func(fn func(tx *bolt.Tx) error) error { return dbc.Connection().Update(fn) }
	var used []string
	for _, a := range advs {
		used = append(used, a.Ecosystem)
	}
	sort.Strings(used)
	for i, name := range used {
		if i > 0 && used[i-1] == name {
			continue
		}
		e := ecosystems[name]
		if err := update(func(tx *bolt.Tx) error {
			return dbc.PutDataSource(tx, e.trivyBucket(), trivytypes.DataSource{
				ID:   "ghsa",
				Name: "GitHub Security Advisory " + e.ghsaName,
				URL:  "https://github.com/advisories?query=type%3Areviewed+ecosystem%3A" + strings.ToLower(e.ghsaName),
			})
		}); err != nil {
			return err
		}
	}
	for _, a := range advs {
		adv := trivytypes.Advisory{VendorIDs: []string{a.GHSA}, VulnerableVersions: []string{a.Vulnerable}}
		if a.Fixed != "" {
			adv.PatchedVersions = []string{a.Fixed}
		}
		if err := update(func(tx *bolt.Tx) error {
			return dbc.PutAdvisory(tx, []string{ecosystems[a.Ecosystem].trivyBucket(), a.Package}, a.ID, adv)
		}); err != nil {
			return err
		}
		sev := severities[a.Severity]
		if err := update(func(tx *bolt.Tx) error {
			return dbc.PutVulnerability(tx, a.ID, trivytypes.Vulnerability{
				Title:          a.Title,
				Description:    a.Description,
				Severity:       sev.String(),
				VendorSeverity: trivytypes.VendorSeverity{"ghsa": sev, "nvd": sev},
				References: []string{
					"https://github.com/advisories/" + a.GHSA,
					"https://nvd.nist.gov/vuln/detail/" + a.ID,
				},
				PublishedDate:    a.published(built),
				LastModifiedDate: a.published(built),
			})
		}); err != nil {
			return err
		}
	}
	if err := trivydb.Close(); err != nil {
		return err
	}
	return metadata.NewClient(dbDir).Update(metadata.Metadata{
		Version:      trivydb.SchemaVersion, // 2; trivy v0.74.0 refuses anything else ("old DB schema")
		NextUpdate:   built.AddDate(100, 0, 0),
		UpdatedAt:    built,
		DownloadedAt: built,
	})
}

// writeGrype writes dir/vulnerability.db and dir/import.json with grype's own v6 writer. Each advisory
// becomes a GHSA record (provider "github") with the CVE as alias and the affected package, plus an NVD
// record for the CVE (provider "nvd", no packages) so `grype --by-cve` can report the CVE.
func writeGrype(dir string, advs []advisory, built time.Time, inputDigest string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []string{v6.VulnerabilityDBFileName, v6.ImportMetadataFileName} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	w, err := v6.NewWriter(v6.Config{DBDirPath: dir, CacheSizeKiB: 16 << 10})
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			_ = w.Close()
		}
	}()
	provider := func(id string) *v6.Provider {
		return &v6.Provider{ID: id, Version: "1", Processor: "slipway-scandb", DateCaptured: &built, InputDigest: inputDigest}
	}
	github, nvd := provider("github"), provider("nvd")
	for _, p := range []*v6.Provider{github, nvd} {
		if err := w.AddProvider(*p); err != nil {
			return err
		}
	}
	for _, a := range advs {
		e := ecosystems[a.Ecosystem]
		severity := []v6.Severity{{Scheme: v6.SeveritySchemeCHML, Value: strings.ToLower(a.Severity)}}
		published := a.published(built)
		if err := w.AddVulnerabilities(&v6.VulnerabilityHandle{
			Name: a.ID, Status: v6.VulnerabilityActive, ProviderID: nvd.ID, Provider: nvd,
			PublishedDate: published, ModifiedDate: published,
			BlobValue: &v6.VulnerabilityBlob{
				ID: a.ID, Description: a.Description, Severities: severity,
				References: []v6.Reference{{URL: "https://nvd.nist.gov/vuln/detail/" + a.ID}},
			},
		}); err != nil {
			return err
		}
		ghsa := &v6.VulnerabilityHandle{
			Name: a.GHSA, Status: v6.VulnerabilityActive, ProviderID: github.ID, Provider: github,
			PublishedDate: published, ModifiedDate: published,
			BlobValue: &v6.VulnerabilityBlob{
				ID: a.GHSA, Description: a.Title, Aliases: []string{a.ID}, Severities: severity,
				References: []v6.Reference{{URL: "https://github.com/advisories/" + a.GHSA}},
			},
		}
		if err := w.AddVulnerabilities(ghsa); err != nil {
			return err
		}
		fix := &v6.Fix{State: v6.NotFixedStatus}
		if a.Fixed != "" {
			fix = &v6.Fix{Version: a.Fixed, State: v6.FixedStatus}
		}
		if err := w.AddAffectedPackages(&v6.AffectedPackageHandle{
			VulnerabilityID: ghsa.ID,
			Package:         &v6.Package{Name: a.Package, Ecosystem: e.grypePkgType},
			BlobValue: &v6.PackageBlob{
				CVEs: []string{a.ID},
				Ranges: []v6.Range{{
					// grype's GHSA transformer writes ">= 1.0.0, < 1.2.0" as ">=1.0.0,<1.2.0"
					Version: v6.Version{Type: e.grypeVersion, Constraint: strings.ReplaceAll(a.Vulnerable, " ", "")},
					Fix:     fix,
				}},
			},
		}); err != nil {
			return err
		}
	}
	// NewWriter stamps the build time with time.Now(); replace it so the output depends on -built only.
	g, ok := w.(interface{ GetDB() *gorm.DB })
	if !ok {
		return errors.New("grype's v6 writer no longer exposes GetDB; cannot set the build time")
	}
	if err := g.GetDB().Model(&v6.DBMetadata{}).Where("true").Update("build_timestamp", &built).Error; err != nil {
		return fmt.Errorf("set build time: %w", err)
	}
	closed = true
	if err := w.Close(); err != nil { // drops the indexes and vacuums (the distributed form)
		return err
	}
	if err := v6.Hydrater()(dir); err != nil { // recreates the indexes, as `grype db import` does
		return err
	}
	if err := canonicalize(filepath.Join(dir, v6.VulnerabilityDBFileName)); err != nil {
		return err
	}
	_, err = v6.WriteImportMetadata(afero.NewOsFs(), dir, "slipway-scandb") // import.json: xxh64 of the DB
	return err
}

// canonicalize rewrites the SQLite file so that the same content always gives the same bytes: grype's writer
// (gorm) creates the tables, their foreign-key clauses and the indexes in map order, which changes the page
// layout and the schema text on every run. The copy has grype's own schema, rows and indexes, created in name
// order, with the constraint clauses sorted, then analysed and vacuumed as grype's hydration leaves it.
func canonicalize(path string) (err error) {
	tmp := path + ".canonical"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	db, err := sql.Open("sqlite", tmp)
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, db.Close())
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	db.SetMaxOpenConns(1) // ATTACH and the pragmas belong to one connection
	if _, err := db.Exec(`PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	if _, err := db.Exec(`ATTACH DATABASE ? AS old`, path); err != nil {
		return err
	}
	type object struct{ kind, name, stmt string }
	rows, err := db.Query(`SELECT type, name, sql FROM old.sqlite_master
		WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY type = 'table' DESC, name`)
	if err != nil {
		return err
	}
	var objects []object
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.kind, &o.name, &o.stmt); err != nil {
			_ = rows.Close()
			return err
		}
		objects = append(objects, o)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	quote := func(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
	var script, rest []string
	for _, o := range objects {
		if o.kind == "table" {
			script = append(script, sortConstraints(o.stmt))
		} else {
			rest = append(rest, o.stmt) // indexes (and any views or triggers) once the rows are in
		}
	}
	script = append(script, "BEGIN")
	for _, o := range objects {
		if o.kind == "table" {
			script = append(script, "INSERT INTO main."+quote(o.name)+" SELECT * FROM old."+quote(o.name)+" ORDER BY rowid")
		}
	}
	script = append(script,
		"DELETE FROM main.sqlite_sequence",
		"INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM old.sqlite_sequence ORDER BY name",
		"COMMIT", "DETACH DATABASE old")
	script = append(script, rest...)
	script = append(script, "ANALYZE", "VACUUM")
	for _, stmt := range script {
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("canonical copy: %s: %w", stmt, err)
		}
	}
	if err := db.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// sortConstraints sorts the table-constraint clauses gorm appends to a CREATE TABLE statement
// ("..., CONSTRAINT `fk_a` FOREIGN KEY ..., CONSTRAINT `fk_b` ...)"), whose order it takes from a map.
func sortConstraints(stmt string) string {
	body, ok := strings.CutSuffix(stmt, ")")
	if !ok {
		return stmt
	}
	parts := strings.Split(body, ",CONSTRAINT ")
	sort.Strings(parts[1:])
	return strings.Join(parts, ",CONSTRAINT ") + ")"
}
