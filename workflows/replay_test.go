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

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// historiesDir holds the one recorded generation.
const historiesDir = "testdata/histories/v1"

// TestReplayRecordedHistories replays real releases and rollbacks recorded against the dev server and the
// local cluster (`make record-histories`, from tests/integration). A change to workflow code that would break
// a recorded run fails here. Nothing has shipped, so there is one generation (v1) and no workflow.GetVersion:
// a deliberate change to a workflow re-records it. Once a release of Slipway runs anywhere, a change to a
// workflow that can be in flight is guarded with GetVersion instead and its histories kept (docs/workflows.md).
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 6, "recorded histories missing in %s: run make record-histories", historiesDir)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
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
			id := releaseapi.WorkflowID(in.Spec.App.Name, in.Spec.Environments.Production.Namespace)

			r := worker.NewWorkflowReplayer()
			Register(r)
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(quietSuite().GetLogger(), history,
				worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: id, RunID: "replay"}}))
		})
	}
}
