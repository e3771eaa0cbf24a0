package oci

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/stretchr/testify/require"
)

func TestIsNotFound(t *testing.T) {
	require.True(t, IsNotFound(&transport.Error{StatusCode: http.StatusNotFound}))
	require.True(t, IsNotFound(fmt.Errorf("head: %w", &transport.Error{StatusCode: http.StatusOK,
		Errors: []transport.Diagnostic{{Code: transport.ManifestUnknownErrorCode}}})))
	require.True(t, IsNotFound(&transport.Error{Errors: []transport.Diagnostic{{Code: transport.NameUnknownErrorCode}}}))
	require.False(t, IsNotFound(&transport.Error{StatusCode: http.StatusUnauthorized}))
	require.False(t, IsNotFound(errors.New("connection refused")))
}
