package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrometheusURLIsCheckedBeforeTheWorkerStarts(t *testing.T) {
	for _, bad := range []string{"::bad", "127.0.0.1:9090", "ftp://host", "http://"} {
		_, err := analysisFor(bad)
		require.ErrorContains(t, err, "--prometheus-url", bad)
	}
	a, err := analysisFor("http://127.0.0.1:9090")
	require.NoError(t, err)
	require.NotNil(t, a.Prometheus)
	a, err = analysisFor("")
	require.NoError(t, err)
	require.Nil(t, a.Prometheus, "no Prometheus: its metrics measure as errors")
}
