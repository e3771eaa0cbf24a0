package spec

import (
	"slices"
	"time"
)

// Defaults filled by ApplyDefaults. They are exported so the documentation, the CLI and the tests quote the
// same numbers the code uses.
const (
	DefaultStagingReplicas    int32 = 1
	DefaultProductionReplicas int32 = 2
	DefaultPullPolicy               = "IfNotPresent"
	DefaultProgressDeadline         = 10 * time.Minute
	DefaultScaleDownDelay           = 30 * time.Second
	DefaultSmokeAttempts            = 5
	DefaultSmokeInterval            = 2 * time.Second
	DefaultSmokeTimeout             = 5 * time.Second
	DefaultExpectStatus             = 200
	DefaultProbePeriodSeconds int32 = 10
	DefaultProbeFailures      int32 = 3
	DefaultScanTimeout              = 10 * time.Minute
	// ActiveServiceSuffix and PreviewServiceSuffix make the default Service names <app>-active and
	// <app>-preview.
	ActiveServiceSuffix  = "-active"
	PreviewServiceSuffix = "-preview"
)

// DefaultApprovalTimeout bounds an approval wait when the spec names no timeout: a working day and a night.
const DefaultApprovalTimeout = 24 * time.Hour

// DefaultFailOn is the severities scan.failOn blocks on when it names none: the two a default Trivy or Grype
// gate would be tuned to, CRITICAL and HIGH. internal/scan applies the same default to a policy that arrives
// without failOn.
var DefaultFailOn = []Severity{SeverityCritical, SeverityHigh}

// ApplyDefaults fills every field left empty with its default; it is the one place defaults live, so the CLI,
// the workflow and the docs cannot disagree. A zero value means "not set": a field cannot be set to zero on
// purpose where a non-zero default exists. apiVersion and kind are never defaulted, they must be written.
// Running it twice gives the same result as running it once.
func ApplyDefaults(s *Spec) {
	if s == nil {
		return
	}
	setInt32(&s.Environments.Staging.Replicas, DefaultStagingReplicas)
	setInt32(&s.Environments.Production.Replicas, DefaultProductionReplicas)
	if len(s.Image.Tags) == 0 {
		s.Image.Tags = []string{TagSemver}
	}
	if s.Image.PullPolicy == "" {
		s.Image.PullPolicy = DefaultPullPolicy
	}
	if s.Monitor != nil {
		if s.Monitor.Interval == 0 {
			s.Monitor.Interval = Duration(DefaultMonitorInterval)
		}
		for i := range s.Monitor.Metrics {
			if s.Monitor.Metrics[i].OnInconclusive == "" {
				s.Monitor.Metrics[i].OnInconclusive = OnInconclusiveRollback
			}
		}
	}
	// failOn: DefaultFailOn (CRITICAL, HIGH), so the spec a workflow records shows what it enforced; a copy,
	// so editing the spec cannot change the default.
	if len(s.Scan.FailOn) == 0 {
		s.Scan.FailOn = slices.Clone(DefaultFailOn)
	}
	setDuration(&s.Scan.Timeout, DefaultScanTimeout)
	if a := s.Approval; a != nil {
		setDuration(&a.Timeout, DefaultApprovalTimeout)
		if a.OnTimeout == "" {
			a.OnTimeout = OnTimeoutReject
		}
	}

	c := &s.Container
	for _, p := range []*HTTPProbe{c.Probes.Liveness, c.Probes.Readiness} {
		if p != nil {
			setInt32(&p.PeriodSeconds, DefaultProbePeriodSeconds)
			setInt32(&p.FailureThreshold, DefaultProbeFailures)
		}
	}

	bg := &s.BlueGreen
	// Without an app name there is nothing to derive the Service names from; Validate reports app.name.
	if s.App.Name != "" {
		if bg.ActiveService == "" {
			bg.ActiveService = s.App.Name + ActiveServiceSuffix
		}
		if bg.PreviewService == "" {
			bg.PreviewService = s.App.Name + PreviewServiceSuffix
		}
	}
	setDuration(&bg.ProgressDeadline, DefaultProgressDeadline)
	setDuration(&bg.ScaleDownDelay, DefaultScaleDownDelay)

	sm := &s.Smoke
	if sm.Attempts == 0 {
		sm.Attempts = DefaultSmokeAttempts
	}
	setDuration(&sm.Interval, DefaultSmokeInterval)
	setDuration(&sm.Timeout, DefaultSmokeTimeout)
	defaultChecks(sm.Checks)
	if len(bg.PreviewChecks) == 0 && len(sm.Checks) > 0 {
		// A copy, so editing one list later cannot change the other.
		bg.PreviewChecks = append([]Check(nil), sm.Checks...)
	}
	defaultChecks(bg.PreviewChecks)
}

func defaultChecks(checks []Check) {
	for i := range checks {
		if checks[i].ExpectStatus == 0 {
			checks[i].ExpectStatus = DefaultExpectStatus
		}
		if checks[i].Name == "" {
			checks[i].Name = checks[i].Path
		}
	}
}

func setInt32(p *int32, def int32) {
	if *p == 0 {
		*p = def
	}
}

func setDuration(p *Duration, def time.Duration) {
	if *p == 0 {
		*p = Duration(def)
	}
}
