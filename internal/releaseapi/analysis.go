package releaseapi

import (
	"fmt"
	"math"
	"time"

	"github.com/vektagraf/slipway/internal/spec"
)

// Measurement is one measurement of a metric as the status and the analysis report keep it. Value and Samples
// are nil when the provider returned nothing (or NaN, which JSON cannot carry).
type Measurement struct {
	At      time.Time `json:"at"`
	Value   *float64  `json:"value,omitempty"`
	Samples *float64  `json:"samples,omitempty"`
	// Result is spec.ResultPass, ResultFail, ResultError or ResultInconclusive.
	Result  string `json:"result"`
	Message string `json:"message,omitempty"`
}

// Phases of a metric's analysis. Errored (the provider failed more often in a row than the metric allows) is
// kept apart from failed (the new version measured outside its thresholds): the first says nothing about the
// build.
const (
	AnalysisRunning      = "running"
	AnalysisPassed       = "passed"
	AnalysisFailed       = "failed"
	AnalysisErrored      = "errored"
	AnalysisInconclusive = "inconclusive"
)

// MaxMeasurementsKept bounds MetricStatus.Last, so a day-long analysis keeps a small status; the analysis
// report keeps every measurement.
const MaxMeasurementsKept = 10

// MetricStatus is one metric's analysis so far: the counts by result, the last measurements and, once it
// ended, its phase and why. Record and Finish are pure, so the workflow that owns it replays them exactly.
type MetricStatus struct {
	Name              string        `json:"name"`
	Phase             string        `json:"phase"`
	Pass              int           `json:"pass"`
	Fail              int           `json:"fail"`
	Error             int           `json:"error"`
	Inconclusive      int           `json:"inconclusive"`
	ConsecutiveErrors int           `json:"consecutiveErrors,omitempty"`
	Last              []Measurement `json:"last,omitempty"`
	// Message says why the analysis ended: the metric, the value and the threshold of the deciding
	// measurement.
	Message string `json:"message,omitempty"`
}

// NewMeasurement judges a provider's answer (value and samples nil for no data) with the metric's thresholds.
// err is the provider's error, which makes the measurement an error whatever the value.
func NewMeasurement(m spec.AnalysisMetric, at time.Time, value, samples *float64, err error) Measurement {
	meas := Measurement{At: at.UTC(), Value: finite(value), Samples: finite(samples)}
	if err != nil {
		meas.Result, meas.Message = spec.ResultError, err.Error()
		return meas
	}
	meas.Result, meas.Message = m.Judge(value, samples)
	return meas
}

func finite(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	v := *p
	return &v
}

// Record adds a measurement and returns the phase: failed once failures exceed FailureLimit, errored once
// errors in a row exceed the error limit, inconclusive once inconclusive answers exceed InconclusiveLimit,
// running otherwise. A metric that has ended records nothing more.
func (s *MetricStatus) Record(m spec.AnalysisMetric, meas Measurement) string {
	if s.Phase == "" {
		s.Name, s.Phase = m.Name, AnalysisRunning
	}
	if s.Phase != AnalysisRunning {
		return s.Phase
	}
	s.Last = append(s.Last, meas)
	if len(s.Last) > MaxMeasurementsKept {
		s.Last = s.Last[len(s.Last)-MaxMeasurementsKept:]
	}
	if meas.Result == spec.ResultError {
		s.Error++
		s.ConsecutiveErrors++
	} else {
		s.ConsecutiveErrors = 0
	}
	switch meas.Result {
	case spec.ResultPass:
		s.Pass++
	case spec.ResultFail:
		s.Fail++
	case spec.ResultInconclusive:
		s.Inconclusive++
	}
	switch {
	case s.Fail > m.FailureLimit:
		s.end(AnalysisFailed, fmt.Sprintf("%s (failure %d, failureLimit %d)", meas.Message, s.Fail, m.FailureLimit))
	case s.ConsecutiveErrors > m.ErrorLimit():
		s.end(AnalysisErrored, fmt.Sprintf("%s: %d provider errors in a row (consecutiveErrorLimit %d): %s",
			m.Name, s.ConsecutiveErrors, m.ErrorLimit(), meas.Message))
	case s.Inconclusive > m.InconclusiveLimit:
		s.end(AnalysisInconclusive, fmt.Sprintf("%s: %s (inconclusive %d, inconclusiveLimit %d)",
			m.Name, meas.Message, s.Inconclusive, m.InconclusiveLimit))
	}
	return s.Phase
}

// Finish ends a metric whose analysis ran its course: passed, unless no measurement ever passed, which is
// inconclusive (an analysis never passes on nothing, e.g. when every answer was an error).
func (s *MetricStatus) Finish(m spec.AnalysisMetric) string {
	if s.Phase == "" {
		s.Name, s.Phase = m.Name, AnalysisRunning
	}
	if s.Phase != AnalysisRunning {
		return s.Phase
	}
	if s.Pass == 0 {
		s.end(AnalysisInconclusive, fmt.Sprintf("%s: no measurement passed (%d errors, %d inconclusive)", m.Name, s.Error, s.Inconclusive))
	} else {
		s.end(AnalysisPassed, fmt.Sprintf("%s: %d of %d measurements passed", m.Name, s.Pass, s.Pass+s.Fail+s.Error+s.Inconclusive))
	}
	return s.Phase
}

func (s *MetricStatus) end(phase, msg string) { s.Phase, s.Message = phase, msg }

// MonitorStatus is the monitoring window as the status shows it.
type MonitorStatus struct {
	Until   *time.Time     `json:"until,omitempty"`
	Metrics []MetricStatus `json:"metrics"`
}
