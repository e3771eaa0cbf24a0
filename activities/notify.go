package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/internal/notify"
)

// Error types of the notification activities. A workflow must never fail a release on them: it counts the
// failure and carries on.
const (
	// ErrSlackRateLimited: Slack throttled the call. Retryable; the error's NextRetryDelay is Slack's
	// Retry-After, so the next attempt waits exactly as long as Slack asked (not listed in
	// NonRetryableErrorTypes).
	ErrSlackRateLimited = "SlackRateLimited"
	// ErrNotificationConfig: the worker's Slack configuration cannot do this (invalid_auth, token_revoked,
	// channel_not_found, not_in_channel, a webhook asked to edit, no channel). Non-retryable.
	ErrNotificationConfig = "NotificationConfig"
	// ErrNotificationRejected: Slack refused this message (invalid_blocks, msg_too_long, message_not_found).
	// Non-retryable.
	ErrNotificationRejected = "NotificationRejected"
	// ErrNotificationUnavailable: Slack could not be reached or failed (5xx, network, timeout). Retryable.
	ErrNotificationUnavailable = "NotificationUnavailable"
)

// Notifications posts a release's messages to Slack. Config holds the worker's credentials (from
// notify.ConfigFromEnv): they stay on the worker and never travel in workflow inputs or history. WebUI is the
// Temporal Web UI's base URL, for the run links of messages with LinkToRun ("" leaves them out). Without
// credentials the activities send nothing and succeed.
type Notifications struct {
	Config notify.Config
	WebUI  string
}

// NotifyInput is one message. Channel "" means the worker's default channel. Thread is the TS of the release's
// first message ("" for the first message itself); replies need Channel to be the channel ID that first post
// returned.
type NotifyInput struct {
	Channel string         `json:"channel,omitempty"`
	Thread  string         `json:"thread,omitempty"`
	Message notify.Message `json:"message"`
}

// NotifyResult says where the message went. TS is "" when the backend cannot thread (a webhook) or nothing was
// sent (Sent false: notifications are disabled on this worker).
type NotifyResult struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	Sent    bool   `json:"sent"`
}

// UpdateNotificationInput replaces the message TS in Channel (the channel ID a NotifyResult gave).
type UpdateNotificationInput struct {
	Channel string         `json:"channel,omitempty"`
	TS      string         `json:"ts"`
	Message notify.Message `json:"message"`
}

// Notify posts a message, as a reply in in.Thread when it is set. Errors are typed for the retry policy:
// SlackRateLimited (retryable after Slack's Retry-After), NotificationConfig and NotificationRejected
// (non-retryable), NotificationUnavailable (retryable).
func (a *Notifications) Notify(ctx context.Context, in NotifyInput) (NotifyResult, error) {
	n, err := notify.New(a.Config, in.Channel)
	if err != nil {
		return NotifyResult{}, notificationError("notify", err)
	}
	msg := in.Message
	if msg.LinkToRun && msg.RunURL == "" {
		msg.RunURL = a.runURL(ctx)
	}
	res, err := n.Post(ctx, msg, in.Thread)
	if err != nil {
		return NotifyResult{}, notificationError("notify", err)
	}
	if res.Sent {
		activity.GetLogger(ctx).Debug("notification sent", "channel", res.Channel, "ts", res.TS, "thread", in.Thread)
	}
	return NotifyResult{Channel: res.Channel, TS: res.TS, Sent: res.Sent}, nil
}

// UpdateNotification edits a message Notify posted, e.g. to replace approval buttons by the decision. A TS of
// "" (the message was posted by a webhook, or not at all) has nothing to edit and succeeds; a worker whose
// backend cannot edit (a webhook) fails with NotificationConfig.
func (a *Notifications) UpdateNotification(ctx context.Context, in UpdateNotificationInput) error {
	if in.TS == "" {
		return nil
	}
	n, err := notify.New(a.Config, in.Channel)
	if err != nil {
		return notificationError("update notification", err)
	}
	msg := in.Message
	if msg.LinkToRun && msg.RunURL == "" {
		msg.RunURL = a.runURL(ctx)
	}
	return notificationError("update notification", n.Update(ctx, in.Channel, in.TS, msg))
}

// runURL is the page of the calling workflow run in the Web UI, the way the starter links to it.
func (a *Notifications) runURL(ctx context.Context) string {
	if a.WebUI == "" {
		return ""
	}
	info := activity.GetInfo(ctx)
	ns := info.WorkflowNamespace
	if ns == "" {
		ns = "default"
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(a.WebUI, "/"),
		url.PathEscape(ns), url.PathEscape(info.WorkflowExecution.ID), url.PathEscape(info.WorkflowExecution.RunID))
}

// notificationError turns a notify error into a typed ApplicationError, returned unwrapped (Temporal reads only
// the returned error's own type). The message is the notify error's text, which holds no secret; slack-go's
// error is not attached as the cause.
func notificationError(what string, err error) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("%s: %v", what, err)
	var rl *notify.RateLimitedError
	switch {
	case errors.As(err, &rl):
		return temporal.NewApplicationErrorWithOptions(msg, ErrSlackRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: rl.RetryAfter})
	case errors.Is(err, notify.ErrInvalidConfig):
		return temporal.NewNonRetryableApplicationError(msg, ErrNotificationConfig, nil)
	case errors.Is(err, notify.ErrRejected):
		return temporal.NewNonRetryableApplicationError(msg, ErrNotificationRejected, nil)
	}
	return temporal.NewApplicationError(msg, ErrNotificationUnavailable)
}
