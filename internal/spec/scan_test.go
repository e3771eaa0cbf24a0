package spec

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scanSection follows base, so its first line is line 17.
const scanSection = `scan:
  failOn: [CRITICAL, high, Medium]
  onlyFixed: true
  ignore:
    - id: CVE-2022-32149
      package: golang.org/x/text
      reason: only parses locale tags from our own configuration
      expires: 2027-06-30
    - id: ghsa-2222-3333-4444
      reason: "not reachable: the vulnerable function is never called"
      expires: "2026-12-01"
  allowSingleScanner: true
  timeout: 15m
`

// scanNow is the clock of the parse tests: before both expiry dates of scanSection.
var scanNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestParseScan(t *testing.T) {
	s, err := parseAt([]byte(base+scanSection), "deploy/slipway.yaml", scanNow)
	require.NoError(t, err)
	want := Scan{
		ScanPolicy: ScanPolicy{
			FailOn:    []Severity{SeverityCritical, SeverityHigh, SeverityMedium},
			OnlyFixed: true,
			Ignore: []Ignore{
				{ID: "CVE-2022-32149", Package: "golang.org/x/text", Reason: "only parses locale tags from our own configuration", Expires: "2027-06-30"},
				{ID: "ghsa-2222-3333-4444", Reason: "not reachable: the vulnerable function is never called", Expires: "2026-12-01"},
			},
		},
		AllowSingleScanner: true,
		Timeout:            Duration(15 * time.Minute),
	}
	require.Equal(t, want, s.Scan)
	require.Equal(t, want.ScanPolicy, s.Scan.Policy())

	// Without a scan section, the defaults.
	s, err = Parse([]byte(base), "deploy/slipway.yaml")
	require.NoError(t, err)
	require.Equal(t, Scan{
		ScanPolicy: ScanPolicy{FailOn: []Severity{SeverityCritical, SeverityHigh}},
		Timeout:    Duration(DefaultScanTimeout),
	}, s.Scan)

	// An empty section, and an empty failOn, are the defaults too.
	for _, src := range []string{"scan:\n", "scan: {}\n", "scan:\n  failOn: []\n", "scan:\n  failOn:\n"} {
		s, err = Parse([]byte(base+src), "deploy/slipway.yaml")
		require.NoError(t, err, src)
		require.Equal(t, []Severity{SeverityCritical, SeverityHigh}, s.Scan.FailOn, src)
	}
}

func TestParseScanErrors(t *testing.T) {
	// edit replaces the line of scanSection that starts with old (after its indentation) by text.
	edit := func(old, text string) string {
		lines := strings.Split(scanSection, "\n")
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimLeft(l, " -"), old) {
				lines[i] = text
				return base + strings.Join(lines, "\n")
			}
		}
		t.Fatalf("no line %q in scanSection", old)
		return ""
	}
	const severities = "write CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN"
	tests := []struct {
		name string
		src  string
		want string // the whole error text
	}{
		{"unknown field in an ignore", edit("reason: only", "      reasn: only parses locale tags"),
			`deploy/slipway.yaml:21: scan.ignore[0].reason: required; say why the risk is accepted` + "\n" +
				`deploy/slipway.yaml:23: scan.ignore[0].reasn: unknown field, did you mean "reason"? known fields: id, package, reason, expires`},
		{"unknown field in scan", edit("onlyFixed", "  onlyFixd: true"),
			`deploy/slipway.yaml:19: scan.onlyFixd: unknown field, did you mean "onlyFixed"? known fields: failOn, onlyFixed, ignore, allowSingleScanner, timeout, attachReports`},
		{"field name in the wrong case", edit("failOn", "  failon: [CRITICAL]"),
			`deploy/slipway.yaml:18: scan.failon: unknown field, did you mean "failOn"? known fields: failOn, onlyFixed, ignore, allowSingleScanner, timeout, attachReports`},
		{"bad severity", edit("failOn", "  failOn: [CRITICAL, hgh]"),
			`deploy/slipway.yaml:18: scan.failOn[1]: "hgh" is not a severity; ` + severities},
		{"bad severity and a gap", edit("failOn", "  failOn: [HIGH, hgh]"),
			`deploy/slipway.yaml:18: scan.failOn: blocks HIGH but not CRITICAL; a policy that blocks a severity must block every worse one (add CRITICAL)` + "\n" +
				`deploy/slipway.yaml:18: scan.failOn[1]: "hgh" is not a severity; ` + severities},
		{"severity as a number", edit("failOn", "  failOn: [4]"),
			`deploy/slipway.yaml:18: scan.failOn[0]: "4" is not a severity; ` + severities},
		{"empty severity", edit("failOn", "  failOn:\n    - CRITICAL\n    -\n    - HIGH"),
			`deploy/slipway.yaml:20: scan.failOn[1]: "" is not a severity; ` + severities},
		{"null severity", edit("failOn", "  failOn: [CRITICAL, ~]"),
			`deploy/slipway.yaml:18: scan.failOn[1]: "" is not a severity; ` + severities},
		{"list as a severity", edit("failOn", "  failOn: [[CRITICAL]]"),
			`deploy/slipway.yaml:18: scan.failOn[0]: want a single value, got a list`},
		{"failOn not a list", edit("failOn", "  failOn: CRITICAL"),
			`deploy/slipway.yaml:18: scan.failOn: want a list, got "CRITICAL"`},
		{"HIGH without CRITICAL", edit("failOn", "  failOn: [HIGH]"),
			`deploy/slipway.yaml:18: scan.failOn: blocks HIGH but not CRITICAL; a policy that blocks a severity must block every worse one (add CRITICAL)`},
		{"severity twice", edit("failOn", "  failOn: [CRITICAL, HIGH, critical]"),
			`deploy/slipway.yaml:18: scan.failOn[2]: CRITICAL is listed twice (also failOn[0])`},
		{"missing reason", edit("reason: only", ""),
			`deploy/slipway.yaml:21: scan.ignore[0].reason: required; say why the risk is accepted`},
		{"empty id", edit("id: CVE", `    - id: ""`),
			`deploy/slipway.yaml:21: scan.ignore[0].id: required`},
		{"expired", edit("expires: 2027", "      expires: 2026-11-24"),
			`deploy/slipway.yaml:21: scan.ignore[0]: CVE-2022-32149 expired on 2026-11-24; remove it or extend it with a new reason`},
		{"expires today", edit("expires: 2027", "      expires: 2026-11-25"),
			`deploy/slipway.yaml:21: scan.ignore[0]: CVE-2022-32149 expired on 2026-11-25; remove it or extend it with a new reason`},
		{"bad date", edit("expires: 2027", "      expires: 30.06.2027"),
			`deploy/slipway.yaml:24: scan.ignore[0].expires: "30.06.2027" is not a date; write YYYY-MM-DD`},
		{"missing date", edit("expires: 2027", ""),
			`deploy/slipway.yaml:21: scan.ignore[0].expires: required; write the date (YYYY-MM-DD) from which the ignore stops applying`},
		{"ignore not a list", base + "scan:\n  ignore: CVE-2022-32149\n",
			`deploy/slipway.yaml:18: scan.ignore: want a list, got "CVE-2022-32149"`},
		{"bad bool", edit("allowSingleScanner", `  allowSingleScanner: "yes"`),
			`deploy/slipway.yaml:28: scan.allowSingleScanner: want true or false, got "yes"`},
		{"timeout too long", edit("timeout", "  timeout: 2h"),
			`deploy/slipway.yaml:29: scan.timeout: must be between 30s and 1h, got 2h`},
		{"timeout too short", edit("timeout", "  timeout: 10s"),
			`deploy/slipway.yaml:29: scan.timeout: must be between 30s and 1h, got 10s`},
		{"timeout bare number", edit("timeout", "  timeout: 600"),
			`deploy/slipway.yaml:29: scan.timeout: want a duration string like "30s" or "10m", got "600"`},
		{"scan not a mapping", base + "scan: strict\n",
			`deploy/slipway.yaml:17: scan: want a mapping with the fields failOn, onlyFixed, ignore, allowSingleScanner, timeout, attachReports; got "strict"`},
		{"duplicate field", edit("timeout", "  timeout: 15m\n  failOn: [CRITICAL]"),
			`deploy/slipway.yaml:30: scan.failOn: duplicate field; already set on line 18`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseAt([]byte(tt.src), "deploy/slipway.yaml", scanNow)
			require.Error(t, err)
			require.Nil(t, s)
			var fes FieldErrors
			require.ErrorAs(t, err, &fes)
			require.Equal(t, tt.want, fes.Error())
		})
	}
}

// The ignore's date is compared with the clock: the same spec is valid the day before and refused on the day.
func TestValidateAtIgnoreExpiry(t *testing.T) {
	s := validSpec()
	s.Scan.Ignore = []Ignore{{ID: "CVE-2022-32149", Reason: "not reachable", Expires: "2020-01-01"}}
	const msg = "scan.ignore[0]: CVE-2022-32149 expired on 2020-01-01; remove it or extend it with a new reason"

	require.NoError(t, s.ValidateAt(time.Date(2019, 12, 31, 23, 59, 59, 0, time.UTC)), "a future ignore passes")
	for _, now := range []time.Time{
		time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC),
	} {
		err := s.ValidateAt(now)
		require.EqualError(t, err, msg, now)
		var fes FieldErrors
		require.ErrorAs(t, err, &fes)
		require.Equal(t, FieldError{Path: "scan.ignore[0]", Message: "CVE-2022-32149 expired on 2020-01-01; remove it or extend it with a new reason"}, fes[0])
	}
	// Validate leaves the clock out: a status, an abort or a rollback must still read a spec whose exception
	// has lapsed. Starting a release uses ValidateAt(time.Now()).
	require.NoError(t, s.Validate())
	spec, err := Parse([]byte(base+"scan:\n  ignore:\n    - {id: CVE-2022-32149, reason: not reachable, expires: 2020-01-01}\n"), "slipway.yaml")
	require.NoError(t, err, "Parse does not check expiry")
	require.Error(t, spec.ValidateAt(time.Now()))
}

// Policy errors are FieldErrors of the spec, sorted with the others by path.
func TestValidateMergesScanErrors(t *testing.T) {
	s := validSpec()
	s.Kind = "Deployment"
	s.Scan.FailOn = []Severity{SeverityHigh, Severity(9)}
	s.Scan.Ignore = []Ignore{{ID: "CVE-2022-32149", Expires: "2999-01-01"}}
	s.Scan.Timeout = Duration(2 * time.Hour)
	s.Smoke.Attempts = 0
	var fes FieldErrors
	require.ErrorAs(t, s.ValidateAt(scanNow), &fes)
	require.Equal(t, FieldErrors{
		{Path: "kind", Message: `"Deployment" is not supported; write "kind: ReleaseSpec"`},
		{Path: "scan.failOn", Message: "blocks HIGH but not CRITICAL; a policy that blocks a severity must block every worse one (add CRITICAL)"},
		{Path: "scan.failOn[1]", Message: "Severity(9) is not a severity; write CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN"},
		{Path: "scan.ignore[0].reason", Message: "required; say why the risk is accepted"},
		{Path: "scan.timeout", Message: "must be between 30s and 1h, got 2h"},
		{Path: "smoke.attempts", Message: "must be between 1 and 100, got 0"},
	}, fes)
}

func TestScanDefaults(t *testing.T) {
	var s Spec
	ApplyDefaults(&s)
	require.Equal(t, []Severity{SeverityCritical, SeverityHigh}, s.Scan.FailOn)
	require.Equal(t, Duration(10*time.Minute), s.Scan.Timeout)
	require.False(t, s.Scan.OnlyFixed)
	require.False(t, s.Scan.AllowSingleScanner)
	require.Nil(t, s.Scan.Ignore)

	s.Scan.FailOn[0] = SeverityLow
	require.Equal(t, []Severity{SeverityCritical, SeverityHigh}, DefaultFailOn, "the default is copied")

	set := Spec{Scan: Scan{ScanPolicy: ScanPolicy{FailOn: []Severity{SeverityCritical}}, Timeout: Duration(time.Minute)}}
	ApplyDefaults(&set)
	require.Equal(t, []Severity{SeverityCritical}, set.Scan.FailOn)
	require.Equal(t, Duration(time.Minute), set.Scan.Timeout)
}

func TestScanPolicy(t *testing.T) {
	sc := Scan{
		ScanPolicy: ScanPolicy{
			FailOn:    []Severity{SeverityCritical},
			OnlyFixed: true,
			Ignore:    []Ignore{{ID: "CVE-2022-32149", Reason: "r", Expires: "2999-01-01"}},
		},
		AllowSingleScanner: true,
		Timeout:            Duration(time.Minute),
	}
	p := sc.Policy()
	require.Equal(t, sc.ScanPolicy, p)
	p.FailOn[0] = SeverityLow
	p.Ignore[0].ID = "changed"
	require.Equal(t, SeverityCritical, sc.FailOn[0], "the policy is a copy")
	require.Equal(t, "CVE-2022-32149", sc.Ignore[0].ID, "the policy is a copy")
}

// The workflow input is the spec as JSON: the scan section must have the same shape as in YAML (the policy's
// fields at the top level of "scan") and come back unchanged.
func TestScanJSON(t *testing.T) {
	s := validSpec()
	s.Scan = Scan{
		ScanPolicy: ScanPolicy{
			FailOn:    []Severity{SeverityCritical, SeverityHigh, SeverityUnknown},
			OnlyFixed: true,
			Ignore: []Ignore{
				{ID: "CVE-2022-32149", Package: "golang.org/x/text", Reason: "not reachable", Expires: "2999-01-01"},
				{ID: "GHSA-2222-3333-4444", Reason: "mitigated", Expires: "2999-02-01"},
			},
		},
		AllowSingleScanner: true,
		Timeout:            Duration(15 * time.Minute),
	}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	require.Contains(t, string(b), `"image":{"repository":"registry.example.com:5000/team/shop","pullPolicy":"IfNotPresent","tags":["semver"]},`+
		`"scan":{"failOn":["CRITICAL","HIGH","UNKNOWN"],"onlyFixed":true,"ignore":[`+
		`{"id":"CVE-2022-32149","package":"golang.org/x/text","reason":"not reachable","expires":"2999-01-01"},`+
		`{"id":"GHSA-2222-3333-4444","reason":"mitigated","expires":"2999-02-01"}],`+
		`"allowSingleScanner":true,"timeout":"15m0s"},"container":`)

	var back Spec
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, s, &back)
	require.NoError(t, back.ValidateAt(scanNow))

	// The spec loader reads the same JSON into the same spec.
	parsed, err := parseAt(b, "release.json", scanNow)
	require.NoError(t, err)
	require.Equal(t, s, parsed)

	// A defaulted spec without a scan section still carries the defaults it was validated with.
	s = validSpec()
	b, err = json.Marshal(s)
	require.NoError(t, err)
	require.Contains(t, string(b), `"scan":{"failOn":["CRITICAL","HIGH"],"timeout":"10m0s"}`)
}

// Every field has the same name in YAML and JSON, and an inline struct is flattened by encoding/json too (no
// JSON name); fieldsOf panics on a name used twice, so walking every type checks that as well.
func TestFieldNames(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for _, f := range fieldsOf(typ) {
			sf := typ.FieldByIndex(f.index)
			jsonName, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			require.Equal(t, f.name, jsonName, "%s.%s", typ, sf.Name)
			walk(sf.Type)
		}
		for i := range typ.NumField() {
			if sf := typ.Field(i); sf.Anonymous {
				jsonName, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
				require.Empty(t, jsonName, "%s embeds %s, which must have no JSON name to be flattened", typ, sf.Name)
			}
		}
	}
	walk(reflect.TypeFor[Spec]())
	require.True(t, seen[reflect.TypeFor[Ignore]()], "the walk reaches the inline policy's types")

	type dup struct {
		ScanPolicy `yaml:",inline"`
		FailOn     string `yaml:"failOn"`
	}
	require.PanicsWithValue(t, `spec: spec.dup has two fields named "failOn"`, func() { fieldsOf(reflect.TypeFor[dup]()) })
	type badInline struct {
		P *ScanPolicy `yaml:",inline"`
	}
	require.Panics(t, func() { fieldsOf(reflect.TypeFor[badInline]()) })
}

// The scan example in docs/spec.md parses (at a time before its expiry date).
func TestDocsScanExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/spec.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(doc), "\n### scan\n")
	require.True(t, ok)
	_, example, ok := strings.Cut(section, "```yaml\n")
	require.True(t, ok)
	example, _, ok = strings.Cut(example, "```")
	require.True(t, ok)
	s, err := parseAt([]byte(base+example), "docs/spec.md", scanNow)
	require.NoError(t, err)
	require.Equal(t, []Severity{SeverityCritical, SeverityHigh, SeverityMedium}, s.Scan.FailOn)
	require.Len(t, s.Scan.Ignore, 1)
}
