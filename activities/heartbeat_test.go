package activities

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// TestRunHeartbeating: the details are heartbeated while fn runs, and fn's error comes back unwrapped, so a
// non-retryable ApplicationError stays non-retryable.
func TestRunHeartbeating(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	var beats atomic.Int32
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var s string
		if details.Get(&s) == nil && s == "working" {
			beats.Add(1)
		}
	})
	refused := temporal.NewNonRetryableApplicationError("refused", ErrInvalidInput, nil)
	env.RegisterActivityWithOptions(func(ctx context.Context) error {
		return runHeartbeating(ctx, 10*time.Millisecond, func() any { return "working" }, func(ctx context.Context) error {
			time.Sleep(100 * time.Millisecond)
			return refused
		})
	}, activity.RegisterOptions{Name: "Slow"})

	_, err := env.ExecuteActivity("Slow")
	require.Equal(t, ErrInvalidInput, ErrorType(err), "%v", err)
	require.Positive(t, beats.Load())

	require.NoError(t, runHeartbeating(context.Background(), time.Millisecond, func() any { return "outside an activity" },
		func(context.Context) error { time.Sleep(5 * time.Millisecond); return nil }), "heartbeats outside an activity are no-ops")
}
