package scan

import (
	"encoding/json"
	"fmt"
	"io"
)

// ScannerTrivy and ScannerGrype are the scanner names findings carry and Merge's map is keyed by.
const (
	ScannerTrivy = "trivy"
	ScannerGrype = "grype"
)

// trivySchemaVersion is the only report schema ParseTrivy reads; Trivy has written 2 since v0.20 and would
// change it with an incompatible format.
const trivySchemaVersion = 2

// trivyReport is the part of `trivy --format json` this package reads (Trivy's pkg/types.Report); every other
// field is ignored, so new fields in a later Trivy do not break parsing.
type trivyReport struct {
	SchemaVersion *int          `json:"SchemaVersion"`
	Results       []trivyResult `json:"Results"`
}

type trivyResult struct {
	Target          string               `json:"Target"`
	Vulnerabilities []trivyVulnerability `json:"Vulnerabilities"`
}

type trivyVulnerability struct {
	VulnerabilityID  string   `json:"VulnerabilityID"`
	VendorIDs        []string `json:"VendorIDs"`
	PkgName          string   `json:"PkgName"`
	InstalledVersion string   `json:"InstalledVersion"`
	FixedVersion     string   `json:"FixedVersion"`
	Severity         string   `json:"Severity"`
	Title            string   `json:"Title"`
	Description      string   `json:"Description"`
	PrimaryURL       string   `json:"PrimaryURL"`
}

// ParseTrivy reads a Trivy JSON report (`trivy fs|image --format json`, schema version 2) and returns one
// Finding per reported vulnerability, unmerged and in report order. It fails, naming Trivy, on anything that
// is not such a report (another tool's JSON, a table, a truncated file, a vulnerability without an ID or
// package, a severity it does not know), so a broken scan cannot pass a release; fields it does not use are
// ignored.
func ParseTrivy(r io.Reader) ([]Finding, error) {
	var rep trivyReport
	if err := decodeReport(r, &rep); err != nil {
		return nil, fmt.Errorf("trivy: %w", err)
	}
	if rep.SchemaVersion == nil {
		return nil, fmt.Errorf("trivy: not a Trivy JSON report: it has no SchemaVersion (run trivy with --format json)")
	}
	if *rep.SchemaVersion != trivySchemaVersion {
		return nil, fmt.Errorf("trivy: report SchemaVersion %d is not supported (want %d)", *rep.SchemaVersion, trivySchemaVersion)
	}
	findings := []Finding{}
	for i, res := range rep.Results {
		for j, v := range res.Vulnerabilities {
			where := fmt.Sprintf("Results[%d].Vulnerabilities[%d]", i, j)
			if v.VulnerabilityID == "" {
				return nil, fmt.Errorf("trivy: %s has no VulnerabilityID", where)
			}
			if v.PkgName == "" {
				return nil, fmt.Errorf("trivy: %s (%s) has no PkgName", where, v.VulnerabilityID)
			}
			sev, err := parseReportSeverity(v.Severity)
			if err != nil {
				return nil, fmt.Errorf("trivy: %s (%s): %w", where, v.VulnerabilityID, err)
			}
			title := v.Title
			if title == "" {
				title = v.Description
			}
			findings = append(findings, Finding{
				ID:               v.VulnerabilityID,
				Aliases:          sortedUnique(v.VendorIDs, v.VulnerabilityID),
				Package:          v.PkgName,
				InstalledVersion: v.InstalledVersion,
				FixedVersion:     pickFix(v.InstalledVersion, splitFixList(v.FixedVersion)),
				Severity:         sev,
				Title:            shortTitle(title),
				URL:              v.PrimaryURL,
				Targets:          sortedUnique([]string{res.Target}),
				Scanners:         []string{ScannerTrivy},
			})
		}
	}
	return findings, nil
}

// decodeReport decodes exactly one JSON value into v: an empty input or data after the value (two reports
// concatenated, a log line) is an error rather than something to guess about.
func decodeReport(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return fmt.Errorf("the report is empty")
		}
		return fmt.Errorf("not a JSON report: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("unexpected data after the JSON report")
	}
	return nil
}

// parseReportSeverity reads a scanner's severity: an absent one is UNKNOWN (the scanner had no rating), an
// unknown word is an error (see ParseSeverity).
func parseReportSeverity(s string) (Severity, error) {
	if s == "" {
		return SeverityUnknown, nil
	}
	return ParseSeverity(s)
}
