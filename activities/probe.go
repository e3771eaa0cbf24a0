package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"k8s.io/client-go/rest"
)

// How a Prober reaches a Service.
const (
	// ProbeModeProxy goes through the API server's service proxy, so a worker outside the cluster can check a
	// Service with the credentials it already has, and a test can stand in for the API server.
	ProbeModeProxy = "proxy"
	// ProbeModeDNS calls the Service's cluster DNS name directly, for a worker running in the cluster; it skips
	// the API server, so smoke checks add no load there and need no proxy permission.
	ProbeModeDNS = "dns"
)

const (
	// maxProbeBody bounds what a check reads, so a misbehaving app cannot exhaust the worker's memory.
	maxProbeBody = 64 << 10
	// maxResultBody bounds the body kept in results, which end up in the workflow history.
	maxResultBody = 256
	// defaultProbeTimeout applies when the input has none, so a hanging app cannot stall an attempt forever.
	defaultProbeTimeout = 5 * time.Second
)

// Prober runs smoke checks through a Service. Mode picks the route ("" means ProbeModeProxy); BaseURL is the API
// server (or a stand-in serving the same URL shape) in proxy mode and unused in DNS mode. HTTP nil means a
// default client; per-request timeouts come from the input, not from the client. SmokeCheck never follows a
// redirect, whatever HTTP's CheckRedirect says (see noRedirects).
type Prober struct {
	HTTP    *http.Client
	BaseURL string
	Mode    string
}

// NewClusterProber builds a proxy-mode Prober that authenticates to the API server the way the Kubernetes
// client does, so smoke checks need no network path to the Service itself.
func NewClusterProber(cfg *rest.Config) (*Prober, error) {
	if cfg == nil {
		return nil, errors.New("cluster prober: nil rest config")
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster prober: %w", err)
	}
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster prober: %w", err)
	}
	return &Prober{HTTP: client, BaseURL: strings.TrimRight(base.String(), "/"), Mode: ProbeModeProxy}, nil
}

// checkURL is where a check of path on the Service goes. The path is used as already escaped, the way the
// kubelet reads probe paths (the spec refuses spaces and bad %-escapes): "/a%20b" is requested as "/a%20b", and
// anything that still needs escaping is escaped.
func (p *Prober) checkURL(ns, svc string, port int32, path string) string {
	escaped := (&url.URL{Path: path}).EscapedPath()
	if u, err := url.Parse(path); err == nil && u.Scheme == "" && u.Host == "" {
		escaped = u.EscapedPath()
		if u.RawQuery != "" {
			escaped += "?" + u.RawQuery
		}
	}
	portStr := strconv.Itoa(int(port))
	if p.Mode == ProbeModeDNS {
		return "http://" + svc + "." + ns + ".svc:" + portStr + escaped
	}
	return strings.TrimRight(p.BaseURL, "/") + "/api/v1/namespaces/" + url.PathEscape(ns) + "/services/" +
		url.PathEscape(svc) + ":" + portStr + "/proxy" + escaped
}

// smokeProgress is SmokeCheck's heartbeat detail between attempts.
type smokeProgress struct {
	Attempt  int    `json:"attempt"`
	Attempts int    `json:"attempts"`
	Check    string `json:"check"`
	Failing  bool   `json:"failing,omitempty"`
}

// SmokeCheck runs every check through the Service, retrying the whole list up to Attempts times, because a
// Service that just switched or a pod that just became ready often needs a moment before it answers well.
func (p *Prober) SmokeCheck(ctx context.Context, in SmokeCheckInput) (SmokeCheckResult, error) {
	if err := validateSmokeCheck(in); err != nil {
		return SmokeCheckResult{}, err
	}
	// A misconfigured worker is not the input's fault: the error stays retryable, so the release resumes once
	// the worker is fixed.
	switch p.Mode {
	case "", ProbeModeProxy:
		if p.BaseURL == "" {
			return SmokeCheckResult{}, errors.New("smoke check: prober in proxy mode has no BaseURL")
		}
	case ProbeModeDNS:
	default:
		return SmokeCheckResult{}, fmt.Errorf("smoke check: unknown prober mode %q", p.Mode)
	}
	client := p.noRedirects()
	var results []CheckResult
	for attempt := 1; ; attempt++ {
		results = p.runChecks(ctx, client, in, attempt)
		if err := ctx.Err(); err != nil {
			return SmokeCheckResult{}, err
		}
		failed := firstFailure(results)
		if failed == nil {
			return SmokeCheckResult{Attempts: attempt, Results: results}, nil
		}
		if attempt >= in.Attempts {
			return SmokeCheckResult{}, smokeFailure(in, failed, results)
		}
		heartbeat(ctx, smokeProgress{Attempt: attempt, Attempts: in.Attempts, Check: failed.Name, Failing: true})
		if err := wait(ctx, in.Interval.D(), nil, nil); err != nil {
			return SmokeCheckResult{}, err
		}
	}
}

func validateSmokeCheck(in SmokeCheckInput) error {
	switch {
	case in.Namespace == "" || in.Service == "":
		return invalidInput("smoke check: namespace and service are required (got %q/%q)", in.Namespace, in.Service)
	case in.Port < 1 || in.Port > 65535:
		return invalidInput("smoke check %s/%s: port %d is not in 1-65535", in.Namespace, in.Service, in.Port)
	case len(in.Checks) == 0:
		return invalidInput("smoke check %s/%s: no checks", in.Namespace, in.Service)
	case in.Attempts < 1:
		return invalidInput("smoke check %s/%s: attempts %d, want at least 1", in.Namespace, in.Service, in.Attempts)
	}
	for _, c := range in.Checks {
		if !strings.HasPrefix(c.Path, "/") {
			return invalidInput("smoke check %s/%s: path %q must start with /", in.Namespace, in.Service, c.Path)
		}
	}
	return nil
}

// noRedirects returns a copy of the Prober's client (a default one when HTTP is nil) that hands back a 3xx
// answer as is instead of following it. The cluster prober's transport adds the worker's bearer token to every
// request, whatever the host, so following a redirect from the released app to another host would leak the
// token. A 3xx is then just a status the check compares with its expected status. The copy shares the
// transport (and its connections) but leaves the configured client untouched.
func (p *Prober) noRedirects() *http.Client {
	var c http.Client
	if p.HTTP != nil {
		c = *p.HTTP
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// runChecks runs every check once, even after one fails, so a failure report shows the whole picture. It
// heartbeats before each request, so a long list of slow checks cannot outlast the heartbeat timeout.
func (p *Prober) runChecks(ctx context.Context, client *http.Client, in SmokeCheckInput, attempt int) []CheckResult {
	timeout := in.Timeout.D()
	if timeout <= 0 {
		timeout = defaultProbeTimeout
	}
	results := make([]CheckResult, 0, len(in.Checks))
	for _, c := range in.Checks {
		if ctx.Err() != nil {
			break
		}
		name := c.Name
		if name == "" {
			name = c.Path
		}
		heartbeat(ctx, smokeProgress{Attempt: attempt, Attempts: in.Attempts, Check: name})
		want := c.ExpectStatus
		if want == 0 {
			want = http.StatusOK
		}
		target := p.checkURL(in.Namespace, in.Service, in.Port, c.Path)
		r := CheckResult{Name: name, URL: redact(target)}
		status, body, err := get(ctx, client, target, timeout)
		r.Status, r.Body = status, cut(body, maxResultBody)
		switch {
		case err != nil:
			r.Error = err.Error()
		case status != want:
			r.Error = fmt.Sprintf("status %d, want %d", status, want)
		case c.ExpectBody != "" && !strings.Contains(body, c.ExpectBody):
			r.Error = fmt.Sprintf("status %d, body does not contain %q", status, c.ExpectBody)
		default:
			r.OK = true
		}
		results = append(results, r)
	}
	return results
}

// get sends one GET with client, bounded by timeout; the error it returns names the cause only (the URL, which
// may carry the API server address, is reported separately and redacted).
func get(ctx context.Context, client *http.Client, rawURL string, timeout time.Duration) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, "", errors.New("bad request URL")
	}
	resp, err := client.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return 0, "", fmt.Errorf("no answer within %s", timeout)
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("body not read within %s", timeout)
		}
		return resp.StatusCode, string(b), fmt.Errorf("reading body: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

func firstFailure(results []CheckResult) *CheckResult {
	for i := range results {
		if !results[i].OK {
			return &results[i]
		}
	}
	return nil
}

// smokeFailure is the non-retryable error after the last attempt; its message names the failing check so the
// operator sees the cause without opening the details.
func smokeFailure(in SmokeCheckInput, failed *CheckResult, results []CheckResult) error {
	nFailed := 0
	for _, r := range results {
		if !r.OK {
			nFailed++
		}
	}
	msg := fmt.Sprintf("smoke check %q failed after %d attempts (%d of %d checks failing): GET %s: %s",
		failed.Name, in.Attempts, nFailed, len(results), failed.URL, failed.Error)
	if failed.Body != "" {
		msg += fmt.Sprintf("; body %q", failed.Body)
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrSmokeCheckFailed, nil, results)
}

// cut shortens s to at most n bytes of valid UTF-8, so a split rune or a binary body cannot garble the history.
func cut(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

// redact drops any user:password from a URL before it is stored or reported.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
