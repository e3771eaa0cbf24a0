package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeat records progress when ctx belongs to a running activity and does nothing otherwise, so the same
// code runs under a Temporal worker and in plain unit tests (RecordHeartbeat panics outside an activity).
func heartbeat(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
}

// runHeartbeating runs fn and heartbeats details() every interval until fn returns, so a long download, copy
// or scan is not taken for a dead worker while no progress can be reported. fn gets ctx and must return soon
// after ctx is done. fn's error is returned as is: Temporal reads the type and retryability of the returned
// error only, so wrapping a non-retryable ApplicationError here would make it retryable.
func runHeartbeating(ctx context.Context, every time.Duration, details func() any, fn func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			heartbeat(ctx, details())
		}
	}
}

// wait pauses for d, returning ctx.Err() as soon as ctx is done, so a cancelled activity never finishes a
// pause it no longer needs. Ticks of tick (nil is allowed) call onTick, so long pauses keep heartbeating.
func wait(ctx context.Context, d time.Duration, tick <-chan time.Time, onTick func()) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case <-tick:
			onTick()
		}
	}
}
