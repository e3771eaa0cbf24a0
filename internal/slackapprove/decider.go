package slackapprove

import "context"

// Source is the Decision.Source of every decision taken through this package.
const Source = "slack"

// Decision is one click on an approval button, after the request was authenticated and the Slack user was
// mapped to a Slipway identity.
type Decision struct {
	// WorkflowID and RunID name the release run, from the button's value "<workflowID>|<runID>".
	WorkflowID, RunID string
	// Approve is true for the approve button, false for the reject button.
	Approve bool
	// Approver is the Slipway identity (an email, a GitHub login) the user map gives the Slack user.
	Approver string
	// Comment is the text of an optional plain_text_input with action_id CommentActionID in the message.
	Comment string
	// Source is "slack".
	Source string
}

// Outcome is what a Decider reports back for the message.
type Outcome struct {
	// Message replaces the default headline ("Approved by alice@example.com") of the updated message when
	// set. Plain text.
	Message string
}

// Decider applies a decision to the release. It returns a *RejectedError when the release refuses the
// decision (not an approver, self-approval, wrong stage, already decided): the handler shows its Reason to
// the user and leaves the message alone. Any other error is logged and the user is told it failed.
type Decider interface {
	Decide(ctx context.Context, d Decision) (Outcome, error)
}

// RejectedError is a decision the release refused; Reason is written for the person who clicked.
type RejectedError struct {
	Reason string
}

func (e *RejectedError) Error() string { return "decision refused: " + e.Reason }
