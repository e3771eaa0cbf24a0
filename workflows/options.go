package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
)

// retryPolicy retries transient failures (API 5xx, timeouts, conflicts, connection errors) with backoff and
// never the answers that cannot change (activities.NonRetryableErrorTypes).
func retryPolicy(maxAttempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        30 * time.Second,
		MaximumAttempts:        maxAttempts,
		NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
	}
}

// withShortActivity is for single API calls (apply, patch, scale, read): each try is bounded by a minute, and
// ten tries with backoff ride out an API server restart. An abort waits for a call in flight to end, so a
// write cannot land after the compensation that was meant to undo it.
func withShortActivity(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         retryPolicy(10),
		WaitForCancellation: true,
	})
}

// rolloutHeartbeat is how long a rollout wait may go without a heartbeat before Temporal treats its worker as
// dead and gives the wait to another worker. WaitRollout heartbeats every few seconds.
const rolloutHeartbeat = 20 * time.Second

// withRolloutWait bounds a rollout wait by the progress deadline (the Deployment controller reports the
// deadline itself; the extra minute covers a controller that is slow to say so).
func withRolloutWait(ctx workflow.Context, progressDeadline time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: progressDeadline + time.Minute,
		HeartbeatTimeout:    rolloutHeartbeat,
		RetryPolicy:         retryPolicy(5),
	})
}

// withSmokeChecks bounds a smoke-check run by its own attempts: every attempt runs every check with the
// per-request timeout, then waits the interval.
func withSmokeChecks(ctx workflow.Context, in activities.SmokeCheckInput) workflow.Context {
	perAttempt := time.Duration(len(in.Checks))*in.Timeout.D() + in.Interval.D()
	total := time.Duration(in.Attempts)*perAttempt + 30*time.Second
	heartbeat := perAttempt + 20*time.Second
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: total,
		HeartbeatTimeout:    heartbeat,
		RetryPolicy:         retryPolicy(3),
	})
}

// withValidation runs the input checks (prepareRelease, prepareRollback) as a local activity: cheap, retried a
// few times, and recorded in history so a later rule change cannot change a replay.
func withValidation(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
}

// unwrapApplicationError returns the ApplicationError inside err (the validation's own message and type,
// without the local-activity wrapping), or err itself.
func unwrapApplicationError(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr
	}
	return err
}
