package releaseapi

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/spec"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func fl(v float64) *float64 { return &v }

func measure(m spec.AnalysisMetric, i int, value, samples *float64, err error) Measurement {
	return NewMeasurement(m, t0.Add(time.Duration(i)*30*time.Second), value, samples, err)
}

func TestAnalysisFailsOnceFailuresExceedTheLimit(t *testing.T) {
	m := spec.SuccessRateMetric
	m.FailureLimit = 1
	var s MetricStatus
	require.Equal(t, AnalysisRunning, s.Record(m, measure(m, 0, fl(0.999), fl(100), nil)))
	require.Equal(t, AnalysisRunning, s.Record(m, measure(m, 1, fl(0.8), fl(100), nil)), "one failure is tolerated")
	require.Equal(t, AnalysisFailed, s.Record(m, measure(m, 2, fl(0.79), fl(100), nil)))
	require.Contains(t, s.Message, "request-success-rate = 0.79, below min 0.99 (failure 2, failureLimit 1)")
	require.Equal(t, AnalysisFailed, s.Record(m, measure(m, 3, fl(1), fl(100), nil)), "an ended analysis stays ended")
	require.Equal(t, 1, s.Pass)
	require.Equal(t, AnalysisFailed, s.Finish(m))
}

func TestProviderErrorsAreNotFailures(t *testing.T) {
	m := spec.SuccessRateMetric
	down := errors.New("dial tcp 127.0.0.1:9090: connection refused")
	var s MetricStatus
	for i := range 4 {
		require.Equal(t, AnalysisRunning, s.Record(m, measure(m, i, nil, nil, down)), "below consecutiveErrorLimit (4)")
	}
	require.Equal(t, AnalysisRunning, s.Record(m, measure(m, 4, fl(0.999), fl(100), nil)), "an answer resets the run")
	for i := range 4 {
		s.Record(m, measure(m, 5+i, nil, nil, down))
	}
	require.Equal(t, AnalysisErrored, s.Record(m, measure(m, 9, nil, nil, down)))
	require.Contains(t, s.Message, "5 provider errors in a row (consecutiveErrorLimit 4)")
	require.Zero(t, s.Fail)
	require.Equal(t, 9, s.Error)
}

func TestNoTrafficIsInconclusiveNeverAPass(t *testing.T) {
	m := spec.SuccessRateMetric
	var s MetricStatus
	require.Equal(t, AnalysisInconclusive, s.Record(m, measure(m, 0, nil, fl(0), nil)))
	require.Contains(t, s.Message, "0 samples, fewer than minSamples 20")

	m.InconclusiveLimit = 100
	s = MetricStatus{}
	for i := range 5 {
		s.Record(m, measure(m, i, nil, fl(0), nil))
	}
	require.Equal(t, AnalysisInconclusive, s.Finish(m), "a window without one passing measurement never passes")
	require.Contains(t, s.Message, "no measurement passed")
}

func TestStatusKeepsTheLastMeasurementsOnly(t *testing.T) {
	m := spec.LatencyP99Metric
	var s MetricStatus
	for i := range 3 * MaxMeasurementsKept {
		s.Record(m, measure(m, i, fl(0.1), fl(100), nil))
	}
	require.Len(t, s.Last, MaxMeasurementsKept)
	require.Equal(t, t0.Add(time.Duration(3*MaxMeasurementsKept-1)*30*time.Second), s.Last[MaxMeasurementsKept-1].At)
	require.Equal(t, AnalysisPassed, s.Finish(m))
	require.Equal(t, "request-duration-p99: 30 of 30 measurements passed", s.Message)
	nan := NewMeasurement(m, t0, fl(0/zero()), fl(100), nil)
	require.Nil(t, nan.Value, "NaN is kept as no value (JSON cannot carry it)")
	require.Equal(t, spec.ResultInconclusive, nan.Result)
}

func zero() float64 { return 0 }
