package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// analysis is a nil receiver, like k8s.
var analysis *activities.Analysis

// monitor is the post-deploy monitoring window: after verify, while the old color stays scaled up and ready,
// every metric of the spec's monitor section is measured every interval on a durable timer until the window
// ends. A metric that fails, errors past its limit, or is inconclusive with onInconclusive rollback fails the
// stage with ErrAnalysisFailed, and the release rolls back: traffic returns to the old color. Without a monitor
// section the stage watches nothing and succeeds.
func (r *release) monitor(ctx workflow.Context) (string, error) {
	mon := r.in.Spec.Monitor
	if mon == nil {
		return "no monitor section: nothing watched", nil
	}
	vars := spec.QueryVars{App: r.in.Spec.App.Name, Namespace: r.in.Spec.Environments.Production.Namespace,
		Color: r.newColor, Version: r.in.Version}
	until := workflow.Now(ctx).Add(mon.Window.D()).UTC()
	st := &releaseapi.MonitorStatus{Until: &until, Metrics: make([]releaseapi.MetricStatus, len(mon.Metrics))}
	r.t.status.Monitor = st
	for {
		for i, m := range mon.Metrics {
			if st.Metrics[i].Phase != "" && st.Metrics[i].Phase != releaseapi.AnalysisRunning {
				continue
			}
			var meas releaseapi.Measurement
			if err := workflow.ExecuteActivity(withMeasure(ctx, mon.Interval.D()), analysis.Measure,
				activities.MeasureInput{Metric: m, Vars: vars}).Get(ctx, &meas); err != nil {
				return "", err // an invalid metric or a cancelled release; provider outages are measurements
			}
			if err := decided(m, st.Metrics[i].Record(m, meas), st.Metrics[i].Message); err != nil {
				return "", err
			}
		}
		if !workflow.Now(ctx).Add(mon.Interval.D()).Before(until) {
			break
		}
		if err := workflow.Sleep(ctx, mon.Interval.D()); err != nil {
			return "", err
		}
	}
	var promoted []string
	for i, m := range mon.Metrics {
		phase := st.Metrics[i].Finish(m)
		if err := decided(m, phase, st.Metrics[i].Message); err != nil {
			return "", err
		}
		if phase == releaseapi.AnalysisInconclusive {
			promoted = append(promoted, m.Name)
		}
	}
	msg := fmt.Sprintf("%d metrics watched for %s: passed", len(mon.Metrics), mon.Window.D())
	if len(promoted) > 0 {
		msg += "; inconclusive, promoted by onInconclusive: " + strings.Join(promoted, ", ")
	}
	return msg, nil
}

// decided turns a metric's phase into the stage's error: failed and errored always roll back, inconclusive
// does what the metric's onInconclusive says (rollback, or promote: go on).
func decided(m spec.AnalysisMetric, phase, message string) error {
	switch {
	case phase == releaseapi.AnalysisFailed, phase == releaseapi.AnalysisErrored,
		phase == releaseapi.AnalysisInconclusive && m.OnInconclusive != spec.OnInconclusivePromote:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("analysis %s: %s", phase, message), releaseapi.ErrAnalysisFailed, nil)
	}
	return nil
}

// withMeasure bounds one measurement by the interval (a measurement that takes longer than the time between
// two is an outage) and retries it once; a provider that does not answer is already an error measurement.
func withMeasure(ctx workflow.Context, interval time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: max(min(interval, time.Minute), 5*time.Second),
		RetryPolicy:         retryPolicy(2),
		WaitForCancellation: true,
	})
}
