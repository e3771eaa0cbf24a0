// Package scanners runs the vulnerability scanner CLIs whose reports package scan reads. Each scanner is a
// Backend in a file of its own (trivy.go, grype.go): how to call its CLI on a target, where its database is and
// what version it holds, and how to read its JSON output. Run runs any Backend the same way (a timeout, a clean
// environment, the end of stderr in errors), so a new scanner is one new file here plus one line where the
// caller lists its backends (activities.Scanners.backends).
//
// Nothing here knows Temporal: a missing database is a *DatabaseError, which the activity turns into its
// non-retryable error type.
package scanners

import (
	"fmt"
	"os"

	"github.com/vektagraf/slipway/internal/scan"
)

// Backend is one scanner CLI, configured with the worker's paths. Its methods only describe the scanner; Run
// runs it. The scanners never update their databases (the worker's operator does), so a Backend's command
// line keeps them offline.
type Backend interface {
	// Name is the scanner's name as findings, results and report files carry it (scan.ScannerTrivy, ...).
	Name() string
	// CLI is the path of the scanner's executable; "" when the worker has none configured.
	CLI() string
	// Command returns the arguments that scan t and print a JSON report on stdout, and the variables the
	// scanner needs on top of the worker's kept environment.
	Command(t Target) (args, env []string)
	// CheckDatabase returns a *DatabaseError when the database is not where the configuration says. It only
	// looks, so a caller can check every scanner's database before reading any.
	CheckDatabase() error
	// Database reads the database's version and build time, as far as the database records them. An
	// unusable database is a *DatabaseError; any other error (an I/O error) may pass on a retry.
	Database() (scan.ScannerInfo, error)
	// DatabaseFiles are the files whose content changes with every database build, so a result cache can
	// key on them without hashing the database itself.
	DatabaseFiles() []string
	// Parse reads the scanner's JSON report into findings (unmerged) and what the report says of the scanner
	// (its version, and its database's when it records it). An error means the output is not a report.
	Parse(report []byte) ([]scan.Finding, scan.ScannerInfo, error)
}

// Target is what a scanner scans on the worker's disk: a source tree, or an OCI image layout, which the
// scanners are called differently for.
type Target struct {
	// Path is absolute and clean.
	Path string
	// Layout says Path is an OCI image layout rather than a source tree.
	Layout bool
}

// DatabaseError says a scanner's database is missing or is not a database: retrying on the same worker cannot
// help, an operator must build or download it. Err is the cause, when there is one.
type DatabaseError struct {
	Problem string
	Err     error
}

func (e *DatabaseError) Error() string { return e.Problem }

func (e *DatabaseError) Unwrap() error { return e.Err }

// checkDatabase is a CheckDatabase for a scanner whose database directory dir must hold file; display is the
// scanner's name in messages ("Trivy").
func checkDatabase(display, dir, file string) error {
	if dir == "" {
		return &DatabaseError{Problem: fmt.Sprintf("the worker has no %s database directory configured", display)}
	}
	if _, err := os.Stat(file); err != nil {
		return &DatabaseError{Problem: fmt.Sprintf("no %s database in %s (%v)", display, dir, err), Err: err}
	}
	return nil
}
