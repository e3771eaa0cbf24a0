package scanners

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vektagraf/slipway/internal/scan"
)

// maxStderrTail is how much of a scanner's stderr an error message quotes (the end, where the cause is).
const maxStderrTail = 4 << 10

// Output is what one successful scanner run produced.
type Output struct {
	Findings []scan.Finding
	// Report is the scanner's JSON output as it printed it, kept next to the merged report so a finding can be
	// traced to what the scanner said.
	Report []byte
	// Info is what the report says of the scanner: its version, and its database's when it records it.
	Info scan.ScannerInfo
	// Note records what went right but unexpectedly: a non-zero exit with a valid report.
	Note string
}

// Run runs b's CLI on t for at most timeout and parses its report. The exit code is only a cross-check: a
// report that parses is used whatever the exit code (Note says so when it was non-zero), and one that does not
// is the scanner's failure. Errors name the scanner and quote the end of its stderr; a timeout is one of them,
// and none is final, since the next attempt may well succeed.
func Run(ctx context.Context, b Backend, t Target, timeout time.Duration) (Output, error) {
	name := b.Name()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	path := b.CLI()
	if path == "" {
		return Output{}, fmt.Errorf("%s: the worker has no path to the %s CLI configured", name, name)
	}
	args, env := b.Command(t)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = t.Path
	if t.Layout {
		cmd.Dir = filepath.Dir(t.Path)
	}
	cmd.Env = environ(env)
	cmd.WaitDelay = 5 * time.Second // a child holding the pipes open must not outlive the timeout by much
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: maxStderrTail}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	runErr := cmd.Run()

	if ctx.Err() == context.DeadlineExceeded {
		return Output{}, fmt.Errorf("%s: timed out after %s%s", name, timeout, stderr.quote())
	}
	findings, info, parseErr := b.Parse(stdout.Bytes())
	if parseErr != nil {
		why := "exit status 0"
		if runErr != nil {
			why = runErr.Error()
		}
		return Output{}, fmt.Errorf("%s: %s, and its output is not a report (%v)%s", name, why, parseErr, stderr.quote())
	}
	out := Output{Findings: findings, Report: stdout.Bytes(), Info: info}
	if runErr != nil {
		out.Note = fmt.Sprintf("%s: %v, but its report is valid and was used", name, runErr)
	}
	return out, nil
}

// keptEnv are the worker's variables the scanners get. Nothing else passes: not TRIVY_* or GRYPE_* (a host's
// severity filter must not change what a release sees), and not the worker's secrets (a Slack token, an env:
// signing key), which a scanner's stderr could otherwise echo into an error.
var keptEnv = []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// environ is the kept part of the worker's environment, plus extra.
func environ(extra []string) []string {
	var env []string
	for _, k := range keptEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

// tailBuffer keeps the last max bytes written to it: a scanner's stderr can be long, and the cause of a
// failure is at its end.
type tailBuffer struct {
	max       int
	buf       []byte
	truncated bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.truncated = true
	}
	return n, nil
}

// quote returns the tail as an error message suffix, or "" when stderr was empty.
func (b *tailBuffer) quote() string {
	s := strings.TrimSpace(string(b.buf))
	if s == "" {
		return ""
	}
	if b.truncated {
		s = "…" + s
	}
	return "; stderr:\n" + s
}
