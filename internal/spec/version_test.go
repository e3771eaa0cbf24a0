package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestValidateVersion(t *testing.T) {
	tests := []struct {
		version string
		msg     string // "" means accepted; else a substring of the error
	}{
		{"1.2.3", ""},
		{"v1.2.3", ""},
		{"0.0.0", ""},
		{"v1.2.3-rc.1", ""},
		{"1.0.0-alpha.beta-1.0", ""},
		{"10.20.30-0A.is.legal", ""},
		{"abc1234", ""},
		{"0123456789abcdef0123456789abcdef01234567", ""},

		{"", "version is required"},
		{"1.2", "is not accepted; use a semantic version"},
		{"v1", "is not accepted"},
		{"01.2.3", "is not accepted"},
		{"1.2.3-", "is not accepted"},
		{"1.2.3-01", "is not accepted"},
		{"V1.2.3", "is not accepted"},
		{"latest", "is not accepted"},
		{"abc123", "is not accepted"},                                    // 6 hex: too short for a SHA
		{"ABC1234", "is not accepted"},                                   // upper-case SHA
		{"0123456789abcdef0123456789abcdef012345678", "is not accepted"}, // 41 hex
		{"v1.2.3+build.5", `has build metadata "+build.5", which is not allowed because "+" is not allowed in an image tag`},
		{`1.2.3"}}]}}`, `"1.2.3\"}}]}}" is not accepted`},
		{"$(id)", `"$(id)" is not accepted`},
		{"v1.2.3; rm -rf /", `"v1.2.3; rm -rf /" is not accepted`},
		{"`id`", "\"`id`\" is not accepted"},
		{"v1.2.3\nv1.2.4", `"v1.2.3\nv1.2.4" is not accepted`},
		{"v1.2.3\n", `"v1.2.3\n" is not accepted`},
		{"1.2.3 ", "is not accepted"},
		{"1.2.3-" + strings.Repeat("a", 57), ""}, // 63 characters, the longest label value
		{"1.2.3-" + strings.Repeat("a", 58), `is 64 characters long; it becomes the value of the Kubernetes label app.kubernetes.io/version, which holds at most 63`},
		{"1.2.3-" + strings.Repeat("a", 122), "128 characters long"},
		{strings.Repeat("a", 129), "129 characters long"},
		{"1.2.3-\x00", `"1.2.3-\x00" is not accepted`},
		{"1.0.0-rc-1", ""},
		{"1.0.0-rc-", `version "1.0.0-rc-" is not a valid Kubernetes label value, and it becomes the label app.kubernetes.io/version: a label value must start and end with a letter or digit`},
		{"v1.0.0--", `"v1.0.0--" is not a valid Kubernetes label value`},
		{"1.0.0-a.-", "not a valid Kubernetes label value"},
		{"1.0.0-rc-+b", "build metadata"},
		{"1.0.0-rc-\n", `"1.0.0-rc-\n" is not accepted`},
		{"1.0.0-" + strings.Repeat("-", 57), "not a valid Kubernetes label value"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			err := ValidateVersion(tt.version)
			if tt.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.msg)
			require.NotContains(t, err.Error(), "\n", "the value is quoted, never echoed raw")
		})
	}
}

// A version ValidateVersion accepts is a valid label value, so it is never left out of the version label.
func TestValidateVersionIsLabelValue(t *testing.T) {
	for _, v := range []string{"1.2.3", "v1.2.3-rc.1", "1.0.0-alpha.beta-1.0", "1.0.0-rc-1", "abc1234", "1.2.3-" + strings.Repeat("a", 57)} {
		require.NoError(t, ValidateVersion(v), v)
		require.Empty(t, validation.IsValidLabelValue(v), v)
	}
}

func TestImageRef(t *testing.T) {
	tests := []struct {
		repo, version string
		want          string // "" means an error
		msg           string
	}{
		{"localhost/slipway/demo-app", "v1.2.3", "localhost/slipway/demo-app:v1.2.3", ""},
		{"127.0.0.1:5001/demo-app", "1.0.0-rc.1", "127.0.0.1:5001/demo-app:1.0.0-rc.1", ""},
		{"localhost/slipway/demo-app", "1.0.0-rc-", "", "not a valid Kubernetes label value"},
		{"registry-.example.com/team/app", "v1.2.3", "", `registry "registry-.example.com" must be a host name`},
		{"registry.example.com:5000/team/app", "abc1234", "registry.example.com:5000/team/app:abc1234", ""},
		{"registry.example.com/team/app:1.0", "v1.2.3", "", "put the version in --version"},
		{"registry.example.com/team/app", "v1.2.3+x", "", "build metadata"},
		{"registry.example.com/team/app", "", "", "version is required"},
		{"", "v1.2.3", "", "image repository required"},
		{"Registry.example.com/team/App", "v1.2.3", "", "not a valid image repository"},
	}
	for _, tt := range tests {
		t.Run(tt.repo+"|"+tt.version, func(t *testing.T) {
			got, err := ImageRef(tt.repo, tt.version)
			if tt.want != "" {
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.msg)
			require.Empty(t, got)
		})
	}
}

func TestValidateImageRef(t *testing.T) {
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		ref string
		msg string // "" means valid
	}{
		{"localhost/slipway/demo-app:v1.2.3", ""},
		{"registry.example.com:5000/team/app:1.0.0-rc.1", ""},
		{"127.0.0.1:5001/demo-app@" + digest, ""},
		{"registry.example.com/team/app:v1@" + digest, ""},
		{"docker.io/library/nginx:1.27", ""},
		{"", "required"},
		{"localhost/slipway/demo-app", "names neither a tag nor a digest"},
		{"registry.example.com:5000/team/app", "names neither a tag nor a digest"},
		{"localhost/slipway/demo-app:v1 ", "must not contain whitespace"},
		{"localhost/slipway/demo app:v1", "must not contain whitespace"},
		{"localhost/slipway/demo-app:.v1", "invalid tag"},
		{"localhost/slipway/demo-app:", "invalid tag"},
		{"localhost/slipway/demo-app@sha256:abc", "is not valid"},
		{"nginx:1.27", "does not name its registry"},
		{"localhost/Demo:1", "not a valid image repository"},
		{"https://localhost/demo:1", "not a valid image repository"},
		{"registry..example.com/team/app:v1", `registry "registry..example.com"`},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			err := ValidateImageRef(tt.ref)
			if tt.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.msg)
		})
	}
}
