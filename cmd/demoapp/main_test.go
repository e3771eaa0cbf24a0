package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

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
