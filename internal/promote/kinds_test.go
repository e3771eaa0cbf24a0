package promote_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/promote"
	"github.com/vektagraf/slipway/internal/spec"
)

// The spec validates image.tags against its own list; the two must not drift apart.
func TestKindsMatchTheSpec(t *testing.T) {
	require.Equal(t, spec.TagKinds, promote.Kinds)
}
