//go:build integration

package integration

import (
	"context"
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
