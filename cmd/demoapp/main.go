// Command demoapp is the tiny HTTP service Slipway's demo releases. It serves
//
//	/health    200 "ok"      (liveness)
//	/ready     200 "ready"   (readiness)
//	/version   200 {"version": "...", "pod": "..."}
//	/          200 one line naming the version and the pod
//
// The version comes from --version, else $APP_VERSION (localpods sets it to the image tag), else "dev"; the
// pod name from $SLIPWAY_POD_NAME, else the host name.
//
// Deliberately broken builds: when the version's semver pre-release part contains "broken" (v1.1.0-broken,
// 2.0.0-rc.1.broken; not build metadata such as v1.1.0+broken), /ready answers 503 "not ready: this build is
// deliberately broken" while /health still answers 200: the process is alive but never ready to serve, the
// way a build that cannot reach its database behaves. The demo's bad release uses such a tag: it passes the
// liveness-level staging checks and fails production's readiness preview checks, so the blue-green rollback
// is what shows. /version and / still answer, to show which build is there.
//
// Degraded builds, for the monitor stage: a pre-release part with "errors<N>" (v1.4.0-errors20) answers every
// request to / with a 500 at an N % rate (deterministically: N of every 100 requests, spread evenly), and
// "slow<MS>" (v1.4.0-slow300) delays every request to / by that many milliseconds. /health and /ready stay
// healthy, so such a build passes its smoke checks and only real traffic shows the damage.
//
// /metrics serves Prometheus metrics: http_requests_total{code,path} and http_request_duration_seconds{path}
// (a histogram), the standard names the analysis's built-in metrics read.
//
// It listens on fd 3 when LISTEN_FDS=1 (how localpods hands over a socket it already bound, so there is no
// port race), else on --listen, else on :$PORT, else on :8080. SIGTERM or SIGINT shut it down gracefully.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	listen := flag.String("listen", "", "address to listen on when LISTEN_FDS is not 1 (default :$PORT, else :8080)")
	version := flag.String("version", "", "version to report (default $APP_VERSION, else dev)")
	flag.Parse()
	if *version == "" {
		*version = os.Getenv("APP_VERSION")
	}
	if *version == "" {
		*version = "dev"
	}
	pod := os.Getenv("SLIPWAY_POD_NAME")
	if pod == "" {
		pod, _ = os.Hostname()
	}
	ln, err := listener(*listen)
	if err != nil {
		log.Fatalf("demoapp: %v", err)
	}
	srv := &http.Server{Handler: newHandler(*version, pod), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log.Printf("demoapp %s (pod %s) listening on %s, broken=%v", *version, pod, ln.Addr(), isBroken(*version))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		log.Fatalf("demoapp: %v", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Printf("demoapp: shutdown: %v", err)
	}
}

// listener returns the socket handed over as fd 3 when LISTEN_FDS=1, else a new one.
func listener(addr string) (net.Listener, error) {
	if os.Getenv("LISTEN_FDS") == "1" {
		f := os.NewFile(3, "listen-fd")
		ln, err := net.FileListener(f)
		_ = f.Close() // FileListener made its own copy
		if err != nil {
			return nil, fmt.Errorf("LISTEN_FDS=1 but fd 3 is not a listener: %w", err)
		}
		return ln, nil
	}
	if addr == "" {
		addr = ":8080"
		if port := os.Getenv("PORT"); port != "" {
			addr = ":" + port
		}
	}
	return net.Listen("tcp", addr)
}

// isBroken reports whether version's semver pre-release part (after the first "-", before any "+")
// contains "broken".
func isBroken(version string) bool {
	v, _, _ := strings.Cut(version, "+")
	_, pre, ok := strings.Cut(v, "-")
	return ok && strings.Contains(pre, "broken")
}

// degradation is how a degraded build misbehaves on /: the share of requests answered 500 (percent) and the
// delay added to each.
type degradation struct {
	errorPercent int
	delay        time.Duration
}

var (
	errorsPattern = regexp.MustCompile(`(?:^|[.-])errors(\d{1,3})(?:$|[.-])`)
	slowPattern   = regexp.MustCompile(`(?:^|[.-])slow(\d{1,5})(?:$|[.-])`)
)

// degradationOf reads errors<N> and slow<MS> from version's semver pre-release part.
func degradationOf(version string) degradation {
	v, _, _ := strings.Cut(version, "+")
	_, pre, ok := strings.Cut(v, "-")
	var d degradation
	if !ok {
		return d
	}
	if m := errorsPattern.FindStringSubmatch(pre); m != nil {
		d.errorPercent, _ = strconv.Atoi(m[1])
		d.errorPercent = min(d.errorPercent, 100)
	}
	if m := slowPattern.FindStringSubmatch(pre); m != nil {
		ms, _ := strconv.Atoi(m[1])
		d.delay = time.Duration(ms) * time.Millisecond
	}
	return d
}

// failer decides, request by request, which of them fail: request i fails when the running count of
// failures due by then (i*percent/100) goes up, so N % of any 100 consecutive requests fail, evenly spread.
type failer struct {
	mu      sync.Mutex
	n       int
	percent int
}

func (f *failer) next() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return f.n*f.percent/100 > (f.n-1)*f.percent/100
}

// metrics are the demo app's request metrics, by path (the route, not the raw URL) and status code.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total",
			Help: "HTTP requests by path and status code."}, []string{"path", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds",
			Help: "HTTP request duration by path.", Buckets: prometheus.DefBuckets}, []string{"path"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// route counts and times every request of one route.
func (m *metrics) route(path string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h(rec, r)
		m.requests.WithLabelValues(path, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(path).Observe(time.Since(start).Seconds())
	}
}

func newHandler(version, pod string) http.Handler {
	broken := isBroken(version)
	degraded := degradationOf(version)
	fail := &failer{percent: degraded.errorPercent}
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	text := func(w http.ResponseWriter, code int, body string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = fmt.Fprintln(w, body)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", m.route("/health", func(w http.ResponseWriter, _ *http.Request) { text(w, http.StatusOK, "ok") }))
	mux.HandleFunc("GET /ready", m.route("/ready", func(w http.ResponseWriter, _ *http.Request) {
		if broken {
			text(w, http.StatusServiceUnavailable, "not ready: this build is deliberately broken")
			return
		}
		text(w, http.StatusOK, "ready")
	}))
	mux.HandleFunc("GET /version", m.route("/version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"version": version, "pod": pod})
	}))
	mux.HandleFunc("GET /{$}", m.route("/", func(w http.ResponseWriter, r *http.Request) {
		if degraded.delay > 0 {
			select {
			case <-time.After(degraded.delay):
			case <-r.Context().Done():
				return
			}
		}
		if fail.next() {
			text(w, http.StatusInternalServerError, "this build is deliberately degraded")
			return
		}
		text(w, http.StatusOK, fmt.Sprintf("slipway demo app %s on pod %s", version, pod))
	}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
