//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/metrics"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// measureUntilJudged sends traffic through the active Service and measures the metric until Prometheus has
// enough samples to judge (anything but inconclusive), bounded in time.
func measureUntilJudged(t *testing.T, a *activities.Analysis, m spec.AnalysisMetric, vars spec.QueryVars) releaseapi.Measurement {
	t.Helper()
	ctx := deadline(t, time.Minute)
	for {
		for range 30 {
			viaService(t, vars.Namespace, "demo-app-active", "/")
		}
		meas, err := a.Measure(ctx, activities.MeasureInput{Metric: m, Vars: vars})
		require.NoError(t, err)
		require.NotEqual(t, spec.ResultError, meas.Result, meas.Message)
		if meas.Result != spec.ResultInconclusive {
			return meas
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s stayed inconclusive: %s", m.Name, meas.Message)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// The Measure activity against a real Prometheus scraping the demo app's pods: the healthy build's success
// rate passes, a build that fails 20 % of its requests fails with the metric, its value and the threshold
// named, and a color with no traffic is inconclusive, never a pass.
func TestMeasureJudgesTheNewColorFromARealPrometheus(t *testing.T) {
	p, err := metrics.NewPrometheus(h.prometheus, nil)
	require.NoError(t, err)
	a := &activities.Analysis{Prometheus: p}
	s := appSpec(t, "metrics")
	prod := s.Environments.Production.Namespace
	vars := spec.QueryVars{App: s.App.Name, Namespace: prod}

	res, _, err := release(t, h.releases, s, "v1.0.0")
	require.NoError(t, err)
	vars.Color, vars.Version = res.ActiveColor, "v1.0.0"
	good := measureUntilJudged(t, a, spec.SuccessRateMetric, vars)
	require.Equal(t, spec.ResultPass, good.Result, good.Message)
	require.Equal(t, 1.0, *good.Value)

	res, _, err = release(t, h.releases, s, "v1.1.0-errors20")
	require.NoError(t, err, "the degraded build passes its smoke checks: only traffic shows it")
	vars.Color, vars.Version = res.ActiveColor, "v1.1.0-errors20"
	bad := measureUntilJudged(t, a, spec.SuccessRateMetric, vars)
	require.Equal(t, spec.ResultFail, bad.Result, bad.Message)
	require.InDelta(t, 0.8, *bad.Value, 0.05)
	require.Contains(t, bad.Message, "request-success-rate = 0.")
	require.Contains(t, bad.Message, "below min 0.99")

	idle := vars
	idle.Color = "no-such-color"
	meas, err := a.Measure(context.Background(), activities.MeasureInput{Metric: spec.SuccessRateMetric, Vars: idle})
	require.NoError(t, err)
	require.Equal(t, spec.ResultInconclusive, meas.Result, "no traffic is never a pass")
}

// trafficTo sends requests to the app's active Service every 10 ms until the test ends, as users would; the
// monitor stage reads their outcome from Prometheus.
func trafficTo(t *testing.T, ns string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	url := fmt.Sprintf("%s/api/v1/namespaces/%s/services/demo-app-active:8080/proxy/", h.proxyURL, ns)
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
}

// A release watched by the monitor stage: the healthy build passes its window and the old color goes; a
// build that answers 500 to 20 % of its traffic after the switch is rolled back by the monitor, with traffic
// back on the old color and the metric named in the release's error.
func TestMonitorRollsBackABuildThatFailsUnderTraffic(t *testing.T) {
	s := appSpec(t, "monitor")
	prod := s.Environments.Production.Namespace
	m := spec.SuccessRateMetric
	m.InconclusiveLimit = 30 // the first measurements after a switch see too few requests of the new color
	s.Monitor = &spec.Monitor{Window: spec.Duration(30 * time.Second), Interval: spec.Duration(2 * time.Second), Metrics: []spec.AnalysisMetric{m}}

	trafficTo(t, prod) // refused until the first release creates the active Service

	res, run, err := release(t, h.releases, s, "v1.0.0")
	require.NoError(t, err)
	recordHistory(t, run, "release-monitored")
	st, err := h.releases.Status(deadline(t, 10*time.Second), run.ID, run.RunID)
	require.NoError(t, err)
	require.Equal(t, releaseapi.AnalysisPassed, st.Monitor.Metrics[0].Phase, st.Monitor.Metrics[0].Message)
	require.Positive(t, st.Monitor.Metrics[0].Pass)
	require.Zero(t, st.Monitor.Metrics[0].Fail)

	_, run, err = release(t, h.releases, s, "v1.1.0-errors20")
	require.Error(t, err)
	recordHistory(t, run, "release-monitor-rolled-back")
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err))
	require.ErrorContains(t, err, "request-success-rate = 0.")
	require.ErrorContains(t, err, "below min 0.99")
	require.Equal(t, res.ActiveColor, selectorColor(t, prod, "demo-app-active"), "traffic is back on the old color")
	st, err = h.releases.Status(deadline(t, 10*time.Second), run.ID, run.RunID)
	require.NoError(t, err)
	require.Equal(t, releaseapi.StateFailed, stageByName(st, releaseapi.StageMonitor).State)
	require.Equal(t, releaseapi.AnalysisFailed, st.Monitor.Metrics[0].Phase)
}

func stageByName(st releaseapi.Status, name string) releaseapi.Stage {
	for _, s := range st.Stages {
		if s.Name == name {
			return s
		}
	}
	return releaseapi.Stage{}
}
