package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/internal/notify"
	"github.com/vektagraf/slipway/internal/notify/notifytest"
)

const slackTestToken = "xoxb-42-42-n0tAR3alT0kenAtAll"

func slackNotifications(srv *notifytest.Slack) *Notifications {
	return &Notifications{
		Config: notify.Config{Token: slackTestToken, APIURL: srv.APIURL(), Channel: "C0RELEASES"},
		WebUI:  "http://ui.example/",
	}
}

func notifyEnv(n *Notifications) *testsuite.TestActivityEnvironment {
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivity(n)
	return env
}

func runNotify(t *testing.T, env *testsuite.TestActivityEnvironment, n *Notifications, in NotifyInput) (NotifyResult, error) {
	t.Helper()
	val, err := env.ExecuteActivity(n.Notify, in)
	if err != nil {
		return NotifyResult{}, err
	}
	var res NotifyResult
	require.NoError(t, val.Get(&res))
	return res, nil
}

// A release's first message starts a thread; the workflow passes its TS as Thread for every later message, and
// slacktest receives those as replies (thread_ts = the first TS).
func TestNotifyThreadsUnderTheFirstMessage(t *testing.T) {
	srv := notifytest.NewSlack(t)
	n := slackNotifications(srv)
	env := notifyEnv(n)

	first, err := runNotify(t, env, n, NotifyInput{Message: notify.Message{Title: "shop v1: release started", LinkToRun: true}})
	require.NoError(t, err)
	require.True(t, first.Sent)
	require.Equal(t, "C0RELEASES", first.Channel)
	require.NotEmpty(t, first.TS)
	reply, err := runNotify(t, env, n, NotifyInput{Channel: first.Channel, Thread: first.TS,
		Message: notify.Message{Title: "shop v1: staging deploy succeeded", Color: notify.ColorGood}})
	require.NoError(t, err)
	require.True(t, reply.Sent)

	got := map[string]string{} // text -> thread_ts, as slacktest parsed them
	for _, m := range srv.Messages(t, 2) {
		got[m.Text] = m.ThreadTimestamp
	}
	require.Equal(t, map[string]string{"shop v1: release started": "", "shop v1: staging deploy succeeded": first.TS}, got)

	// LinkToRun: the worker knows the Web UI, and the activity the run.
	blocks := srv.Requests("chat.postMessage")[0].Form.Get("blocks")
	require.Contains(t, blocks, "http://ui.example/namespaces/default-test-namespace/workflows/default-test-workflow-id/default-test-run-id/history")

	// The approval message's buttons, then its update once someone decided.
	value := "release-shop-prod|run-1"
	ask, err := runNotify(t, env, n, NotifyInput{Channel: first.Channel, Thread: first.TS, Message: notify.Message{
		Title: "shop v1: approval needed", Color: notify.ColorWarning,
		Actions: []notify.Action{{ID: "slipway_approve", Text: "Approve", Value: value, Style: notify.StylePrimary},
			{ID: "slipway_reject", Text: "Reject", Value: value, Style: notify.StyleDanger}},
	}})
	require.NoError(t, err)
	posted := srv.Requests("chat.postMessage")[2].Form.Get("blocks")
	require.Contains(t, posted, `"action_id":"slipway_approve"`)
	require.Contains(t, posted, `"action_id":"slipway_reject"`)
	require.Contains(t, posted, `"value":"release-shop-prod|run-1"`)

	_, err = env.ExecuteActivity(n.UpdateNotification, UpdateNotificationInput{Channel: ask.Channel, TS: ask.TS,
		Message: notify.Message{Title: "shop v1: approved by alice", Color: notify.ColorGood}})
	require.NoError(t, err)
	upd := srv.Requests("chat.update")
	require.Len(t, upd, 1)
	require.Equal(t, ask.TS, upd[0].Form.Get("ts"))
	require.Equal(t, ask.Channel, upd[0].Form.Get("channel"))
	require.NotContains(t, upd[0].Form.Get("blocks"), "slipway_approve")

	// Nothing to edit: a webhook's post has no TS.
	_, err = env.ExecuteActivity(n.UpdateNotification, UpdateNotificationInput{Channel: ask.Channel,
		Message: notify.Message{Title: "x"}})
	require.NoError(t, err)
	require.Len(t, srv.Requests("chat.update"), 1)
}

func TestNotifyRateLimitedHonoursRetryAfter(t *testing.T) {
	srv := notifytest.NewSlack(t)
	srv.Script("chat.postMessage", notifytest.RateLimited("2"))
	n := slackNotifications(srv)

	_, err := runNotify(t, notifyEnv(n), n, NotifyInput{Message: notify.Message{Title: "hello"}})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, ErrSlackRateLimited, appErr.Type())
	require.False(t, appErr.NonRetryable())
	require.Equal(t, 2*time.Second, appErr.NextRetryDelay())
	require.NotContains(t, NonRetryableErrorTypes, ErrSlackRateLimited)
}

// notifyOnce is a workflow that sends one message with a retry policy like the release's.
func notifyOnce(ctx workflow.Context, in NotifyInput) (time.Duration, error) {
	start := workflow.Now(ctx)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        100 * time.Millisecond, // far shorter than Slack's Retry-After
			BackoffCoefficient:     2,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: NonRetryableErrorTypes,
		},
	})
	var n *Notifications
	var res NotifyResult
	if err := workflow.ExecuteActivity(ctx, n.Notify, in).Get(ctx, &res); err != nil {
		return 0, err
	}
	if !res.Sent || res.TS == "" {
		return 0, temporal.NewApplicationError("not sent", "Test")
	}
	return workflow.Now(ctx).Sub(start), nil
}

// The retry after a 429 waits Slack's Retry-After (2s, not the policy's 100ms) and then succeeds; the
// time-skipping test environment makes the wait free.
func TestNotifyRetriesAfterRateLimitInAWorkflow(t *testing.T) {
	srv := notifytest.NewSlack(t)
	srv.Script("chat.postMessage", notifytest.RateLimited("2"))
	n := slackNotifications(srv)

	env := (&testsuite.WorkflowTestSuite{}).NewTestWorkflowEnvironment()
	env.RegisterWorkflow(notifyOnce)
	env.RegisterActivity(n)
	var attempts []int32
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		attempts = append(attempts, info.Attempt)
	})
	began := time.Now()
	env.ExecuteWorkflow(notifyOnce, NotifyInput{Message: notify.Message{Title: "shop v1: release started"}})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var waited time.Duration
	require.NoError(t, env.GetWorkflowResult(&waited))

	require.Equal(t, []int32{1, 2}, attempts, "one retry")
	require.Len(t, srv.Requests("chat.postMessage"), 2, "the 429, then the post that went through")
	require.GreaterOrEqual(t, waited, 2*time.Second, "the retry waited for Retry-After, in workflow time")
	require.Less(t, waited, 4*time.Second)
	require.Less(t, time.Since(began), 2*time.Second, "in test time, skipped")
	require.Equal(t, "shop v1: release started", srv.Messages(t, 1)[0].Text)
}

func TestNotifyInvalidAuthIsNotRetried(t *testing.T) {
	srv := notifytest.NewSlack(t)
	srv.Script("chat.postMessage", notifytest.Fail("invalid_auth"))
	n := slackNotifications(srv)

	env := (&testsuite.WorkflowTestSuite{}).NewTestWorkflowEnvironment()
	env.RegisterWorkflow(notifyOnce)
	env.RegisterActivity(n)
	env.ExecuteWorkflow(notifyOnce, NotifyInput{Message: notify.Message{Title: "hello"}})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, ErrNotificationConfig, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Len(t, srv.Requests("chat.postMessage"), 1, "no retry")
	require.Contains(t, err.Error(), "invalid_auth")
	require.NotContains(t, err.Error(), slackTestToken)
	require.NotContains(t, err.Error(), "n0tAR3al")
	require.Contains(t, NonRetryableErrorTypes, ErrNotificationConfig)
}

func TestNotifyErrorTypes(t *testing.T) {
	for _, tc := range []struct {
		answer       notifytest.Response
		typ          string
		nonRetryable bool
	}{
		{notifytest.Fail("channel_not_found"), ErrNotificationConfig, true},
		{notifytest.Fail("not_in_channel"), ErrNotificationConfig, true},
		{notifytest.Fail("token_revoked"), ErrNotificationConfig, true},
		{notifytest.Fail("invalid_blocks"), ErrNotificationRejected, true},
		{notifytest.Fail("msg_too_long"), ErrNotificationRejected, true},
		{notifytest.Response{Status: 503}, ErrNotificationUnavailable, false},
		{notifytest.Fail("internal_error"), ErrNotificationUnavailable, false},
	} {
		srv := notifytest.NewSlack(t)
		srv.Script("chat.postMessage", tc.answer)
		n := slackNotifications(srv)
		_, err := runNotify(t, notifyEnv(n), n, NotifyInput{Message: notify.Message{Title: "hello"}})
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, err, &appErr, "%+v", tc.answer)
		require.Equal(t, tc.typ, appErr.Type(), "%+v: %v", tc.answer, err)
		require.Equal(t, tc.nonRetryable, appErr.NonRetryable())
		require.NotContains(t, err.Error(), slackTestToken)
	}

	// A worker without a channel for a message without one.
	n := &Notifications{Config: notify.Config{Token: slackTestToken, APIURL: "http://127.0.0.1:1/"}}
	_, err := runNotify(t, notifyEnv(n), n, NotifyInput{Message: notify.Message{Title: "hello"}})
	require.Equal(t, ErrNotificationConfig, ErrorType(err))
	require.NotContains(t, err.Error(), slackTestToken)
}

func TestNotifyWithoutCredentialsSendsNothing(t *testing.T) {
	srv := notifytest.NewSlack(t)
	n := &Notifications{Config: notify.Config{APIURL: srv.APIURL(), Channel: "C0RELEASES"}}
	res, err := runNotify(t, notifyEnv(n), n, NotifyInput{Message: notify.Message{Title: "hello"}})
	require.NoError(t, err)
	require.Equal(t, NotifyResult{}, res)
	require.Empty(t, srv.Requests(""))
}

func TestNotifyWebhookCannotEdit(t *testing.T) {
	n := &Notifications{Config: notify.Config{WebhookURL: "https://hooks.example/services/T0/B0/" + strings.Repeat("s", 24)}}
	_, err := notifyEnv(n).ExecuteActivity(n.UpdateNotification, UpdateNotificationInput{TS: "1.2", Message: notify.Message{Title: "x"}})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, ErrNotificationConfig, appErr.Type())
	require.Contains(t, err.Error(), "cannot edit")
	require.NotContains(t, err.Error(), "ssssssss")
}
