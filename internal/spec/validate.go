package spec

import (
	"fmt"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Limits Validate enforces.
const (
	// maxAppNameLength leaves room for the longest suffix Slipway appends ("-preview") within the 63
	// characters of a Service name.
	maxAppNameLength = validation.DNS1035LabelMaxLength - len(PreviewServiceSuffix)
	maxReplicas      = 100
	maxExpectBody    = 1024
	maxSmokeAttempts = 100
)

// validator collects FieldErrors.
type validator struct{ errs FieldErrors }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// result returns the errors collected, in the order found, or nil (not an empty FieldErrors, which as an
// error would not be nil).
func (v *validator) result() error {
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

// Validate checks a defaulted spec (run ApplyDefaults first: a zero that a default would fill is reported
// here) and returns FieldErrors naming every field that is wrong, or nil. Run it on a workflow input too, so
// a hand-written release.json is held to the same rules as a spec file. It does not compare scan.ignore's
// expiry dates with the clock (the zero time is before every date): reading a spec for a status, an abort or
// a rollback must work with a lapsed exception in it. Starting a release uses ValidateAt.
func (s *Spec) Validate() error {
	return s.ValidateAt(time.Time{})
}

// ValidateAt is Validate plus the expiry check: an ignore in scan.ignore whose expiry date is not after now
// is an error, so a release never starts believing a lapsed exception still holds. The starter passes
// time.Now(); the workflow does the same in a local activity (never in workflow code), and tests pass a fixed
// time.
func (s *Spec) ValidateAt(now time.Time) error {
	if s == nil {
		return FieldErrors{{Message: "the spec is missing"}}
	}
	v := &validator{}

	if s.APIVersion != APIVersion {
		v.add("apiVersion", "%s; write \"apiVersion: %s\"", notExpected(s.APIVersion), APIVersion)
	}
	if s.Kind != Kind {
		v.add("kind", "%s; write \"kind: %s\"", notExpected(s.Kind), Kind)
	}

	appNameOK := v.appName("app.name", s.App.Name)

	env := s.Environments
	v.namespace("environments.staging.namespace", env.Staging.Namespace)
	v.namespace("environments.production.namespace", env.Production.Namespace)
	if env.Staging.Namespace != "" && env.Staging.Namespace == env.Production.Namespace {
		v.add("environments.production.namespace", "must differ from environments.staging.namespace (both are %s)", quoteShort(env.Staging.Namespace))
	}
	v.intRange("environments.staging.replicas", int64(env.Staging.Replicas), 0, maxReplicas)
	v.intRange("environments.production.replicas", int64(env.Production.Replicas), 1, maxReplicas)

	if msg := repositoryProblem(s.Image.Repository); msg != "" {
		v.add("image.repository", "%s", msg)
	}
	v.imagePromotion(&s.Image)
	switch s.Image.PullPolicy {
	case "IfNotPresent", "Always", "Never":
	default:
		v.add("image.pullPolicy", "%s; write IfNotPresent, Always or Never", notExpected(s.Image.PullPolicy))
	}

	v.scanSection(&s.Scan, now)
	v.compliancePolicy(&s.Compliance.CompliancePolicy, now)
	v.approval(s.Approval)
	v.notify(&s.Notify)
	v.monitor(s.Monitor)

	v.container("container", &s.Container)

	bg := s.BlueGreen
	// A Service name derived from a bad or missing app name would only repeat the app.name error.
	if appNameOK || (bg.ActiveService != "" && bg.ActiveService != s.App.Name+ActiveServiceSuffix) {
		v.dns1035("blueGreen.activeService", bg.ActiveService, "Service name")
	}
	if appNameOK || (bg.PreviewService != "" && bg.PreviewService != s.App.Name+PreviewServiceSuffix) {
		v.dns1035("blueGreen.previewService", bg.PreviewService, "Service name")
	}
	if bg.ActiveService != "" && bg.ActiveService == bg.PreviewService {
		v.add("blueGreen.previewService", "must differ from blueGreen.activeService (both are %s)", quoteShort(bg.ActiveService))
	}
	v.durationRange("blueGreen.progressDeadline", bg.ProgressDeadline, 10*time.Second, 24*time.Hour)
	v.durationRange("blueGreen.scaleDownDelay", bg.ScaleDownDelay, 0, 24*time.Hour)

	sm := s.Smoke
	v.checks("smoke.checks", sm.Checks)
	// PreviewChecks defaulted from smoke.checks would repeat the same errors under a second path.
	if !reflect.DeepEqual(bg.PreviewChecks, sm.Checks) && (len(bg.PreviewChecks) > 0 || len(sm.Checks) > 0) {
		v.checks("blueGreen.previewChecks", bg.PreviewChecks)
	}
	v.intRange("smoke.attempts", int64(sm.Attempts), 1, maxSmokeAttempts)
	v.durationRange("smoke.interval", sm.Interval, 0, 10*time.Minute)
	v.durationRange("smoke.timeout", sm.Timeout, 100*time.Millisecond, 5*time.Minute)

	if len(v.errs) == 0 {
		return nil
	}
	v.errs.sort()
	return v.errs
}

// approval checks the approval section.
func (v *validator) approval(a *Approval) {
	if a == nil {
		return
	}
	if len(a.Approvers) == 0 {
		v.add("approval.approvers", "required: list who may approve (an email or a login per entry)")
	}
	for i, who := range a.Approvers {
		path := fmt.Sprintf("approval.approvers[%d]", i)
		switch {
		case strings.TrimSpace(who) == "" || strings.ContainsFunc(who, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
			v.add(path, "%s is not an identity; write an email or a login, without spaces", quoteShort(who))
		case len(who) > 256:
			v.add(path, "longer than 256 characters")
		case slices.Index(a.Approvers, who) < i:
			v.add(path, "%s is listed twice", who)
		}
	}
	v.durationRange("approval.timeout", a.Timeout, time.Minute, 30*24*time.Hour)
	switch a.OnTimeout {
	case OnTimeoutReject, OnTimeoutPromote:
	default:
		v.add("approval.onTimeout", "%s; write reject or promote", notExpected(a.OnTimeout))
	}
	if a.RemindEvery != 0 {
		v.durationRange("approval.remindEvery", a.RemindEvery, time.Minute, a.Timeout.D())
		// Every reminder adds events to the release's history, which Temporal caps: bound their number.
		if a.RemindEvery.D() > 0 && a.Timeout.D()/a.RemindEvery.D() > maxReminders {
			v.add("approval.remindEvery", "%s would post %d reminders within approval.timeout %s; at most %d: remind less often",
				shortDuration(a.RemindEvery.D()), a.Timeout.D()/a.RemindEvery.D(), shortDuration(a.Timeout.D()), maxReminders)
		}
	}
	if a.EscalateAfter != 0 {
		v.durationRange("approval.escalateAfter", a.EscalateAfter, time.Minute, a.Timeout.D())
		if strings.TrimSpace(a.EscalateTo) == "" {
			v.add("approval.escalateTo", "required with escalateAfter: who to mention, e.g. <!subteam^S0123> or <@U0123>")
		}
	}
	if len(a.EscalateTo) > 256 || strings.ContainsFunc(a.EscalateTo, unicode.IsControl) {
		v.add("approval.escalateTo", "%s is not a mention", quoteShort(a.EscalateTo))
	}
}

// maxReminders bounds approval.timeout / approval.remindEvery.
const maxReminders = 100

// notify checks the notify section.
func (v *validator) notify(n *Notify) {
	if n.Slack == nil {
		return
	}
	c := n.Slack.Channel
	switch {
	case c == "":
		v.add("notify.slack.channel", "required; write a channel ID (C0123ABCD) or #name")
	case !slackChannel.MatchString(c):
		v.add("notify.slack.channel", "%s is not a channel; write a channel ID (C0123ABCD) or #name (lower case, digits, - and _)", quoteShort(c))
	}
}

var slackChannel = regexp.MustCompile(`^(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{6,20})$`)

// scanSection checks the scan section: the policy, then the timeout.
func (v *validator) scanSection(sc *Scan, now time.Time) {
	v.scanPolicy(&sc.ScanPolicy, now)
	v.durationRange("scan.timeout", sc.Timeout, 30*time.Second, time.Hour)
}

// notExpected describes a value that is not the one allowed: "required" when empty, else the value quoted.
func notExpected(got string) string {
	if got == "" {
		return "required"
	}
	return quoteShort(got) + " is not supported"
}

// appName checks the app name and reports whether it is valid.
func (v *validator) appName(path, n string) bool {
	if n == "" {
		v.add(path, "required")
		return false
	}
	msgs := validation.IsDNS1035Label(n)
	if len(n) > maxAppNameLength {
		// Replace the generic 63-character limit with the tighter one and its reason.
		msgs = without(msgs, validation.MaxLenError(validation.DNS1035LabelMaxLength))
		msgs = append(msgs, fmt.Sprintf("must be at most %d characters so that %q fits in a Service name", maxAppNameLength, "<name>"+PreviewServiceSuffix))
	}
	if len(msgs) > 0 {
		v.add(path, "%s is not a valid app name: %s", quoteShort(n), strings.Join(msgs, "; "))
		return false
	}
	return true
}

func (v *validator) namespace(path, ns string) {
	if ns == "" {
		v.add(path, "required")
		return
	}
	if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
		v.add(path, "%s is not a valid namespace: %s", quoteShort(ns), strings.Join(msgs, "; "))
	}
}

func (v *validator) dns1035(path, value, what string) {
	if value == "" {
		v.add(path, "required")
		return
	}
	if msgs := validation.IsDNS1035Label(value); len(msgs) > 0 {
		v.add(path, "%s is not a valid %s: %s", quoteShort(value), what, strings.Join(msgs, "; "))
	}
}

func (v *validator) intRange(path string, n, lo, hi int64) {
	if n < lo || n > hi {
		v.add(path, "must be between %d and %d, got %d", lo, hi, n)
	}
}

func (v *validator) durationRange(path string, d Duration, lo, hi time.Duration) {
	if d.D() < lo || d.D() > hi {
		v.add(path, "must be between %s and %s, got %s", shortDuration(lo), shortDuration(hi), shortDuration(d.D()))
	}
}

// shortDuration formats 24h0m0s as 24h and 10m0s as 10m, the way people write them in a spec.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (v *validator) container(path string, c *Container) {
	switch {
	case c.Port == 0:
		v.add(path+".port", "required; the port the app listens on")
	case c.Port < 1 || c.Port > 65535:
		v.add(path+".port", "must be between 1 and 65535, got %d", c.Port)
	}

	r := c.Resources
	v.quantities(path+".resources", "cpu", r.Requests.CPU, r.Limits.CPU)
	v.quantities(path+".resources", "memory", r.Requests.Memory, r.Limits.Memory)

	v.probe(path+".probes.liveness", c.Probes.Liveness)
	v.probe(path+".probes.readiness", c.Probes.Readiness)

	if sc := c.SecurityContext; sc != nil {
		p := path + ".securityContext"
		if sc.RunAsUser != nil {
			if msgs := validation.IsValidUserID(*sc.RunAsUser); len(msgs) > 0 {
				v.add(p+".runAsUser", "%s", strings.Join(msgs, "; "))
			} else if *sc.RunAsUser == 0 && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot {
				v.add(p+".runAsUser", "0 is root, but runAsNonRoot is true; use a non-zero user ID")
			}
		}
		for i, capability := range sc.DropCapabilities {
			if !capabilityName.MatchString(capability) {
				v.add(fmt.Sprintf("%s.dropCapabilities[%d]", p, i), "%s is not a capability name; write it upper-case, e.g. ALL or NET_RAW", quoteShort(capability))
			}
		}
	}

	seen := map[string]int{}
	for i, e := range c.Env {
		p := fmt.Sprintf("%s.env[%d]", path, i)
		switch {
		case e.Name == "":
			v.add(p+".name", "required")
		case len(validation.IsEnvVarName(e.Name)) > 0:
			v.add(p+".name", "%s is not a valid environment variable name: %s", quoteShort(e.Name), strings.Join(validation.IsEnvVarName(e.Name), "; "))
		case e.Name == VersionEnv:
			v.add(p+".name", "%s is set by Slipway to the release version; choose another name", VersionEnv)
		default:
			if first, dup := seen[e.Name]; dup {
				v.add(p+".name", "duplicate %s; already set in %s.env[%d]", quoteShort(e.Name), path, first)
			} else {
				seen[e.Name] = i
			}
		}
		switch {
		case e.Value != "" && e.SecretRef != nil:
			v.add(p, "set value or secretRef, not both")
		case e.Value == "" && e.SecretRef == nil:
			v.add(p, "set value or secretRef (an empty value is not supported)")
		case e.SecretRef != nil:
			ref := e.SecretRef
			if ref.Name == "" {
				v.add(p+".secretRef.name", "required")
			} else if msgs := validation.IsDNS1123Subdomain(ref.Name); len(msgs) > 0 {
				v.add(p+".secretRef.name", "%s is not a valid Secret name: %s", quoteShort(ref.Name), strings.Join(msgs, "; "))
			}
			if ref.Key == "" {
				v.add(p+".secretRef.key", "required")
			} else if msgs := validation.IsConfigMapKey(ref.Key); len(msgs) > 0 {
				v.add(p+".secretRef.key", "%s is not a valid Secret key: %s", quoteShort(ref.Key), strings.Join(msgs, "; "))
			}
		}
	}
}

// capabilityName is how Kubernetes capabilities are written: upper-case, e.g. ALL, NET_BIND_SERVICE.
var capabilityName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// quantities checks one resource's request and limit, and that the request does not exceed the limit (the API
// server would refuse the Deployment).
func (v *validator) quantities(path, res, request, limit string) {
	req, reqOK := v.quantity(path+".requests."+res, request)
	lim, limOK := v.quantity(path+".limits."+res, limit)
	if reqOK && limOK && req.Cmp(lim) > 0 {
		v.add(path+".requests."+res, "%s is more than the limit %s; the request must not exceed the limit", request, limit)
	}
}

func (v *validator) quantity(path, s string) (resource.Quantity, bool) {
	if s == "" {
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		v.add(path, "%s is not a valid quantity; write e.g. \"100m\" or \"128Mi\"", quoteShort(s))
		return q, false
	}
	if q.Sign() < 0 {
		v.add(path, "%s is negative", quoteShort(s))
		return q, false
	}
	return q, true
}

func (v *validator) probe(path string, p *HTTPProbe) {
	if p == nil {
		return
	}
	if msg := httpPathProblem(p.Path); msg != "" {
		v.add(path+".path", "%s", msg)
	}
	if p.InitialDelaySeconds < 0 {
		v.add(path+".initialDelaySeconds", "must not be negative, got %d", p.InitialDelaySeconds)
	}
	if p.PeriodSeconds < 1 {
		v.add(path+".periodSeconds", "must be at least 1, got %d", p.PeriodSeconds)
	}
	if p.FailureThreshold < 1 {
		v.add(path+".failureThreshold", "must be at least 1, got %d", p.FailureThreshold)
	}
}

func (v *validator) checks(path string, checks []Check) {
	if len(checks) == 0 {
		v.add(path, "at least one check is required")
		return
	}
	for i, c := range checks {
		p := fmt.Sprintf("%s[%d]", path, i)
		if msg := httpPathProblem(c.Path); msg != "" {
			v.add(p+".path", "%s", msg)
		}
		v.intRange(p+".expectStatus", int64(c.ExpectStatus), 100, 599)
		if n := utf8.RuneCountInString(c.ExpectBody); n > maxExpectBody {
			v.add(p+".expectBody", "must be at most %d characters, got %d", maxExpectBody, n)
		}
	}
}

// httpPathProblem checks the path of a probe or check: an absolute URL path, nothing else (no scheme, host,
// query or fragment), since it is joined to a Service or Pod address. It returns "" when the path is fine.
func httpPathProblem(p string) string {
	switch {
	case p == "":
		return "required; write an absolute path like /health"
	case strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return quoteShort(p) + " must not contain spaces or control characters"
	case !strings.HasPrefix(p, "/"):
		return quoteShort(p) + " must start with \"/\""
	case strings.HasPrefix(p, "//"):
		return quoteShort(p) + " must be a path, not a URL; remove the leading \"//\""
	case strings.ContainsAny(p, "?#"):
		return quoteShort(p) + " must be a path only, without a query (?) or fragment (#)"
	}
	if _, err := url.ParseRequestURI(p); err != nil {
		return quoteShort(p) + " is not a valid URL path (check its %-escapes)"
	}
	for _, seg := range strings.Split(p, "/") {
		dec, err := url.PathUnescape(seg)
		switch {
		case err != nil:
			return quoteShort(p) + " is not a valid URL path (check its %-escapes)"
		case dec == "." || dec == "..":
			return fmt.Sprintf("%s has the segment %s; a check or probe path must not have \".\" or \"..\" segments, %%-encoded (%%2e) or not, because they would take the request out of the path it is meant for (through the API server's service proxy, to other API paths)", quoteShort(p), strconv.Quote(seg))
		case strings.Contains(dec, "/"):
			return fmt.Sprintf("%s has the segment %s, which decodes to one with \"/\"; a check or probe path must not have an encoded \"/\" (%%2F) in a segment", quoteShort(p), strconv.Quote(seg))
		}
	}
	return ""
}

// imagePromotion checks image.source, image.tags and image.signing.
func (v *validator) imagePromotion(img *Image) {
	if img.Source != "" {
		if msg := repositoryProblem(img.Source); msg != "" {
			v.add("image.source", "%s", msg)
		}
	}
	for i, k := range img.Tags {
		path := fmt.Sprintf("image.tags[%d]", i)
		switch {
		case !slices.Contains(TagKinds, k):
			v.add(path, "%s; write one of %s", notExpected(k), strings.Join(TagKinds, ", "))
		case slices.Index(img.Tags, k) < i:
			v.add(path, "%s is listed twice", k)
		}
	}
	if sg := img.Signing; sg != nil {
		for _, f := range []struct{ path, ref string }{{"image.signing.key", sg.Key}, {"image.signing.publicKey", sg.PublicKey}} {
			if msg := KeyRefProblem(f.ref); msg != "" {
				v.add(f.path, "%s", msg)
			}
		}
	}
}

// KeyRefProblem checks a key reference, file:/absolute/path or env:VARIABLE, and returns "" when it is fine.
// Only the reference is checked here; the worker reads the key.
func KeyRefProblem(ref string) string {
	scheme, rest, ok := strings.Cut(ref, ":")
	switch {
	case ref == "":
		return "required; write file:/absolute/path or env:VARIABLE (read on the worker)"
	case strings.HasPrefix(ref, "-----BEGIN"):
		return "holds a key; a release spec only names where the worker reads it: file:/absolute/path or env:VARIABLE"
	case !ok || (scheme != "file" && scheme != "env"):
		return quoteShort(ref) + " is not a key reference; write file:/absolute/path or env:VARIABLE"
	case scheme == "file" && (!strings.HasPrefix(rest, "/") || path.Clean(rest) != rest):
		return quoteShort(ref) + ": the path must be absolute and clean, e.g. file:/etc/slipway/cosign.key"
	case scheme == "env" && !envVarName.MatchString(rest):
		return quoteShort(ref) + ": not an environment variable name; write e.g. env:SLIPWAY_SIGNING_KEY"
	}
	return ""
}

var envVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// repositoryProblem checks an image repository (no tag, no digest) and returns "" when it is fine. The
// go-containerregistry parser checks the characters; pathComponent adds the reference grammar the container
// runtime enforces when it pulls ("a//b" or "a-" would only fail on the node).
func repositoryProblem(repo string) string {
	if repo == "" {
		return "required; e.g. registry.example.com/team/app"
	}
	if strings.IndexFunc(repo, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return quoteShort(repo) + " must not contain whitespace"
	}
	if strings.Contains(repo, "@") {
		return quoteShort(repo) + " has a digest; put the version in --version, not in image.repository"
	}
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		return quoteShort(repo) + " has a tag; put the version in --version, not in image.repository"
	}
	if _, err := name.NewRepository(repo); err != nil {
		return quoteShort(repo) + " is not a valid image repository: " + strings.TrimSuffix(err.Error(), ": "+repo)
	}
	// Strict: the registry must be named, so what is deployed does not depend on a runtime's default registry.
	r, err := name.NewRepository(repo, name.StrictValidation)
	switch {
	case err != nil && strings.Contains(err.Error(), "library"):
		return quoteShort(repo) + " leaves out the \"library/\" of a Docker Hub image; write e.g. docker.io/library/nginx"
	case err != nil:
		return quoteShort(repo) + " does not name its registry; write it in full, e.g. registry.example.com/team/app or docker.io/library/nginx"
	}
	for _, c := range strings.Split(r.RepositoryStr(), "/") {
		if !pathComponent.MatchString(c) {
			return fmt.Sprintf("%s is not a valid image repository: path component %s must be lower-case letters and digits, separated by '.', '_', '__' or '-'", quoteShort(repo), strconv.Quote(c))
		}
	}
	// go-containerregistry accepts registry names the runtime's parser refuses ("registry-.example.com",
	// "a..b", "host:"); the kubelet would leave the Pod in InvalidImageName.
	if !repositoryName.MatchString(repo) {
		host, _, _ := strings.Cut(repo, "/")
		return fmt.Sprintf("%s is not a valid image repository: registry %s must be a host name (dot-separated parts of letters, digits and '-', not starting or ending with '-') or an [IPv6] address, with an optional :port", quoteShort(repo), strconv.Quote(host))
	}
	return ""
}

// The distribution reference grammar, which the kubelet and the container runtimes parse image names with.
const (
	pathComponentPattern   = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	domainComponentPattern = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	domainAndPortPattern   = `(?:` + domainComponentPattern + `(?:\.` + domainComponentPattern + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
)

// pathComponent is one "/"-separated part of a repository path.
var pathComponent = regexp.MustCompile(`^` + pathComponentPattern + `$`)

// repositoryName is a whole repository name: an optional registry, then the path.
var repositoryName = regexp.MustCompile(`^(?:` + domainAndPortPattern + `/)?` + pathComponentPattern + `(?:/` + pathComponentPattern + `)*$`)

func without(list []string, drop string) []string {
	out := list[:0:0]
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}
