package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// monitoredInput is a release of v1.1.0 watched for window at interval with the built-in success-rate metric.
func monitoredInput(window, interval time.Duration, onInconclusive string) releaseapi.ReleaseInput {
	in := releaseInput("v1.1.0")
	m := spec.SuccessRateMetric
	m.OnInconclusive = onInconclusive
	in.Spec.Monitor = &spec.Monitor{Window: spec.Duration(window), Interval: spec.Duration(interval), Metrics: []spec.AnalysisMetric{m}}
	return in
}

func TestHealthyMonitoringWindowPassesAndThenScalesTheOldColorDown(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	var mid releaseapi.Status
	var midBlue fakeDeployment
	h.env.RegisterDelayedCallback(func() { mid, midBlue = h.status(t), h.fc.deployment(blueDep) }, 5*time.Minute)
	h.env.ExecuteWorkflow(ReleaseWorkflow, monitoredInput(10*time.Minute, 30*time.Second, ""))
	require.NoError(t, h.env.GetWorkflowError())

	require.Equal(t, releaseapi.StateRunning, stageByName(mid, releaseapi.StageMonitor).State)
	require.Equal(t, releaseapi.AnalysisRunning, mid.Monitor.Metrics[0].Phase)
	require.Positive(t, mid.Monitor.Metrics[0].Pass)
	require.Equal(t, int32(2), midBlue.replicas, "the old color stays scaled up and ready during the window")
	require.Equal(t, "green", mid.ActiveColor)
	st := h.status(t)
	require.Equal(t, releaseapi.AnalysisPassed, st.Monitor.Metrics[0].Phase)
	require.Equal(t, 20, st.Monitor.Metrics[0].Pass, "one measurement every 30s for 10m")
	require.Len(t, st.Monitor.Metrics[0].Last, releaseapi.MaxMeasurementsKept)
	require.Contains(t, stageByName(st, releaseapi.StageMonitor).Message, "1 metrics watched for 10m0s: passed")
	color, _ := h.fc.service(prodActive)
	require.Equal(t, "green", color)
	require.Equal(t, int32(0), h.fc.deployment(blueDep).replicas, "the old color goes only after the window")
}

func TestBreachDuringTheWindowSwitchesTrafficBack(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.measure = func(_ activities.MeasureInput, n int) (*float64, *float64, error) {
		if n >= 6 { // three minutes in, the new version starts failing 20 % of its requests
			return ptrTo(0.8), ptrTo(500), nil
		}
		return ptrTo(0.999), ptrTo(500), nil
	}
	h.env.ExecuteWorkflow(ReleaseWorkflow, monitoredInput(time.Hour, 30*time.Second, ""))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.ErrorContains(t, err, "request-success-rate = 0.8, below min 0.99")
	requireRolledBack(t, h)
	st := h.status(t)
	require.Equal(t, releaseapi.StateFailed, stageByName(st, releaseapi.StageMonitor).State)
	require.Equal(t, releaseapi.AnalysisFailed, st.Monitor.Metrics[0].Phase)
	require.Equal(t, 6, st.Monitor.Metrics[0].Pass)
	require.Len(t, h.fc.measureAt, 7, "the release stops at the first failure (failureLimit 0), not at the window's end")
}

func TestNoTrafficIsInconclusiveAndTakesOnInconclusive(t *testing.T) {
	noTraffic := func(activities.MeasureInput, int) (*float64, *float64, error) { return nil, ptrTo(0), nil }

	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.measure = noTraffic
	h.env.ExecuteWorkflow(ReleaseWorkflow, monitoredInput(5*time.Minute, 30*time.Second, spec.OnInconclusiveRollback))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.ErrorContains(t, err, "analysis inconclusive: request-success-rate: 0 samples, fewer than minSamples 20")
	requireRolledBack(t, h)

	h = newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.measure = noTraffic
	in := monitoredInput(5*time.Minute, 30*time.Second, spec.OnInconclusivePromote)
	in.Spec.Monitor.Metrics[0].InconclusiveLimit = 100
	h.env.ExecuteWorkflow(ReleaseWorkflow, in)
	require.NoError(t, h.env.GetWorkflowError(), "promote goes on, and says so")
	st := h.status(t)
	require.Equal(t, releaseapi.AnalysisInconclusive, st.Monitor.Metrics[0].Phase)
	require.Contains(t, stageByName(st, releaseapi.StageMonitor).Message, "inconclusive, promoted by onInconclusive: request-success-rate")
}

func TestProviderErrorsBelowTheLimitDoNotFailTheRelease(t *testing.T) {
	h := newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.measure = func(_ activities.MeasureInput, n int) (*float64, *float64, error) {
		if n%5 < 3 { // Prometheus restarts: three errors in a row, then answers
			return nil, nil, errors.New("connection refused")
		}
		return ptrTo(0.999), ptrTo(500), nil
	}
	h.env.ExecuteWorkflow(ReleaseWorkflow, monitoredInput(10*time.Minute, 30*time.Second, ""))
	require.NoError(t, h.env.GetWorkflowError())
	st := h.status(t)
	require.Equal(t, 12, st.Monitor.Metrics[0].Error)
	require.Equal(t, 8, st.Monitor.Metrics[0].Pass)

	h = newHarness(t)
	h.fc.seedLive("blue", "v1.0.0")
	h.fc.measure = func(activities.MeasureInput, int) (*float64, *float64, error) {
		return nil, nil, errors.New("connection refused")
	}
	h.env.ExecuteWorkflow(ReleaseWorkflow, monitoredInput(10*time.Minute, 30*time.Second, ""))
	err := h.env.GetWorkflowError()
	require.Equal(t, releaseapi.ErrRolledBack, errType(err))
	require.ErrorContains(t, err, "5 provider errors in a row (consecutiveErrorLimit 4)")
	requireRolledBack(t, h)
}
