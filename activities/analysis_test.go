package activities

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/metrics"
	"github.com/vektagraf/slipway/internal/spec"
)

// fakePrometheus answers the query API: rate queries with rate, sample-count queries (increase) with count,
// each as a one-series vector, or an empty vector when the value is "".
type fakePrometheus struct {
	mu          sync.Mutex
	rate, count string
	asked       []string
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	q := r.Form.Get("query")
	f.mu.Lock()
	f.asked = append(f.asked, q)
	v := f.rate
	if strings.HasPrefix(q, "sum(increase(") {
		v = f.count
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if v == "" {
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		return
	}
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,%q]}]}}`, v)
}

func analysisWith(t *testing.T, f *fakePrometheus) *Analysis {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	p, err := metrics.NewPrometheus(srv.URL, srv.Client())
	require.NoError(t, err)
	return &Analysis{Prometheus: p}
}

var vars = spec.QueryVars{App: "shop", Namespace: "shop-production", Color: "green", Version: "v1.4.0"}

func TestMeasureJudgesTheRenderedQueries(t *testing.T) {
	f := &fakePrometheus{rate: "0.8", count: "250"}
	a := analysisWith(t, f)
	m, err := a.Measure(context.Background(), MeasureInput{Metric: spec.SuccessRateMetric, Vars: vars})
	require.NoError(t, err)
	require.Equal(t, spec.ResultFail, m.Result)
	require.Equal(t, "request-success-rate = 0.8, below min 0.99", m.Message)
	require.Equal(t, 0.8, *m.Value)
	require.Equal(t, 250.0, *m.Samples)
	require.Len(t, f.asked, 2)
	require.Contains(t, f.asked[0], `namespace="shop-production",app="shop",color="green"`)

	f.rate = "0.999"
	m, err = a.Measure(context.Background(), MeasureInput{Metric: spec.SuccessRateMetric, Vars: vars})
	require.NoError(t, err)
	require.Equal(t, spec.ResultPass, m.Result)

	f.rate, f.count = "", "0" // no traffic
	m, err = a.Measure(context.Background(), MeasureInput{Metric: spec.SuccessRateMetric, Vars: vars})
	require.NoError(t, err)
	require.Equal(t, spec.ResultInconclusive, m.Result)
}

func TestMeasureReportsAnOutageAsAnErrorMeasurementNotAFailedActivity(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	p, err := metrics.NewPrometheus(srv.URL, nil)
	require.NoError(t, err)
	m, err := (&Analysis{Prometheus: p}).Measure(context.Background(), MeasureInput{Metric: spec.LatencyP99Metric, Vars: vars})
	require.NoError(t, err, "the analysis counts errors; the activity does not fail on them")
	require.Equal(t, spec.ResultError, m.Result)
	require.Nil(t, m.Value)

	m, err = (&Analysis{}).Measure(context.Background(), MeasureInput{Metric: spec.LatencyP99Metric, Vars: vars})
	require.NoError(t, err)
	require.Equal(t, spec.ResultError, m.Result)
	require.Contains(t, m.Message, "--prometheus-url")
}

func TestMeasureRefusesAnInvalidMetric(t *testing.T) {
	bad := spec.SuccessRateMetric
	bad.Min = nil
	_, err := (&Analysis{}).Measure(context.Background(), MeasureInput{Metric: bad, Vars: vars})
	require.Equal(t, ErrInvalidInput, ErrorType(err))
	require.ErrorContains(t, err, "give min, max or both")
}
