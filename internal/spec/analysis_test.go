package spec

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func f(v float64) *float64 { return &v }

func TestJudgeNeverPassesOnMissingData(t *testing.T) {
	m := SuccessRateMetric
	for _, tc := range []struct {
		name           string
		value, samples *float64
		want, msg      string
	}{
		{"healthy", f(0.995), f(120), ResultPass, "request-success-rate = 0.995"},
		{"at the threshold", f(0.99), f(120), ResultPass, ""},
		{"below min", f(0.8), f(120), ResultFail, "request-success-rate = 0.8, below min 0.99"},
		{"no traffic", nil, f(0), ResultInconclusive, "0 samples, fewer than minSamples 20"},
		{"too few samples to judge", f(0.5), f(3), ResultInconclusive, "fewer than minSamples"},
		{"no sample count", f(1), nil, ResultInconclusive, "no sample count"},
		{"NaN (0/0)", f(math.NaN()), f(50), ResultInconclusive, "no data"},
		{"no series", nil, f(50), ResultInconclusive, "no data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, msg := m.Judge(tc.value, tc.samples)
			require.Equal(t, tc.want, got)
			require.Contains(t, msg, tc.msg)
		})
	}
	got, msg := LatencyP99Metric.Judge(f(0.72), f(100))
	require.Equal(t, ResultFail, got)
	require.Equal(t, "request-duration-p99 = 0.72, above max 0.5", msg)
}

func TestRenderQueryFillsTheReleaseValues(t *testing.T) {
	q, err := RenderQuery(SuccessRateMetric.Query, QueryVars{App: "shop", Namespace: "shop-production", Color: "green", Version: "v1.2.0"})
	require.NoError(t, err)
	require.Contains(t, q, `namespace="shop-production",app="shop",color="green",code!~"5.."`)
	require.NotContains(t, q, "{{")
	_, err = RenderQuery(`up{job="{{.Job}}"}`, QueryVars{})
	require.ErrorContains(t, err, "Job")
	_, err = RenderQuery(`up{{`, QueryVars{})
	require.Error(t, err)
}

func TestAnalysisMetricValidationNamesTheField(t *testing.T) {
	require.NoError(t, ValidateAnalysisMetric("monitor.metrics[0]", SuccessRateMetric))
	require.NoError(t, ValidateAnalysisMetric("monitor.metrics[1]", LatencyP99Metric))
	bad := AnalysisMetric{Name: "Bad Name", Provider: "datadog", Query: "{{.Nope}}", MinSamples: 5, Min: f(2), Max: f(1),
		FailureLimit: -1, OnInconclusive: "ignore"}
	err := ValidateAnalysisMetric("monitor.metrics[2]", bad)
	for _, want := range []string{
		"monitor.metrics[2].name", "monitor.metrics[2].provider", "monitor.metrics[2].query", "monitor.metrics[2].min: 2 is above max 1",
		"monitor.metrics[2].minSamples: needs samplesQuery", "monitor.metrics[2].failureLimit", "monitor.metrics[2].onInconclusive",
	} {
		require.ErrorContains(t, err, want)
	}
	noThreshold := SuccessRateMetric
	noThreshold.Min = nil
	require.ErrorContains(t, ValidateAnalysisMetric("m", noThreshold), "m: give min, max or both")
	web := AnalysisMetric{Name: "rate", Provider: ProviderWeb, Query: "http://127.0.0.1:9/rate", Min: f(1)}
	require.ErrorContains(t, ValidateAnalysisMetric("m", web), "m.jsonPath: required with provider web")
}
