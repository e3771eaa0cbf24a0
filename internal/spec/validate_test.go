package spec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

// validSpec is a complete, defaulted, valid spec; each test case breaks one thing in a copy of it.
func validSpec() *Spec {
	s := &Spec{
		APIVersion: APIVersion,
		Kind:       Kind,
		App:        App{Name: "shop"},
		Environments: Environments{
			Staging:    Environment{Namespace: "shop-staging"},
			Production: Environment{Namespace: "shop-production", Replicas: 3},
		},
		Image: Image{Repository: "registry.example.com:5000/team/shop"},
		Container: Container{
			Port: 8080,
			Resources: Resources{
				Requests: ResourceList{CPU: "100m", Memory: "64Mi"},
				Limits:   ResourceList{CPU: "1", Memory: "1Gi"},
			},
			Probes: Probes{
				Liveness:  &HTTPProbe{Path: "/health"},
				Readiness: &HTTPProbe{Path: "/ready", InitialDelaySeconds: 2},
			},
			SecurityContext: &SecurityContext{
				RunAsNonRoot:     ptr(true),
				RunAsUser:        ptr(int64(10001)),
				DropCapabilities: []string{"ALL"},
			},
			Env: []EnvVar{
				{Name: "LOG_LEVEL", Value: "info"},
				{Name: "DB_PASSWORD", SecretRef: &SecretKeyRef{Name: "shop-db", Key: "password"}},
			},
		},
		BlueGreen: BlueGreen{ProgressDeadline: Duration(5 * time.Minute)},
		Smoke: Smoke{
			Checks: []Check{{Path: "/health", ExpectBody: "ok"}, {Name: "version", Path: "/version", ExpectStatus: 204}},
		},
	}
	ApplyDefaults(s)
	return s
}

func TestValidateValidSpec(t *testing.T) {
	require.NoError(t, validSpec().Validate())
}

func TestValidateNil(t *testing.T) {
	var s *Spec
	require.Error(t, s.Validate())
}

func TestValidateRules(t *testing.T) {
	long := func(n int) string { return "a" + strings.Repeat("b", n-1) }
	tests := []struct {
		name   string
		mutate func(s *Spec)
		path   string // "" means the spec stays valid
		msg    string // a substring of the message
	}{
		{"apiVersion missing", func(s *Spec) { s.APIVersion = "" }, "apiVersion", `required; write "apiVersion: slipway.dev/v1alpha1"`},
		{"apiVersion other", func(s *Spec) { s.APIVersion = "slipway.dev/v1" }, "apiVersion", `"slipway.dev/v1" is not supported; write "apiVersion: slipway.dev/v1alpha1"`},
		{"kind other", func(s *Spec) { s.Kind = "Release" }, "kind", `write "kind: ReleaseSpec"`},

		{"app.name missing", func(s *Spec) { s.App.Name = ""; s.BlueGreen.ActiveService = ""; s.BlueGreen.PreviewService = "" }, "app.name", "required"},
		{"app.name upper case", func(s *Spec) { s.App.Name = "Shop" }, "app.name", `"Shop" is not a valid app name: a DNS-1035 label`},
		{"app.name leading digit", func(s *Spec) { s.App.Name = "1shop" }, "app.name", "DNS-1035"},
		{"app.name 55 characters", func(s *Spec) { s.App.Name = long(55) }, "", ""},
		{"app.name 56 characters", func(s *Spec) { s.App.Name = long(56) }, "app.name", `must be at most 55 characters so that "<name>-preview" fits`},
		{"app.name 64 characters", func(s *Spec) { s.App.Name = long(64) }, "app.name", "at most 55"},

		{"staging namespace missing", func(s *Spec) { s.Environments.Staging.Namespace = "" }, "environments.staging.namespace", "required"},
		{"production namespace invalid", func(s *Spec) { s.Environments.Production.Namespace = "Prod" }, "environments.production.namespace",
			`"Prod" is not a valid namespace: a lowercase RFC 1123 label must consist of lower case`},
		{"namespace may start with a digit", func(s *Spec) { s.Environments.Production.Namespace = "1-prod" }, "", ""},
		{"namespaces equal", func(s *Spec) { s.Environments.Production.Namespace = "shop-staging" }, "environments.production.namespace",
			`must differ from environments.staging.namespace (both are "shop-staging")`},
		{"staging replicas 0", func(s *Spec) { s.Environments.Staging.Replicas = 0 }, "", ""},
		{"staging replicas negative", func(s *Spec) { s.Environments.Staging.Replicas = -1 }, "environments.staging.replicas", "must be between 0 and 100, got -1"},
		{"staging replicas 101", func(s *Spec) { s.Environments.Staging.Replicas = 101 }, "environments.staging.replicas", "between 0 and 100"},
		{"production replicas 0", func(s *Spec) { s.Environments.Production.Replicas = 0 }, "environments.production.replicas", "must be between 1 and 100, got 0"},
		{"production replicas 100", func(s *Spec) { s.Environments.Production.Replicas = 100 }, "", ""},

		{"repository with port", func(s *Spec) { s.Image.Repository = "registry.example.com:5000/team/app" }, "", ""},
		{"repository on IP with port", func(s *Spec) { s.Image.Repository = "127.0.0.1:5001/demo-app" }, "", ""},
		{"repository on localhost", func(s *Spec) { s.Image.Repository = "localhost/slipway/demo-app" }, "", ""},
		{"image source", func(s *Spec) { s.Image.Source = "ci.example.com/builds/shop" }, "", ""},
		{"approval", func(s *Spec) {
			s.Approval = &Approval{Approvers: []string{"alice@example.com"}, Timeout: Duration(time.Hour), OnTimeout: "promote",
				RemindEvery: Duration(10 * time.Minute), EscalateAfter: Duration(30 * time.Minute), EscalateTo: "<!subteam^S0123>"}
		}, "", ""},
		{"approval without approvers", func(s *Spec) { s.Approval = &Approval{Timeout: Duration(time.Hour), OnTimeout: "reject"} },
			"approval.approvers", "required"},
		{"approver with a space", func(s *Spec) {
			s.Approval = &Approval{Approvers: []string{"alice smith"}, Timeout: Duration(time.Hour), OnTimeout: "reject"}
		}, "approval.approvers[0]", "not an identity"},
		{"approval bad outcome", func(s *Spec) {
			s.Approval = &Approval{Approvers: []string{"a"}, Timeout: Duration(time.Hour), OnTimeout: "approve"}
		}, "approval.onTimeout", "write reject or promote"},
		{"escalation without whom", func(s *Spec) {
			s.Approval = &Approval{Approvers: []string{"a"}, Timeout: Duration(time.Hour), OnTimeout: "reject", EscalateAfter: Duration(time.Minute)}
		}, "approval.escalateTo", "required with escalateAfter"},
		{"reminder longer than the timeout", func(s *Spec) {
			s.Approval = &Approval{Approvers: []string{"a"}, Timeout: Duration(time.Hour), OnTimeout: "reject", RemindEvery: Duration(2 * time.Hour)}
		}, "approval.remindEvery", "between"},
		{"too many reminders", func(s *Spec) {
			s.Approval = &Approval{Approvers: []string{"a"}, Timeout: Duration(7 * 24 * time.Hour), OnTimeout: "reject", RemindEvery: Duration(time.Minute)}
		}, "approval.remindEvery", "at most 100"},
		{"slack channel", func(s *Spec) { s.Notify.Slack = &SlackNotify{Channel: "#releases"} }, "", ""},
		{"slack channel id", func(s *Spec) { s.Notify.Slack = &SlackNotify{Channel: "C0123ABCD"} }, "", ""},
		{"slack channel bad", func(s *Spec) { s.Notify.Slack = &SlackNotify{Channel: "releases channel"} }, "notify.slack.channel", "not a channel"},
		{"image source with tag", func(s *Spec) { s.Image.Source = "ci.example.com/builds/shop:v1" }, "image.source", "has a tag"},
		{"all tag kinds", func(s *Spec) { s.Image.Tags = []string{"semver", "major.minor", "major", "sha", "branch", "latest"} }, "", ""},
		{"unknown tag kind", func(s *Spec) { s.Image.Tags = []string{"semver", "edge"} }, "image.tags[1]", "write one of semver, major.minor, major, sha, branch, latest"},
		{"tag kind twice", func(s *Spec) { s.Image.Tags = []string{"sha", "sha"} }, "image.tags[1]", "listed twice"},
		{"signing by file and env", func(s *Spec) {
			s.Image.Signing = &Signing{Key: "env:SLIPWAY_SIGNING_KEY", PublicKey: "file:/etc/slipway/cosign.pub"}
		}, "", ""},
		{"signing key inline", func(s *Spec) {
			s.Image.Signing = &Signing{Key: "-----BEGIN PRIVATE KEY-----\nMIG...", PublicKey: "file:/etc/slipway/cosign.pub"}
		}, "image.signing.key", "holds a key"},
		{"signing key relative path", func(s *Spec) {
			s.Image.Signing = &Signing{Key: "file:keys/cosign.key", PublicKey: "file:/etc/slipway/cosign.pub"}
		}, "image.signing.key", "absolute and clean"},
		{"signing public key missing", func(s *Spec) { s.Image.Signing = &Signing{Key: "env:K"} }, "image.signing.publicKey", "required"},
		{"signing env name", func(s *Spec) {
			s.Image.Signing = &Signing{Key: "env:1BAD", PublicKey: "file:/etc/slipway/cosign.pub"}
		}, "image.signing.key", "not an environment variable name"},
		{"repository on docker hub", func(s *Spec) { s.Image.Repository = "docker.io/library/nginx" }, "", ""},
		{"repository missing", func(s *Spec) { s.Image.Repository = "" }, "image.repository", "required"},
		{"repository with tag", func(s *Spec) { s.Image.Repository = "registry.example.com/team/app:1.2.3" }, "image.repository",
			"has a tag; put the version in --version, not in image.repository"},
		{"repository with digest", func(s *Spec) { s.Image.Repository = "registry.example.com/team/app@sha256:" + strings.Repeat("a", 64) }, "image.repository",
			"has a digest; put the version in --version, not in image.repository"},
		{"repository with space", func(s *Spec) { s.Image.Repository = "registry.example.com/team/my app" }, "image.repository", "must not contain whitespace"},
		{"repository upper case", func(s *Spec) { s.Image.Repository = "registry.example.com/Team/App" }, "image.repository", "is not a valid image repository"},
		{"repository bad component", func(s *Spec) { s.Image.Repository = "registry.example.com/team//app" }, "image.repository", `path component ""`},
		{"repository without registry", func(s *Spec) { s.Image.Repository = "team/app" }, "image.repository", "does not name its registry"},
		{"repository docker hub short", func(s *Spec) { s.Image.Repository = "docker.io/nginx" }, "image.repository", `"library/"`},
		{"registry part ends with -", func(s *Spec) { s.Image.Repository = "registry-.example.com/team/app" }, "image.repository",
			`registry "registry-.example.com" must be a host name`},
		{"registry starts with -", func(s *Spec) { s.Image.Repository = "-registry.example.com/team/app" }, "image.repository", `registry "-registry.example.com"`},
		{"registry empty part", func(s *Spec) { s.Image.Repository = "registry..example.com/team/app" }, "image.repository", `registry "registry..example.com"`},
		{"registry empty port", func(s *Spec) { s.Image.Repository = "registry.example.com:/team/app" }, "image.repository", `registry "registry.example.com:"`},
		{"registry IPv6", func(s *Spec) { s.Image.Repository = "[::1]:5000/team/app" }, "", ""},
		{"registry upper case", func(s *Spec) { s.Image.Repository = "Registry.Example.com/team/app" }, "", ""},
		{"registry with underscore", func(s *Spec) { s.Image.Repository = "my_registry.example.com/team/app" }, "", ""},
		{"pullPolicy Always", func(s *Spec) { s.Image.PullPolicy = "Always" }, "", ""},
		{"pullPolicy Never", func(s *Spec) { s.Image.PullPolicy = "Never" }, "", ""},
		{"pullPolicy lower case", func(s *Spec) { s.Image.PullPolicy = "always" }, "image.pullPolicy", "write IfNotPresent, Always or Never"},

		{"port missing", func(s *Spec) { s.Container.Port = 0 }, "container.port", "required"},
		{"port too big", func(s *Spec) { s.Container.Port = 65536 }, "container.port", "must be between 1 and 65535, got 65536"},
		{"port negative", func(s *Spec) { s.Container.Port = -1 }, "container.port", "between 1 and 65535"},
		{"port 65535", func(s *Spec) { s.Container.Port = 65535 }, "", ""},
		{"cpu not a quantity", func(s *Spec) { s.Container.Resources.Requests.CPU = "lots" }, "container.resources.requests.cpu", `"lots" is not a valid quantity`},
		{"memory negative", func(s *Spec) { s.Container.Resources.Limits.Memory = "-1Mi" }, "container.resources.limits.memory", "negative"},
		{"request above limit", func(s *Spec) { s.Container.Resources.Requests.CPU = "1500m" }, "container.resources.requests.cpu", "1500m is more than the limit 1"},
		{"request equal to limit", func(s *Spec) { s.Container.Resources.Requests.Memory = "1024Mi" }, "", ""},
		{"request without limit", func(s *Spec) { s.Container.Resources.Limits = ResourceList{} }, "", ""},

		{"probe path relative", func(s *Spec) { s.Container.Probes.Liveness.Path = "health" }, "container.probes.liveness.path", `must start with "/"`},
		{"probe path missing", func(s *Spec) { s.Container.Probes.Readiness.Path = "" }, "container.probes.readiness.path", "required"},
		{"probe path with space", func(s *Spec) { s.Container.Probes.Liveness.Path = "/he alth" }, "container.probes.liveness.path", "spaces or control characters"},
		{"probe path with newline", func(s *Spec) { s.Container.Probes.Liveness.Path = "/health\n" }, "container.probes.liveness.path", "control characters"},
		{"probe path with query", func(s *Spec) { s.Container.Probes.Liveness.Path = "/health?full=1" }, "container.probes.liveness.path", "without a query"},
		{"probe path with host", func(s *Spec) { s.Container.Probes.Liveness.Path = "//evil.example.com/x" }, "container.probes.liveness.path", "must be a path, not a URL"},
		{"probe path bad escape", func(s *Spec) { s.Container.Probes.Liveness.Path = "/a%zz" }, "container.probes.liveness.path", "not a valid URL path"},
		{"probe path escaped", func(s *Spec) { s.Container.Probes.Liveness.Path = "/a%20b/c-d_e.f~g" }, "", ""},
		{"probe path dot-dot", func(s *Spec) { s.Container.Probes.Liveness.Path = "/health/../admin" }, "container.probes.liveness.path",
			`"/health/../admin" has the segment ".."; a check or probe path must not have "." or ".." segments`},
		{"probe path dot", func(s *Spec) { s.Container.Probes.Readiness.Path = "/./ready" }, "container.probes.readiness.path", `has the segment "."`},
		{"probe path trailing dot", func(s *Spec) { s.Container.Probes.Readiness.Path = "/ready/." }, "container.probes.readiness.path", `has the segment "."`},
		{"probe path encoded dot-dot", func(s *Spec) { s.Container.Probes.Liveness.Path = "/%2e%2e/admin" }, "container.probes.liveness.path", `has the segment "%2e%2e"`},
		{"probe path encoded slash", func(s *Spec) { s.Container.Probes.Liveness.Path = "/a%2Fb" }, "container.probes.liveness.path", `encoded "/" (%2F)`},
		{"probe path dots in names", func(s *Spec) { s.Container.Probes.Liveness.Path = "/.well-known/health.json/.../..x" }, "", ""},
		{"probe path trailing slash", func(s *Spec) { s.Container.Probes.Liveness.Path = "/health/" }, "", ""},
		{"probe period negative", func(s *Spec) { s.Container.Probes.Liveness.PeriodSeconds = -1 }, "container.probes.liveness.periodSeconds", "at least 1"},
		{"probe failureThreshold negative", func(s *Spec) { s.Container.Probes.Liveness.FailureThreshold = -1 }, "container.probes.liveness.failureThreshold", "at least 1"},
		{"probe initial delay negative", func(s *Spec) { s.Container.Probes.Readiness.InitialDelaySeconds = -1 }, "container.probes.readiness.initialDelaySeconds", "negative"},

		{"capability lower case", func(s *Spec) { s.Container.SecurityContext.DropCapabilities = []string{"ALL", "net_raw"} }, "container.securityContext.dropCapabilities[1]", `"net_raw" is not a capability name`},
		{"capability NET_RAW", func(s *Spec) { s.Container.SecurityContext.DropCapabilities = []string{"NET_RAW"} }, "", ""},
		{"runAsUser root with runAsNonRoot", func(s *Spec) { s.Container.SecurityContext.RunAsUser = ptr(int64(0)) }, "container.securityContext.runAsUser", "0 is root"},
		{"runAsUser root without runAsNonRoot", func(s *Spec) {
			s.Container.SecurityContext.RunAsUser = ptr(int64(0))
			s.Container.SecurityContext.RunAsNonRoot = nil
		}, "", ""},
		{"runAsUser negative", func(s *Spec) { s.Container.SecurityContext.RunAsUser = ptr(int64(-1)) }, "container.securityContext.runAsUser", "must be between 0 and"},

		{"env name missing", func(s *Spec) { s.Container.Env[0].Name = "" }, "container.env[0].name", "required"},
		{"env name invalid", func(s *Spec) { s.Container.Env[0].Name = "1=X" }, "container.env[0].name", `"1=X" is not a valid environment variable name`},
		{"env name duplicate", func(s *Spec) { s.Container.Env[1].Name = "LOG_LEVEL" }, "container.env[1].name", `duplicate "LOG_LEVEL"; already set in container.env[0]`},
		{"env name reserved", func(s *Spec) { s.Container.Env[0].Name = "SLIPWAY_VERSION" }, "container.env[0].name", "SLIPWAY_VERSION is set by Slipway to the release version"},
		{"env name reserved secret", func(s *Spec) { s.Container.Env[1].Name = VersionEnv }, "container.env[1].name", "set by Slipway"},
		{"env name reserved other case", func(s *Spec) { s.Container.Env[0].Name = "slipway_version" }, "", ""},
		{"env value and secretRef", func(s *Spec) { s.Container.Env[1].Value = "x" }, "container.env[1]", "set value or secretRef, not both"},
		{"env neither", func(s *Spec) { s.Container.Env[0].Value = "" }, "container.env[0]", "set value or secretRef"},
		{"env secret name invalid", func(s *Spec) { s.Container.Env[1].SecretRef.Name = "Shop_DB" }, "container.env[1].secretRef.name", `"Shop_DB" is not a valid Secret name`},
		{"env secret name dotted", func(s *Spec) { s.Container.Env[1].SecretRef.Name = "shop.db" }, "", ""},
		{"env secret name missing", func(s *Spec) { s.Container.Env[1].SecretRef.Name = "" }, "container.env[1].secretRef.name", "required"},
		{"env secret key invalid", func(s *Spec) { s.Container.Env[1].SecretRef.Key = "db/password" }, "container.env[1].secretRef.key", `"db/password" is not a valid Secret key`},
		{"env secret key missing", func(s *Spec) { s.Container.Env[1].SecretRef.Key = "" }, "container.env[1].secretRef.key", "required"},

		{"active service invalid", func(s *Spec) { s.BlueGreen.ActiveService = "Shop" }, "blueGreen.activeService", `"Shop" is not a valid Service name`},
		{"preview service missing", func(s *Spec) { s.BlueGreen.PreviewService = "" }, "blueGreen.previewService", "required"},
		{"services equal", func(s *Spec) { s.BlueGreen.PreviewService = s.BlueGreen.ActiveService }, "blueGreen.previewService", "must differ from blueGreen.activeService"},
		{"progressDeadline too short", func(s *Spec) { s.BlueGreen.ProgressDeadline = Duration(5 * time.Second) }, "blueGreen.progressDeadline", "must be between 10s and 24h, got 5s"},
		{"progressDeadline 10s", func(s *Spec) { s.BlueGreen.ProgressDeadline = Duration(10 * time.Second) }, "", ""},
		{"progressDeadline too long", func(s *Spec) { s.BlueGreen.ProgressDeadline = Duration(25 * time.Hour) }, "blueGreen.progressDeadline", "got 25h"},
		{"scaleDownDelay 0", func(s *Spec) { s.BlueGreen.ScaleDownDelay = 0 }, "", ""},
		{"scaleDownDelay too long", func(s *Spec) { s.BlueGreen.ScaleDownDelay = Duration(24*time.Hour + time.Second) }, "blueGreen.scaleDownDelay", "between 0s and 24h"},
		{"scaleDownDelay negative", func(s *Spec) { s.BlueGreen.ScaleDownDelay = Duration(-time.Second) }, "blueGreen.scaleDownDelay", "got -1s"},

		{"no smoke checks", func(s *Spec) { s.Smoke.Checks = nil }, "smoke.checks", "at least one check is required"},
		{"smoke path relative", func(s *Spec) { s.Smoke.Checks[1].Path = "version" }, "smoke.checks[1].path", `must start with "/"`},
		{"smoke path escapes the service proxy", func(s *Spec) { s.Smoke.Checks[0].Path = "/../../api/v1/namespaces/kube-system/secrets" }, "smoke.checks[0].path",
			`"/../../api/v1/namespaces/kube-system/secrets" has the segment ".."; a check or probe path must not have "." or ".." segments, %-encoded (%2e) or not`},
		{"smoke path encoded dot-dot upper", func(s *Spec) { s.Smoke.Checks[1].Path = "/%2E%2E/%2E%2E/api" }, "smoke.checks[1].path", `has the segment "%2E%2E"`},
		{"smoke path half encoded dot-dot", func(s *Spec) { s.Smoke.Checks[1].Path = "/version/.%2e" }, "smoke.checks[1].path", `has the segment ".%2e"`},
		{"smoke path encoded dot", func(s *Spec) { s.Smoke.Checks[1].Path = "/%2e/version" }, "smoke.checks[1].path", `has the segment "%2e"`},
		{"smoke path encoded slash", func(s *Spec) { s.Smoke.Checks[1].Path = "/version%2f..%2F..%2fapi" }, "smoke.checks[1].path", `which decodes to one with "/"`},
		{"smoke path encoded dot in a name", func(s *Spec) { s.Smoke.Checks[1].Path = "/v%2e1/version" }, "", ""},
		{"expectStatus 99", func(s *Spec) { s.Smoke.Checks[0].ExpectStatus = 99 }, "smoke.checks[0].expectStatus", "must be between 100 and 599, got 99"},
		{"expectStatus 600", func(s *Spec) { s.Smoke.Checks[0].ExpectStatus = 600 }, "smoke.checks[0].expectStatus", "between 100 and 599"},
		{"expectStatus 599", func(s *Spec) { s.Smoke.Checks[0].ExpectStatus = 599 }, "", ""},
		{"expectBody 1024", func(s *Spec) { s.Smoke.Checks[0].ExpectBody = strings.Repeat("é", 1024) }, "", ""},
		{"expectBody 1025", func(s *Spec) { s.Smoke.Checks[0].ExpectBody = strings.Repeat("x", 1025) }, "smoke.checks[0].expectBody", "at most 1024 characters"},
		{"attempts 0", func(s *Spec) { s.Smoke.Attempts = 0 }, "smoke.attempts", "must be between 1 and 100, got 0"},
		{"attempts 101", func(s *Spec) { s.Smoke.Attempts = 101 }, "smoke.attempts", "between 1 and 100"},
		{"interval 0", func(s *Spec) { s.Smoke.Interval = 0 }, "", ""},
		{"interval 11m", func(s *Spec) { s.Smoke.Interval = Duration(11 * time.Minute) }, "smoke.interval", "must be between 0s and 10m, got 11m"},
		{"timeout 50ms", func(s *Spec) { s.Smoke.Timeout = Duration(50 * time.Millisecond) }, "smoke.timeout", "must be between 100ms and 5m, got 50ms"},
		{"timeout 6m", func(s *Spec) { s.Smoke.Timeout = Duration(6 * time.Minute) }, "smoke.timeout", "got 6m"},
		{"timeout 100ms", func(s *Spec) { s.Smoke.Timeout = Duration(100 * time.Millisecond) }, "", ""},
		{"preview check invalid", func(s *Spec) { s.BlueGreen.PreviewChecks = []Check{{Name: "x", Path: "/x?y", ExpectStatus: 200}} }, "blueGreen.previewChecks[0].path", "without a query"},
		{"preview check status", func(s *Spec) { s.BlueGreen.PreviewChecks = []Check{{Path: "/x"}} }, "blueGreen.previewChecks[0].expectStatus", "got 0"},
		{"preview checks empty", func(s *Spec) { s.BlueGreen.PreviewChecks = nil }, "blueGreen.previewChecks", "at least one check"},
		{"failOn not a severity", func(s *Spec) { s.Scan.FailOn = []Severity{SeverityCritical, Severity(7)} }, "scan.failOn[1]",
			"Severity(7) is not a severity; write CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN"},
		{"failOn HIGH alone", func(s *Spec) { s.Scan.FailOn = []Severity{SeverityHigh} }, "scan.failOn", "blocks HIGH but not CRITICAL"},
		{"failOn MEDIUM and CRITICAL", func(s *Spec) { s.Scan.FailOn = []Severity{SeverityCritical, SeverityMedium} }, "scan.failOn",
			"blocks MEDIUM but not HIGH"},
		{"failOn twice", func(s *Spec) { s.Scan.FailOn = []Severity{SeverityCritical, SeverityCritical} }, "scan.failOn[1]", "listed twice"},
		{"failOn CRITICAL", func(s *Spec) { s.Scan.FailOn = []Severity{SeverityCritical} }, "", ""},
		{"failOn everything", func(s *Spec) { s.Scan.FailOn = Severities }, "", ""},
		{"ignore valid", func(s *Spec) {
			s.Scan.Ignore = []Ignore{{ID: "CVE-2022-32149", Reason: "r", Expires: "2999-01-01"}}
		}, "", ""},
		{"ignore without reason", func(s *Spec) {
			s.Scan.Ignore = []Ignore{{ID: "CVE-2022-32149", Reason: " ", Expires: "2999-01-01"}}
		}, "scan.ignore[0].reason", "required; say why the risk is accepted"},
		{"ignore id with a space", func(s *Spec) { s.Scan.Ignore = []Ignore{{ID: "CVE-1 CVE-2", Reason: "r", Expires: "2999-01-01"}} }, "scan.ignore[0].id",
			"it contains a space"},
		{"ignore without expiry", func(s *Spec) { s.Scan.Ignore = []Ignore{{ID: "CVE-2022-32149", Reason: "r"}} }, "scan.ignore[0].expires", "required"},
		{"ignore expired", func(s *Spec) {
			s.Scan.Ignore = []Ignore{{ID: "CVE-2022-32149", Reason: "r", Expires: "2020-01-01"}}
		}, "scan.ignore[0]", "CVE-2022-32149 expired on 2020-01-01; remove it or extend it with a new reason"},
		{"ignore twice", func(s *Spec) {
			ig := Ignore{ID: "CVE-2022-32149", Reason: "r", Expires: "2999-01-01"}
			s.Scan.Ignore = []Ignore{ig, ig}
		}, "scan.ignore[1]", "ignored twice"},
		{"scan timeout 29s", func(s *Spec) { s.Scan.Timeout = Duration(29 * time.Second) }, "scan.timeout", "must be between 30s and 1h, got 29s"},
		{"scan timeout 30s", func(s *Spec) { s.Scan.Timeout = Duration(30 * time.Second) }, "", ""},
		{"scan timeout 1h", func(s *Spec) { s.Scan.Timeout = Duration(time.Hour) }, "", ""},
		{"scan timeout over 1h", func(s *Spec) { s.Scan.Timeout = Duration(time.Hour + time.Second) }, "scan.timeout", "got 1h0m1s"},
		{"scan timeout 0", func(s *Spec) { s.Scan.Timeout = 0 }, "scan.timeout", "got 0s"},

		{"preview check dot-dot", func(s *Spec) {
			s.BlueGreen.PreviewChecks = []Check{{Name: "x", Path: "/ready/../../../api/v1/secrets", ExpectStatus: 200}}
		}, "blueGreen.previewChecks[0].path", `has the segment ".."`},
		{"preview check encoded dot-dot", func(s *Spec) {
			s.BlueGreen.PreviewChecks = []Check{{Name: "x", Path: "/%2e%2e/%2e%2e/api", ExpectStatus: 200}}
		}, "blueGreen.previewChecks[0].path", `has the segment "%2e%2e"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.mutate(s)
			err := s.ValidateAt(time.Now())
			if tt.path == "" {
				require.NoError(t, err)
				return
			}
			var fes FieldErrors
			require.ErrorAs(t, err, &fes)
			require.Len(t, fes, 1, "exactly one error expected, got:\n%v", err)
			require.Equal(t, tt.path, fes[0].Path)
			require.Contains(t, fes[0].Message, tt.msg)
			require.Zero(t, fes[0].Line, "a spec not parsed from YAML has no lines")
		})
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	s := validSpec()
	s.Kind = "Deployment"
	s.Container.Port = 0
	s.Environments.Production.Namespace = "Prod"
	s.Smoke.Checks[0].Path = "health"
	err := s.Validate()
	var fes FieldErrors
	require.ErrorAs(t, err, &fes)
	var paths []string
	for _, fe := range fes {
		paths = append(paths, fe.Path)
	}
	// Without lines, sorted by path.
	require.Equal(t, []string{"container.port", "environments.production.namespace", "kind", "smoke.checks[0].path"}, paths)
	require.Len(t, strings.Split(err.Error(), "\n"), 4)
}

func TestValidateBadAppNameDoesNotRepeatInServiceNames(t *testing.T) {
	s := validSpec()
	s.App.Name = "Shop"
	s.BlueGreen.ActiveService, s.BlueGreen.PreviewService = "", ""
	ApplyDefaults(s)
	var fes FieldErrors
	require.ErrorAs(t, s.Validate(), &fes)
	require.Len(t, fes, 1)
	require.Equal(t, "app.name", fes[0].Path)
}

func TestFieldErrorsFormat(t *testing.T) {
	es := FieldErrors{
		{Path: "b", Message: "no line"},
		{Source: "f.yaml", Line: 12, Path: "container.prots", Message: "unknown field"},
		{Source: "f.yaml", Line: 3, Message: "second document"},
		{Line: 7, Path: "container.port", Message: "want an integer"},
		{Source: "f.yaml", Path: "a", Message: "missing"},
	}
	es.sort()
	require.Equal(t, strings.Join([]string{
		"f.yaml:3: second document",
		"line 7: container.port: want an integer",
		"f.yaml:12: container.prots: unknown field",
		"f.yaml: a: missing",
		"b: no line",
	}, "\n"), es.Error())

	var err error = es
	var fes FieldErrors
	require.True(t, errors.As(err, &fes))
	var one FieldError
	require.True(t, errors.As(error(es[0]), &one))
}
