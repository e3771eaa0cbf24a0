//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/releases"
	"github.com/vektagraf/slipway/internal/spec"
)

// starter runs the starter binary against this test's Temporal server, as CI would.
func starter(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(h.bin, "starter"), args...)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+h.hostPort, "SLIPWAY_WEB_UI=http://127.0.0.1:8233",
		"SLIPWAY_TASK_QUEUE="+inProcessQueue)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), out.String(), errOut.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errOut.String()
}

// requireNoWorkflow checks that nothing was started under the app's workflow ID.
func requireNoWorkflow(t *testing.T, app, ns string) {
	t.Helper()
	_, err := h.temporal.DescribeWorkflowExecution(context.Background(), releaseapi.WorkflowID(app, ns), "")
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "a workflow was started for %s/%s", app, ns)
}

func TestStarterRefusesBadInputBeforeStartingAnything(t *testing.T) {
	demo, err := os.ReadFile(filepath.Join(h.repo, "examples/demo/slipway.yaml"))
	require.NoError(t, err)
	base := strings.NewReplacer("demo-production", "badinput-production", "127.0.0.1:5001/", h.registry+"/").Replace(string(demo))
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "slipway.yaml")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	cases := []struct {
		name, spec, version string
		want                []string
	}{
		{"unknown field", strings.Replace(base, "  port: 8080", "  port: 8080\n  prots: 80", 1), "v1.0.0",
			[]string{"container.prots", "unknown field"}},
		{"bad app name", strings.Replace(base, "name: demo-app", "name: Demo_App", 1), "v1.0.0",
			[]string{"app.name"}},
		{"injection in version", base, `1.2.3"}}]}}`, []string{"--version"}},
		{"shell in version", base, "$(id)", []string{"--version"}},
		{"image ref with spaces", strings.Replace(base, "/slipway/demo-app", "/slipway/demo app", 1), "v1.0.0",
			[]string{"image.repository"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := starter(t, "release", "--spec", write(tc.spec), "--version", tc.version)
			require.Equal(t, 2, code, "stdout: %s\nstderr: %s", stdout, stderr)
			for _, w := range tc.want {
				require.Contains(t, stderr, w)
			}
			require.Contains(t, stderr, "nothing was started")
			requireNoWorkflow(t, "demo-app", "badinput-production")
			requireNoWorkflow(t, "Demo_App", "badinput-production")
		})
	}
}

func TestSecondStartAttachesOrIsRefusedAndAbortRollsBack(t *testing.T) {
	s := appSpec(t, "conflict")
	prod := s.Environments.Production.Namespace
	_, _, err := release(t, h.releases, s, "v1.0.0")
	require.NoError(t, err)

	// v1.1.0 parks in its scale-down delay (traffic already on green), so it is running for what follows.
	s.BlueGreen.ScaleDownDelay = spec.Duration(10 * time.Minute)
	ctx := deadline(t, 3*time.Minute)
	pushDemo(t, "v1.1.0")
	run, err := h.releases.StartRelease(ctx, releaseapi.ReleaseInput{Spec: s, Version: "v1.1.0"})
	require.NoError(t, err)
	waitForStage(t, run, releaseapi.StageScaleDownOld)
	require.Equal(t, "green", selectorColor(t, prod, "demo-app-active"))

	again, err := h.releases.StartRelease(ctx, releaseapi.ReleaseInput{Spec: s, Version: "v1.1.0"})
	require.NoError(t, err)
	require.True(t, again.Attached)
	require.Equal(t, run.RunID, again.RunID)

	_, err = h.releases.StartRelease(ctx, releaseapi.ReleaseInput{Spec: s, Version: "v1.2.0"})
	var conflict *releases.ConflictError
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, "v1.1.0", conflict.Version)
	require.Contains(t, err.Error(), "another release v1.1.0 is running as workflow "+run.ID)
	_, err = h.releases.StartRollback(ctx, releaseapi.RollbackInput{Spec: s})
	require.ErrorAs(t, err, &conflict)

	// The same through the starter binary, with its exit codes.
	specFile := filepath.Join(t.TempDir(), "slipway.yaml")
	demo, err := os.ReadFile(filepath.Join(h.repo, "examples/demo/slipway.yaml"))
	require.NoError(t, err)
	text := strings.NewReplacer("demo-production", prod, "demo-staging", s.Environments.Staging.Namespace, "127.0.0.1:5001/", h.registry+"/").Replace(string(demo))
	require.NoError(t, os.WriteFile(specFile, []byte(text), 0o644))
	code, stdout, stderr := starter(t, "release", "--spec", specFile, "--version", "v1.1.0")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "attached to running release v1.1.0")
	require.Contains(t, stdout, run.RunID)
	code, _, stderr = starter(t, "release", "--spec", specFile, "--version", "v1.2.0")
	require.Equal(t, 3, code, stderr)
	require.Contains(t, stderr, "another release v1.1.0 is running")

	code, stdout, stderr = starter(t, "abort", "--spec", specFile, "--reason", "wrong build", "--actor", "alice")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "abort sent")

	var res releaseapi.ReleaseResult
	err = h.releases.Follow(ctx, run, &res, nil)
	recordHistory(t, run, "release-aborted")
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err), "%v", err)
	require.Contains(t, err.Error(), "aborted by alice: wrong build (during scale-down-old)")
	require.Equal(t, "blue", selectorColor(t, prod, "demo-app-active"))
	// green was created by the aborted release, so it is gone: no rollback can bring the aborted build back.
	_, err = h.cs.AppsV1().Deployments(prod).Get(context.Background(), "demo-app-green", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "%v", err)
	require.Equal(t, int32(2), deploymentOf(t, prod, "demo-app-blue").Replicas)
}

// waitForStage follows the run's status until the stage is running (bounded).
func waitForStage(t *testing.T, run releases.Run, stage string) {
	t.Helper()
	ctx := deadline(t, 2*time.Minute)
	for {
		st, err := h.releases.Status(ctx, run.ID, run.RunID)
		if err == nil {
			for _, s := range st.Stages {
				if s.Name == stage && s.State == releaseapi.StateRunning {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stage %s never started: %+v (%v)", stage, st, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
