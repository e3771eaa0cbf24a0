package slackapprove

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

type fakeUpdateClient struct {
	opts      []client.UpdateWorkflowOptions
	updateErr error
	getErr    error
	result    any
}

func (f *fakeUpdateClient) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.opts = append(f.opts, o)
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	return fakeHandle{f}, nil
}

type fakeHandle struct{ f *fakeUpdateClient }

func (fakeHandle) WorkflowID() string { return "w" }
func (fakeHandle) RunID() string      { return "r" }
func (fakeHandle) UpdateID() string   { return "u" }
func (h fakeHandle) Get(_ context.Context, valuePtr any) error {
	if h.f.getErr != nil || valuePtr == nil {
		return h.f.getErr
	}
	b, err := json.Marshal(h.f.result)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, valuePtr)
}

func TestTemporalDeciderSendsTheUpdate(t *testing.T) {
	f := &fakeUpdateClient{result: map[string]any{"approved": true, "by": "alice@example.com", "at": "2026-01-02T03:04:05Z"}}
	out, err := TemporalDecider{Client: f}.Decide(context.Background(), Decision{
		WorkflowID: "release-shop", RunID: "run-1", Approve: true, Approver: "alice@example.com", Comment: "ok", Source: Source})
	require.NoError(t, err)
	require.Equal(t, "Approved by alice@example.com at 2026-01-02T03:04:05Z", out.Message)
	require.Equal(t, []client.UpdateWorkflowOptions{{
		WorkflowID: "release-shop", RunID: "run-1", UpdateName: "approve",
		Args:         []any{releaseapi.ApprovalRequest{By: "alice@example.com", Comment: "ok", Source: "slack"}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}}, f.opts)

	b, err := json.Marshal(releaseapi.ApprovalRequest{By: "alice@example.com", Source: "slack"})
	require.NoError(t, err)
	require.JSONEq(t, `{"by":"alice@example.com","source":"slack"}`, string(b))

	f = &fakeUpdateClient{result: "a result of another shape"}
	out, err = TemporalDecider{Client: f}.Decide(context.Background(), Decision{WorkflowID: "w", RunID: "r", Approver: "bob"})
	require.NoError(t, err)
	require.Equal(t, Outcome{}, out, "the handler's default headline then")
	require.Equal(t, "reject", f.opts[0].UpdateName)
}

func TestTemporalDeciderErrors(t *testing.T) {
	for name, c := range map[string]struct {
		f          *fakeUpdateClient
		wantReason string
	}{
		"validator (plain Go error)": {f: &fakeUpdateClient{getErr: temporal.NewApplicationError("bob is not an approver of this release", "")},
			wantReason: "bob is not an approver of this release"},
		"validator (typed error)": {f: &fakeUpdateClient{getErr: temporal.NewApplicationError("self-approval", "SelfApproval")},
			wantReason: "self-approval"},
		"run finished": {f: &fakeUpdateClient{updateErr: serviceerror.NewNotFound("workflow execution already completed")},
			wantReason: "not running any more"},
		"timeout": {f: &fakeUpdateClient{updateErr: client.NewWorkflowUpdateServiceTimeoutOrCanceledError(context.DeadlineExceeded)}},
		"other":   {f: &fakeUpdateClient{updateErr: serviceerror.NewUnavailable("connection refused")}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := TemporalDecider{Client: c.f}.Decide(context.Background(), Decision{WorkflowID: "w", RunID: "r", Approve: true, Approver: "bob"})
			require.Error(t, err)
			rejected, ok := errors.AsType[*RejectedError](err)
			if c.wantReason == "" {
				require.False(t, ok, "%v", err)
				return
			}
			require.True(t, ok, "%v", err)
			require.Contains(t, rejected.Reason, c.wantReason)
			require.NotContains(t, rejected.Reason, "type:", "the message, without the SDK's decoration")
		})
	}
}
