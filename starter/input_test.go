package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// TestInputPrintsAStartableReleaseInput: input's JSON decodes as the release input, with the version, the
// actor and the spec's defaults, durations as strings, and stderr names the workflow ID to start it with.
func TestInputPrintsAStartableReleaseInput(t *testing.T) {
	code, stdout, stderr := runStarter(t, "input", "--spec", demoSpec, "--version", "v1.4.0", "--actor", "ci")
	require.Equal(t, exitOK, code, stderr)
	var in releaseapi.ReleaseInput
	require.NoError(t, json.Unmarshal([]byte(stdout), &in))
	require.Equal(t, "v1.4.0", in.Version)
	require.Equal(t, "ci", in.Trigger.Actor)
	require.Equal(t, "demo-app-active", in.Spec.BlueGreen.ActiveService, "defaults are filled in")
	require.Contains(t, stdout, `"scaleDownDelay": "5s"`, "durations are strings")
	require.Contains(t, stderr, "--workflow-id slipway.demo-app.demo-production")
}
