//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/releases"
)

// startWorker runs the worker binary as its own process on a task queue of its own, with more flags if given.
func startWorker(t *testing.T, queue string, flags ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), "worker.log"))
	require.NoError(t, err)
	cmd := exec.Command(filepath.Join(h.bin, "worker"), append([]string{"--kubeconfig", h.kubeconfig, "--task-queue", queue}, flags...)...)
	cmd.Env = append(append(os.Environ(), "TEMPORAL_ADDRESS="+h.hostPort, "SLIPWAY_PROBE_PROXY_URL="+h.proxyURL), h.scanEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("worker log:\n%s", b)
		}
	})
	return cmd
}

// componentPID reads a control-plane component's PID from cluster-up.sh's pids file ("name pid" lines).
func componentPID(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.clusterDir, "pids"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name {
			pid, err := strconv.Atoi(f[1])
			require.NoError(t, err)
			return pid
		}
	}
	t.Fatalf("no %s in %s/pids", name, h.clusterDir)
	return 0
}

// waitForRunningActivity waits until the run has a started attempt of the activity type that has heartbeated,
// i.e. the worker is inside it. Temporal has no event for that, so this polls DescribeWorkflowExecution, with
// a deadline.
func waitForRunningActivity(t *testing.T, run releases.Run, activityType string) {
	t.Helper()
	ctx := deadline(t, time.Minute)
	for {
		desc, err := h.temporal.DescribeWorkflowExecution(ctx, run.ID, run.RunID)
		require.NoError(t, err)
		for _, pa := range desc.GetPendingActivities() {
			if pa.GetActivityType().GetName() == activityType && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED &&
				pa.GetLastHeartbeatTime() != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("activity %s never started and heartbeated", activityType)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestWorkerKilledDuringRolloutWaitFinishesWithoutRepeatingAStage(t *testing.T) {
	s := appSpec(t, "kill")
	const queue = "slipway-kill"
	rc := &releases.Client{Temporal: h.temporal, Namespace: "default", TaskQueue: queue}

	// Freeze the Deployment controller so the staging rollout cannot finish while the worker is killed.
	kcm := componentPID(t, "kube-controller-manager")
	require.NoError(t, syscall.Kill(kcm, syscall.SIGSTOP))
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			require.NoError(t, syscall.Kill(kcm, syscall.SIGCONT))
		}
	}
	t.Cleanup(resume)

	first := startWorker(t, queue)
	ctx := deadline(t, 3*time.Minute)
	pushDemo(t, "v1.0.0")
	run, err := rc.StartRelease(ctx, releaseapi.ReleaseInput{Spec: s, Version: "v1.0.0"})
	require.NoError(t, err)
	waitForRunningActivity(t, run, "WaitRollout")

	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_ = first.Wait()
	startWorker(t, queue)
	resume()

	var res releaseapi.ReleaseResult
	require.NoError(t, rc.Follow(ctx, run, &res, nil))
	recordHistory(t, run, "release-worker-killed")
	require.Equal(t, "blue", res.ActiveColor)

	// History: every activity was scheduled exactly once (no stage ran twice); the rollout wait that was cut
	// short was retried as attempt 2 of the same activity, on the new worker.
	scheduled := map[string]int{}
	attempts := map[int64]int32{} // scheduled event ID -> attempt that completed
	names := map[int64]string{}
	iter := h.temporal.GetWorkflowHistory(ctx, run.ID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := ev.GetActivityTaskScheduledEventAttributes()
			key := a.GetActivityType().GetName() + " " + string(a.GetInput().GetPayloads()[0].GetData())
			scheduled[key]++
			names[ev.GetEventId()] = a.GetActivityType().GetName()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := ev.GetActivityTaskStartedEventAttributes()
			attempts[a.GetScheduledEventId()] = a.GetAttempt()
		}
	}
	require.NotEmpty(t, scheduled)
	for key, n := range scheduled {
		require.Equal(t, 1, n, "scheduled more than once: %s", key)
	}
	retried := 0
	for id, attempt := range attempts {
		if attempt > 1 {
			require.Equal(t, "WaitRollout", names[id], "only the interrupted rollout wait is retried")
			retried++
		}
	}
	require.Equal(t, 1, retried, "the interrupted rollout wait ran again as a retry")

	// The cluster: each Deployment was written once (generation 1) and rolled out once (one ReplicaSet).
	for ns, name := range map[string]string{s.Environments.Staging.Namespace: "demo-app", s.Environments.Production.Namespace: "demo-app-blue"} {
		d, err := h.cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, int64(1), d.Generation, "%s/%s", ns, name)
		rs, err := h.cs.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
		require.NoError(t, err)
		require.Len(t, rs.Items, 1, "%s: one ReplicaSet", ns)
	}
}
