package releases

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

func demoInput(t *testing.T, version string) releaseapi.ReleaseInput {
	t.Helper()
	s, err := spec.Load("../../examples/demo/slipway.yaml")
	require.NoError(t, err)
	return releaseapi.ReleaseInput{Spec: *s, Version: version}
}

// running describes a run of the app's workflow ID whose memo says kind and version.
func running(t *testing.T, runID, kind, version string) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	memo := map[string]*commonpb.Payload{}
	for k, v := range map[string]string{releaseapi.MemoKind: kind, releaseapi.MemoVersion: version} {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		require.NoError(t, err)
		memo[k] = p
	}
	wfType := releaseapi.ReleaseWorkflowName
	if kind == "rollback" {
		wfType = releaseapi.RollbackWorkflowName
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Type:      &commonpb.WorkflowType{Name: wfType},
		Execution: &commonpb.WorkflowExecution{WorkflowId: "slipway.demo-app.demo-production", RunId: runID},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		Memo:      &commonpb.Memo{Fields: memo},
	}}
}

func TestStartReleaseSetsTheLockAndMemo(t *testing.T) {
	tc := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	run.On("GetRunID").Return("run-1")
	var opts client.StartWorkflowOptions
	tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, releaseapi.ReleaseWorkflowName, mock.Anything).
		Run(func(args mock.Arguments) { opts = args.Get(1).(client.StartWorkflowOptions) }).Return(run, nil)
	c := &Client{Temporal: tc, WebUI: "http://ui"}

	got, err := c.StartRelease(context.Background(), demoInput(t, "v1.2.3"))
	require.NoError(t, err)
	require.Equal(t, Run{ID: "slipway.demo-app.demo-production", RunID: "run-1",
		URL: "http://ui/namespaces/default/workflows/slipway.demo-app.demo-production/run-1/history"}, got)
	require.Equal(t, "slipway.demo-app.demo-production", opts.ID)
	require.Equal(t, releaseapi.TaskQueue, opts.TaskQueue)
	require.True(t, opts.WorkflowExecutionErrorWhenAlreadyStarted, "a running release must not be joined silently")
	require.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, opts.WorkflowIDConflictPolicy)
	require.Equal(t, map[string]any{releaseapi.MemoKind: "release", releaseapi.MemoVersion: "v1.2.3"}, opts.Memo)
	require.Equal(t, "release v1.2.3 of demo-app", opts.StaticSummary, "the Web UI's one-line summary")
}

func TestSecondStartAttachesToTheSameVersionAndRefusesAnother(t *testing.T) {
	already := serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run-1")
	cases := []struct {
		name, kind, runningVersion, version string
		attach                              bool
	}{
		{"CI retry of the same version attaches", "release", "v1.2.3", "v1.2.3", true},
		{"another version is refused", "release", "v1.2.3", "v1.3.0", false},
		{"a running rollback refuses a release", "rollback", "", "v1.2.3", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			temporalClient := &mocks.Client{}
			temporalClient.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, already)
			temporalClient.On("DescribeWorkflowExecution", mock.Anything, "slipway.demo-app.demo-production", "").
				Return(running(t, "run-1", tc.kind, tc.runningVersion), nil)
			c := &Client{Temporal: temporalClient}

			got, err := c.StartRelease(context.Background(), demoInput(t, tc.version))
			if tc.attach {
				require.NoError(t, err)
				require.Equal(t, Run{ID: "slipway.demo-app.demo-production", RunID: "run-1", Attached: true}, got)
				return
			}
			var conflict *ConflictError
			require.ErrorAs(t, err, &conflict)
			require.Equal(t, tc.kind, conflict.Kind)
			require.Equal(t, "run-1", conflict.RunID)
			require.Contains(t, err.Error(), "another "+tc.kind)
		})
	}
}

func TestBadInputNeverReachesTemporal(t *testing.T) {
	temporalClient := &mocks.Client{} // no expectations: any call fails the test
	c := &Client{Temporal: temporalClient}
	_, err := c.StartRelease(context.Background(), demoInput(t, "$(id)"))
	require.ErrorContains(t, err, `version: version "$(id)" is not accepted`)
	temporalClient.AssertExpectations(t)
}

func TestAbortKnowsAReleaseStartedWithoutTheStarter(t *testing.T) {
	desc := running(t, "run-1", "release", "")
	desc.WorkflowExecutionInfo.Memo = nil // `temporal workflow start` sets no memo
	temporalClient := &mocks.Client{}
	temporalClient.On("DescribeWorkflowExecution", mock.Anything, "slipway.demo-app.demo-production", "").Return(desc, nil)
	temporalClient.On("SignalWorkflow", mock.Anything, "slipway.demo-app.demo-production", "run-1", releaseapi.SignalAbort,
		releaseapi.AbortRequest{Reason: "wrong build", By: "alice"}).Return(nil)
	c := &Client{Temporal: temporalClient}
	run, err := c.Abort(context.Background(), "slipway.demo-app.demo-production", releaseapi.AbortRequest{Reason: "wrong build", By: "alice"})
	require.NoError(t, err)
	require.Equal(t, "run-1", run.RunID)
	temporalClient.AssertExpectations(t)
}

func TestAbortRefusesARollback(t *testing.T) {
	temporalClient := &mocks.Client{}
	temporalClient.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(running(t, "run-2", "rollback", ""), nil)
	c := &Client{Temporal: temporalClient}
	_, err := c.Abort(context.Background(), "slipway.demo-app.demo-production", releaseapi.AbortRequest{Reason: "x"})
	require.ErrorContains(t, err, "is a rollback, which cannot be aborted")
}
