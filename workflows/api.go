package workflows

import (
	"fmt"
	"time"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/spec"
)

// Names users type in `temporal workflow start/signal/query` and the Web UI; they are part of the API and must
// not change once a release has run with them.
const (
	// TaskQueue is the queue the worker polls and the starter starts on.
	TaskQueue = "slipway"
	// ReleaseWorkflowName is the workflow type of a release.
	ReleaseWorkflowName = "ReleaseWorkflow"
	// RollbackWorkflowName is the workflow type of a manual rollback.
	RollbackWorkflowName = "RollbackWorkflow"
	// QueryStatus returns a Status.
	QueryStatus = "status"
	// SignalAbort carries an AbortRequest; the release stops at the next safe point and rolls back.
	SignalAbort = "abort"
	// UpdateApprove and UpdateReject carry an ApprovalRequest; their validator refuses a decision in the
	// wrong stage, from someone not in approval.approvers, or a self-approval the spec forbids, so a refused
	// decision never enters history. The result is the ApprovalDecision.
	UpdateApprove = "approve"
	UpdateReject  = "reject"
	// SignalApprove and SignalReject are the same decisions as signals, for `temporal workflow signal`; the
	// workflow applies the same checks and records a refused one in the status.
	SignalApprove = "approve"
	SignalReject  = "reject"
	// MemoVersion is the memo key holding the version a release deploys, so a second start can tell a CI
	// retry (same version: attach) from a conflicting release (other version: refuse) without a query.
	MemoVersion = "version"
	// MemoKind is the memo key holding "release" or "rollback".
	MemoKind = "kind"
)

// WorkflowID is the ID of every release and rollback of one app in one production namespace. Sharing it is
// what makes Temporal refuse a second concurrent release (or a rollback during a release) of the same app:
// IDs of running workflows are unique. Names are DNS labels, which contain no dots, so the ID is unambiguous.
func WorkflowID(app, productionNamespace string) string {
	return fmt.Sprintf("slipway.%s.%s", app, productionNamespace)
}

// Trigger says who or what started a release; it is shown in the status and kept in history for audit.
type Trigger struct {
	// Actor is the person or bot that asked for the release (GITHUB_ACTOR in GitHub Actions).
	Actor string `json:"actor,omitempty"`
	// Source is the system that started it: "ci", "cli", "starter".
	Source string `json:"source,omitempty"`
	// Commit is the source revision the image was built from.
	Commit string `json:"commit,omitempty"`
	// RunURL links back to the CI run.
	RunURL string `json:"runURL,omitempty"`
	// Branch is the branch the build came from; the "branch" release tag is made from it.
	Branch string `json:"branch,omitempty"`
}

// ReleaseInput is the input of ReleaseWorkflow, plain JSON so that
// `temporal workflow start --type ReleaseWorkflow --input-file release.json` works without the starter.
type ReleaseInput struct {
	Spec    spec.Spec `json:"spec"`
	Version string    `json:"version"`
	Trigger Trigger   `json:"trigger,omitempty"`
}

// RollbackInput is the input of RollbackWorkflow: the design chapter's rollback.sh as a workflow.
type RollbackInput struct {
	Spec    spec.Spec `json:"spec"`
	Reason  string    `json:"reason,omitempty"`
	Trigger Trigger   `json:"trigger,omitempty"`
}

// AbortRequest is the payload of the abort signal.
type AbortRequest struct {
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
}

// StageState is where one stage of a release stands.
type StageState string

// Stage states. Compensated marks a stage whose side effect was undone.
const (
	StatePending     StageState = "pending"
	StateRunning     StageState = "running"
	StateSucceeded   StageState = "succeeded"
	StateFailed      StageState = "failed"
	StateSkipped     StageState = "skipped"
	StateCompensated StageState = "compensated"
	StateCancelled   StageState = "cancelled"
)

// Phase is where the release as a whole stands.
type Phase string

// Phases of a release.
const (
	PhaseRunning     Phase = "running"
	PhaseSucceeded   Phase = "succeeded"
	PhaseRollingBack Phase = "rolling-back"
	PhaseRolledBack  Phase = "rolled-back"
	// PhaseFailed means compensation itself failed: a person has to look.
	PhaseFailed Phase = "failed"
	// PhaseRejected means the input was invalid and nothing was touched.
	PhaseRejected Phase = "rejected"
	// PhaseBlocked means the security gate stopped the release (or could not scan it) and nothing was touched.
	PhaseBlocked Phase = "blocked"
)

// Stage is one step of a release (or one compensation) as the status query shows it.
type Stage struct {
	Name    string     `json:"name"`
	State   StageState `json:"state"`
	Started *time.Time `json:"started,omitempty"`
	Ended   *time.Time `json:"ended,omitempty"`
	Message string     `json:"message,omitempty"`
}

// Compensation is one undo step that ran after a failure or an abort; Undoes names the stage it undid.
type Compensation struct {
	Undoes string `json:"undoes"`
	Stage
}

// Status is what the status query returns and what the starter streams while it waits.
type Status struct {
	App           string         `json:"app"`
	Version       string         `json:"version,omitempty"`
	Image         string         `json:"image,omitempty"`
	Phase         Phase          `json:"phase"`
	PreviousColor string         `json:"previousColor,omitempty"`
	NewColor      string         `json:"newColor,omitempty"`
	ActiveColor   string         `json:"activeColor,omitempty"`
	Trigger       Trigger        `json:"trigger,omitempty"`
	Stages        []Stage        `json:"stages"`
	Compensations []Compensation `json:"compensations,omitempty"`
	Abort         *AbortRequest  `json:"abort,omitempty"`
	// Scan is the security gate's outcome once the scan stage has an answer.
	Scan *ScanSummary `json:"scan,omitempty"`
	// Compliance is the compliance gate's outcome: status, counts, the rules that did not pass, the report.
	Compliance *activities.ComplianceResult `json:"compliance,omitempty"`
	// Approval is the approval gate, when the spec has one.
	Approval *ApprovalStatus `json:"approval,omitempty"`
	// Notifications counts what reached Slack, when the spec names a channel.
	Notifications *NotificationStatus `json:"notifications,omitempty"`
	Error         string              `json:"error,omitempty"`
}

// ReleaseResult is what a successful release returns.
type ReleaseResult struct {
	App           string  `json:"app"`
	Version       string  `json:"version"`
	Image         string  `json:"image"`
	ActiveColor   string  `json:"activeColor"`
	PreviousColor string  `json:"previousColor,omitempty"`
	Stages        []Stage `json:"stages"`
	// Scan is the security gate's outcome (counts and top findings; the reports hold the rest).
	Scan *ScanSummary `json:"scan,omitempty"`
	// Compliance is the compliance gate's outcome.
	Compliance *activities.ComplianceResult `json:"compliance,omitempty"`
	// Approval is the accepted decision that let the release into production, when the spec has a gate.
	Approval *ApprovalDecision `json:"approval,omitempty"`
}

// RollbackResult is what a successful rollback returns.
type RollbackResult struct {
	App         string  `json:"app"`
	FromColor   string  `json:"fromColor"`
	ToColor     string  `json:"toColor"`
	ToVersion   string  `json:"toVersion,omitempty"`
	ActiveColor string  `json:"activeColor"`
	Stages      []Stage `json:"stages"`
}

// Error types of a failed release or rollback, carried by the workflow's ApplicationError so the starter (and
// anyone reading history) can tell why without parsing messages.
const (
	// ErrInvalidRelease: the input failed validation; nothing was touched.
	ErrInvalidRelease = "InvalidRelease"
	// ErrWrongWorkflowID: the release was started under an ID other than WorkflowID(app, namespace), which
	// would defeat the one-release-at-a-time guarantee; nothing was touched.
	ErrWrongWorkflowID = "WrongWorkflowID"
	// ErrRolledBack: a stage failed (or the release was aborted) and every side effect was undone.
	ErrRolledBack = "RolledBack"
	// ErrCompensationFailed: a stage failed and undoing it failed too; the status says which step.
	ErrCompensationFailed = "CompensationFailed"
	// ErrRollbackFailed: a manual rollback could not complete.
	ErrRollbackFailed = "RollbackFailed"
	// ErrScanBlocked: the scan found what the spec's policy blocks; nothing was deployed. The status's Scan
	// names the findings.
	ErrScanBlocked = "ScanBlocked"
	// ErrScanFailed: the image could not be resolved, pulled or scanned (missing tag, refused credentials,
	// scanners failing on every try); nothing was deployed.
	ErrScanFailed = "ScanFailed"
	// ErrApprovalRejected: an approver rejected the release at the approval gate (the stage's error; the
	// release rolls back).
	ErrApprovalRejected = "ApprovalRejected"
	// ErrApprovalTimedOut: nobody decided before approval.timeout and approval.onTimeout is reject.
	ErrApprovalTimedOut = "ApprovalTimedOut"
)
