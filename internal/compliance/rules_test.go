package compliance

import (
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vektagraf/slipway/internal/spec"
)

const (
	digest      = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	pinnedImage = "registry.example/demo-app:1.4.2@" + digest
)

func ptr[T any](v T) *T { return &v }

// appContainer is the container render.Deployment builds from a compliant spec.
func appContainer() *corev1.Container {
	return &corev1.Container{
		Name:  "app",
		Image: pinnedImage,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Env: []corev1.EnvVar{
			{Name: "LOG_LEVEL", Value: "info"},
			{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "demo-db"}, Key: "password",
			}}},
			{Name: "SLIPWAY_VERSION", Value: "1.4.2"},
		},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		},
		LivenessProbe:  httpProbe("/healthz"),
		ReadinessProbe: httpProbe("/ready"),
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr(true),
			RunAsUser:                ptr(int64(10001)),
			ReadOnlyRootFilesystem:   ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

func httpProbe(path string) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}}}
}

// appContainerWithImage is appContainer running another image.
func appContainerWithImage(image string) *corev1.Container {
	c := appContainer()
	c.Image = image
	return c
}

// deployment wraps containers in a Deployment shaped like render.Deployment's (blue-green production color).
func deployment(containers ...*corev1.Container) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": "demo-app", "slipway.dev/color": "green"}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "demo-app-green", Namespace: "demo-production", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}},
		},
	}
	for _, c := range containers {
		d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, *c)
	}
	return d
}

// compliantInput passes every rule.
func compliantInput() Input {
	return Input{
		Deployment: deployment(appContainer()),
		Settings:   spec.ComplianceSettings{EncryptionAtRest: ptr(true), AuditLogging: ptr(true), RateLimiting: ptr(true)},
		Image:      pinnedImage,
		Scanned:    true, ScanPassed: true, Signed: true,
	}
}

// withContainer returns a compliant input whose app container is changed by f.
func withContainer(f func(c *corev1.Container)) func(*Input) {
	return func(in *Input) {
		c := appContainer()
		f(c)
		in.Deployment = deployment(c)
	}
}

type ruleCase struct {
	name    string
	change  func(*Input)
	status  string
	message string // a substring of the message; "" checks nothing
}

// ruleCases lists, by rule ID, inputs that pass, warn, fail or cannot be evaluated. Each case starts from
// compliantInput, so only the rule under test changes its outcome.
var ruleCases = map[string][]ruleCase{
	spec.RuleRunAsNonRoot: {
		{name: "compliant", status: StatusPassed, message: "runAsUser 10001"},
		{name: "runAsNonRoot without a user", status: StatusPassed, message: "runAsNonRoot: true", change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.RunAsUser = nil
		})},
		{name: "a user without runAsNonRoot", status: StatusPassed, change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.RunAsNonRoot = nil
		})},
		{name: "inherited from the pod", status: StatusPassed, change: func(in *Input) {
			c := appContainer()
			c.SecurityContext.RunAsNonRoot, c.SecurityContext.RunAsUser = nil, nil
			in.Deployment = deployment(c)
			in.Deployment.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}
		}},
		{name: "no security context", status: StatusFailed, message: "set container.securityContext.runAsNonRoot: true", change: withContainer(func(c *corev1.Container) {
			c.SecurityContext = nil
		})},
		{name: "runAsNonRoot false", status: StatusFailed, change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.RunAsNonRoot, c.SecurityContext.RunAsUser = ptr(false), nil
		})},
		{name: "root user", status: StatusFailed, message: "runAsUser is 0 (root)", change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.RunAsUser = ptr(int64(0))
		})},
		{name: "the container's root user overrides the pod's", status: StatusFailed, change: func(in *Input) {
			c := appContainer()
			c.SecurityContext.RunAsUser = ptr(int64(0))
			in.Deployment = deployment(c)
			in.Deployment.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000))}
		}},
		{name: "a root init container is named", status: StatusFailed, message: `init container "migrate": may run as root`, change: func(in *Input) {
			in.Deployment.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: pinnedImage}}
		}},
		{name: "no Deployment", status: StatusError, change: func(in *Input) { in.Deployment = nil }},
		{name: "no containers", status: StatusError, change: func(in *Input) { in.Deployment = deployment() }},
	},
	spec.RuleNoPrivilegeEscalation: {
		{name: "compliant", status: StatusPassed},
		{name: "unset (defaults to true)", status: StatusFailed, message: "set container.securityContext.allowPrivilegeEscalation: false", change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.AllowPrivilegeEscalation = nil
		})},
		{name: "true", status: StatusFailed, change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.AllowPrivilegeEscalation = ptr(true)
		})},
		{name: "privileged", status: StatusFailed, message: "privileged", change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.Privileged = ptr(true)
		})},
		{name: "no Deployment", status: StatusError, change: func(in *Input) { in.Deployment = nil }},
	},
	spec.RuleDropAllCapabilities: {
		{name: "compliant", status: StatusPassed},
		{name: "NET_BIND_SERVICE added back", status: StatusPassed, change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		})},
		{name: "nothing dropped", status: StatusFailed, message: "set container.securityContext.dropCapabilities: [ALL]", change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.Capabilities = nil
		})},
		{name: "some dropped", status: StatusFailed, change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW", "SYS_ADMIN"}}
		})},
		{name: "another capability added", status: StatusFailed, message: "adds capabilities SYS_ADMIN", change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"}
		})},
		{name: "no security context", status: StatusFailed, change: withContainer(func(c *corev1.Container) {
			c.SecurityContext = nil
		})},
	},
	spec.RuleReadOnlyRootFilesystem: {
		{name: "compliant", status: StatusPassed},
		{name: "unset", status: StatusFailed, message: "set container.securityContext.readOnlyRootFilesystem: true", change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.ReadOnlyRootFilesystem = nil
		})},
		{name: "false", status: StatusFailed, change: withContainer(func(c *corev1.Container) {
			c.SecurityContext.ReadOnlyRootFilesystem = ptr(false)
		})},
		{name: "a second container is named", status: StatusFailed, message: `container "sidecar": set container.securityContext.readOnlyRootFilesystem`, change: func(in *Input) {
			side := appContainer()
			side.Name = "sidecar"
			side.SecurityContext.ReadOnlyRootFilesystem = nil
			in.Deployment = deployment(appContainer(), side)
		}},
	},
	spec.RuleResources: {
		{name: "compliant", status: StatusPassed},
		{name: "no resources", status: StatusFailed, message: "set container.resources.requests.cpu, container.resources.requests.memory, container.resources.limits.cpu, container.resources.limits.memory", change: withContainer(func(c *corev1.Container) {
			c.Resources = corev1.ResourceRequirements{}
		})},
		{name: "no cpu limit", status: StatusFailed, message: "set container.resources.limits.cpu", change: withContainer(func(c *corev1.Container) {
			c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}
		})},
		{name: "a zero memory request", status: StatusFailed, message: "set container.resources.requests.memory", change: withContainer(func(c *corev1.Container) {
			c.Resources.Requests[corev1.ResourceMemory] = resource.MustParse("0")
		})},
		{name: "init containers are not checked", status: StatusPassed, change: func(in *Input) {
			in.Deployment.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "migrate"}}
		}},
	},
	spec.RuleProbes: {
		{name: "compliant", status: StatusPassed},
		{name: "no liveness probe", status: StatusFailed, message: "set container.probes.liveness (", change: withContainer(func(c *corev1.Container) {
			c.LivenessProbe = nil
		})},
		{name: "no readiness probe", status: StatusFailed, message: "set container.probes.readiness", change: withContainer(func(c *corev1.Container) {
			c.ReadinessProbe = nil
		})},
		{name: "no probes", status: StatusFailed, message: "set container.probes.liveness and container.probes.readiness", change: withContainer(func(c *corev1.Container) {
			c.LivenessProbe, c.ReadinessProbe = nil, nil
		})},
	},
	spec.RuleImageDigest: {
		{name: "tag and digest", status: StatusPassed},
		{name: "digest only", status: StatusPassed, change: func(in *Input) {
			in.Image = "registry.example/demo-app@" + digest
			in.Deployment = deployment(appContainerWithImage(in.Image))
		}},
		{name: "tag only", status: StatusFailed, message: "registry.example/demo-app:1.4.2 is not pinned by digest", change: func(in *Input) {
			in.Image = "registry.example/demo-app:1.4.2"
			in.Deployment = deployment(appContainerWithImage(in.Image))
		}},
		{name: "the Deployment's image is checked too", status: StatusFailed, change: func(in *Input) {
			in.Deployment = deployment(appContainerWithImage("registry.example/demo-app:latest"))
		}},
		{name: "a malformed digest", status: StatusFailed, change: func(in *Input) {
			in.Image = "registry.example/demo-app@sha256:abc"
			in.Deployment = deployment(appContainerWithImage(in.Image))
		}},
		{name: "an init container's image", status: StatusFailed, message: "busybox", change: func(in *Input) {
			in.Deployment.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "busybox"}}
		}},
		{name: "the input's image without a Deployment", status: StatusPassed, change: func(in *Input) { in.Deployment = nil }},
		{name: "nothing to check", status: StatusError, change: func(in *Input) { in.Deployment, in.Image = nil, "" }},
	},
	spec.RuleImageScanned: {
		{name: "scanned and passed", status: StatusPassed},
		{name: "blocking findings", status: StatusFailed, message: "scan.ignore", change: func(in *Input) { in.ScanPassed = false }},
		{name: "not scanned", status: StatusFailed, message: "not scanned", change: func(in *Input) { in.Scanned, in.ScanPassed = false, false }},
		{name: "not scanned, passed set anyway", status: StatusFailed, change: func(in *Input) { in.Scanned = false }},
	},
	spec.RuleImageSigned: {
		{name: "signed", status: StatusPassed},
		{name: "unsigned", status: StatusWarning, message: "set image.signing", change: func(in *Input) { in.Signed = false }},
	},
	spec.RuleNoSecretsInEnv: {
		{name: "secretKeyRef", status: StatusPassed},
		{name: "a literal password", status: StatusFailed, message: "container.env DB_PASSWORD has a literal value; move the value into a Kubernetes Secret and reference it with secretRef", change: withContainer(func(c *corev1.Container) {
			c.Env[1].ValueFrom, c.Env[1].Value = nil, "hunter2"
		})},
		{name: "names are matched case-insensitively", status: StatusFailed, change: withContainer(func(c *corev1.Container) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "stripe_api_key", Value: "sk_live_x"})
		})},
		{name: "each pattern", status: StatusFailed, message: "GITHUB_TOKEN", change: withContainer(func(c *corev1.Container) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "GITHUB_TOKEN", Value: "ghp_x"}, corev1.EnvVar{Name: "JWT_SECRET", Value: "x"},
				corev1.EnvVar{Name: "SIGNING_PRIVATE_KEY", Value: "x"})
		})},
		{name: "a ConfigMap is not for secrets", status: StatusFailed, message: "comes from ConfigMap demo-config", change: withContainer(func(c *corev1.Container) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "API_TOKEN", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "demo-config"}, Key: "token",
			}}})
		})},
		{name: "a PEM private key under any name", status: StatusFailed, message: "literal private key", change: withContainer(func(c *corev1.Container) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "TLS", Value: "-----BEGIN EC PRIVATE KEY-----\nMHcC...\n-----END EC PRIVATE KEY-----"})
		})},
		{name: "an empty value leaks nothing", status: StatusPassed, change: withContainer(func(c *corev1.Container) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "SMTP_PASSWORD", Value: ""})
		})},
		{name: "a path to a mounted secret", status: StatusPassed, change: withContainer(func(c *corev1.Container) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "POSTGRES_PASSWORD_FILE", Value: "/run/secrets/db"})
		})},
		{name: "ordinary names", status: StatusPassed, change: withContainer(func(c *corev1.Container) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "LOG_FORMAT", Value: "json"}, corev1.EnvVar{Name: "PORT", Value: "8080"})
		})},
		{name: "no Deployment", status: StatusError, change: func(in *Input) { in.Deployment = nil }},
	},
	spec.RuleEncryptionAtRest: {
		{name: "declared true", status: StatusPassed},
		{name: "not declared", status: StatusFailed, message: "declare compliance.settings.encryptionAtRest: true", change: func(in *Input) { in.Settings.EncryptionAtRest = nil }},
		{name: "declared false", status: StatusFailed, message: "declared false", change: func(in *Input) { in.Settings.EncryptionAtRest = ptr(false) }},
	},
	spec.RuleAuditLogging: {
		{name: "declared true", status: StatusPassed},
		{name: "not declared", status: StatusFailed, message: "declare compliance.settings.auditLogging: true", change: func(in *Input) { in.Settings.AuditLogging = nil }},
		{name: "declared false", status: StatusFailed, change: func(in *Input) { in.Settings.AuditLogging = ptr(false) }},
	},
	spec.RuleRateLimiting: {
		{name: "declared true", status: StatusPassed},
		{name: "not declared warns", status: StatusWarning, message: "declare compliance.settings.rateLimiting: true", change: func(in *Input) { in.Settings.RateLimiting = nil }},
		{name: "declared false fails", status: StatusFailed, change: func(in *Input) { in.Settings.RateLimiting = ptr(false) }},
	},
}

func TestEveryRuleHasPassingAndFailingCases(t *testing.T) {
	for _, r := range Rules() {
		var statuses []string
		for _, c := range ruleCases[r.ID] {
			statuses = append(statuses, c.status)
		}
		require.Contains(t, statuses, StatusPassed, r.ID)
		if r.ID == spec.RuleImageSigned {
			require.Contains(t, statuses, StatusWarning, r.ID)
		} else {
			require.Contains(t, statuses, StatusFailed, r.ID)
		}
	}
	require.Len(t, ruleCases, len(Rules()))
}

// The rule IDs a spec may waive (spec.RuleIDs) and the rules this package has are the same set: a rule added
// here must be added to the spec's vocabulary too, or no waiver could name it, and a spec must not accept a
// waiver for a rule that does not exist.
func TestCatalogMatchesSpecRuleIDs(t *testing.T) {
	var ids []string
	for _, r := range Rules() {
		ids = append(ids, r.ID)
	}
	require.ElementsMatch(t, spec.RuleIDs, ids)
	require.Equal(t, spec.RuleIDs, ids, "the catalog is in ID order, like spec.RuleIDs")
}

func TestRules(t *testing.T) {
	for _, r := range Rules() {
		for _, c := range ruleCases[r.ID] {
			t.Run(r.ID+"/"+c.name, func(t *testing.T) {
				in := compliantInput()
				if c.change != nil {
					c.change(&in)
				}
				o := run(r, in)
				require.Equal(t, c.status, o.Status, "%s", o.Message)
				require.Contains(t, o.Message, c.message)
				require.NotEmpty(t, o.Message)
			})
		}
	}
}

func TestCompliantInputPassesEverything(t *testing.T) {
	r := Evaluate(compliantInput(), spec.CompliancePolicy{}, now)
	require.Equal(t, StatusPassed, r.Status, r.Summary())
	require.Len(t, r.Rules, len(Rules()))
	require.Equal(t, Counts{Passed: len(Rules())}, r.Counts)
	require.False(t, r.Blocks(spec.CompliancePolicy{WarningsBlock: true}))
}

func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		require.Regexp(t, `^SEC-\d{3}$`, r.ID)
		require.False(t, seen[r.ID], "duplicate %s", r.ID)
		seen[r.ID] = true
		require.NotEmpty(t, r.Title)
		require.NotEmpty(t, r.Field)
		require.NotEmpty(t, r.Frameworks, r.ID)
		for _, f := range r.Frameworks {
			require.Contains(t, spec.AllFrameworks, f, r.ID)
		}
		require.Contains(t, []string{SeverityHigh, SeverityMedium, SeverityLow}, r.Severity, r.ID)
		require.NotNil(t, r.Check, r.ID)
	}
	// Every framework has rules of its own to run.
	for _, f := range spec.AllFrameworks {
		require.NotEmpty(t, Evaluate(compliantInput(), spec.CompliancePolicy{Frameworks: []string{f}}, now).Rules, f)
	}
	// Rules returns copies.
	rs := Rules()
	rs[0].Frameworks[0] = "changed"
	require.NotEqual(t, "changed", Rules()[0].Frameworks[0])
}
