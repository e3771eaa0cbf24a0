// Package releaseapi is Slipway's release contract: the names, inputs, results and status of the release and
// rollback workflows, the Slack button wire format, and Prepare, the one validation of a release input. The
// workflows, the client (internal/releases, the starter), the Slack approval endpoint and anyone driving a
// release with the plain Temporal CLI share it. It imports internal/spec and nothing else of Slipway, so a
// client links neither the workflows nor Kubernetes.
package releaseapi

import "fmt"

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

// Stage names of a release, in order. They are part of the status API (the starter and the docs name them).
const (
	StageValidate         = "validate"
	StageScan             = "scan"
	StagePush             = "push"
	StageSign             = "sign"
	StageStagingDeploy    = "staging-deploy"
	StageStagingSmoke     = "staging-smoke"
	StageCompliance       = "compliance"
	StageApproval         = "approval"
	StageProductionDeploy = "production-deploy"
	StagePreviewChecks    = "preview-checks"
	StageTrafficSwitch    = "traffic-switch"
	StageVerify           = "verify"
	StageMonitor          = "monitor"
	StageReleaseTags      = "release-tags"
	StageScaleDownOld     = "scale-down-old"
)

// Stage names of a rollback, in order.
const (
	StageRollbackInspect     = "inspect"
	StageRollbackScaleUp     = "scale-up-previous"
	StageRollbackHealthCheck = "health-check"
	StageRollbackSwitch      = "traffic-switch"
	StageRollbackScaleDown   = "scale-down-current"
)

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
	// ErrAnalysisFailed: a metric of the monitoring window failed, errored past its limit, or was
	// inconclusive with onInconclusive rollback (the monitor stage's error; the release rolls back).
	ErrAnalysisFailed = "AnalysisFailed"
)
