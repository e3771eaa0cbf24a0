package spec

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"text/template"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Results of one measurement of a metric. A failure is a value outside the metric's thresholds; an error is a
// provider that could not answer (unreachable, a bad query); inconclusive is an answer with nothing to judge
// (no series, NaN, fewer samples than minSamples). They are counted apart, so a flapping provider is never
// taken for a bad build and missing data is never taken for a good one.
const (
	ResultPass         = "pass"
	ResultFail         = "fail"
	ResultError        = "error"
	ResultInconclusive = "inconclusive"
)

// Outcomes a metric's analysis can take on inconclusive data (onInconclusive).
const (
	OnInconclusiveRollback = "rollback"
	OnInconclusivePause    = "pause"
	OnInconclusivePromote  = "promote"
)

// Metric providers.
const (
	ProviderPrometheus = "prometheus"
	ProviderWeb        = "web"
)

// AnalysisMetric is one metric a release's analysis measures at every interval: a query to a provider, the
// thresholds its value must stay within, and how many failures, provider errors and inconclusive answers the
// analysis tolerates.
type AnalysisMetric struct {
	// Name names the metric in the status, the report and a rollback's message.
	Name string `json:"name" yaml:"name"`
	// Provider is prometheus (PromQL through the HTTP query API) or web (an HTTP JSON endpoint).
	Provider string `json:"provider" yaml:"provider"`
	// Query is PromQL for prometheus, a URL for web; {{.App}}, {{.Namespace}}, {{.Color}} and {{.Version}}
	// are replaced with the release's (validated) values.
	Query string `json:"query" yaml:"query"`
	// JSONPath picks the number out of a web provider's answer (`{.data.value}`, kubectl's syntax).
	JSONPath string `json:"jsonPath,omitempty" yaml:"jsonPath,omitempty"`
	// Min and Max bound a passing value (inclusive); at least one is required.
	Min *float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max *float64 `json:"max,omitempty" yaml:"max,omitempty"`
	// SamplesQuery counts what the value was computed from (requests in the window, for a rate); with
	// MinSamples, fewer samples make the measurement inconclusive instead of judging a value of no weight.
	SamplesQuery string  `json:"samplesQuery,omitempty" yaml:"samplesQuery,omitempty"`
	MinSamples   float64 `json:"minSamples,omitempty" yaml:"minSamples,omitempty"`
	// FailureLimit is how many failed measurements the analysis tolerates; one more fails it (default 0).
	FailureLimit int `json:"failureLimit,omitempty" yaml:"failureLimit,omitempty"`
	// ConsecutiveErrorLimit is how many provider errors in a row the analysis tolerates; one more ends it as
	// errored (default 4). A measurement that answers resets the run.
	ConsecutiveErrorLimit *int `json:"consecutiveErrorLimit,omitempty" yaml:"consecutiveErrorLimit,omitempty"`
	// InconclusiveLimit is how many inconclusive measurements the analysis tolerates; one more ends it as
	// inconclusive (default 0).
	InconclusiveLimit int `json:"inconclusiveLimit,omitempty" yaml:"inconclusiveLimit,omitempty"`
	// OnInconclusive is what an inconclusive analysis does: rollback (default), pause (ask a person) or
	// promote. It is never a silent pass.
	OnInconclusive string `json:"onInconclusive,omitempty" yaml:"onInconclusive,omitempty"`
}

// DefaultConsecutiveErrorLimit is AnalysisMetric.ConsecutiveErrorLimit when unset: a provider may miss four
// measurements in a row (a restart, a network blip) without ending the analysis.
const DefaultConsecutiveErrorLimit = 4

// ErrorLimit is ConsecutiveErrorLimit with its default.
func (m AnalysisMetric) ErrorLimit() int {
	if m.ConsecutiveErrorLimit == nil {
		return DefaultConsecutiveErrorLimit
	}
	return *m.ConsecutiveErrorLimit
}

// Judge classifies one answer of the provider: value and samples are nil when the provider returned no data.
// A missing or NaN value, or fewer samples than MinSamples, is inconclusive; a value outside [Min, Max] fails;
// anything else passes. The message says what was compared, for the status and a rollback's message.
func (m AnalysisMetric) Judge(value, samples *float64) (result, message string) {
	if m.SamplesQuery != "" {
		switch {
		case samples == nil || math.IsNaN(*samples):
			return ResultInconclusive, "no sample count"
		case *samples < m.MinSamples:
			return ResultInconclusive, fmt.Sprintf("%s samples, fewer than minSamples %s", num(*samples), num(m.MinSamples))
		}
	}
	if value == nil || math.IsNaN(*value) {
		return ResultInconclusive, "no data"
	}
	v := *value
	switch {
	case m.Min != nil && v < *m.Min:
		return ResultFail, fmt.Sprintf("%s = %s, below min %s", m.Name, num(v), num(*m.Min))
	case m.Max != nil && v > *m.Max:
		return ResultFail, fmt.Sprintf("%s = %s, above max %s", m.Name, num(v), num(*m.Max))
	}
	return ResultPass, fmt.Sprintf("%s = %s", m.Name, num(v))
}

// num formats a measured value the short way (0.995, 512, 1e-06).
func num(f float64) string { return fmt.Sprintf("%g", f) }

// QueryVars are the values a metric's queries are rendered with. They come from a validated spec and
// version (DNS labels, a semantic version or a commit), so they hold no quote or brace that could change a
// PromQL label matcher or a URL's meaning.
type QueryVars struct {
	App, Namespace, Color, Version string
}

// RenderQuery fills a query's placeholders ({{.App}}, {{.Namespace}}, {{.Color}}, {{.Version}}). An unknown
// placeholder or a template that does not parse is an error.
func RenderQuery(query string, vars QueryVars) (string, error) {
	t, err := template.New("query").Option("missingkey=error").Parse(query)
	if err != nil {
		return "", fmt.Errorf("query: %v", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, vars); err != nil {
		return "", fmt.Errorf("query: %v", err)
	}
	return b.String(), nil
}

// Built-in metrics: the design chapter's two checks, request success rate at least 99 % and p99 latency at
// most 500 ms, over the standard http_requests_total and http_request_duration_seconds metrics of the new
// color's pods, in the last minute. Both need at least 20 requests in that minute to judge.
var (
	SuccessRateMetric = AnalysisMetric{
		Name:     "request-success-rate",
		Provider: ProviderPrometheus,
		Query: `sum(rate(http_requests_total{namespace="{{.Namespace}}",app="{{.App}}",color="{{.Color}}",code!~"5.."}[1m]))` +
			` / sum(rate(http_requests_total{namespace="{{.Namespace}}",app="{{.App}}",color="{{.Color}}"}[1m]))`,
		Min:          ptrTo(0.99),
		SamplesQuery: `sum(increase(http_requests_total{namespace="{{.Namespace}}",app="{{.App}}",color="{{.Color}}"}[1m]))`,
		MinSamples:   20,
	}
	LatencyP99Metric = AnalysisMetric{
		Name:     "request-duration-p99",
		Provider: ProviderPrometheus,
		Query: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{` +
			`namespace="{{.Namespace}}",app="{{.App}}",color="{{.Color}}"}[1m])))`,
		Max:          ptrTo(0.5),
		SamplesQuery: `sum(increase(http_request_duration_seconds_count{namespace="{{.Namespace}}",app="{{.App}}",color="{{.Color}}"}[1m]))`,
		MinSamples:   20,
	}
)

func ptrTo[T any](v T) *T { return &v }

// analysisMetric checks one metric at path (e.g. "monitor.metrics[0]").
func (v *validator) analysisMetric(path string, m AnalysisMetric) {
	if len(validation.IsDNS1123Label(m.Name)) > 0 {
		v.add(path+".name", "%s is not a name; write lower-case letters, digits and -", notExpected(m.Name))
	}
	switch m.Provider {
	case ProviderPrometheus, ProviderWeb:
	default:
		v.add(path+".provider", "%s; write %s or %s", notExpected(m.Provider), ProviderPrometheus, ProviderWeb)
	}
	vars := QueryVars{App: "app", Namespace: "ns", Color: "blue", Version: "v1.0.0"}
	if strings.TrimSpace(m.Query) == "" {
		v.add(path+".query", "required")
	} else if _, err := RenderQuery(m.Query, vars); err != nil {
		v.add(path+".query", "%v; the placeholders are {{.App}}, {{.Namespace}}, {{.Color}} and {{.Version}}", err)
	}
	if m.Provider == ProviderWeb && m.JSONPath == "" {
		v.add(path+".jsonPath", "required with provider web: where the number is in the answer, e.g. {.data.value}")
	}
	if m.Min == nil && m.Max == nil {
		v.add(path, "give min, max or both: a metric without a threshold can never fail")
	}
	if m.Min != nil && m.Max != nil && *m.Min > *m.Max {
		v.add(path+".min", "%s is above max %s", num(*m.Min), num(*m.Max))
	}
	if m.SamplesQuery != "" {
		if _, err := RenderQuery(m.SamplesQuery, vars); err != nil {
			v.add(path+".samplesQuery", "%v", err)
		}
		if m.MinSamples <= 0 {
			v.add(path+".minSamples", "must be positive with samplesQuery")
		}
	} else if m.MinSamples != 0 {
		v.add(path+".minSamples", "needs samplesQuery: the query that counts the samples")
	}
	if m.FailureLimit < 0 {
		v.add(path+".failureLimit", "must not be negative")
	}
	if m.ConsecutiveErrorLimit != nil && *m.ConsecutiveErrorLimit < 0 {
		v.add(path+".consecutiveErrorLimit", "must not be negative")
	}
	if m.InconclusiveLimit < 0 {
		v.add(path+".inconclusiveLimit", "must not be negative")
	}
	switch m.OnInconclusive {
	case "", OnInconclusiveRollback, OnInconclusivePause, OnInconclusivePromote:
	default:
		v.add(path+".onInconclusive", "%s; write rollback, pause or promote", notExpected(m.OnInconclusive))
	}
}

// ValidateAnalysisMetric checks one metric and returns FieldErrors with paths under path, or nil.
func ValidateAnalysisMetric(path string, m AnalysisMetric) error {
	v := &validator{}
	v.analysisMetric(path, m)
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

// Monitor is the post-deploy monitoring window: after the traffic switch and verify, every metric is measured
// every Interval for Window while the old color stays scaled up; a failed metric switches traffic back and
// rolls the release back.
type Monitor struct {
	// Window is how long the new version is watched; 30s to 1h (longer windows need continue-as-new, which is
	// not built yet).
	Window Duration `json:"window" yaml:"window"`
	// Interval is the time between measurements; default 30s, 1s to the window.
	Interval Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Metrics are measured at every interval; at least one.
	Metrics []AnalysisMetric `json:"metrics" yaml:"metrics"`
}

// DefaultMonitorInterval is Monitor.Interval when unset.
const DefaultMonitorInterval = 30 * time.Second

// maxMonitorWindow bounds a window until long windows continue as new: 1h at 1s intervals with two metrics
// stays well under Temporal's history limits.
const maxMonitorWindow = time.Hour

// monitor checks the monitor section.
func (v *validator) monitor(m *Monitor) {
	if m == nil {
		return
	}
	v.durationRange("monitor.window", m.Window, 30*time.Second, maxMonitorWindow)
	v.durationRange("monitor.interval", m.Interval, time.Second, max(m.Window.D(), time.Second))
	if len(m.Metrics) == 0 {
		v.add("monitor.metrics", "required: at least one metric to watch")
	}
	for i, metric := range m.Metrics {
		path := fmt.Sprintf("monitor.metrics[%d]", i)
		v.analysisMetric(path, metric)
		if metric.OnInconclusive == OnInconclusivePause {
			v.add(path+".onInconclusive", "pause is not supported yet; write rollback or promote")
		}
		for j := range i {
			if m.Metrics[j].Name == metric.Name && metric.Name != "" {
				v.add(path+".name", "%s is listed twice (also monitor.metrics[%d])", metric.Name, j)
				break
			}
		}
	}
}
