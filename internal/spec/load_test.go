package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// base is a valid spec; line numbers matter to the tests below.
const base = `apiVersion: slipway.dev/v1alpha1
kind: ReleaseSpec
app:
  name: shop
environments:
  staging:
    namespace: shop-staging
  production:
    namespace: shop-production
image:
  repository: registry.example.com/team/shop
container:
  port: 8080
smoke:
  checks:
    - path: /health
`

// replaceLine returns base with line n (1-based) replaced by text, which may hold several lines or be empty.
func replaceLine(t *testing.T, n int, text string) string {
	t.Helper()
	lines := strings.Split(base, "\n")
	require.Less(t, n-1, len(lines))
	lines[n-1] = text
	return strings.Join(lines, "\n")
}

func parseErrors(t *testing.T, src string) FieldErrors {
	t.Helper()
	s, err := Parse([]byte(src), "deploy/slipway.yaml")
	require.Error(t, err)
	require.Nil(t, s)
	var fes FieldErrors
	require.ErrorAs(t, err, &fes)
	return fes
}

func TestParseBase(t *testing.T) {
	s, err := Parse([]byte(base), "deploy/slipway.yaml")
	require.NoError(t, err)
	require.Equal(t, "shop", s.App.Name)
	require.Equal(t, "shop-preview", s.BlueGreen.PreviewService, "defaults are applied")
	require.Equal(t, s.Smoke.Checks, s.BlueGreen.PreviewChecks)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the whole error text
	}{
		{"unknown field", replaceLine(t, 13, "  port: 8080\n  prots: 80"),
			`deploy/slipway.yaml:14: container.prots: unknown field, did you mean "port"? known fields: port, resources, probes, securityContext, env`},
		{"unknown field without suggestion", replaceLine(t, 4, "  name: shop\n  owner: team-a"),
			`deploy/slipway.yaml:5: app.owner: unknown field; known fields: name`},
		{"unknown top-level field", base + "extra: 1\n",
			`deploy/slipway.yaml:17: extra: unknown field; known fields: apiVersion, kind, app, environments, image, scan, container, blueGreen, smoke, compliance, approval, notify, monitor`},
		{"bad integer", replaceLine(t, 13, "  port: eighty"),
			`deploy/slipway.yaml:13: container.port: want an integer, got "eighty"`},
		{"quoted integer", replaceLine(t, 13, `  port: "8080"`),
			`deploy/slipway.yaml:13: container.port: want an integer, got "8080"`},
		{"float for integer", replaceLine(t, 13, "  port: 80.5"),
			`deploy/slipway.yaml:13: container.port: want an integer, got "80.5"`},
		{"integer out of range", replaceLine(t, 13, "  port: 9999999999"),
			`deploy/slipway.yaml:13: container.port: 9999999999 is out of range`},
		{"list for string", replaceLine(t, 4, "  name: [a, b]"),
			`deploy/slipway.yaml:4: app.name: want a string, got a list`},
		{"string for mapping", replaceLine(t, 3, "app: shop\nx:"),
			`deploy/slipway.yaml:3: app: want a mapping with the fields name; got "shop"` + "\n" +
				`deploy/slipway.yaml:4: x: unknown field; known fields: apiVersion, kind, app, environments, image, scan, container, blueGreen, smoke, compliance, approval, notify, monitor`},
		{"mapping for list", strings.Replace(base, "  checks:\n    - path: /health\n", "  checks: {path: /health}\n", 1),
			`deploy/slipway.yaml:15: smoke.checks: want a list, got a mapping`},
		{"bad bool", replaceLine(t, 13, "  port: 8080\n  securityContext:\n    runAsNonRoot: \"yes\""),
			`deploy/slipway.yaml:15: container.securityContext.runAsNonRoot: want true or false, got "yes"`},
		{"bare number duration", base + "  interval: 30\n",
			`deploy/slipway.yaml:17: smoke.interval: want a duration string like "30s" or "10m", got "30"`},
		{"bad duration", base + "  timeout: soon\n",
			`deploy/slipway.yaml:17: smoke.timeout: want a duration string like "30s" or "10m", got "soon"`},
		{"duplicate field", replaceLine(t, 13, "  port: 8080\n  port: 8081"),
			`deploy/slipway.yaml:14: container.port: duplicate field; already set on line 13`},
		{"missing required field", replaceLine(t, 11, ""),
			`deploy/slipway.yaml:10: image.repository: required; e.g. registry.example.com/team/app`},
		{"missing section", strings.Replace(base, "image:\n  repository: registry.example.com/team/shop\n", "", 1),
			`deploy/slipway.yaml: image.repository: required; e.g. registry.example.com/team/app`},
		{"validation error gets the line", replaceLine(t, 9, "    namespace: Prod"),
			`deploy/slipway.yaml:9: environments.production.namespace: "Prod" is not a valid namespace: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{"validation error in a list", base + "    - path: version\n",
			`deploy/slipway.yaml:17: smoke.checks[1].path: "version" must start with "/"`},
		{"two documents", base + "---\nkind: ReleaseSpec\n",
			`deploy/slipway.yaml:17: a spec file holds one YAML document; remove this one and the "---" before it`},
		{"syntax error", replaceLine(t, 4, "  name: a: b"),
			`deploy/slipway.yaml:4: invalid YAML: mapping values are not allowed in this context`},
		{"tab indentation", replaceLine(t, 4, "\tname: shop"),
			`deploy/slipway.yaml:4: invalid YAML: found character that cannot start any token`},
		{"empty", "", `deploy/slipway.yaml: the spec is empty; it must start with "apiVersion: slipway.dev/v1alpha1" and "kind: ReleaseSpec"`},
		{"only comments", "# nothing\n", `deploy/slipway.yaml: the spec is empty; it must start with "apiVersion: slipway.dev/v1alpha1" and "kind: ReleaseSpec"`},
		{"a list", "- a\n- b\n",
			`deploy/slipway.yaml:1: want a mapping with the fields apiVersion, kind, app, environments, image, scan, container, blueGreen, smoke, compliance, approval, notify, monitor; got a list`},
		{"merge key", replaceLine(t, 4, "  <<: {name: shop}"),
			`deploy/slipway.yaml:3: app.name: required` + "\n" +
				`deploy/slipway.yaml:4: app."<<": merge keys (<<) are not supported; write the fields out`},
		{"empty check list", strings.Replace(base, "  checks:\n    - path: /health\n", "  checks: []\n", 1),
			`deploy/slipway.yaml:15: smoke.checks: at least one check is required`},
		{"custom tag", replaceLine(t, 4, "  name: !secret shop"),
			`deploy/slipway.yaml:4: app.name: YAML tag !secret is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fes := parseErrors(t, tt.src)
			require.Equal(t, tt.want, fes.Error())
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	src := strings.NewReplacer(
		"kind: ReleaseSpec", "kind: Deployment",
		"  port: 8080", "  port: eighty\n  prots: 80",
		"namespace: shop-production", "namespace: shop-staging",
	).Replace(base) + "  attempts: 0\n  interval: 11m\n"
	fes := parseErrors(t, src)
	type got struct {
		Line int
		Path string
	}
	var all []got
	for _, fe := range fes {
		require.Equal(t, "deploy/slipway.yaml", fe.Source)
		all = append(all, got{fe.Line, fe.Path})
	}
	require.Equal(t, []got{
		{2, "kind"},
		{9, "environments.production.namespace"},
		{13, "container.port"}, // the decode error only: no second "required" for the same field
		{14, "container.prots"},
		{19, "smoke.interval"},
	}, all, fes.Error())
}

func TestParseAliases(t *testing.T) {
	src := base + "  attempts: &n 3\nblueGreen:\n  previewChecks: &pc\n    - path: /ready\n"
	s, err := Parse([]byte(src), "")
	require.NoError(t, err)
	require.Equal(t, 3, s.Smoke.Attempts)
	require.Equal(t, []Check{{Name: "/ready", Path: "/ready", ExpectStatus: 200}}, s.BlueGreen.PreviewChecks)

	// An alias bomb is cut off instead of expanded: 300 uses of a mapping of 300 fields.
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d: 1", i)
	}
	bomb := "x: &m {" + strings.Join(keys, ", ") + "}\nsmoke:\n  checks: [" + strings.Repeat("*m, ", 299) + "*m]\n"
	start := time.Now()
	fes := parseErrors(t, bomb)
	require.Contains(t, fes.Error(), "more than 16384 YAML nodes")
	require.LessOrEqual(t, len(fes), maxErrors+1)
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestParseJSON(t *testing.T) {
	src := `{"apiVersion": "slipway.dev/v1alpha1", "kind": "ReleaseSpec", "app": {"name": "shop"},
"environments": {"staging": {"namespace": "s"}, "production": {"namespace": "p"}},
"image": {"repository": "registry.example.com/shop"}, "container": {"port": 80},
"smoke": {"checks": [{"path": "/"}], "timeout": "3s"}}`
	s, err := Parse([]byte(src), "release.json")
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, s.Smoke.Timeout.D())
}

func TestParseTooLarge(t *testing.T) {
	fes := parseErrors(t, base+strings.Repeat("#", maxSpecBytes))
	require.Len(t, fes, 1)
	require.Contains(t, fes[0].Message, "larger than")
}

func TestLoad(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err)
	require.True(t, errors.Is(err, os.ErrNotExist))

	path := filepath.Join(t.TempDir(), "slipway.yaml")
	require.NoError(t, os.WriteFile(path, []byte(replaceLine(t, 13, "  port: eighty")), 0o600))
	_, err = Load(path)
	require.EqualError(t, err, path+`:13: container.port: want an integer, got "eighty"`)
}

// The demo spec of `make demo` must load, and say what docs/spec.md says it says.
func TestLoadExample(t *testing.T) {
	yes := true
	s, err := Load("../../examples/demo/slipway.yaml")
	require.NoError(t, err)
	want := &Spec{
		APIVersion: APIVersion,
		Kind:       Kind,
		App:        App{Name: "demo-app"},
		Environments: Environments{
			Staging:    Environment{Namespace: "demo-staging", Replicas: 1},
			Production: Environment{Namespace: "demo-production", Replicas: 2},
		},
		Image: Image{Repository: "127.0.0.1:5001/slipway/demo-app", PullPolicy: "IfNotPresent", Source: "127.0.0.1:5001/ci/demo-app",
			Tags:    []string{TagSemver, TagMajorMinor},
			Signing: &Signing{Key: "env:SLIPWAY_DEMO_SIGNING_KEY", PublicKey: "env:SLIPWAY_DEMO_SIGNING_PUBLIC_KEY"}},
		Scan: Scan{
			ScanPolicy: ScanPolicy{FailOn: []Severity{SeverityCritical, SeverityHigh}},
			Timeout:    Duration(10 * time.Minute),
		},
		Container: Container{
			Port: 8080,
			Resources: Resources{
				Requests: ResourceList{CPU: "50m", Memory: "32Mi"},
				Limits:   ResourceList{CPU: "200m", Memory: "64Mi"},
			},
			Probes: Probes{
				Liveness:  &HTTPProbe{Path: "/health", PeriodSeconds: 10, FailureThreshold: 3},
				Readiness: &HTTPProbe{Path: "/ready", PeriodSeconds: 10, FailureThreshold: 3},
			},
			SecurityContext: &SecurityContext{
				RunAsNonRoot:             ptr(true),
				RunAsUser:                ptr(int64(10001)),
				ReadOnlyRootFilesystem:   ptr(true),
				AllowPrivilegeEscalation: ptr(false),
				DropCapabilities:         []string{"ALL"},
			},
			Env: []EnvVar{{Name: "LOG_LEVEL", Value: "info"}},
		},
		BlueGreen: BlueGreen{
			ActiveService:  "demo-app-active",
			PreviewService: "demo-app-preview",
			PreviewChecks: []Check{
				{Name: "/ready", Path: "/ready", ExpectStatus: 200},
				{Name: "/version", Path: "/version", ExpectStatus: 200},
			},
			ProgressDeadline: Duration(2 * time.Minute),
			ScaleDownDelay:   Duration(5 * time.Second),
		},
		Smoke: Smoke{
			Checks: []Check{
				{Name: "/health", Path: "/health", ExpectStatus: 200, ExpectBody: "ok"},
				{Name: "/version", Path: "/version", ExpectStatus: 200},
			},
			Attempts: 5,
			Interval: Duration(time.Second),
			Timeout:  Duration(2 * time.Second),
		},
		Compliance: Compliance{Settings: ComplianceSettings{EncryptionAtRest: &yes, AuditLogging: &yes, RateLimiting: &yes}},
	}
	require.Equal(t, want, s)
}

// The complete example in docs/spec.md is the demo spec.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/spec.md")
	require.NoError(t, err)
	_, example, ok := strings.Cut(string(doc), "## Complete example")
	require.True(t, ok)
	_, example, ok = strings.Cut(example, "```yaml\n")
	require.True(t, ok)
	example, _, ok = strings.Cut(example, "```")
	require.True(t, ok)
	fromDocs, err := Parse([]byte(example), "docs/spec.md")
	require.NoError(t, err)
	demo, err := Load("../../examples/demo/slipway.yaml")
	require.NoError(t, err)
	require.Equal(t, demo, fromDocs)
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"port", "port", 0},
		{"prot", "port", 1},
		{"prots", "port", 2},
		{"imgae", "image", 1},
		{"", "ab", 2},
		{"kind", "env", 3},
		{"averyveryverylongname", "env", 3},
	} {
		require.Equal(t, tt.want, editDistance(tt.a, tt.b), "%s/%s", tt.a, tt.b)
	}
}

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../../examples/demo/slipway.yaml")
	require.NoError(f, err)
	for _, seed := range []string{string(example), base, base + scanSection, "", "- a", "a: &a [*a]", "app: {name: *x}", "{", "smoke: {checks: [{path: /}]}", "<<: {}\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			require.Nil(t, s)
			var fes FieldErrors
			require.ErrorAs(t, err, &fes)
			require.NotEmpty(t, fes)
			return
		}
		require.NoError(t, s.Validate(), "a parsed spec is valid")
	})
}
