package scan

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.2.0", "1.2.0", 0},
		{"v1.2.0", "1.2.0", 0},
		{"1.2", "1.2.0", 0},
		{"1.2.0+incompatible", "1.2.0", 0},
		{"1.9.0", "1.10.0", -1},
		{"0.3.8", "0.3.7", 1},
		{"2.0.0", "1.99.99", 1},
		{"1.2.0-rc.1", "1.2.0", -1},
		{"1.2.0-rc.2", "1.2.0-rc.10", -1},
		{"1.2.0-alpha", "1.2.0-alpha.1", -1},
		{"1.2.0-1", "1.2.0-alpha", -1},
		{"3a", "3b", -1},
		{"1.0.0-20220412211240-33da011f77ad", "1.0.0", -1}, // a Go pseudo-version before its release
		{"99999999999999999999.0", "1.0", 1},               // no overflow
		{"", "1.0", -1},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			assert.Equal(t, tt.want, compareVersions(tt.a, tt.b))
			assert.Equal(t, -tt.want, compareVersions(tt.b, tt.a), "antisymmetric")
		})
	}
}

func TestPickFix(t *testing.T) {
	tests := []struct {
		name       string
		installed  string
		candidates []string
		want       string
	}{
		{"none", "1.0.0", nil, ""},
		{"one", "v0.3.7", []string{"0.3.8"}, "0.3.8"},
		{"lowest above installed", "1.24.5", []string{"1.23.12", "1.24.6"}, "1.24.6"},
		{"lowest of several above", "1.0.0", []string{"2.0.1", "1.2.0"}, "1.2.0"},
		{"none above keeps lowest", "9.0.0", []string{"2.0.1", "1.2.0"}, "1.2.0"},
		{"empty candidates skipped", "1.0.0", []string{"", " ", "1.1.0"}, "1.1.0"},
		{"equal spellings keep first", "1.0.0", []string{"v1.1.0", "1.1.0"}, "v1.1.0"},
		{"unknown installed", "", []string{"1.3.0", "1.2.0"}, "1.2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pickFix(tt.installed, tt.candidates))
		})
	}
	assert.Equal(t, []string{"1.23.12", "1.24.6"}, splitFixList("1.23.12, 1.24.6"))
}
