package releaseapi

import (
	"time"

	"github.com/vektagraf/slipway/internal/spec"
)

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
	Compliance *ComplianceResult `json:"compliance,omitempty"`
	// Approval is the approval gate, when the spec has one.
	Approval *ApprovalStatus `json:"approval,omitempty"`
	// Notifications counts what reached Slack, when the spec names a channel.
	Notifications *NotificationStatus `json:"notifications,omitempty"`
	// Monitor is the monitoring window, when the spec has one: until when, and each metric's analysis.
	Monitor *MonitorStatus `json:"monitor,omitempty"`
	Error   string         `json:"error,omitempty"`
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
	Compliance *ComplianceResult `json:"compliance,omitempty"`
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

// ScanSummary is the security gate's outcome as the status query and the release result show it.
type ScanSummary struct {
	// Image is the scanned image by digest; the release deploys exactly this.
	Image  string `json:"image"`
	Digest string `json:"digest"`
	Passed bool   `json:"passed"`
	// Summary is the verdict in one line ("blocked: 1 CRITICAL (CVE-... in pkg 1.1.0, fixed in 1.2.0)").
	Summary string `json:"summary"`
	Counts  Counts `json:"counts"`
	// Top lists at most internal/scan's MaxTop findings, blocking ones first; the reports have all of them.
	Top []Finding `json:"top,omitempty"`
	// Scanners lists the scanners whose findings were merged; ScannerErrors says why one was left out.
	Scanners      []string          `json:"scanners"`
	ScannerErrors map[string]string `json:"scannerErrors,omitempty"`
	// Cached says the findings came from the worker's scan cache (same digest and databases).
	Cached bool `json:"cached,omitempty"`
	// ReportsDir is where the worker wrote report.json and report.sarif, whose digests are ReportDigests.
	ReportsDir    string        `json:"reportsDir,omitempty"`
	ReportDigests ReportDigests `json:"reportDigests,omitzero"`
	// ReportArtifact is the reports' OCI artifact next to the image (spec scan.attachReports).
	ReportArtifact string `json:"reportArtifact,omitempty"`
}

// ComplianceResult is what EvaluateCompliance returns, small enough for workflow history: the status, the
// counts and the rules that did not pass; the full report (every rule) is in compliance.json.
type ComplianceResult struct {
	// Status is the report's: passed, warning or failed.
	Status string `json:"status"`
	// Summary is the report's one line.
	Summary string           `json:"summary"`
	Counts  ComplianceCounts `json:"counts"`
	// Failed lists the IDs of the rules that failed or could not be evaluated; Warnings those that warned
	// without a waiver; Waived those a waiver turned into a warning.
	Failed   []string `json:"failed,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Waived   []string `json:"waived,omitempty"`
	// Rules are the results of the rules that did not pass, with their messages and waivers.
	Rules []RuleResult `json:"rules,omitempty"`
	// Frameworks are the frameworks whose rules ran.
	Frameworks []string `json:"frameworks"`
	// ReportsDir is the directory on the worker holding compliance.json, and ReportDigest the file's sha256
	// digest, when the report was written.
	ReportsDir   string `json:"reportsDir,omitempty"`
	ReportDigest string `json:"reportDigest,omitempty"`
	// ReportArtifact is the report's OCI artifact (repository@sha256:...), with AttachTo.
	ReportArtifact string `json:"reportArtifact,omitempty"`
}

// NotificationStatus says what reached Slack: a notification that could not be sent is counted here and
// never fails the release.
type NotificationStatus struct {
	Channel string `json:"channel"`
	Sent    int    `json:"sent"`
	Failed  int    `json:"failed,omitempty"`
	// Dropped counts the messages still queued when the finished release stopped waiting for them.
	Dropped   int    `json:"dropped,omitempty"`
	LastError string `json:"lastError,omitempty"`
}
