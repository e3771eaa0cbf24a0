//go:build integration

package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vektagraf/slipway/internal/localpods"
)

// startPrometheus runs Debian's Prometheus (scripts/tools.sh prometheus installs it) on a free loopback port,
// scraping the targets runner writes every second, and returns its URL once it is ready. It stops with ctx.
func startPrometheus(ctx context.Context, repo, work string, runner *localpods.Runner) (string, error) {
	out, err := run(repo, nil, "scripts/tools.sh", "path", "prometheus")
	if err != nil {
		return "", err
	}
	targets := filepath.Join(work, "scrape-targets.json")
	go func() { _ = runner.WriteScrapeTargets(ctx, targets) }()
	config := filepath.Join(work, "prometheus.yml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pods
    file_sd_configs:
      - files: [%q]
        refresh_interval: 1s
`, targets), 0o644); err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.Create(filepath.Join(work, "prometheus.log"))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, lastLine(out), "--config.file="+config, "--storage.tsdb.path="+filepath.Join(work, "prometheus"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start prometheus: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	url := "http://" + addr
	deadline := time.After(30 * time.Second)
	for {
		if resp, err := http.Get(url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, nil
			}
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("prometheus exited before it was ready: %v (log %s)", err, logf.Name())
		case <-deadline:
			return "", fmt.Errorf("prometheus not ready after 30s (log %s)", logf.Name())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
