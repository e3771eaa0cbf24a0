// Command localpods stands in for the kubelet and for Service routing on the local KWOK cluster, whose pods
// run no process: it runs a local program for every Running pod of a known image and serves the API
// server's service-proxy URLs, forwarding to those programs. See internal/localpods and
// docs/local-cluster.md.
//
//	localpods --kubeconfig ~/.cache/slipway/cluster/kubeconfig \
//	    --program localhost/slipway/demo-app=bin/demoapp --addr-file /tmp/localpods.addr
//	curl http://$(cat /tmp/localpods.addr)/api/v1/namespaces/prod/services/demo:8080/proxy/version
//
// Once the informer caches have synced it prints the address it listens on (host:port) on stdout and
// writes it to --addr-file, so a script can wait for the file. SIGINT or SIGTERM stop every child, then
// localpods exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vektagraf/slipway/internal/fsutil"
	"github.com/vektagraf/slipway/internal/localpods"
)

// listFlag collects a repeatable flag; each value may also be a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localpods:", err)
		os.Exit(1)
	}
}

func run() error {
	var programs, namespaces listFlag
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	listen := flag.String("listen", "127.0.0.1:0", "address of the routing HTTP server")
	addrFile := flag.String("addr-file", "", "write the routing server's address (host:port) to this file once ready")
	targets := flag.String("scrape-targets", "", "keep a Prometheus file_sd file of the pods' loopback addresses (with namespace, pod, app, color and version labels) here")
	grace := flag.Duration("grace", localpods.DefaultGracePeriod, "time between SIGTERM and SIGKILL when stopping a child")
	level := flag.String("log-level", "info", "debug, info, warn or error")
	flag.Var(&programs, "program", "REPO=PATH: run PATH for pods whose image repository is REPO (repeatable)")
	flag.Var(&namespaces, "namespace", "watch only this namespace (repeatable; default all)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	progs := map[string]string{}
	for _, p := range programs {
		repo, path, ok := strings.Cut(p, "=")
		if !ok || repo == "" || path == "" {
			return fmt.Errorf("--program %q: want REPO=PATH", p)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		if st, err := os.Stat(abs); err != nil {
			return fmt.Errorf("--program %q: %w", p, err)
		} else if st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("--program %q: %s is not an executable file", p, abs)
		}
		progs[repo] = abs
	}
	if len(progs) == 0 {
		logger.Warn("no --program given: no pod will get a process and every Service answers 503")
	}

	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r := localpods.New(client, progs, logger)
	r.Namespaces = namespaces
	r.GracePeriod = *grace

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx) }()

	syncCtx, cancelSync := context.WithTimeout(ctx, 2*time.Minute)
	err = r.WaitForSync(syncCtx)
	cancelSync()
	if err != nil {
		stop()
		<-runErr
		return err
	}
	if *targets != "" {
		go func() {
			if err := r.WriteScrapeTargets(ctx, *targets); err != nil {
				logger.Error("scrape targets not written", "file", *targets, "error", err)
			}
		}()
	}
	addr := ln.Addr().String()
	if *addrFile != "" {
		if err := fsutil.WriteFileAtomic(*addrFile, []byte(addr+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(addr)
	logger.Info("serving", "addr", addr, "programs", progs, "namespaces", []string(namespaces))

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		logger.Error("http server failed", "err", err)
	case err := <-runErr:
		_ = srv.Close()
		return err
	}
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *grace+5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err := r.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("stopping children: %w", err)
	}
	if *addrFile != "" {
		_ = os.Remove(*addrFile)
	}
	return <-runErr
}
