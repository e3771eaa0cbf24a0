package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, string(body)
}

func TestGoodVersionIsHealthy(t *testing.T) {
	h := newHandler("v1.0.0", "demo-blue-abc")
	for path, want := range map[string]string{"/health": "ok", "/ready": "ready", "/": "slipway demo app v1.0.0 on pod demo-blue-abc"} {
		code, body := get(t, h, path)
		assert.Equal(t, http.StatusOK, code, path)
		assert.Contains(t, body, want, path)
	}
	code, body := get(t, h, "/version")
	require.Equal(t, http.StatusOK, code)
	var v map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	assert.Equal(t, map[string]string{"version": "v1.0.0", "pod": "demo-blue-abc"}, v)

	code, _ = get(t, h, "/nope")
	assert.Equal(t, http.StatusNotFound, code)
}

func TestBrokenVersionIsAliveButNeverReady(t *testing.T) {
	h := newHandler("v1.1.0-broken", "demo-green-xyz")
	code, body := get(t, h, "/ready")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "not ready: this build is deliberately broken")
	code, body = get(t, h, "/health")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "ok")
	code, body = get(t, h, "/version") // still says which build is there
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"version":"v1.1.0-broken"`)
}

func TestIsBroken(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.1.0-broken":      true,
		"1.1.0-broken":       true,
		"2.0.0-rc.1.broken":  true,
		"v1.1.0-brokenish.2": true,
		"v1.0.0":             false,
		"v1.1.0-rc.1":        false,
		"v1.1.0+broken":      false, // build metadata, not pre-release
		"broken":             false,
		"":                   false,
	} {
		assert.Equal(t, want, isBroken(v), v)
	}
}

func TestDegradedVersionFailsItsShareOfTrafficButStaysReady(t *testing.T) {
	h := newHandler("v1.4.0-errors20", "demo-green-abc")
	failed := 0
	for range 100 {
		code, _ := get(t, h, "/")
		if code == http.StatusInternalServerError {
			failed++
		} else {
			require.Equal(t, http.StatusOK, code)
		}
	}
	assert.Equal(t, 20, failed, "exactly 20 of 100 requests fail")
	for _, path := range []string{"/health", "/ready"} {
		code, _ := get(t, h, path)
		assert.Equal(t, http.StatusOK, code, "%s stays healthy: only traffic shows the damage", path)
	}
	_, metrics := get(t, h, "/metrics")
	assert.Contains(t, metrics, `http_requests_total{code="500",path="/"} 20`)
	assert.Contains(t, metrics, `http_requests_total{code="200",path="/"} 80`)
	assert.Contains(t, metrics, `http_request_duration_seconds_count{path="/"} 100`)
}

func TestDegradationIsReadFromThePreRelease(t *testing.T) {
	for version, want := range map[string]degradation{
		"v1.0.0":                 {},
		"v1.4.0-errors20":        {errorPercent: 20},
		"v1.4.0-rc.1.errors5":    {errorPercent: 5},
		"v1.4.0-slow300":         {delay: 300 * time.Millisecond},
		"v1.4.0-errors10.slow50": {errorPercent: 10, delay: 50 * time.Millisecond},
		"v1.4.0+errors20":        {},
		"v1.4.0-myerrors20":      {},
		"v1.4.0-errors500":       {errorPercent: 100},
	} {
		assert.Equal(t, want, degradationOf(version), version)
	}
}

func TestHealthyVersionServesMetricsWithoutFailures(t *testing.T) {
	h := newHandler("v1.0.0", "demo-blue-abc")
	for range 10 {
		code, _ := get(t, h, "/")
		require.Equal(t, http.StatusOK, code)
	}
	_, metrics := get(t, h, "/metrics")
	assert.Contains(t, metrics, `http_requests_total{code="200",path="/"} 10`)
	assert.NotContains(t, metrics, `code="500"`)
}
