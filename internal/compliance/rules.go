package compliance

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vektagraf/slipway/internal/spec"
)

// Statuses of a rule and of a report. A report is passed, warning or failed; "error" is a rule that could not
// be evaluated (it panicked, or its input was missing), which fails the report like a failed rule.
const (
	StatusPassed  = "passed"
	StatusWarning = "warning"
	StatusFailed  = "failed"
	StatusError   = "error"
)

// Severities of a rule: how much a failure of it matters, for reading a report (a waiver is allowed at any
// severity, and any failure blocks).
const (
	SeverityHigh   = "high"
	SeverityMedium = "medium"
	SeverityLow    = "low"
)

// Input is what the rules look at: what will be applied, what the team declares, and the release's evidence.
type Input struct {
	// Deployment is the rendered production Deployment (render.Deployment), exactly what the apply sends.
	Deployment *appsv1.Deployment
	// Settings are the app's declared settings (the spec's compliance.settings).
	Settings spec.ComplianceSettings
	// Image is the image as deployed (repository:tag@sha256:...). The digest rule checks it as well as every
	// container's image in the Deployment.
	Image string
	// Scanned says the release scanned this image; ScanPassed that the scan found nothing blocking.
	Scanned    bool
	ScanPassed bool
	// Signed says the release signed the image (and verified the signature).
	Signed bool
}

// Outcome is what a rule's check says: a status (passed, warning or failed; error for a check that cannot
// decide) and a message. A message of a failure or a warning says how to fix it, naming the spec field.
type Outcome struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// Rule is one built-in compliance rule.
type Rule struct {
	// ID is the rule's stable name ("SEC-004"), what a waiver names.
	ID string `json:"id"`
	// Title is a short lower-case description ("read-only root filesystem").
	Title string `json:"title"`
	// Field is the spec field (or section) that decides the rule, e.g. "container.securityContext.readOnlyRootFilesystem".
	Field string `json:"field"`
	// Frameworks are the frameworks the rule serves; the rule runs when a policy chooses any of them.
	Frameworks []string `json:"frameworks"`
	// Severity is high, medium or low.
	Severity string `json:"severity"`
	// Check evaluates the rule; it must not modify the input.
	Check func(Input) Outcome `json:"-"`
}

// SettingsPath is where the spec keeps the declared settings (spec.Compliance.Settings); the settings rules
// name their fields under it ("compliance.settings.encryptionAtRest"), so a message says what to write.
const SettingsPath = "compliance.settings"

const (
	securityContextPath          = "container.securityContext"
	envPath                      = "container.env"
	allowedAddedCapability       = "NET_BIND_SERVICE"
	secretNameExplanation        = "PASSWORD, PASSWD, SECRET, TOKEN, API_KEY, PRIVATE_KEY or CREDENTIAL"
	literalSecretValueFixMessage = "move the value into a Kubernetes Secret and reference it with secretRef: {name, key}"
)

// catalog is the built-in rules, in ID order. The framework mapping follows what each framework asks for:
// least privilege and hardened configuration (HIPAA §164.312, PCI DSS req. 2), availability and resilience
// (GDPR art. 32(1)(b), HIPAA §164.308(a)(7)), change control and integrity of what runs (SOX ITGC change
// management, PCI DSS req. 6 and 11), vulnerability management (GDPR art. 32(1)(d), HIPAA §164.308(a)(1), PCI
// DSS req. 6.3 and 11.3), protection of credentials and stored data (all four; PCI DSS req. 3 and 8), audit
// trails (SOX, HIPAA §164.312(b), PCI DSS req. 10) and protection of public-facing applications (PCI DSS
// req. 6.4).
var catalog = []Rule{
	{ID: spec.RuleRunAsNonRoot, Title: "runs as non-root", Field: securityContextPath + ".runAsNonRoot",
		Frameworks: []string{spec.FrameworkHIPAA, spec.FrameworkPCI}, Severity: SeverityHigh, Check: checkRunAsNonRoot},
	{ID: spec.RuleNoPrivilegeEscalation, Title: "no privilege escalation", Field: securityContextPath + ".allowPrivilegeEscalation",
		Frameworks: []string{spec.FrameworkHIPAA, spec.FrameworkPCI}, Severity: SeverityHigh, Check: checkNoPrivilegeEscalation},
	{ID: spec.RuleDropAllCapabilities, Title: "all capabilities dropped", Field: securityContextPath + ".dropCapabilities",
		Frameworks: []string{spec.FrameworkHIPAA, spec.FrameworkPCI}, Severity: SeverityMedium, Check: checkDropAllCapabilities},
	{ID: spec.RuleReadOnlyRootFilesystem, Title: "read-only root filesystem", Field: securityContextPath + ".readOnlyRootFilesystem",
		Frameworks: []string{spec.FrameworkHIPAA, spec.FrameworkPCI}, Severity: SeverityMedium, Check: checkReadOnlyRootFilesystem},
	{ID: spec.RuleResources, Title: "resource requests and limits", Field: "container.resources",
		Frameworks: []string{spec.FrameworkGDPR, spec.FrameworkHIPAA}, Severity: SeverityMedium, Check: checkResources},
	{ID: spec.RuleProbes, Title: "liveness and readiness probes", Field: "container.probes",
		Frameworks: []string{spec.FrameworkGDPR, spec.FrameworkHIPAA}, Severity: SeverityLow, Check: checkProbes},
	{ID: spec.RuleImageDigest, Title: "image pinned by digest", Field: "image",
		Frameworks: []string{spec.FrameworkPCI, spec.FrameworkSOX}, Severity: SeverityHigh, Check: checkImageDigest},
	{ID: spec.RuleImageScanned, Title: "image scanned without blocking findings", Field: "scan",
		Frameworks: []string{spec.FrameworkGDPR, spec.FrameworkHIPAA, spec.FrameworkPCI}, Severity: SeverityHigh, Check: checkImageScanned},
	{ID: spec.RuleImageSigned, Title: "image signed", Field: "image.signing",
		Frameworks: []string{spec.FrameworkHIPAA, spec.FrameworkPCI, spec.FrameworkSOX}, Severity: SeverityMedium, Check: checkImageSigned},
	{ID: spec.RuleNoSecretsInEnv, Title: "no secrets in plain environment variables", Field: envPath,
		Frameworks: []string{spec.FrameworkGDPR, spec.FrameworkHIPAA, spec.FrameworkPCI, spec.FrameworkSOX}, Severity: SeverityHigh, Check: checkNoSecretsInEnv},
	{ID: spec.RuleEncryptionAtRest, Title: "encryption at rest", Field: SettingsPath + ".encryptionAtRest",
		Frameworks: []string{spec.FrameworkGDPR, spec.FrameworkHIPAA, spec.FrameworkPCI}, Severity: SeverityHigh, Check: checkEncryptionAtRest},
	{ID: spec.RuleAuditLogging, Title: "audit logging", Field: SettingsPath + ".auditLogging",
		Frameworks: []string{spec.FrameworkHIPAA, spec.FrameworkPCI, spec.FrameworkSOX}, Severity: SeverityHigh, Check: checkAuditLogging},
	{ID: spec.RuleRateLimiting, Title: "rate limiting", Field: SettingsPath + ".rateLimiting",
		Frameworks: []string{spec.FrameworkPCI}, Severity: SeverityMedium, Check: checkRateLimiting},
}

// Rules returns the built-in rules in ID order, as copies (changing them changes nothing), for documentation
// and tools.
func Rules() []Rule {
	out := slices.Clone(catalog)
	for i := range out {
		out[i].Frameworks = slices.Clone(out[i].Frameworks)
	}
	return out
}

func passed(format string, args ...any) Outcome {
	return Outcome{Status: StatusPassed, Message: fmt.Sprintf(format, args...)}
}

func warning(format string, args ...any) Outcome {
	return Outcome{Status: StatusWarning, Message: fmt.Sprintf(format, args...)}
}

func failed(format string, args ...any) Outcome {
	return Outcome{Status: StatusFailed, Message: fmt.Sprintf(format, args...)}
}

func errored(format string, args ...any) Outcome {
	return Outcome{Status: StatusError, Message: fmt.Sprintf(format, args...)}
}

// container is one container of the pod template, with what the rules need to name it.
type container struct {
	c    *corev1.Container
	name string
	init bool
}

// pod is the Deployment's pod template as the rules read it.
type pod struct {
	spec       *corev1.PodSpec
	containers []container
	// many is set when the template has more than one container, so messages name the container.
	many bool
}

// errNoPod is the outcome of a container rule over a Deployment without containers: a bug in the caller,
// never a pass.
var errNoPod = errored("the Deployment has no containers to check (no Deployment was rendered)")

// podOf returns the Deployment's pod template and its containers (init containers first, as they run).
func podOf(d *appsv1.Deployment) (pod, bool) {
	if d == nil {
		return pod{}, false
	}
	ps := &d.Spec.Template.Spec
	p := pod{spec: ps}
	for i := range ps.InitContainers {
		p.containers = append(p.containers, container{c: &ps.InitContainers[i], name: ps.InitContainers[i].Name, init: true})
	}
	for i := range ps.Containers {
		p.containers = append(p.containers, container{c: &ps.Containers[i], name: ps.Containers[i].Name})
	}
	if len(ps.Containers) == 0 {
		return pod{}, false
	}
	p.many = len(p.containers) > 1
	return p, true
}

// app returns the regular containers (the ones that serve, have probes and hold resources for their lifetime).
func (p pod) app() []container {
	var out []container
	for _, c := range p.containers {
		if !c.init {
			out = append(out, c)
		}
	}
	return out
}

// label prefixes a problem with the container's name when the pod has several.
func (p pod) label(c container, problem string) string {
	if !p.many {
		return problem
	}
	kind := "container"
	if c.init {
		kind = "init container"
	}
	return fmt.Sprintf("%s %q: %s", kind, c.name, problem)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// outcomeOf is failed with the problems joined, or passed with the evidence.
func outcomeOf(problems []string, evidence string) Outcome {
	if len(problems) > 0 {
		return failed("%s", strings.Join(problems, "; "))
	}
	return passed("%s", evidence)
}

// perContainer runs check on each container (with appOnly, the app's containers, not the init ones), labels
// the problems it reports with the container when the pod has several, and passes with evidence when there
// are none. A Deployment without a pod template is an error.
func perContainer(in Input, appOnly bool, evidence string, check func(c container) []string) Outcome {
	p, ok := podOf(in.Deployment)
	if !ok {
		return errNoPod
	}
	cs := p.containers
	if appOnly {
		cs = p.app()
	}
	var problems []string
	for _, c := range cs {
		for _, problem := range check(c) {
			problems = append(problems, p.label(c, problem))
		}
	}
	return outcomeOf(problems, evidence)
}

func securityContext(c container) *corev1.SecurityContext {
	if c.c.SecurityContext == nil {
		return &corev1.SecurityContext{}
	}
	return c.c.SecurityContext
}

// checkRunAsNonRoot: the container runs as a non-zero UID, or Kubernetes refuses to start it as root
// (runAsNonRoot). The pod's security context applies where the container's leaves a field unset.
func checkRunAsNonRoot(in Input) Outcome {
	p, ok := podOf(in.Deployment)
	if !ok {
		return errNoPod
	}
	var problems []string
	evidence := ""
	for _, c := range p.containers {
		sc := securityContext(c)
		user, nonRoot := sc.RunAsUser, sc.RunAsNonRoot
		if p.spec.SecurityContext != nil {
			if user == nil {
				user = p.spec.SecurityContext.RunAsUser
			}
			if nonRoot == nil {
				nonRoot = p.spec.SecurityContext.RunAsNonRoot
			}
		}
		switch {
		case user != nil && *user == 0:
			problems = append(problems, p.label(c, "runAsUser is 0 (root); set "+securityContextPath+".runAsUser to a non-zero UID, e.g. 10001"))
		case user != nil:
			evidence = fmt.Sprintf("runAsUser %d", *user)
		case deref(nonRoot):
			evidence = "runAsNonRoot: true"
		default:
			problems = append(problems, p.label(c, "may run as root; set "+securityContextPath+".runAsNonRoot: true (and runAsUser to a non-zero UID when the image's USER is a name)"))
		}
	}
	return outcomeOf(problems, evidence)
}

// checkNoPrivilegeEscalation: allowPrivilegeEscalation is explicitly false (its default is true) and the
// container is not privileged.
func checkNoPrivilegeEscalation(in Input) Outcome {
	return perContainer(in, false, "allowPrivilegeEscalation: false", func(c container) []string {
		sc := securityContext(c)
		var problems []string
		if deref(sc.Privileged) {
			problems = append(problems, "runs privileged; remove securityContext.privileged")
		}
		if ape := sc.AllowPrivilegeEscalation; ape == nil || *ape {
			problems = append(problems, "set "+securityContextPath+".allowPrivilegeEscalation: false")
		}
		return problems
	})
}

// checkDropAllCapabilities: the container drops ALL capabilities and adds none back but NET_BIND_SERVICE (the
// Pod Security Standards' restricted profile).
func checkDropAllCapabilities(in Input) Outcome {
	return perContainer(in, false, "drops ALL capabilities", func(c container) []string {
		var caps corev1.Capabilities
		if sc := securityContext(c); sc.Capabilities != nil {
			caps = *sc.Capabilities
		}
		var problems []string
		if !slices.Contains(caps.Drop, corev1.Capability("ALL")) {
			problems = append(problems, "set "+securityContextPath+".dropCapabilities: [ALL]")
		}
		var added []string
		for _, a := range caps.Add {
			if a != allowedAddedCapability {
				added = append(added, string(a))
			}
		}
		if len(added) > 0 {
			problems = append(problems, fmt.Sprintf("adds capabilities %s; only %s may be added back", strings.Join(added, ", "), allowedAddedCapability))
		}
		return problems
	})
}

// checkReadOnlyRootFilesystem: the container cannot write its image's filesystem.
func checkReadOnlyRootFilesystem(in Input) Outcome {
	return perContainer(in, false, "readOnlyRootFilesystem: true", func(c container) []string {
		if !deref(securityContext(c).ReadOnlyRootFilesystem) {
			return []string{"set " + securityContextPath + ".readOnlyRootFilesystem: true"}
		}
		return nil
	})
}

// checkResources: cpu and memory requests (scheduling) and limits (a runaway pod cannot starve its
// neighbours) are set and not zero.
func checkResources(in Input) Outcome {
	return perContainer(in, true, "cpu and memory requests and limits set", func(c container) []string {
		var missing []string
		req, lim := c.c.Resources.Requests, c.c.Resources.Limits
		for _, q := range []struct {
			list  corev1.ResourceList
			field string
		}{{req, "requests"}, {lim, "limits"}} {
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if v, ok := q.list[res]; !ok || v.IsZero() {
					missing = append(missing, fmt.Sprintf("container.resources.%s.%s", q.field, res))
				}
			}
		}
		if len(missing) > 0 {
			return []string{"set " + strings.Join(missing, ", ")}
		}
		return nil
	})
}

// checkProbes: the kubelet restarts a hung container (liveness) and keeps traffic from one that is not ready
// (readiness).
func checkProbes(in Input) Outcome {
	return perContainer(in, true, "liveness and readiness probes set", func(c container) []string {
		var missing []string
		if c.c.LivenessProbe == nil {
			missing = append(missing, "container.probes.liveness")
		}
		if c.c.ReadinessProbe == nil {
			missing = append(missing, "container.probes.readiness")
		}
		if len(missing) > 0 {
			return []string{"set " + strings.Join(missing, " and ") + " (an HTTP path the app answers while it is healthy)"}
		}
		return nil
	})
}

// checkImageDigest: every image that will run is pinned by digest (repository@sha256:... or
// repository:tag@sha256:...), so production runs exactly the image that was scanned and signed, not whatever
// a tag points at on the day a pod restarts.
func checkImageDigest(in Input) Outcome {
	var images []string
	if p, ok := podOf(in.Deployment); ok {
		for _, c := range p.containers {
			images = append(images, c.c.Image)
		}
	}
	if in.Image != "" && !slices.Contains(images, in.Image) {
		images = append(images, in.Image)
	}
	if len(images) == 0 {
		return errored("no image to check: neither the Deployment nor the input names one")
	}
	var problems []string
	for _, img := range images {
		if img == "" {
			problems = append(problems, "a container has no image")
			continue
		}
		if _, err := name.NewDigest(img); err != nil {
			problems = append(problems, fmt.Sprintf("%s is not pinned by digest; deploy repository:tag@sha256:<digest> (a release resolves image.repository:version to its digest)", img))
		}
	}
	return outcomeOf(problems, strings.Join(images, ", "))
}

// checkImageScanned: the release scanned the image and the scan policy found nothing blocking. An image
// without a scan fails: every release scans first, so a missing scan is missing evidence, never a pass.
func checkImageScanned(in Input) Outcome {
	switch {
	case !in.Scanned:
		return failed("the image was not scanned; the release must scan it (the scan section) before production")
	case !in.ScanPassed:
		return failed("the scan found blocking vulnerabilities; fix them, or accept each one in scan.ignore with a reason and an expiry date")
	}
	return passed("scanned; no blocking findings")
}

// checkImageSigned: the image is signed (and the signature verified before the deploy). Signing is optional
// in a spec, so an unsigned image is a warning, which WarningsBlock turns into a block.
func checkImageSigned(in Input) Outcome {
	if !in.Signed {
		return warning("the image is not signed; set image.signing so the release signs the digest and verifies it before every deploy")
	}
	return passed("signed and verified")
}

// secretName matches environment variable names that hold a credential.
var secretName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)`)

// secretFileSuffixes mark a variable that names where a secret is (a mounted file), not the secret itself:
// POSTGRES_PASSWORD_FILE=/run/secrets/db.
var secretFileSuffixes = []string{"_FILE", "_PATH", "_DIR"}

// checkNoSecretsInEnv: a variable whose name says it holds a credential takes its value from a Secret
// (valueFrom.secretKeyRef), never a literal in the Deployment (and so in the spec, the workflow history and
// every `kubectl get`), nor a ConfigMap; a literal PEM private key fails whatever its variable is called.
func checkNoSecretsInEnv(in Input) Outcome {
	return perContainer(in, false, "no literal value in a variable named like "+secretNameExplanation, func(c container) []string {
		var problems []string
		for _, e := range c.c.Env {
			n, v := e.Name, e.Value
			upper := strings.ToUpper(n)
			secretish := secretName.MatchString(n) && !slices.ContainsFunc(secretFileSuffixes, func(s string) bool { return strings.HasSuffix(upper, s) })
			switch {
			case strings.Contains(v, "PRIVATE KEY-----"):
				problems = append(problems, fmt.Sprintf("%s %s holds a literal private key; %s", envPath, n, literalSecretValueFixMessage))
			case secretish && v != "":
				problems = append(problems, fmt.Sprintf("%s %s has a literal value; %s", envPath, n, literalSecretValueFixMessage))
			case secretish && e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
				problems = append(problems, fmt.Sprintf("%s %s comes from ConfigMap %s, which is not for secrets; %s", envPath, n,
					e.ValueFrom.ConfigMapKeyRef.Name, literalSecretValueFixMessage))
			}
		}
		return problems
	})
}

// declared is the outcome of a declared setting: true passes; false fails; not declared fails, or warns when
// undeclaredWarns.
func declared(v *bool, field, what string, undeclaredWarns bool) Outcome {
	switch {
	case v == nil && undeclaredWarns:
		return warning("not declared; when %s, declare %s: true", what, field)
	case v == nil:
		return failed("not declared; once %s, declare %s: true", what, field)
	case !*v:
		return failed("declared false; make sure %s, then set %s: true (or waive the rule with a reason)", what, field)
	}
	return passed("%s: true", field)
}

func checkEncryptionAtRest(in Input) Outcome {
	return declared(in.Settings.EncryptionAtRest, SettingsPath+".encryptionAtRest",
		"the data the app stores (database, volumes, backups) is encrypted at rest", false)
}

func checkAuditLogging(in Input) Outcome {
	return declared(in.Settings.AuditLogging, SettingsPath+".auditLogging",
		"the app records who read or changed which data, and keeps the record", false)
}

// checkRateLimiting warns, not fails, when nothing is declared: rate limiting often lives in an ingress or a
// gateway Slipway does not see, so silence is not evidence of its absence, while a declared false is.
func checkRateLimiting(in Input) Outcome {
	return declared(in.Settings.RateLimiting, SettingsPath+".rateLimiting",
		"requests to the app are rate limited (by the app, an ingress or a gateway)", true)
}
