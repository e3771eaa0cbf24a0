package scan

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// grypeDocument is the part of `grype -o json` this package reads (Grype's presenter/models.Document); every
// other field is ignored.
type grypeDocument struct {
	// Matches is a pointer to tell a report without matches ([]) from JSON that is not a Grype report.
	Matches    *[]grypeMatch `json:"matches"`
	Descriptor struct {
		Name string `json:"name"`
	} `json:"descriptor"`
}

type grypeMatch struct {
	Vulnerability struct {
		grypeVulnerabilityMetadata
		Fix struct {
			Versions []string `json:"versions"`
			State    string   `json:"state"`
		} `json:"fix"`
	} `json:"vulnerability"`
	RelatedVulnerabilities []grypeVulnerabilityMetadata `json:"relatedVulnerabilities"`
	Artifact               struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Locations []struct {
			Path string `json:"path"`
		} `json:"locations"`
	} `json:"artifact"`
}

type grypeVulnerabilityMetadata struct {
	ID          string   `json:"id"`
	DataSource  string   `json:"dataSource"`
	Severity    string   `json:"severity"`
	URLs        []string `json:"urls"`
	Description string   `json:"description"`
}

// grypeNoFixStates are fix states whose versions, if any, do not fix the match.
var grypeNoFixStates = []string{"not-fixed", "wont-fix"}

// ParseGrype reads a Grype JSON report (`grype -o json`, best with --by-cve) and returns one Finding per
// match, unmerged and in report order. The finding's ID is the CVE so it meets Trivy's finding in Merge: with
// --by-cve Grype reports the CVE itself; otherwise it is taken from relatedVulnerabilities, and the GHSA (or
// other ID) becomes an alias. It fails, naming Grype, on anything that is not such a report (no "matches",
// another tool's descriptor, a match without an ID or package, a severity it does not know); fields it does
// not use are ignored.
func ParseGrype(r io.Reader) ([]Finding, error) {
	var doc grypeDocument
	if err := decodeReport(r, &doc); err != nil {
		return nil, fmt.Errorf("grype: %w", err)
	}
	if doc.Matches == nil {
		return nil, fmt.Errorf(`grype: not a Grype JSON report: it has no "matches" (run grype with -o json)`)
	}
	if doc.Descriptor.Name != "" && doc.Descriptor.Name != ScannerGrype {
		return nil, fmt.Errorf("grype: not a Grype JSON report: it was written by %q", doc.Descriptor.Name)
	}
	findings := []Finding{}
	for i, m := range *doc.Matches {
		where := fmt.Sprintf("matches[%d]", i)
		v := m.Vulnerability
		if v.ID == "" {
			return nil, fmt.Errorf("grype: %s has no vulnerability.id", where)
		}
		if m.Artifact.Name == "" {
			return nil, fmt.Errorf("grype: %s (%s) has no artifact.name", where, v.ID)
		}
		primary := grypePrimary(v.grypeVulnerabilityMetadata, m.RelatedVulnerabilities)
		// The match's own severity is the one Grype shows and gates on (--fail-on); the CVE's is a fallback.
		sev, err := parseReportSeverity(firstNonEmpty(v.Severity, primary.Severity))
		if err != nil {
			return nil, fmt.Errorf("grype: %s (%s): %w", where, v.ID, err)
		}
		ids := []string{v.ID}
		for _, rel := range m.RelatedVulnerabilities {
			ids = append(ids, rel.ID)
		}
		fixed := ""
		if !slices.Contains(grypeNoFixStates, v.Fix.State) {
			fixed = pickFix(m.Artifact.Version, v.Fix.Versions)
		}
		var targets []string
		for _, l := range m.Artifact.Locations {
			targets = append(targets, grypeTarget(l.Path))
		}
		findings = append(findings, Finding{
			ID:               primary.ID,
			Aliases:          sortedUnique(ids, primary.ID),
			Package:          m.Artifact.Name,
			InstalledVersion: m.Artifact.Version,
			FixedVersion:     fixed,
			Severity:         sev,
			Title:            shortTitle(firstNonEmpty(primary.Description, v.Description)),
			URL:              firstNonEmpty(primary.DataSource, firstOf(primary.URLs), v.DataSource, firstOf(v.URLs)),
			Targets:          sortedUnique(targets),
			Scanners:         []string{ScannerGrype},
		})
	}
	return findings, nil
}

// grypePrimary picks the record a finding is named after: the match's own vulnerability when it is a CVE,
// else the first (by ID) related CVE, else the match's own vulnerability (a GHSA without a CVE).
func grypePrimary(v grypeVulnerabilityMetadata, related []grypeVulnerabilityMetadata) grypeVulnerabilityMetadata {
	if isCVE(v.ID) {
		return v
	}
	var best *grypeVulnerabilityMetadata
	for i := range related {
		if isCVE(related[i].ID) && (best == nil || related[i].ID < best.ID) {
			best = &related[i]
		}
	}
	if best == nil {
		return v
	}
	return *best
}

func isCVE(id string) bool { return strings.HasPrefix(strings.ToUpper(id), "CVE-") }

// grypeTarget makes a Grype location relative like Trivy's targets ("/go.mod" becomes "go.mod"), so both
// scanners name the same file the same way.
func grypeTarget(path string) string { return strings.TrimLeft(path, "/") }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}
