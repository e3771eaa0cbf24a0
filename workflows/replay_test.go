package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays real releases recorded against the dev server and the local cluster. A
// change to workflow code that would break a running release fails here: guard it with workflow.GetVersion.
// Histories are kept per generation of the workflow code, never overwritten: workflows/testdata/histories/
// v1-spine (before the scan stage), v2-scan (with it), v3-promote (with the push and sign stages) and
// v4-people (with the approval gate and Slack notifications), v5-compliance (with the compliance stage),
// v6-late-tags (floating tags moved after verify), v7-unsign (a failed release removes its signature) and
// v8-rollback-notify (rollbacks post to Slack; `make record-histories` refreshes this one). A change that needs a GetVersion starts a new directory and
// points the Makefile's HISTORIES at it.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*/*.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 6, "recorded histories missing: run make record-histories")
	for _, gen := range []string{"v1-spine", "v2-scan", "v3-promote", "v4-people", "v5-compliance", "v6-late-tags", "v7-unsign", "v8-rollback-notify"} {
		n, err := filepath.Glob(filepath.Join("testdata/histories", gen, "*.json"))
		require.NoError(t, err)
		require.NotEmpty(t, n, "no recorded history of generation %s", gen)
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			fh, err := os.Open(f)
			require.NoError(t, err)
			defer fh.Close()
			history, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			require.NoError(t, err)

			// The workflows check their own ID, so replay under the ID the release ran as; it follows from the
			// spec in the input (release and rollback inputs both carry it).
			started := history.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
			var in struct {
				Spec struct {
					App          struct{ Name string }
					Environments struct{ Production struct{ Namespace string } }
				}
			}
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &in))
			id := WorkflowID(in.Spec.App.Name, in.Spec.Environments.Production.Namespace)

			r := worker.NewWorkflowReplayer()
			Register(r)
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(quietSuite().GetLogger(), history,
				worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: id, RunID: "replay"}}))
		})
	}
}
