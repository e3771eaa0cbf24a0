package scan

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMerge(t *testing.T) {
	textTrivy := Finding{ID: "CVE-2022-32149", Aliases: []string{"GHSA-69ch-w2m2-3vjp"}, Package: "golang.org/x/text",
		InstalledVersion: "0.3.7", FixedVersion: "0.3.8", Severity: SeverityHigh,
		Title: "ParseAcceptLanguage takes a long time", URL: "https://avd.aquasec.com/nvd/cve-2022-32149",
		Targets: []string{"go.mod"}, Scanners: []string{ScannerTrivy}}
	textGrype := Finding{ID: "CVE-2022-32149", Aliases: []string{"GHSA-69ch-w2m2-3vjp"}, Package: "golang.org/x/text",
		InstalledVersion: "v0.3.7", FixedVersion: "0.3.8", Severity: SeverityHigh,
		Title: "An attacker may cause a denial of service by crafting an Accept-Language header",
		URL:   "https://nvd.nist.gov/vuln/detail/CVE-2022-32149", Targets: []string{"go.mod"}, Scanners: []string{ScannerGrype}}

	tests := []struct {
		name string
		in   map[string][]Finding
		want []Finding
	}{
		{
			name: "same CVE from both scanners is one finding with both",
			in:   map[string][]Finding{ScannerTrivy: {textTrivy}, ScannerGrype: {textGrype}},
			want: []Finding{{ID: "CVE-2022-32149", Aliases: []string{"GHSA-69ch-w2m2-3vjp"}, Package: "golang.org/x/text",
				InstalledVersion: "0.3.7", // "v0.3.7" and "0.3.7" are one version; the shorter spelling is shown
				FixedVersion:     "0.3.8", Severity: SeverityHigh,
				Title:   "ParseAcceptLanguage takes a long time",           // the shortest
				URL:     "https://nvd.nist.gov/vuln/detail/CVE-2022-32149", // grype sorts first
				Targets: []string{"go.mod"}, Scanners: []string{ScannerGrype, ScannerTrivy}}},
		},
		{
			name: "severity disagreement: the highest wins and is recorded",
			in: map[string][]Finding{
				ScannerTrivy: {with(textTrivy, func(f *Finding) { f.Severity = SeverityMedium })},
				ScannerGrype: {with(textGrype, func(f *Finding) { f.Severity = SeverityCritical })},
			},
			want: []Finding{{ID: "CVE-2022-32149", Aliases: []string{"GHSA-69ch-w2m2-3vjp"}, Package: "golang.org/x/text",
				InstalledVersion: "0.3.7", FixedVersion: "0.3.8", Severity: SeverityCritical,
				Title: "ParseAcceptLanguage takes a long time", URL: "https://nvd.nist.gov/vuln/detail/CVE-2022-32149",
				Targets: []string{"go.mod"}, Scanners: []string{ScannerGrype, ScannerTrivy},
				SeverityBy: map[string]Severity{ScannerGrype: SeverityCritical, ScannerTrivy: SeverityMedium}}},
		},
		{
			name: "different fixed versions: the lowest above the installed one, recorded",
			in: map[string][]Finding{
				ScannerTrivy: {with(textTrivy, func(f *Finding) { f.FixedVersion = "0.3.10" })},
				ScannerGrype: {with(textGrype, func(f *Finding) { f.FixedVersion = "0.3.8" })},
			},
			want: []Finding{{ID: "CVE-2022-32149", Aliases: []string{"GHSA-69ch-w2m2-3vjp"}, Package: "golang.org/x/text",
				InstalledVersion: "0.3.7", FixedVersion: "0.3.8", Severity: SeverityHigh,
				Title: "ParseAcceptLanguage takes a long time", URL: "https://nvd.nist.gov/vuln/detail/CVE-2022-32149",
				Targets: []string{"go.mod"}, Scanners: []string{ScannerGrype, ScannerTrivy},
				FixedBy: map[string]string{ScannerGrype: "0.3.8", ScannerTrivy: "0.3.10"}}},
		},
		{
			name: "only one scanner knows a fix: it is used, and the disagreement recorded",
			in: map[string][]Finding{
				ScannerTrivy: {textTrivy},
				ScannerGrype: {with(textGrype, func(f *Finding) { f.FixedVersion = "" })},
			},
			want: []Finding{{ID: "CVE-2022-32149", Aliases: []string{"GHSA-69ch-w2m2-3vjp"}, Package: "golang.org/x/text",
				InstalledVersion: "0.3.7", FixedVersion: "0.3.8", Severity: SeverityHigh,
				Title: "ParseAcceptLanguage takes a long time", URL: "https://nvd.nist.gov/vuln/detail/CVE-2022-32149",
				Targets: []string{"go.mod"}, Scanners: []string{ScannerGrype, ScannerTrivy},
				FixedBy: map[string]string{ScannerGrype: "", ScannerTrivy: "0.3.8"}}},
		},
		{
			name: "different installed versions stay separate",
			in: map[string][]Finding{
				ScannerTrivy: {textTrivy},
				ScannerGrype: {with(textGrype, func(f *Finding) { f.InstalledVersion = "v0.3.6"; f.Targets = []string{"tools/go.mod"} })},
			},
			want: []Finding{
				with(textGrype, func(f *Finding) { f.InstalledVersion = "v0.3.6"; f.Targets = []string{"tools/go.mod"} }),
				textTrivy,
			},
		},
		{
			name: "one scanner only",
			in:   map[string][]Finding{ScannerTrivy: {textTrivy}, ScannerGrype: {}},
			want: []Finding{textTrivy},
		},
		{
			name: "one scanner, same package in two places: one finding, both targets",
			in: map[string][]Finding{ScannerTrivy: {
				textTrivy,
				with(textTrivy, func(f *Finding) { f.Targets = []string{"sub/go.mod"}; f.Aliases = []string{"GO-2022-1059"} }),
			}},
			want: []Finding{with(textTrivy, func(f *Finding) {
				f.Targets = []string{"go.mod", "sub/go.mod"}
				f.Aliases = []string{"GHSA-69ch-w2m2-3vjp", "GO-2022-1059"}
			})},
		},
		{
			name: "sorted by severity, then ID, package and version",
			in: map[string][]Finding{ScannerGrype: {
				{ID: "CVE-2", Package: "b", InstalledVersion: "1.10.0", Severity: SeverityLow},
				{ID: "CVE-2", Package: "b", InstalledVersion: "1.9.0", Severity: SeverityLow},
				{ID: "CVE-2", Package: "a", InstalledVersion: "1.0.0", Severity: SeverityLow},
				{ID: "CVE-1", Package: "z", InstalledVersion: "1.0.0", Severity: SeverityLow},
				{ID: "CVE-9", Package: "z", InstalledVersion: "1.0.0", Severity: SeverityCritical},
			}},
			want: []Finding{
				{ID: "CVE-9", Package: "z", InstalledVersion: "1.0.0", Severity: SeverityCritical, Scanners: []string{ScannerGrype}},
				{ID: "CVE-1", Package: "z", InstalledVersion: "1.0.0", Severity: SeverityLow, Scanners: []string{ScannerGrype}},
				{ID: "CVE-2", Package: "a", InstalledVersion: "1.0.0", Severity: SeverityLow, Scanners: []string{ScannerGrype}},
				{ID: "CVE-2", Package: "b", InstalledVersion: "1.9.0", Severity: SeverityLow, Scanners: []string{ScannerGrype}},
				{ID: "CVE-2", Package: "b", InstalledVersion: "1.10.0", Severity: SeverityLow, Scanners: []string{ScannerGrype}},
			},
		},
		{
			name: "nothing",
			in:   nil,
			want: []Finding{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Merge(tt.in))
		})
	}
}

// with returns a copy of f changed by edit, so cases read as "like that one, except".
func with(f Finding, edit func(*Finding)) Finding {
	f.Aliases = slices.Clone(f.Aliases)
	f.Targets = slices.Clone(f.Targets)
	f.Scanners = slices.Clone(f.Scanners)
	edit(&f)
	return f
}

func TestMergeIsDeterministic(t *testing.T) {
	in := syntheticFindings(200)
	want := Merge(in)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		shuffled := map[string][]Finding{}
		for name, fs := range in {
			fs = slices.Clone(fs)
			rng.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
			shuffled[name] = fs
		}
		require.Equal(t, want, Merge(shuffled))
	}
}

func TestMergeFixtures(t *testing.T) {
	merged := Merge(reports(t, "vulnerable"))
	require.Len(t, merged, 3)
	assert.Equal(t, []string{"CVE-2099-0001", "CVE-2022-32149", "CVE-2099-0002"},
		[]string{merged[0].ID, merged[1].ID, merged[2].ID}, "CRITICAL, HIGH, LOW")
	for _, f := range merged {
		assert.Equal(t, []string{ScannerGrype, ScannerTrivy}, f.Scanners, f.ID)
		assert.Nil(t, f.SeverityBy, "the scanners agree on %s", f.ID)
		assert.Nil(t, f.FixedBy, "the scanners agree on %s", f.ID)
		assert.Equal(t, []string{"go.mod"}, f.Targets, "Grype's /go.mod and Trivy's go.mod are one target")
	}
	assert.Equal(t, []string{"GHSA-2222-3333-4444"}, merged[0].Aliases)
	assert.Equal(t, []string{"GHSA-69ch-w2m2-3vjp"}, merged[1].Aliases)
	assert.Equal(t, "1.2.0", merged[0].FixedVersion)
	assert.Equal(t, "0.3.8", merged[1].FixedVersion)
	assert.Empty(t, merged[2].FixedVersion)

	assert.Empty(t, Merge(reports(t, "clean")))
}

// syntheticFindings makes n findings per scanner over a few hundred packages, with overlaps, severity and fix
// disagreements, for the determinism test and the benchmark.
func syntheticFindings(n int) map[string][]Finding {
	out := map[string][]Finding{}
	for s, name := range []string{ScannerGrype, ScannerTrivy} {
		fs := make([]Finding, 0, n)
		for i := range n {
			fix := ""
			if i%3 != 0 {
				fix = "1." + strconv.Itoa(i%7+s) + ".0"
			}
			fs = append(fs, Finding{
				ID:               "CVE-2030-" + strconv.Itoa(1000+i%(n/2+1)),
				Aliases:          []string{"GHSA-" + strconv.Itoa(i)},
				Package:          "example.com/pkg" + strconv.Itoa(i%97),
				InstalledVersion: "v1." + strconv.Itoa(i%5) + ".0",
				FixedVersion:     fix,
				Severity:         Severity((i + s) % 5),
				Title:            "synthetic advisory " + strconv.Itoa(i),
				URL:              "https://example.com/" + strconv.Itoa(i),
				Targets:          []string{"go.mod"},
				Scanners:         []string{name},
			})
		}
		out[name] = fs
	}
	return out
}
