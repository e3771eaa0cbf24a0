package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"k8s.io/client-go/rest"

	"github.com/vektagraf/slipway/internal/spec"
)

const proxyPrefix = "/api/v1/namespaces/demo/services/demo-app-preview:8080/proxy"

// standIn serves the API server's service-proxy URL shape for one Service and hands the rest of the path to h,
// so tests exercise the same URLs a cluster prober requests. It counts requests.
func standIn(t *testing.T, h http.HandlerFunc) (*Prober, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if !strings.HasPrefix(r.URL.EscapedPath(), proxyPrefix+"/") {
			http.Error(w, "no such service", http.StatusNotFound)
			return
		}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, proxyPrefix)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return &Prober{HTTP: srv.Client(), BaseURL: srv.URL, Mode: ProbeModeProxy}, &n
}

func smokeInput(checks ...spec.Check) SmokeCheckInput {
	return SmokeCheckInput{
		Namespace: "demo", Service: "demo-app-preview", Port: 8080,
		Checks:   checks,
		Attempts: 3,
		Interval: spec.Duration(time.Millisecond),
		Timeout:  spec.Duration(5 * time.Second),
	}
}

func TestProberCheckURL(t *testing.T) {
	tests := []struct {
		name   string
		prober Prober
		path   string
		want   string
	}{
		{name: "proxy", prober: Prober{BaseURL: "https://api.example:6443"}, path: "/healthz",
			want: "https://api.example:6443/api/v1/namespaces/demo/services/demo-app-preview:8080/proxy/healthz"},
		{name: "proxy, trailing slash in base", prober: Prober{BaseURL: "https://api.example:6443/", Mode: ProbeModeProxy},
			path: "/", want: "https://api.example:6443/api/v1/namespaces/demo/services/demo-app-preview:8080/proxy/"},
		{name: "proxy, base with a path prefix", prober: Prober{BaseURL: "https://gw.example/k8s"}, path: "/v1/items",
			want: "https://gw.example/k8s/api/v1/namespaces/demo/services/demo-app-preview:8080/proxy/v1/items"},
		{name: "a path that is not valid escaped is escaped, a stray percent is literal", prober: Prober{BaseURL: "http://h"}, path: "/a b/c%d/ü",
			want: "http://h/api/v1/namespaces/demo/services/demo-app-preview:8080/proxy/a%20b/c%25d/%C3%BC"},
		{name: "an escaped path is used as escaped, like a kubelet probe path", prober: Prober{BaseURL: "http://h"}, path: "/a%20b/v%2e1",
			want: "http://h/api/v1/namespaces/demo/services/demo-app-preview:8080/proxy/a%20b/v%2e1"},
		{name: "query passes as written", prober: Prober{BaseURL: "http://h"}, path: "/status?verbose=1&x=a%20b",
			want: "http://h/api/v1/namespaces/demo/services/demo-app-preview:8080/proxy/status?verbose=1&x=a%20b"},
		{name: "dns", prober: Prober{Mode: ProbeModeDNS}, path: "/healthz",
			want: "http://demo-app-preview.demo.svc:8080/healthz"},
		{name: "dns, escaped", prober: Prober{Mode: ProbeModeDNS, BaseURL: "ignored"}, path: "/a b",
			want: "http://demo-app-preview.demo.svc:8080/a%20b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.prober.checkURL("demo", "demo-app-preview", 8080, tt.path))
		})
	}
}

func TestSmokeCheckPassesFirstAttempt(t *testing.T) {
	p, n := standIn(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			fmt.Fprint(w, "ok")
		case "/version":
			fmt.Fprint(w, `{"version":"1.4.2"}`)
		case "/gone":
			http.Error(w, "gone", http.StatusNotFound)
		default:
			http.Error(w, "unexpected "+r.URL.Path, http.StatusTeapot)
		}
	})
	res, err := p.SmokeCheck(context.Background(), smokeInput(
		spec.Check{Name: "health", Path: "/healthz"},
		spec.Check{Path: "/version", ExpectBody: `"version":"1.4.2"`},
		spec.Check{Name: "removed endpoint", Path: "/gone", ExpectStatus: http.StatusNotFound},
	))
	require.NoError(t, err)
	require.Equal(t, 1, res.Attempts)
	require.Equal(t, int32(3), n.Load())
	require.Len(t, res.Results, 3)
	require.Equal(t, CheckResult{Name: "health", URL: p.BaseURL + proxyPrefix + "/healthz", Status: 200, Body: "ok", OK: true},
		res.Results[0])
	require.Equal(t, "/version", res.Results[1].Name, "the path names an unnamed check")
	require.True(t, res.Results[2].OK)
}

func TestSmokeCheckPassesOnThirdAttempt(t *testing.T) {
	var calls atomic.Int32
	p, _ := standIn(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	in := smokeInput(spec.Check{Name: "health", Path: "/healthz"})
	in.Attempts = 5
	res, err := p.SmokeCheck(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, 3, res.Attempts)
	require.Equal(t, int32(3), calls.Load())
}

func TestSmokeCheckFailures(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		check     spec.Check
		wantInMsg []string
	}{
		{
			name: "unavailable on every attempt",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
			},
			check:     spec.Check{Name: "health", Path: "/healthz"},
			wantInMsg: []string{`smoke check "health"`, "after 3 attempts", proxyPrefix + "/healthz", "status 503, want 200", "upstream connect error"},
		},
		{
			name:      "body mismatch",
			handler:   func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"version":"1.4.1"}`) },
			check:     spec.Check{Name: "version", Path: "/version", ExpectBody: `"version":"1.4.2"`},
			wantInMsg: []string{`smoke check "version"`, `body does not contain "\"version\":\"1.4.2\""`, `1.4.1`},
		},
		{
			name:      "wrong status",
			handler:   func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "created?") },
			check:     spec.Check{Name: "create", Path: "/items", ExpectStatus: http.StatusCreated},
			wantInMsg: []string{`smoke check "create"`, "status 200, want 201"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, n := standIn(t, tt.handler)
			_, err := p.SmokeCheck(context.Background(), smokeInput(tt.check))
			require.Error(t, err)
			require.Equal(t, ErrSmokeCheckFailed, ErrorType(err))
			requireNonRetryable(t, err)
			for _, s := range tt.wantInMsg {
				require.Contains(t, err.Error(), s)
			}
			require.Equal(t, int32(3), n.Load(), "every attempt ran")

			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr))
			var results []CheckResult
			require.NoError(t, appErr.Details(&results))
			require.Len(t, results, 1)
			require.False(t, results[0].OK)
			require.Equal(t, tt.check.Name, results[0].Name)
		})
	}
}

func TestSmokeCheckReportsAllChecks(t *testing.T) {
	p, _ := standIn(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			fmt.Fprint(w, "ok")
			return
		}
		http.Error(w, "nope", http.StatusInternalServerError)
	})
	in := smokeInput(spec.Check{Name: "broken", Path: "/broken"}, spec.Check{Name: "health", Path: "/healthz"})
	in.Attempts = 1
	_, err := p.SmokeCheck(context.Background(), in)
	require.ErrorContains(t, err, `smoke check "broken" failed after 1 attempts (1 of 2 checks failing)`)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	var results []CheckResult
	require.NoError(t, appErr.Details(&results))
	require.Len(t, results, 2)
	require.True(t, results[1].OK, "later checks still run after a failure")
}

func TestSmokeCheckCutsBodies(t *testing.T) {
	big := strings.Repeat("é", 100<<10) // 200 KiB, two bytes a rune
	p, _ := standIn(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, big) })
	res, err := p.SmokeCheck(context.Background(), smokeInput(spec.Check{Path: "/big"}))
	require.NoError(t, err)
	require.Len(t, res.Results[0].Body, 256)
	require.Equal(t, strings.Repeat("é", 128), res.Results[0].Body)

	// An odd cut never leaves half a rune.
	require.Equal(t, "aé", cut("aéé", 4))
}

func TestSmokeCheckTimeout(t *testing.T) {
	release := make(chan struct{})
	p, _ := standIn(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	in := smokeInput(spec.Check{Name: "hang", Path: "/hang"})
	in.Attempts = 2
	in.Timeout = spec.Duration(50 * time.Millisecond)
	start := time.Now()
	_, err := p.SmokeCheck(context.Background(), in)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, ErrSmokeCheckFailed, ErrorType(err))
	require.ErrorContains(t, err, `smoke check "hang"`)
	require.ErrorContains(t, err, "no answer within 50ms")
}

func TestSmokeCheckCancellation(t *testing.T) {
	tests := []struct {
		name string
		// hang makes the handler block until the client goes away; otherwise it answers 503 at once and the
		// cancellation lands in the pause between attempts.
		hang bool
	}{
		{name: "during a request", hang: true},
		{name: "between attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan struct{}, 10)
			release := make(chan struct{})
			p, _ := standIn(t, func(w http.ResponseWriter, r *http.Request) {
				got <- struct{}{}
				if tt.hang {
					select {
					case <-r.Context().Done():
					case <-release:
					}
					return
				}
				w.WriteHeader(http.StatusServiceUnavailable)
			})
			t.Cleanup(func() { close(release) })
			in := smokeInput(spec.Check{Path: "/healthz"})
			in.Attempts = 5
			in.Interval = spec.Duration(time.Hour)
			in.Timeout = spec.Duration(time.Hour)

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := p.SmokeCheck(ctx, in)
				done <- err
			}()
			<-got
			cancel()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(10 * time.Second):
				t.Fatal("SmokeCheck did not return after cancellation")
			}
		})
	}
}

func TestSmokeCheckInvalidInput(t *testing.T) {
	ok := spec.Check{Path: "/healthz"}
	tests := []struct {
		name   string
		mutate func(*SmokeCheckInput)
	}{
		{name: "no checks", mutate: func(in *SmokeCheckInput) { in.Checks = nil }},
		{name: "zero attempts", mutate: func(in *SmokeCheckInput) { in.Attempts = 0 }},
		{name: "relative path", mutate: func(in *SmokeCheckInput) { in.Checks = []spec.Check{ok, {Path: "healthz"}} }},
		{name: "no service", mutate: func(in *SmokeCheckInput) { in.Service = "" }},
		{name: "no port", mutate: func(in *SmokeCheckInput) { in.Port = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := smokeInput(ok)
			tt.mutate(&in)
			p := &Prober{BaseURL: "http://127.0.0.1:1"}
			_, err := p.SmokeCheck(context.Background(), in)
			require.Equal(t, ErrInvalidInput, ErrorType(err))
			requireNonRetryable(t, err)
		})
	}

	// A misconfigured prober is the worker's problem, not the input's: retryable, so a fixed worker resumes.
	for _, p := range []*Prober{{Mode: "carrier-pigeon"}, {Mode: ProbeModeProxy}, {}} {
		_, err := p.SmokeCheck(context.Background(), smokeInput(ok))
		requireRetryable(t, err)
		require.Empty(t, ErrorType(err))
	}
}

func TestSmokeCheckConnectionError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	p := &Prober{BaseURL: base}
	in := smokeInput(spec.Check{Name: "health", Path: "/healthz"})
	in.Attempts = 2
	_, err := p.SmokeCheck(context.Background(), in)
	require.Equal(t, ErrSmokeCheckFailed, ErrorType(err))
	require.ErrorContains(t, err, "connection refused")
}

// TestClusterProber checks the cluster prober sends the worker's credentials to the proxy URL, and that no
// failure message repeats them.
func TestClusterProber(t *testing.T) {
	const token = "s3cr3t-token"
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != proxyPrefix+"/healthz" || failing.Load() {
			http.Error(w, "no endpoints available for service", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()

	p, err := NewClusterProber(&rest.Config{Host: srv.URL, BearerToken: token})
	require.NoError(t, err)
	require.Equal(t, ProbeModeProxy, p.Mode)
	require.Equal(t, srv.URL, p.BaseURL)

	in := smokeInput(spec.Check{Name: "health", Path: "/healthz"})
	res, err := p.SmokeCheck(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, 1, res.Attempts)

	failing.Store(true)
	_, err = p.SmokeCheck(context.Background(), in)
	require.ErrorContains(t, err, "no endpoints available")
	require.NotContains(t, err.Error(), token)

	// A bare host:port gets the scheme the client would use.
	p, err = NewClusterProber(&rest.Config{Host: "10.0.0.1:6443", TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	require.NoError(t, err)
	require.Equal(t, "https://10.0.0.1:6443", p.BaseURL)
}

func TestRedact(t *testing.T) {
	require.Equal(t, "http://h/x", redact("http://user:pw@h/x"))
	require.Equal(t, "http://h/a%20b?q=1", redact("http://h/a%20b?q=1"))
}

// TestSmokeCheckInActivity runs SmokeCheck the way a worker does, so the heartbeat between attempts is real.
func TestSmokeCheckInActivity(t *testing.T) {
	var calls atomic.Int32
	p, _ := standIn(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivity(p.SmokeCheck)
	val, err := env.ExecuteActivity(p.SmokeCheck, smokeInput(spec.Check{Path: "/healthz"}))
	require.NoError(t, err)
	var res SmokeCheckResult
	require.NoError(t, val.Get(&res))
	require.Equal(t, 2, res.Attempts)
}

// TestSmokeCheckNeverFollowsRedirects checks a redirect from the app to another host is reported as a status and
// never followed: the cluster prober's transport adds the worker's bearer token to every request, so following
// it would hand the token to whatever host the app names.
func TestSmokeCheckNeverFollowsRedirects(t *testing.T) {
	const token = "s3cr3t-token"
	var targetHits atomic.Int32
	var targetAuth atomic.Value
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
		targetAuth.Store(r.Header.Get("Authorization"))
		fmt.Fprint(w, "ok")
	}))
	defer target.Close()

	var appAuth atomic.Value
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		appAuth.Store(r.Header.Get("Authorization"))
		if r.URL.Path != proxyPrefix+"/healthz" {
			http.Error(w, "no such service", http.StatusNotFound)
			return
		}
		http.Redirect(w, r, target.URL+"/steal", http.StatusFound)
	}))
	defer app.Close()

	cluster, err := NewClusterProber(&rest.Config{Host: app.URL, BearerToken: token})
	require.NoError(t, err)
	configured := &Prober{HTTP: app.Client(), BaseURL: app.URL}
	tests := []struct {
		name     string
		prober   *Prober
		wantAuth string // the Authorization header the app itself receives
	}{
		{name: "cluster prober with a token", prober: cluster, wantAuth: "Bearer " + token},
		{name: "configured client", prober: configured},
		{name: "nil HTTP", prober: &Prober{BaseURL: app.URL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.prober
			in := smokeInput(spec.Check{Name: "health", Path: "/healthz"})
			in.Attempts = 1
			_, err := p.SmokeCheck(context.Background(), in)
			require.Equal(t, ErrSmokeCheckFailed, ErrorType(err))
			require.ErrorContains(t, err, "status 302, want 200")
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr))
			var results []CheckResult
			require.NoError(t, appErr.Details(&results))
			require.Len(t, results, 1)
			require.Equal(t, http.StatusFound, results[0].Status)

			// A check that expects the redirect passes on the 302 itself.
			in.Checks[0].ExpectStatus = http.StatusFound
			res, err := p.SmokeCheck(context.Background(), in)
			require.NoError(t, err)
			require.Equal(t, http.StatusFound, res.Results[0].Status)
			require.True(t, res.Results[0].OK)

			require.Equal(t, tt.wantAuth, appAuth.Load(), "the app got the prober's credentials")
			require.Zero(t, targetHits.Load(), "the redirect target received no request")
			require.Nil(t, targetAuth.Load(), "nor any Authorization header")
			if p.HTTP != nil {
				require.Nil(t, p.HTTP.CheckRedirect, "the configured client is not changed")
			}
		})
	}
	require.Nil(t, http.DefaultClient.CheckRedirect, "the shared default client is not changed")
}
