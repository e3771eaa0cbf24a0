// Package spec holds the release spec: the YAML file a team keeps in its repository (deploy/slipway.yaml) that
// says what Slipway deploys and how. The same structure, as JSON, is the input of ReleaseWorkflow, so a release
// started with `temporal workflow start --input-file release.json` carries exactly what the starter would send.
package spec

import (
	"slices"
)

// APIVersion is the only spec version this build understands; a spec names it so a future incompatible format
// can be refused instead of misread.
const APIVersion = "slipway.dev/v1alpha1"

// Kind is the kind a spec file must declare.
const Kind = "ReleaseSpec"

// Spec describes one application's release pipeline. Defaults are filled by ApplyDefaults, and Validate checks
// the result; both run before any side effect.
type Spec struct {
	APIVersion   string       `json:"apiVersion" yaml:"apiVersion"`
	Kind         string       `json:"kind" yaml:"kind"`
	App          App          `json:"app" yaml:"app"`
	Environments Environments `json:"environments" yaml:"environments"`
	Image        Image        `json:"image" yaml:"image"`
	Scan         Scan         `json:"scan,omitempty" yaml:"scan,omitempty"`
	Container    Container    `json:"container" yaml:"container"`
	BlueGreen    BlueGreen    `json:"blueGreen" yaml:"blueGreen"`
	Smoke        Smoke        `json:"smoke" yaml:"smoke"`
	// Compliance is the policy of the compliance gate, which runs in every release before production.
	Compliance Compliance `json:"compliance,omitempty" yaml:"compliance,omitempty"`
	// Approval gates production on a person's decision; absent, production follows staging at once.
	Approval *Approval `json:"approval,omitempty" yaml:"approval,omitempty"`
	// Notify says where the release is reported; absent, nothing is posted.
	Notify Notify `json:"notify,omitempty" yaml:"notify,omitempty"`
	// Monitor watches the new version after the traffic switch, while the old color is still ready; absent,
	// nothing is watched.
	Monitor *Monitor `json:"monitor,omitempty" yaml:"monitor,omitempty"`
}

// Compliance configures the compliance gate: the rules of the chosen frameworks (GDPR, HIPAA, SOX, PCI) run
// over the production Deployment as it will be applied, the app's declared settings and the release's
// evidence (scanned, signed, by digest), before production changes. The section is optional: without it every
// framework's rules run and only failures block.
type Compliance struct {
	// CompliancePolicy: frameworks, waivers (each with a reason and an expiry), warningsBlock; embedded so its
	// fields sit at the top level of the section, like scan's policy.
	CompliancePolicy `yaml:",inline"`
	// Settings are what the team declares about the app and Slipway cannot see: encryption at rest, audit
	// logging, rate limiting.
	Settings ComplianceSettings `json:"settings,omitempty" yaml:"settings,omitempty"`
	// AttachReport also pushes compliance.json to the registry as an OCI artifact whose subject is the image
	// the release deploys, so the evidence travels with the image; it needs push rights on the repository.
	AttachReport bool `json:"attachReport,omitempty" yaml:"attachReport,omitempty"`
}

// Policy returns the policy to hand to the compliance gate (activities.ComplianceInput.Policy), as a copy:
// changing it does not change the spec.
func (c Compliance) Policy() CompliancePolicy {
	p := c.CompliancePolicy
	p.Frameworks = slices.Clone(p.Frameworks)
	p.Waivers = slices.Clone(p.Waivers)
	return p
}

// Approval is the gate before production. A release waits for an `approve` (or `reject`) from one of the
// approvers, through a Temporal Update (validated before it is accepted, so a refused approval never enters
// history), the same signal, or a Slack button; reminders and an escalation run on durable timers, and the
// wait ends at Timeout with an outcome the spec chose, never silently.
type Approval struct {
	// Approvers are the identities (an email, a GitHub login) allowed to decide; at least one.
	Approvers []string `json:"approvers" yaml:"approvers"`
	// AllowSelfApproval lets the person who started the release (its trigger's actor) approve it; default
	// false, the four-eyes rule.
	AllowSelfApproval bool `json:"allowSelfApproval,omitempty" yaml:"allowSelfApproval,omitempty"`
	// Timeout bounds the wait; default 24h, 1m to 30 days.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// OnTimeout is what happens when nobody decided: reject (default) or promote.
	OnTimeout string `json:"onTimeout,omitempty" yaml:"onTimeout,omitempty"`
	// RemindEvery repeats the approval request while the release waits; zero: no reminders.
	RemindEvery Duration `json:"remindEvery,omitempty" yaml:"remindEvery,omitempty"`
	// EscalateAfter sends one escalation, mentioning EscalateTo, after this long; zero: no escalation.
	EscalateAfter Duration `json:"escalateAfter,omitempty" yaml:"escalateAfter,omitempty"`
	// EscalateTo is who the escalation mentions, as Slack writes it: "<!subteam^S0123>", "<@U0123>" or "@oncall".
	EscalateTo string `json:"escalateTo,omitempty" yaml:"escalateTo,omitempty"`
}

// Approval outcomes of a timeout.
const (
	OnTimeoutReject  = "reject"
	OnTimeoutPromote = "promote"
)

// Notify configures where a release reports. The credentials are the worker's (docs/notifications.md).
type Notify struct {
	Slack *SlackNotify `json:"slack,omitempty" yaml:"slack,omitempty"`
}

// SlackNotify posts every stage of a release to one channel, threaded under the release's first message.
type SlackNotify struct {
	// Channel is a channel ID (C0123ABCD) or name (#releases) the worker's bot is a member of.
	Channel string `json:"channel" yaml:"channel"`
}

// App names the application; the name becomes the prefix of every Kubernetes object Slipway manages, Services
// included, so it must be a DNS-1035 label (starting with a letter) of at most 55 characters, leaving room for
// the "-green"/"-preview" suffixes.
type App struct {
	Name string `json:"name" yaml:"name"`
}

// Environments says where staging and production live.
type Environments struct {
	Staging    Environment `json:"staging" yaml:"staging"`
	Production Environment `json:"production" yaml:"production"`
}

// Environment is one namespace a release deploys to.
type Environment struct {
	Namespace string `json:"namespace" yaml:"namespace"`
	// Replicas is the Deployment's replica count in this environment (default 1 for staging, 2 for production).
	Replicas int32 `json:"replicas,omitempty" yaml:"replicas,omitempty"`
}

// Image is the container image repository; the release version becomes its tag.
type Image struct {
	// Repository is where production pulls from; a release deploys Repository:version@digest.
	Repository string `json:"repository" yaml:"repository"`
	// PullPolicy is IfNotPresent (default), Always or Never.
	PullPolicy string `json:"pullPolicy,omitempty" yaml:"pullPolicy,omitempty"`
	// Source is the repository CI pushed the build to, when that is not Repository (a CI or staging
	// registry): the release scans Source:version and copies it by digest into Repository, so only scanned
	// builds ever reach the production repository. Empty: CI pushed to Repository itself.
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
	// Tags are the release tags the push stage puts on the digest in Repository, like docker/metadata-action:
	// semver (the version itself), major.minor, major, sha (sha-<commit>), branch, latest. Default [semver].
	// A prerelease version only gets semver: moving tags never point at a release candidate.
	Tags []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	// Signing, when set, signs the pushed digest (a signature `cosign verify --key` accepts) and verifies it
	// before every deploy.
	Signing *Signing `json:"signing,omitempty" yaml:"signing,omitempty"`
}

// Signing names the keys by reference; the worker reads them, so no key is ever part of a release's input,
// result or history.
type Signing struct {
	// Key is the private key (PEM, ECDSA P-256, PKCS#8), as file:/absolute/path or env:VARIABLE on the worker.
	Key string `json:"key" yaml:"key"`
	// PublicKey is the key deploys verify against, as file:/absolute/path or env:VARIABLE on the worker.
	PublicKey string `json:"publicKey" yaml:"publicKey"`
}

// Tag kinds of Image.Tags.
const (
	TagSemver     = "semver"
	TagMajorMinor = "major.minor"
	TagMajor      = "major"
	TagSHA        = "sha"
	TagBranch     = "branch"
	TagLatest     = "latest"
)

// TagKinds lists every tag kind Image.Tags accepts.
var TagKinds = []string{TagSemver, TagMajorMinor, TagMajor, TagSHA, TagBranch, TagLatest}

// Scan configures the security gate that runs first in every release: the release's image is scanned with
// Trivy and Grype before anything is deployed, so a known vulnerability the team has not accepted stops the
// release while nothing has changed yet, in staging or in production. The section is optional; left out, the
// defaults block CRITICAL and HIGH findings.
type Scan struct {
	// ScanPolicy decides which findings block the release. It is embedded so its fields (failOn, onlyFixed,
	// ignore) sit at the top level of the section, in YAML ("inline", which the loader supports) and in JSON
	// (encoding/json flattens an embedded struct without a JSON name); its Validate is promoted but checks
	// only the policy, so Spec's ApplyDefaults and Validate are the ones to call, since they also cover the
	// fields below.
	ScanPolicy `yaml:",inline"`
	// AllowSingleScanner goes on with one scanner's findings when the other fails (the scan result records
	// which one failed and why); false means both must succeed.
	AllowSingleScanner bool `json:"allowSingleScanner,omitempty" yaml:"allowSingleScanner,omitempty"`
	// Timeout bounds one scan attempt: both scanners, the image pull included; default 10m, 30s to 1h.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// AttachReports also pushes the reports (report.json, report.sarif and each scanner's output) to the
	// image's repository as an OCI artifact whose subject is the scanned image, so the evidence travels with
	// the image and outlives the worker's disk. It needs push rights on the repository.
	AttachReports bool `json:"attachReports,omitempty" yaml:"attachReports,omitempty"`
}

// Policy returns the policy to hand to the scanner (activities.ScanInput.Policy), as a copy: changing it
// does not change the spec.
func (s Scan) Policy() ScanPolicy {
	p := s.ScanPolicy
	p.FailOn = slices.Clone(p.FailOn)
	p.Ignore = slices.Clone(p.Ignore)
	return p
}

// Container is the application container of every Deployment Slipway renders.
type Container struct {
	// Port is the HTTP port the app listens on; Services expose it under the same number, named "http".
	Port            int32            `json:"port" yaml:"port"`
	Resources       Resources        `json:"resources,omitempty" yaml:"resources,omitempty"`
	Probes          Probes           `json:"probes,omitempty" yaml:"probes,omitempty"`
	SecurityContext *SecurityContext `json:"securityContext,omitempty" yaml:"securityContext,omitempty"`
	Env             []EnvVar         `json:"env,omitempty" yaml:"env,omitempty"`
}

// Resources are Kubernetes quantities ("100m", "128Mi"), checked with the apimachinery parser.
type Resources struct {
	Requests ResourceList `json:"requests,omitempty" yaml:"requests,omitempty"`
	Limits   ResourceList `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// ResourceList holds the two resources an app container normally sets.
type ResourceList struct {
	CPU    string `json:"cpu,omitempty" yaml:"cpu,omitempty"`
	Memory string `json:"memory,omitempty" yaml:"memory,omitempty"`
}

// Probes are the kubelet's HTTP probes against Container.Port.
type Probes struct {
	Liveness  *HTTPProbe `json:"liveness,omitempty" yaml:"liveness,omitempty"`
	Readiness *HTTPProbe `json:"readiness,omitempty" yaml:"readiness,omitempty"`
}

// HTTPProbe is a kubelet HTTP GET probe.
type HTTPProbe struct {
	Path                string `json:"path" yaml:"path"`
	InitialDelaySeconds int32  `json:"initialDelaySeconds,omitempty" yaml:"initialDelaySeconds,omitempty"`
	PeriodSeconds       int32  `json:"periodSeconds,omitempty" yaml:"periodSeconds,omitempty"`
	FailureThreshold    int32  `json:"failureThreshold,omitempty" yaml:"failureThreshold,omitempty"`
}

// SecurityContext is the subset of the container security context a release sets; nil fields are left unset.
type SecurityContext struct {
	RunAsNonRoot             *bool  `json:"runAsNonRoot,omitempty" yaml:"runAsNonRoot,omitempty"`
	RunAsUser                *int64 `json:"runAsUser,omitempty" yaml:"runAsUser,omitempty"`
	ReadOnlyRootFilesystem   *bool  `json:"readOnlyRootFilesystem,omitempty" yaml:"readOnlyRootFilesystem,omitempty"`
	AllowPrivilegeEscalation *bool  `json:"allowPrivilegeEscalation,omitempty" yaml:"allowPrivilegeEscalation,omitempty"`
	// DropCapabilities lists capabilities to drop, e.g. ["ALL"].
	DropCapabilities []string `json:"dropCapabilities,omitempty" yaml:"dropCapabilities,omitempty"`
}

// EnvVar is a plain environment variable or a reference to a key of a Kubernetes Secret; secret values never
// appear in the spec, the workflow input or its history.
type EnvVar struct {
	Name      string        `json:"name" yaml:"name"`
	Value     string        `json:"value,omitempty" yaml:"value,omitempty"`
	SecretRef *SecretKeyRef `json:"secretRef,omitempty" yaml:"secretRef,omitempty"`
}

// VersionEnv is the environment variable Slipway sets in the app container to the release version, so a spec
// cannot set it (activities.VersionEnv is the same name).
const VersionEnv = "SLIPWAY_VERSION"

// SecretKeyRef points at one key of a Secret in the Deployment's namespace.
type SecretKeyRef struct {
	Name string `json:"name" yaml:"name"`
	Key  string `json:"key" yaml:"key"`
}

// BlueGreen configures the production strategy: two Deployments (<app>-blue, <app>-green), an active Service
// that users reach and a preview Service that reaches the idle color before it takes traffic.
type BlueGreen struct {
	// ActiveService defaults to <app>-active.
	ActiveService string `json:"activeService,omitempty" yaml:"activeService,omitempty"`
	// PreviewService defaults to <app>-preview.
	PreviewService string `json:"previewService,omitempty" yaml:"previewService,omitempty"`
	// PreviewChecks run through the preview Service before traffic switches; default: Smoke.Checks.
	PreviewChecks []Check `json:"previewChecks,omitempty" yaml:"previewChecks,omitempty"`
	// ProgressDeadline bounds the new color's rollout (Deployment progressDeadlineSeconds); default 10m.
	ProgressDeadline Duration `json:"progressDeadline,omitempty" yaml:"progressDeadline,omitempty"`
	// ScaleDownDelay keeps the old color running after the switch so an abort can switch back at once;
	// default 30s.
	ScaleDownDelay Duration `json:"scaleDownDelay,omitempty" yaml:"scaleDownDelay,omitempty"`
}

// Smoke configures the HTTP checks run against staging, and through the active Service after the switch.
type Smoke struct {
	Checks []Check `json:"checks" yaml:"checks"`
	// Attempts is how many times the whole check list is tried before the stage fails; default 5.
	Attempts int `json:"attempts,omitempty" yaml:"attempts,omitempty"`
	// Interval is the pause between attempts; default 2s.
	Interval Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Timeout bounds one HTTP request; default 5s.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// Check is one HTTP GET and what its answer must be.
type Check struct {
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	Path string `json:"path" yaml:"path"`
	// ExpectStatus defaults to 200.
	ExpectStatus int `json:"expectStatus,omitempty" yaml:"expectStatus,omitempty"`
	// ExpectBody, when set, must be a substring of the response body.
	ExpectBody string `json:"expectBody,omitempty" yaml:"expectBody,omitempty"`
}
