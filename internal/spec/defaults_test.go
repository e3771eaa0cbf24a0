package spec

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestApplyDefaults(t *testing.T) {
	d := func(x time.Duration) Duration { return Duration(x) }
	tests := []struct {
		name  string
		in    Spec
		check func(t *testing.T, s *Spec)
	}{
		{"empty fields get defaults", Spec{
			App:       App{Name: "shop"},
			Container: Container{Probes: Probes{Liveness: &HTTPProbe{Path: "/health"}}},
			Smoke:     Smoke{Checks: []Check{{Path: "/health"}}},
		}, func(t *testing.T, s *Spec) {
			require.Empty(t, s.APIVersion, "apiVersion is required, never defaulted")
			require.Empty(t, s.Kind, "kind is required, never defaulted")
			require.Equal(t, int32(1), s.Environments.Staging.Replicas)
			require.Equal(t, int32(2), s.Environments.Production.Replicas)
			require.Equal(t, "IfNotPresent", s.Image.PullPolicy)
			require.Equal(t, []Severity{SeverityCritical, SeverityHigh}, s.Scan.FailOn)
			require.Equal(t, d(10*time.Minute), s.Scan.Timeout)
			require.False(t, s.Scan.OnlyFixed)
			require.False(t, s.Scan.AllowSingleScanner)
			require.Nil(t, s.Scan.Ignore)
			require.Equal(t, "shop-active", s.BlueGreen.ActiveService)
			require.Equal(t, "shop-preview", s.BlueGreen.PreviewService)
			require.Equal(t, d(10*time.Minute), s.BlueGreen.ProgressDeadline)
			require.Equal(t, d(30*time.Second), s.BlueGreen.ScaleDownDelay)
			require.Equal(t, 5, s.Smoke.Attempts)
			require.Equal(t, d(2*time.Second), s.Smoke.Interval)
			require.Equal(t, d(5*time.Second), s.Smoke.Timeout)
			require.Equal(t, []Check{{Name: "/health", Path: "/health", ExpectStatus: 200}}, s.Smoke.Checks)
			require.Equal(t, s.Smoke.Checks, s.BlueGreen.PreviewChecks)
			require.Equal(t, &HTTPProbe{Path: "/health", PeriodSeconds: 10, FailureThreshold: 3}, s.Container.Probes.Liveness)
			require.Nil(t, s.Container.Probes.Readiness, "an unset probe stays unset")
			require.Nil(t, s.Container.SecurityContext)

			s.BlueGreen.PreviewChecks[0].Path = "/changed"
			require.Equal(t, "/health", s.Smoke.Checks[0].Path, "preview checks are a copy")
		}},
		{"set fields are kept", Spec{
			App:          App{Name: "shop"},
			Environments: Environments{Staging: Environment{Replicas: 3}, Production: Environment{Replicas: 5}},
			Image:        Image{PullPolicy: "Always"},
			Scan: Scan{
				ScanPolicy:         ScanPolicy{FailOn: []Severity{SeverityCritical}, OnlyFixed: true},
				AllowSingleScanner: true, Timeout: d(time.Minute),
			},
			Container: Container{Probes: Probes{Readiness: &HTTPProbe{Path: "/ready", PeriodSeconds: 2, FailureThreshold: 7}}},
			BlueGreen: BlueGreen{
				ActiveService: "live", PreviewService: "canary",
				PreviewChecks:    []Check{{Name: "deep", Path: "/deep", ExpectStatus: 204}},
				ProgressDeadline: d(time.Minute), ScaleDownDelay: d(time.Second),
			},
			Smoke: Smoke{
				Checks:   []Check{{Name: "health", Path: "/health", ExpectStatus: 301, ExpectBody: "x"}},
				Attempts: 9, Interval: d(time.Second), Timeout: d(time.Second),
			},
		}, func(t *testing.T, s *Spec) {
			require.Equal(t, int32(3), s.Environments.Staging.Replicas)
			require.Equal(t, int32(5), s.Environments.Production.Replicas)
			require.Equal(t, "Always", s.Image.PullPolicy)
			require.Equal(t, Scan{
				ScanPolicy:         ScanPolicy{FailOn: []Severity{SeverityCritical}, OnlyFixed: true},
				AllowSingleScanner: true, Timeout: d(time.Minute),
			}, s.Scan)
			require.Equal(t, &HTTPProbe{Path: "/ready", PeriodSeconds: 2, FailureThreshold: 7}, s.Container.Probes.Readiness)
			require.Equal(t, "live", s.BlueGreen.ActiveService)
			require.Equal(t, "canary", s.BlueGreen.PreviewService)
			require.Equal(t, []Check{{Name: "deep", Path: "/deep", ExpectStatus: 204}}, s.BlueGreen.PreviewChecks)
			require.Equal(t, d(time.Minute), s.BlueGreen.ProgressDeadline)
			require.Equal(t, d(time.Second), s.BlueGreen.ScaleDownDelay)
			require.Equal(t, []Check{{Name: "health", Path: "/health", ExpectStatus: 301, ExpectBody: "x"}}, s.Smoke.Checks)
			require.Equal(t, 9, s.Smoke.Attempts)
			require.Equal(t, d(time.Second), s.Smoke.Interval)
			require.Equal(t, d(time.Second), s.Smoke.Timeout)
		}},
		{"preview checks get check defaults", Spec{
			BlueGreen: BlueGreen{PreviewChecks: []Check{{Path: "/p"}}},
		}, func(t *testing.T, s *Spec) {
			require.Equal(t, []Check{{Name: "/p", Path: "/p", ExpectStatus: 200}}, s.BlueGreen.PreviewChecks)
		}},
		{"no app name, no Service names", Spec{}, func(t *testing.T, s *Spec) {
			require.Empty(t, s.BlueGreen.ActiveService)
			require.Empty(t, s.BlueGreen.PreviewService)
			require.Nil(t, s.BlueGreen.PreviewChecks)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.in
			ApplyDefaults(&s)
			tt.check(t, &s)

			once := deepCopy(t, &s)
			ApplyDefaults(&s)
			require.Equal(t, once, &s, "ApplyDefaults twice is ApplyDefaults once")
		})
	}
	ApplyDefaults(nil) // must not panic
}

func deepCopy(t *testing.T, s *Spec) *Spec {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var c Spec
	require.NoError(t, json.Unmarshal(b, &c))
	return &c
}

func TestJSONRoundTrip(t *testing.T) {
	s := validSpec()
	s.Container.SecurityContext.ReadOnlyRootFilesystem = ptr(true)
	s.Container.SecurityContext.AllowPrivilegeEscalation = ptr(false)
	s.BlueGreen.ScaleDownDelay = Duration(30 * time.Second)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	require.Contains(t, string(b), `"scaleDownDelay":"30s"`)
	require.Contains(t, string(b), `"progressDeadline":"5m0s"`)
	require.Contains(t, string(b), `"interval":"2s"`)

	var back Spec
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, s, &back)
	require.NoError(t, back.Validate())
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	require.NoError(t, json.Unmarshal([]byte(`"1m30s"`), &d))
	require.Equal(t, 90*time.Second, d.D())
	require.Error(t, json.Unmarshal([]byte(`30`), &d), "a bare number has no unit")
	require.Error(t, json.Unmarshal([]byte(`"-1s"`), &d))
}
