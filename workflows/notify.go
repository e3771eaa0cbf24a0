package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/notify"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// notifications is a nil receiver, like k8s.
var notifications *activities.Notifications

// notifier posts a release's messages in order, each a reply in the thread its first message started. It
// runs in its own coroutine on a disconnected context, so an abort does not stop the messages that report it.
type notifier struct {
	channel string
	thread  string
	queue   []notify.Message
	busy    bool
	// failing counts the messages given up in a row; while it is non-zero, messages get the quick give-up.
	failing int
	status  *releaseapi.NotificationStatus
}

// notifyDrainTimeout bounds how long a finished release waits for its last messages.
const notifyDrainTimeout = 3 * time.Minute

// startNotifier starts the notifier when the spec names a Slack channel; it returns nil otherwise, and a nil
// notifier's post and drain do nothing.
func startNotifier(ctx workflow.Context, sl *spec.SlackNotify) *notifier {
	if sl == nil {
		return nil
	}
	n := &notifier{channel: sl.Channel, status: &releaseapi.NotificationStatus{Channel: sl.Channel}}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	workflow.Go(dctx, func(gctx workflow.Context) {
		for {
			if err := workflow.Await(gctx, func() bool { return len(n.queue) > 0 }); err != nil {
				return
			}
			msg := n.queue[0]
			n.queue, n.busy = n.queue[1:], true
			var res activities.NotifyResult
			err := workflow.ExecuteActivity(withNotify(gctx, n.failing > 0), notifications.Notify,
				activities.NotifyInput{Channel: n.channel, Thread: n.thread, Message: msg}).Get(gctx, &res)
			switch {
			case err != nil:
				n.status.Failed++
				n.status.LastError = reasonOf(err)
				// Only an outage (retryable errors exhausted) puts the notifier in quick give-up; a message Slack
				// refused for itself (too long, bad blocks) says nothing about the next one.
				if !isNonRetryable(err) {
					n.failing++
				}
				workflow.GetLogger(gctx).Warn("notification not sent", "title", msg.Title, "error", err)
			case res.Sent:
				n.failing = 0
				n.status.Sent++
				if n.thread == "" && res.TS != "" {
					// Replies go to the channel's ID, which Slack returns even for a post to "#name".
					n.thread, n.channel = res.TS, cmp.Or(res.Channel, n.channel)
				}
			}
			n.busy = false
		}
	})
	return n
}

// post queues a message.
func (n *notifier) post(msg notify.Message) {
	if n != nil {
		n.queue = append(n.queue, msg)
	}
}

// drain waits, bounded, until the queued messages are sent (or given up), and counts what is left.
func (n *notifier) drain(ctx workflow.Context) {
	if n == nil {
		return
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	_, _ = workflow.AwaitWithTimeout(dctx, notifyDrainTimeout, func() bool { return len(n.queue) == 0 && !n.busy })
	if left := len(n.queue); left > 0 {
		n.status.Dropped = left
	}
}

// startNotifier starts the release's notifier.
func (r *release) startNotifier(ctx workflow.Context) {
	r.n = startNotifier(ctx, r.in.Spec.Notify.Slack)
	if r.n != nil {
		r.t.status.Notifications = r.n.status
	}
}

// post queues a message of the release; without a notifier it does nothing.
func (r *release) post(msg notify.Message) { r.n.post(msg) }

// drainNotifications waits, bounded, for the release's last messages.
func (r *release) drainNotifications(ctx workflow.Context) { r.n.drain(ctx) }

// isNonRetryable reports whether err carries a non-retryable ApplicationError.
func isNonRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

// withNotify retries a notification with backoff (a rate-limited one after Slack's Retry-After) for up to a
// minute, then gives up: Slack being down must not hold or fail a release. Once a message was given up
// (degraded), the next ones get two quick tries each, so a release with Slack down does not spend minutes on
// messages nobody will see.
func withNotify(ctx workflow.Context, degraded bool) workflow.Context {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout:    20 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        20 * time.Second,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
	if degraded {
		opts.ScheduleToCloseTimeout = 15 * time.Second
		opts.RetryPolicy.MaximumAttempts = 2
	}
	return workflow.WithActivityOptions(ctx, opts)
}

// title is "<app> <version>: <what>".
func (r *release) title(what string) string {
	return fmt.Sprintf("%s %s: %s", r.in.Spec.App.Name, r.in.Version, what)
}

func (r *release) notifyStarted() {
	fields := []notify.Field{{Name: "Image", Value: r.image}}
	if tr := r.in.Trigger; tr.Actor != "" {
		fields = append(fields, notify.Field{Name: "Started by", Value: tr.Actor})
	}
	if c := r.in.Trigger.Commit; c != "" {
		fields = append(fields, notify.Field{Name: "Commit", Value: c})
	}
	msg := notify.Message{Title: r.title("release started"), Fields: fields, LinkToRun: true}
	if u := r.in.Trigger.RunURL; u != "" {
		msg.Link = &notify.Link{Text: "CI run", URL: u}
	}
	r.post(msg)
}

func (r *release) notifyStage(name string, state releaseapi.StageState, detail string) {
	color := notify.ColorGood
	switch state {
	case releaseapi.StateFailed:
		color = notify.ColorDanger
	case releaseapi.StateCancelled:
		color = notify.ColorWarning
	}
	r.post(notify.Message{Title: r.title(fmt.Sprintf("%s %s", name, state)), Text: detail, Color: color})
}

func (r *release) notifyApprovalNeeded(ctx workflow.Context, deadline time.Time) {
	info := workflow.GetInfo(ctx).WorkflowExecution
	value := releaseapi.ButtonValue(info.ID, info.RunID)
	a := r.gate.spec
	fields := []notify.Field{
		{Name: "Image", Value: r.image},
		{Name: "Approvers", Value: strings.Join(a.Approvers, ", ")},
		{Name: "Deadline", Value: fmt.Sprintf("%s (then %s)", deadline.Format(time.RFC3339), a.OnTimeout)},
	}
	if sc := r.t.status.Scan; sc != nil {
		fields = append(fields, notify.Field{Name: "Scan", Value: sc.Summary})
	}
	r.post(notify.Message{
		Title: r.title("approval needed before production"), Fields: fields, Color: notify.ColorWarning, LinkToRun: true,
		Actions: []notify.Action{
			{ID: releaseapi.ActionApprove, Text: "Approve", Value: value, Style: "primary"},
			{ID: releaseapi.ActionReject, Text: "Reject", Value: value, Style: "danger"},
		},
	})
}

func (r *release) notifyReminder(_ workflow.Context, n int, deadline time.Time) {
	r.post(notify.Message{Title: r.title(fmt.Sprintf("still waiting for approval (reminder %d)", n)),
		Text: "Deadline " + deadline.Format(time.RFC3339) + ", then " + r.gate.spec.OnTimeout + ".", Color: notify.ColorWarning, LinkToRun: true})
}

func (r *release) notifyEscalation(_ workflow.Context, deadline time.Time) {
	r.post(notify.Message{Title: r.title("approval overdue"),
		Text:     "This release has waited since " + r.t.status.Approval.Since.Format(time.RFC3339) + "; deadline " + deadline.Format(time.RFC3339) + ".",
		Mentions: []string{r.gate.spec.EscalateTo}, Color: notify.ColorDanger, LinkToRun: true})
}

func (r *release) notifyDecision(_ workflow.Context, d releaseapi.ApprovalDecision) {
	switch {
	case d.TimedOut && d.Approved:
		r.post(notify.Message{Title: r.title("nobody decided in time: promoted (approval.onTimeout)"), Color: notify.ColorWarning})
	case d.TimedOut:
		r.post(notify.Message{Title: r.title("nobody decided in time: rejected (approval.onTimeout)"), Color: notify.ColorDanger})
	case d.Approved:
		r.post(notify.Message{Title: r.title("approved by " + d.By), Text: d.Comment, Color: notify.ColorGood})
	default:
		r.post(notify.Message{Title: r.title("rejected by " + d.By), Text: d.Comment, Color: notify.ColorDanger})
	}
}

// notifyEnd reports how the release ended.
func (r *release) notifyEnd() {
	st := r.t.status
	switch st.Phase {
	case releaseapi.PhaseSucceeded:
		r.post(notify.Message{Title: r.title("released"), Text: fmt.Sprintf("%s serves %s", r.newColor, r.image), Color: notify.ColorGood, LinkToRun: true})
	case releaseapi.PhaseRolledBack:
		r.post(notify.Message{Title: r.title("rolled back"), Text: st.Error, Color: notify.ColorDanger, LinkToRun: true})
	case releaseapi.PhaseBlocked:
		r.post(notify.Message{Title: r.title("blocked by the security gate"), Text: st.Error, Color: notify.ColorDanger, LinkToRun: true})
	default:
		r.post(notify.Message{Title: r.title(string(st.Phase)), Text: st.Error, Color: notify.ColorDanger, LinkToRun: true})
	}
}
