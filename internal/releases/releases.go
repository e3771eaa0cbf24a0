// Package releases is the client side of Slipway: starting a release or a rollback with the one-at-a-time
// guarantee, following it, querying and aborting it. The starter binary is a thin command line over it, and the
// integration tests drive releases through it exactly as CI does.
package releases

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// Client starts and follows releases. WebUI is the base URL of the Temporal Web UI (for links), Namespace the
// Temporal namespace the client is connected to.
type Client struct {
	Temporal  client.Client
	Namespace string
	WebUI     string
	TaskQueue string
}

// Run identifies one workflow run a command started or attached to.
type Run struct {
	ID       string `json:"workflowId"`
	RunID    string `json:"runId"`
	Attached bool   `json:"attached"`
	URL      string `json:"url"`
}

// ConflictError says another release (or rollback) of the same app and environment is running; starting
// another would race it for the same Deployments and Services.
type ConflictError struct {
	WorkflowID, RunID, Kind, Version, URL string
}

func (e *ConflictError) Error() string {
	what := e.Kind
	if e.Version != "" {
		what += " " + e.Version
	}
	return fmt.Sprintf("another %s is running as workflow %s (run %s, %s): wait for it to finish or abort it (starter abort), then start again",
		what, e.WorkflowID, e.RunID, e.URL)
}

// ErrNotRunning is returned when a command needs a running release and there is none.
var ErrNotRunning = errors.New("no release or rollback is running for this app")

func (c *Client) taskQueue() string {
	if c.TaskQueue != "" {
		return c.TaskQueue
	}
	return releaseapi.TaskQueue
}

// StartRelease validates the input and starts a release. If a release of the same version is already running
// (a CI job retried), it attaches to it instead; any other running release or rollback is a *ConflictError.
func (c *Client) StartRelease(ctx context.Context, in releaseapi.ReleaseInput) (Run, error) {
	p, err := releaseapi.Prepare(in, time.Now())
	if err != nil {
		return Run{}, err
	}
	in.Spec = p.Spec
	id := releaseapi.WorkflowID(in.Spec.App.Name, in.Spec.Environments.Production.Namespace)
	summary := fmt.Sprintf("release %s of %s", in.Version, in.Spec.App.Name)
	if in.Trigger.Actor != "" {
		summary += " by " + in.Trigger.Actor
	}
	return c.start(ctx, id, releaseapi.ReleaseWorkflowName, "release", in.Version, summary, in)
}

// StartRollback validates the spec and starts a rollback; a running rollback is attached to, a running
// release is a *ConflictError (abort it instead: an abort rolls a release back).
func (c *Client) StartRollback(ctx context.Context, in releaseapi.RollbackInput) (Run, error) {
	var err error
	if in.Spec, err = releaseapi.PrepareRollback(in.Spec); err != nil {
		return Run{}, err
	}
	id := releaseapi.WorkflowID(in.Spec.App.Name, in.Spec.Environments.Production.Namespace)
	summary := "rollback of " + in.Spec.App.Name
	if in.Reason != "" {
		summary += ": " + in.Reason
	}
	return c.start(ctx, id, releaseapi.RollbackWorkflowName, "rollback", "", summary, in)
}

func (c *Client) start(ctx context.Context, id, workflowType, kind, version, summary string, input any) (Run, error) {
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		StaticSummary:                            summary,
		TaskQueue:                                c.taskQueue(),
		Memo:                                     map[string]any{releaseapi.MemoKind: kind, releaseapi.MemoVersion: version},
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
	// Two tries: the run that blocked the first may have finished before it could be described.
	for try := 0; ; try++ {
		run, err := c.Temporal.ExecuteWorkflow(ctx, opts, workflowType, input)
		if err == nil {
			return Run{ID: id, RunID: run.GetRunID(), URL: c.URL(id, run.GetRunID())}, nil
		}
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if !errors.As(err, &started) {
			return Run{}, fmt.Errorf("start %s: %w", kind, err)
		}
		running, isRunning, err := c.describe(ctx, id)
		if err != nil {
			return Run{}, err
		}
		if !isRunning {
			if try == 0 {
				continue
			}
			return Run{}, fmt.Errorf("start %s: workflow %s was reported running, then found closed; start again", kind, id)
		}
		if running.Kind == kind && running.Version == version {
			return Run{ID: id, RunID: running.RunID, Attached: true, URL: c.URL(id, running.RunID)}, nil
		}
		running.URL = c.URL(id, running.RunID)
		return Run{}, running
	}
}

// HasWorker says whether any worker polls the task queue, so a caller can warn instead of waiting in silence
// for a release no worker will run.
func (c *Client) HasWorker(ctx context.Context) (bool, error) {
	resp, err := c.Temporal.DescribeTaskQueue(ctx, c.taskQueue(), enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return false, fmt.Errorf("describe task queue %s: %w", c.taskQueue(), err)
	}
	return len(resp.GetPollers()) > 0, nil
}

// describe reads the latest run's kind and version from its memo, and whether it is still running.
func (c *Client) describe(ctx context.Context, id string) (*ConflictError, bool, error) {
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, false, fmt.Errorf("describe running workflow %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	// The kind follows from the workflow type, so a release started with the plain Temporal CLI (no memo) is
	// still a release; the memo only adds the version.
	out := &ConflictError{WorkflowID: id, RunID: info.GetExecution().GetRunId(), Kind: "workflow"}
	switch info.GetType().GetName() {
	case releaseapi.ReleaseWorkflowName:
		out.Kind = "release"
	case releaseapi.RollbackWorkflowName:
		out.Kind = "rollback"
	}
	dc := converter.GetDefaultDataConverter()
	fields := info.GetMemo().GetFields()
	if p, ok := fields[releaseapi.MemoVersion]; ok {
		_ = dc.FromPayload(p, &out.Version)
	}
	return out, info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

// URL links to the run in the Temporal Web UI.
func (c *Client) URL(id, runID string) string {
	if c.WebUI == "" {
		return ""
	}
	ns := c.Namespace
	if ns == "" {
		ns = "default"
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", c.WebUI,
		url.PathEscape(ns), url.PathEscape(id), url.PathEscape(runID))
}

// Status queries a run's status; runID "" means the latest run of the ID.
func (c *Client) Status(ctx context.Context, id, runID string) (releaseapi.Status, error) {
	var st releaseapi.Status
	v, err := c.Temporal.QueryWorkflow(ctx, id, runID, releaseapi.QueryStatus)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return st, fmt.Errorf("workflow %s: no such release or rollback", id)
		}
		return st, fmt.Errorf("query status of %s: %w", id, err)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode status of %s: %w", id, err)
	}
	return st, nil
}

// Abort signals the running release of an app to stop and roll back. A rollback cannot be aborted (stopping it
// halfway would leave traffic between two colors), so an abort aimed at one is refused.
func (c *Client) Abort(ctx context.Context, id string, req releaseapi.AbortRequest) (Run, error) {
	running, isRunning, err := c.describe(ctx, id)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return Run{}, ErrNotRunning
		}
		return Run{}, err
	}
	if !isRunning {
		return Run{}, ErrNotRunning
	}
	if running.Kind != "release" {
		return Run{}, fmt.Errorf("the running workflow %s is a %s, which cannot be aborted: wait for it to finish", id, running.Kind)
	}
	runID := running.RunID
	if err := c.Temporal.SignalWorkflow(ctx, id, runID, releaseapi.SignalAbort, req); err != nil {
		return Run{}, fmt.Errorf("signal abort to %s: %w", id, err)
	}
	return Run{ID: id, RunID: runID, URL: c.URL(id, runID)}, nil
}

// RefusedError is a decision the release's validator refused (not an approver, self-approval, the release
// not waiting for approval); nothing changed.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

// Decide approves or rejects the running release at its approval gate with the approve or reject update, and
// waits for the decision to be recorded. A decision the workflow's validator refuses is a *RefusedError.
func (c *Client) Decide(ctx context.Context, id string, approve bool, req releaseapi.ApprovalRequest) (releaseapi.ApprovalDecision, Run, error) {
	running, isRunning, err := c.describe(ctx, id)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return releaseapi.ApprovalDecision{}, Run{}, ErrNotRunning
		}
		return releaseapi.ApprovalDecision{}, Run{}, err
	}
	if !isRunning || running.Kind != "release" {
		return releaseapi.ApprovalDecision{}, Run{}, ErrNotRunning
	}
	name := releaseapi.UpdateReject
	if approve {
		name = releaseapi.UpdateApprove
	}
	run := Run{ID: id, RunID: running.RunID, URL: c.URL(id, running.RunID)}
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, RunID: running.RunID, UpdateName: name, Args: []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return releaseapi.ApprovalDecision{}, run, fmt.Errorf("%s %s: %w", name, id, err)
	}
	var d releaseapi.ApprovalDecision
	if err := h.Get(ctx, &d); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return releaseapi.ApprovalDecision{}, run, &RefusedError{Reason: appErr.Message()}
		}
		return releaseapi.ApprovalDecision{}, run, fmt.Errorf("%s %s: %w", name, id, err)
	}
	return d, run, nil
}

// Follow calls onStatus whenever the run's status changes and returns the run's outcome: nil when it
// succeeded, its error otherwise. It follows the run's history with a long poll (no polling loop) and queries
// the status after each workflow task; a query that fails (no worker yet) is skipped, not fatal.
func (c *Client) Follow(ctx context.Context, run Run, result any, onStatus func(releaseapi.Status)) error {
	iter := c.Temporal.GetWorkflowHistory(ctx, run.ID, run.RunID, true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return fmt.Errorf("follow %s: %w", run.ID, err)
		}
		if onStatus == nil || ev.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := c.Status(qctx, run.ID, run.RunID)
		cancel()
		if err == nil {
			onStatus(st)
		}
	}
	err := c.Temporal.GetWorkflow(ctx, run.ID, run.RunID).Get(ctx, result)
	if onStatus != nil {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if st, qerr := c.Status(qctx, run.ID, run.RunID); qerr == nil {
			onStatus(st)
		}
		cancel()
	}
	return err
}
