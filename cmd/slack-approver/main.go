// Command slack-approver is the endpoint of the Slack app's interactivity (Request URL): it receives the
// clicks on a release's Approve and Reject buttons and sends the release run the Temporal update "approve"
// or "reject" as the Slipway identity the user map gives the Slack user.
//
//	slack-approver --addr 127.0.0.1:8089 --users users.json
//
// Settings (a flag wins over its variable):
//
//	--addr                 SLIPWAY_SLACK_ADDR                  listen address (default 127.0.0.1:8089)
//	--path                 SLIPWAY_SLACK_PATH                  path of the endpoint (default /slack/interactions)
//	--users                SLIPWAY_SLACK_USERS                 user map: JSON {"U123": "alice@example.com"}, or YAML (.yaml/.yml)
//	--signing-secret-file  SLIPWAY_SLACK_SIGNING_SECRET_FILE   file holding the app's signing secret
//	                       SLIPWAY_SLACK_SIGNING_SECRET        the signing secret itself (set this or the file, not both)
//
// Temporal is reached as the worker reaches it (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY; internal/config). GET /healthz answers "ok". The server listens on
// plain HTTP: put it behind the TLS-terminating proxy that Slack reaches. SIGINT or SIGTERM stops it after
// the requests in flight and their Slack replies are done. The user map is read at start; restart to
// change it. The signing secret is never logged.
//
// Exit status: 0 stopped by a signal, 1 a runtime error, 2 a bad flag or a missing setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/vektagraf/slipway/internal/config"
	"github.com/vektagraf/slipway/internal/slackapprove"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

// settings is what the flags and the environment say.
type settings struct {
	addr, path string
	usersPath  string
	secret     string
}

// usageError is a bad flag or a missing setting (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// parseSettings reads the flags and the environment, and the signing secret from its variable or file.
func parseSettings(args []string, getenv func(string) string, stderr io.Writer) (settings, error) {
	fs := flag.NewFlagSet("slack-approver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	var secretFile string
	fs.StringVar(&s.addr, "addr", or(getenv("SLIPWAY_SLACK_ADDR"), "127.0.0.1:8089"), "listen address")
	fs.StringVar(&s.path, "path", or(getenv("SLIPWAY_SLACK_PATH"), "/slack/interactions"), "path of the interactivity endpoint")
	fs.StringVar(&s.usersPath, "users", getenv("SLIPWAY_SLACK_USERS"), `user map file: JSON {"U123": "alice@example.com"} or YAML (required)`)
	fs.StringVar(&secretFile, "signing-secret-file", getenv("SLIPWAY_SLACK_SIGNING_SECRET_FILE"),
		"file holding the Slack app's signing secret (or set SLIPWAY_SLACK_SIGNING_SECRET)")
	if err := fs.Parse(args); err != nil {
		return s, usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return s, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	case s.usersPath == "":
		return s, usageError{errors.New("--users (or SLIPWAY_SLACK_USERS): required")}
	case s.addr == "":
		return s, usageError{errors.New("--addr: required")}
	case !strings.HasPrefix(s.path, "/") || strings.ContainsAny(s.path, " {}"):
		return s, usageError{fmt.Errorf("--path %q: want an absolute URL path", s.path)}
	}
	env := getenv("SLIPWAY_SLACK_SIGNING_SECRET")
	switch {
	case env != "" && secretFile != "":
		return s, usageError{errors.New("set SLIPWAY_SLACK_SIGNING_SECRET or the signing secret file, not both")}
	case env == "" && secretFile == "":
		return s, usageError{errors.New("no signing secret: set SLIPWAY_SLACK_SIGNING_SECRET or SLIPWAY_SLACK_SIGNING_SECRET_FILE (--signing-secret-file)")}
	case env != "":
		s.secret = strings.TrimSpace(env)
	default:
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return s, fmt.Errorf("signing secret file: %w", err)
		}
		s.secret = strings.TrimSpace(string(b))
		if s.secret == "" {
			return s, fmt.Errorf("signing secret file %s is empty", secretFile)
		}
	}
	return s, nil
}

// newMux serves the handler on path and GET /healthz.
func newMux(path string, h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(path, h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return mux
}

// run is the command without the process around it: it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	s, err := parseSettings(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "slack-approver:", err)
		if _, ok := errors.AsType[usageError](err); ok {
			return 2
		}
		return 1
	}
	if err := serve(ctx, s, stderr); err != nil {
		fmt.Fprintln(stderr, "slack-approver:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, s settings, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	users, err := slackapprove.LoadUserMap(s.usersPath)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		logger.Warn("the user map is empty: every click will be refused", "users", s.usersPath)
	}

	tcfg := config.FromEnv()
	opts, err := tcfg.ClientOptions(logger)
	if err != nil {
		return err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", tcfg.Address, err)
	}
	defer c.Close()

	h := &slackapprove.Handler{
		SigningSecret: s.secret,
		Users:         users,
		Decider:       slackapprove.TemporalDecider{Client: c},
		Log:           logger,
	}
	srv := &http.Server{
		Handler:           newMux(s.path, h),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	logger.Info("slack-approver listening", "addr", ln.Addr().String(), "path", s.path, "users", len(users),
		"temporal", tcfg.Address, "namespace", tcfg.Namespace)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("slack-approver stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	h.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
