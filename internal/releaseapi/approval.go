package releaseapi

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ApprovalRequest is the argument of the approve and reject updates (and signals): who decides, and why.
type ApprovalRequest struct {
	// By is the approver's identity, as the spec's approval.approvers lists it.
	By string `json:"by"`
	// Comment is kept with the decision.
	Comment string `json:"comment,omitempty"`
	// Source says where the decision came from: "starter", "slack", "temporal-cli".
	Source string `json:"source,omitempty"`
}

// ApprovalDecision is the outcome of the gate, kept in the status and the result.
type ApprovalDecision struct {
	Approved bool      `json:"approved"`
	By       string    `json:"by,omitempty"`
	Comment  string    `json:"comment,omitempty"`
	Source   string    `json:"source,omitempty"`
	At       time.Time `json:"at"`
	// TimedOut is set when nobody decided in time and approval.onTimeout decided.
	TimedOut bool `json:"timedOut,omitempty"`
}

// ApprovalStatus is the gate as the status query shows it.
type ApprovalStatus struct {
	Approvers []string `json:"approvers"`
	// Waiting is true while the release waits for a decision; Since and Deadline bound the wait.
	Waiting  bool       `json:"waiting"`
	Since    *time.Time `json:"since,omitempty"`
	Deadline *time.Time `json:"deadline,omitempty"`
	// OnTimeout is what the deadline does: reject or promote.
	OnTimeout string            `json:"onTimeout"`
	Reminders int               `json:"reminders,omitempty"`
	Escalated bool              `json:"escalated,omitempty"`
	Decision  *ApprovalDecision `json:"decision,omitempty"`
	// Refused lists signals that were not accepted (an update is refused before it enters history; a signal
	// cannot be, so the refusal is recorded), at most MaxRefused.
	Refused []string `json:"refused,omitempty"`
}

// MaxRefused bounds ApprovalStatus.Refused, so refused signals cannot grow a release's status without end.
const MaxRefused = 20

// Slack action IDs of the approval buttons (and of the optional comment input) in the approval message. The
// workflow posts them, internal/slackapprove handles the clicks.
const (
	ActionApprove   = "slipway_approve"
	ActionReject    = "slipway_reject"
	CommentActionID = "slipway_comment"
)

// MaxWorkflowIDLen and MaxRunIDLen bound the two halves of a button value (Temporal's default limit on IDs
// is 1000 bytes; run IDs are UUIDs).
const (
	MaxWorkflowIDLen = 1000
	MaxRunIDLen      = 64
)

// ButtonValue is the value of the approval buttons for a run.
func ButtonValue(workflowID, runID string) string { return workflowID + "|" + runID }

// ParseButtonValue splits "<workflowID>|<runID>": exactly one "|", both halves non-empty, printable,
// without spaces, and at most MaxWorkflowIDLen and MaxRunIDLen bytes.
func ParseButtonValue(v string) (workflowID, runID string, err error) {
	workflowID, runID, ok := strings.Cut(v, "|")
	if !ok || strings.Contains(runID, "|") {
		return "", "", errors.New(`button value: want "<workflowID>|<runID>"`)
	}
	for _, p := range []struct {
		name, v string
		max     int
	}{{"workflow ID", workflowID, MaxWorkflowIDLen}, {"run ID", runID, MaxRunIDLen}} {
		switch {
		case p.v == "":
			return "", "", fmt.Errorf("button value: empty %s", p.name)
		case len(p.v) > p.max:
			return "", "", fmt.Errorf("button value: %s longer than %d bytes", p.name, p.max)
		case !utf8.ValidString(p.v):
			return "", "", fmt.Errorf("button value: %s is not UTF-8", p.name)
		case strings.ContainsFunc(p.v, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
			return "", "", fmt.Errorf("button value: %s has a space or a non-printable character", p.name)
		}
	}
	return workflowID, runID, nil
}
