package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// promServer answers /api/v1/query with body for every query and records the queries asked.
func promServer(t *testing.T, status int, body string) (*Prometheus, *[]string) {
	t.Helper()
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		asked = append(asked, r.Form.Get("query"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	p, err := NewPrometheus(srv.URL, srv.Client())
	require.NoError(t, err)
	p.now = func() time.Time { return time.Unix(1_700_000_000, 0) }
	return p, &asked
}

func TestPrometheusAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       *float64
		bad        bool
	}{
		{"one series", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.995"]}]}}`, ptr(0.995), false},
		{"scalar", `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}`, ptr(42), false},
		{"no series is no data", `{"status":"success","data":{"resultType":"vector","result":[]}}`, nil, false},
		{"two series", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, asked := promServer(t, http.StatusOK, tc.body)
			got, err := p.Query(context.Background(), `sum(rate(x[1m]))`)
			require.Equal(t, []string{`sum(rate(x[1m]))`}, *asked)
			if tc.bad {
				require.ErrorIs(t, err, ErrBadQuery)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestPrometheusRefusalAndOutageAreTold(t *testing.T) {
	p, _ := promServer(t, http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"parse error at char 5"}`)
	_, err := p.Query(context.Background(), `sum(`)
	require.ErrorIs(t, err, ErrBadQuery)
	require.ErrorContains(t, err, "parse error")

	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more: an outage
	down, err := NewPrometheus(srv.URL, nil)
	require.NoError(t, err)
	_, err = down.Query(context.Background(), `up`)
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrBadQuery), "an outage is not a bad query")
}

func webServer(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/metrics", http.StatusFound)
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestWebPicksTheNumber(t *testing.T) {
	for _, tc := range []struct {
		name, body, path string
		want             *float64
		bad              bool
	}{
		{"number", `{"data":{"successRate":0.97}}`, "{.data.successRate}", ptr(0.97), false},
		{"numeric string", `{"data":{"p99":" 0.31 "}}`, "{.data.p99}", ptr(0.31), false},
		{"missing is no data", `{"data":{}}`, "{.data.p99}", nil, false},
		{"null is no data", `{"data":{"p99":null}}`, "{.data.p99}", nil, false},
		{"a word", `{"data":{"p99":"fast"}}`, "{.data.p99}", nil, true},
		{"an object", `{"data":{"p99":{"v":1}}}`, "{.data.p99}", nil, true},
		{"not JSON", `<html>`, "{.data}", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &Web{JSONPath: tc.path}
			got, err := w.Query(context.Background(), webServer(t, http.StatusOK, tc.body)+"/metrics")
			if tc.bad {
				require.ErrorIs(t, err, ErrBadQuery)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestWebRefusesWhatItShouldNotFollow(t *testing.T) {
	w := &Web{JSONPath: "{.v}"}
	_, err := w.Query(context.Background(), "file:///etc/passwd")
	require.ErrorIs(t, err, ErrBadQuery)

	base := webServer(t, http.StatusOK, `{"v":1}`)
	_, err = w.Query(context.Background(), base+"/redirect")
	require.ErrorContains(t, err, "status 302", "redirects are not followed")

	failing := webServer(t, http.StatusInternalServerError, `secret-token-in-an-error-page`)
	_, err = w.Query(context.Background(), failing)
	require.ErrorContains(t, err, "status 500")
	require.NotContains(t, err.Error(), "secret-token", "an error page is not repeated into the status")
}

func ptr(f float64) *float64 { return &f }
