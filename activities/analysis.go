package activities

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/vektagraf/slipway/internal/metrics"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

// Analysis measures a release's metrics. Prometheus is the worker's Prometheus (--prometheus-url); nil means
// the prometheus provider is not configured, which every measurement then reports as an error (the analysis
// counts it, and ends as errored past the metric's consecutiveErrorLimit).
type Analysis struct {
	Prometheus metrics.Provider
	// HTTP is the client of the web provider; nil means a client with QueryTimeout.
	HTTP *http.Client
	// QueryTimeout bounds one query; zero means DefaultQueryTimeout.
	QueryTimeout time.Duration
}

// DefaultQueryTimeout bounds one metric query: a measurement is due every interval (30 s or more), and a
// provider slower than this is an outage for the analysis.
const DefaultQueryTimeout = 10 * time.Second

// MeasureInput is one measurement of one metric of a release.
type MeasureInput struct {
	Metric spec.AnalysisMetric `json:"metric"`
	Vars   spec.QueryVars      `json:"vars"`
}

// Measure queries the metric's provider (and its sample count) and judges the answer. A provider that fails
// is not an activity failure: it is a measurement with result "error", which the workflow counts against the
// metric's consecutiveErrorLimit, so the analysis decides and Temporal's retries never hide an outage.
// Only an invalid input (a metric the spec validation would refuse) fails the activity, non-retryably.
func (a *Analysis) Measure(ctx context.Context, in MeasureInput) (releaseapi.Measurement, error) {
	if err := spec.ValidateAnalysisMetric("metric", in.Metric); err != nil {
		return releaseapi.Measurement{}, invalidInput("Measure: %v", err)
	}
	at := time.Now()
	p, err := a.provider(in.Metric)
	if err != nil {
		return releaseapi.NewMeasurement(in.Metric, at, nil, nil, err), nil
	}
	value, err := a.query(ctx, p, in.Metric.Query, in.Vars)
	var samples *float64
	if err == nil && in.Metric.SamplesQuery != "" {
		samples, err = a.query(ctx, p, in.Metric.SamplesQuery, in.Vars)
	}
	return releaseapi.NewMeasurement(in.Metric, at, value, samples, err), nil
}

func (a *Analysis) query(ctx context.Context, p metrics.Provider, query string, vars spec.QueryVars) (*float64, error) {
	q, err := spec.RenderQuery(query, vars)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	return p.Query(ctx, q)
}

func (a *Analysis) provider(m spec.AnalysisMetric) (metrics.Provider, error) {
	switch m.Provider {
	case spec.ProviderPrometheus:
		if a.Prometheus == nil {
			return nil, errors.New("the worker has no Prometheus (start it with --prometheus-url)")
		}
		return a.Prometheus, nil
	default: // spec.ProviderWeb; Validate refused anything else
		c := a.HTTP
		if c == nil {
			c = &http.Client{Timeout: a.timeout()}
		}
		return &metrics.Web{HTTP: c, JSONPath: m.JSONPath}, nil
	}
}

func (a *Analysis) timeout() time.Duration {
	if a.QueryTimeout > 0 {
		return a.QueryTimeout
	}
	return DefaultQueryTimeout
}
