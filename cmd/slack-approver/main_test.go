package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/slackapprove"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFlagErrors(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users.json")
	require.NoError(t, os.WriteFile(users, []byte(`{"U123": "alice@example.com"}`), 0o600))
	secretFile := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("s3cret\n"), 0o600))
	emptyFile := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(emptyFile, nil, 0o600))
	withSecret := map[string]string{"SLIPWAY_SLACK_SIGNING_SECRET": "s3cret"}

	for name, c := range map[string]struct {
		args   []string
		env    map[string]string
		status int
		want   string
	}{
		"unknown flag":          {args: []string{"--port", "1"}, env: withSecret, status: 2, want: "flag provided but not defined: -port"},
		"argument":              {args: []string{"--users", users, "extra"}, env: withSecret, status: 2, want: `unexpected argument "extra"`},
		"no users":              {env: withSecret, status: 2, want: "--users (or SLIPWAY_SLACK_USERS): required"},
		"no secret":             {args: []string{"--users", users}, status: 2, want: "no signing secret"},
		"both secrets":          {args: []string{"--users", users, "--signing-secret-file", secretFile}, env: withSecret, status: 2, want: "not both"},
		"bad path":              {args: []string{"--users", users, "--path", "slack"}, env: withSecret, status: 2, want: "want an absolute URL path"},
		"secret file missing":   {args: []string{"--users", users, "--signing-secret-file", filepath.Join(dir, "nope")}, status: 1, want: "signing secret file"},
		"secret file empty":     {args: []string{"--users", users}, env: map[string]string{"SLIPWAY_SLACK_SIGNING_SECRET_FILE": emptyFile}, status: 1, want: "is empty"},
		"users file missing":    {args: []string{"--users", filepath.Join(dir, "nope.json")}, env: withSecret, status: 1, want: "user map"},
		"help":                  {args: []string{"--help"}, status: 0, want: "-signing-secret-file"},
		"addr empty from flags": {args: []string{"--users", users, "--addr", ""}, env: withSecret, status: 2, want: "--addr: required"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			status := run(context.Background(), c.args, envOf(c.env), &stderr)
			require.Equal(t, c.status, status, stderr.String())
			require.Contains(t, stderr.String(), c.want)
			require.NotContains(t, stderr.String(), "s3cret", "the secret is never printed")
		})
	}
}

func TestSettings(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("  s3cret\n"), 0o600))
	s, err := parseSettings([]string{"--users", "u.json"}, envOf(map[string]string{
		"SLIPWAY_SLACK_SIGNING_SECRET_FILE": secretFile, "SLIPWAY_SLACK_ADDR": ":9000"}), io.Discard)
	require.NoError(t, err)
	require.Equal(t, settings{addr: ":9000", path: "/slack/interactions", usersPath: "u.json", secret: "s3cret"}, s)

	s, err = parseSettings([]string{"--addr", "127.0.0.1:1", "--path", "/hooks/slack"}, envOf(map[string]string{
		"SLIPWAY_SLACK_SIGNING_SECRET": "s3cret", "SLIPWAY_SLACK_USERS": "users.yaml", "SLIPWAY_SLACK_ADDR": ":9000"}), io.Discard)
	require.NoError(t, err)
	require.Equal(t, settings{addr: "127.0.0.1:1", path: "/hooks/slack", usersPath: "users.yaml", secret: "s3cret"}, s)
}

type approveAll struct{ calls int }

func (a *approveAll) Decide(context.Context, slackapprove.Decision) (slackapprove.Outcome, error) {
	a.calls++
	return slackapprove.Outcome{}, nil
}

// The mux routes the endpoint and /healthz; the endpoint is the signature-checking handler.
func TestMux(t *testing.T) {
	d := &approveAll{}
	h := &slackapprove.Handler{SigningSecret: "s3cret", Users: slackapprove.UserMap{}, Decider: d,
		Log: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(newMux("/slack/interactions", h))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok\n", string(b))

	resp, err = http.Get(srv.URL + "/slack/interactions")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	body := "payload=%7B%7D"
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/slack/interactions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, post("v0="+strings.Repeat("0", 64)))
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write([]byte("v0:" + ts + ":" + body))
	require.Equal(t, http.StatusOK, post("v0="+hex.EncodeToString(m.Sum(nil))), "signed, an interaction of no interest")
	require.Zero(t, d.calls)

	resp, err = http.Get(srv.URL + "/other")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
