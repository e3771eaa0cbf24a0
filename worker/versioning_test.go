package main

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"
)

func TestVersioningFlagsAreCheckedBeforeTheWorkerStarts(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    versioning
		want string
	}{
		{"dot in deployment", versioning{enabled: true, deployment: "slip.way", buildID: "b1", setCurrent: setCurrentIfNone}, "--deployment-name"},
		{"colon in build", versioning{enabled: true, deployment: "slipway", buildID: "a:b", setCurrent: setCurrentIfNone}, "--build-id"},
		{"unknown set-current", versioning{enabled: true, deployment: "slipway", buildID: "b1", setCurrent: "sometimes"}, "--set-current"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.v.resolve(), tc.want)
		})
	}
	off := versioning{deployment: "any.thing", setCurrent: "whatever"}
	require.NoError(t, off.resolve(), "flags of an unversioned worker are not used")
	require.False(t, off.options().UseVersioning)
}

func TestVersionedWorkerPinsByDefaultAndNamesItsBuild(t *testing.T) {
	v := versioning{enabled: true, deployment: "slipway", setCurrent: setCurrentIfNone}
	require.NoError(t, v.resolve())
	require.NotEmpty(t, v.buildID, "a build ID is derived from the binary")
	again, err := defaultBuildID()
	require.NoError(t, err)
	require.Equal(t, v.buildID, again, "the same binary always gets the same build ID")
	o := v.options()
	require.True(t, o.UseVersioning)
	require.Equal(t, "slipway", o.Version.DeploymentName)
	require.Equal(t, v.buildID, o.Version.BuildID)
	require.Equal(t, workflow.VersioningBehaviorPinned, o.DefaultVersioningBehavior)
}
