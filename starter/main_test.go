package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// demoSpec is the example spec the tests run against, so they also check the spec the project ships.
const demoSpec = "../examples/demo/slipway.yaml"

// runStarter runs the command with Temporal pointed at a port where nothing listens: a test that expects exit
// code 2 therefore also proves that bad input was refused before any connection was tried (that would be 4).
func runStarter(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeSpec writes the demo spec, changed by edit, to a temporary file and returns its path, for tests of a
// spec that is wrong in one way.
func writeSpec(t *testing.T, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(demoSpec)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "slipway.yaml")
	require.NoError(t, os.WriteFile(p, []byte(edit(string(b))), 0o644))
	return p
}

// TestBadInputExitsTwoBeforeConnecting: every kind of bad input (no or an unknown command, a missing or
// unsafe version, a broken spec, a bad image flag, a missing reason, a stray argument) exits 2 with a message
// naming the problem, before any connection (runStarter points Temporal nowhere: that would be 4).
func TestBadInputExitsTwoBeforeConnecting(t *testing.T) {
	same := func(s string) string { return s }
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no command", nil, []string{"usage: starter"}},
		{"unknown command", []string{"deploy"}, []string{`unknown command "deploy"`}},
		{"missing version", []string{"release", "--spec", demoSpec}, []string{"--version: required"}},
		{"json injection in version", []string{"release", "--spec", demoSpec, "--version", `1.2.3"}}]}}`}, []string{"--version", "nothing was started"}},
		{"shell in version", []string{"release", "--spec", demoSpec, "--version", "$(id)"}, []string{"--version", `"$(id)"`}},
		{"build metadata in version", []string{"release", "--spec", demoSpec, "--version", "v1.2.3+build.1"}, []string{"--version"}},
		{"missing spec file", []string{"release", "--spec", "nope.yaml", "--version", "v1.0.0"}, []string{"nope.yaml"}},
		{"unknown field", []string{"release", "--version", "v1.0.0", "--spec", writeSpec(t, func(s string) string {
			return strings.Replace(s, "  port: 8080", "  port: 8080\n  replicas: 3", 1)
		})}, []string{"container.replicas: unknown field"}},
		{"bad type with line", []string{"release", "--version", "v1.0.0", "--spec", writeSpec(t, func(s string) string {
			return strings.Replace(s, "  port: 8080", "  port: eighty", 1)
		})}, []string{fmt.Sprintf("slipway.yaml:%d: container.port: want an integer", lineOf(t, demoSpec, "  port: 8080"))}},
		{"image with tag", []string{"release", "--version", "v1.0.0", "--spec", writeSpec(t, func(s string) string {
			return strings.Replace(s, "/slipway/demo-app ", "/slipway/demo-app:latest ", 1)
		})}, []string{"image.repository"}},
		{"expired ignore", []string{"release", "--version", "v1.0.0", "--spec", writeSpec(t, withExpiredIgnore)},
			[]string{"scan.ignore[0]: CVE-2099-0001 expired on 2020-01-01; remove it or extend it with a new reason", "nothing was started"}},
		{"image layout missing", []string{"release", "--spec", demoSpec, "--version", "v1.0.0", "--image-layout", "/nonexistent/oci"},
			[]string{"--image-layout: image layout /nonexistent/oci", "nothing was started"}},
		{"layout and tarball", []string{"release", "--spec", demoSpec, "--version", "v1.0.0", "--image-layout", "a", "--image-tarball", "b"},
			[]string{"give at most one"}},
		{"abort without reason", []string{"abort", "--spec", writeSpec(t, same)}, []string{"--reason: required"}},
		{"stray argument", []string{"status", "--spec", demoSpec, "extra"}, []string{`unexpected argument "extra"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runStarter(t, tc.args...)
			require.Equal(t, exitUsage, code, stderr)
			for _, w := range tc.want {
				require.Contains(t, stderr, w)
			}
		})
	}
}

// lineOf is the 1-based number of the first line of file that equals line.
func lineOf(t *testing.T, file, line string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	for i, l := range strings.Split(string(data), "\n") {
		if l == line {
			return i + 1
		}
	}
	t.Fatalf("%s has no line %q", file, line)
	return 0
}

// withExpiredIgnore adds an ignore that expired in 2020 to the demo spec's scan section.
func withExpiredIgnore(s string) string {
	return strings.Replace(s, "scan:\n", "scan:\n  ignore:\n    - {id: CVE-2099-0001, reason: accepted in 2019, expires: 2020-01-01}\n", 1)
}

// TestExpiredIgnoreDoesNotBlockStatusAbortOrRollback: a lapsed exception stops new releases, not the commands
// that look at or undo one; they get past validation and fail only at connecting (exit 4).
func TestExpiredIgnoreDoesNotBlockStatusAbortOrRollback(t *testing.T) {
	spec := writeSpec(t, withExpiredIgnore)
	for _, args := range [][]string{
		{"status", "--spec", spec}, {"abort", "--spec", spec, "--reason", "r"}, {"rollback", "--spec", spec},
	} {
		code, _, stderr := runStarter(t, args...)
		require.Equal(t, exitError, code, "%v: %s", args, stderr)
		require.Contains(t, stderr, "connect to Temporal", args)
	}
}

// TestUnreachableTemporalIsExitFour: when Temporal cannot be reached the exit code is 4 and the message
// names the address tried.
func TestUnreachableTemporalIsExitFour(t *testing.T) {
	code, _, stderr := runStarter(t, "status", "--spec", demoSpec)
	require.Equal(t, exitError, code, stderr)
	require.Contains(t, stderr, "127.0.0.1:1")
}
