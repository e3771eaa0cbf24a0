package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestComplianceCommand: the local compliance command passes the demo spec with a pinned, scanned, signed
// image, fails without that evidence and with a writable root filesystem, naming the rules, and a waiver
// turns the failure into a warning (--json).
func TestComplianceCommand(t *testing.T) {
	pinned := "127.0.0.1:5001/slipway/demo-app:v1.0.0@sha256:" + strings.Repeat("a", 64)
	code, stdout, stderr := runStarter(t, "compliance", "--spec", demoSpec, "--image", pinned, "--scanned", "--signed")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "SEC-004  passed")
	require.Contains(t, stdout, "passed: all 13 rules passed")

	// Without the evidence a release brings (digest, scan), the local run fails and says why.
	code, stdout, _ = runStarter(t, "compliance", "--spec", demoSpec)
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, "SEC-007  failed")
	require.Contains(t, stdout, "SEC-008  failed")

	writable := writeSpec(t, func(s string) string {
		return strings.Replace(s, "    readOnlyRootFilesystem: true\n", "", 1)
	})
	code, stdout, _ = runStarter(t, "compliance", "--spec", writable, "--image", pinned, "--scanned", "--signed")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, "failed: SEC-004 read-only root filesystem")

	waived := writeSpec(t, func(s string) string {
		s = strings.Replace(s, "    readOnlyRootFilesystem: true\n", "", 1)
		return strings.Replace(s, "compliance:\n", "compliance:\n  waivers:\n    - {rule: SEC-004, reason: cache in /tmp until JIRA-1, expires: 2999-01-01}\n", 1)
	})
	code, stdout, stderr = runStarter(t, "compliance", "--spec", waived, "--image", pinned, "--scanned", "--signed", "--json")
	require.Equal(t, exitOK, code, stderr)
	var report struct {
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &report))
	require.Equal(t, "warning", report.Status)
}
