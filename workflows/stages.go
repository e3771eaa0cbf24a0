package workflows

import (
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// Stage names of a release, in order. They are part of the status API (the starter and the docs name them).
const (
	StageValidate         = "validate"
	StageScan             = "scan"
	StagePush             = "push"
	StageSign             = "sign"
	StageStagingDeploy    = "staging-deploy"
	StageStagingSmoke     = "staging-smoke"
	StageCompliance       = "compliance"
	StageApproval         = "approval"
	StageProductionDeploy = "production-deploy"
	StagePreviewChecks    = "preview-checks"
	StageTrafficSwitch    = "traffic-switch"
	StageVerify           = "verify"
	StageReleaseTags      = "release-tags"
	StageScaleDownOld     = "scale-down-old"
)

// releaseStages is the plan the status query shows before anything runs.
var releaseStages = []string{
	StageValidate, StageScan, StagePush, StageSign, StageStagingDeploy, StageStagingSmoke, StageCompliance, StageApproval, StageProductionDeploy,
	StagePreviewChecks, StageTrafficSwitch, StageVerify, StageReleaseTags, StageScaleDownOld,
}

// tracker keeps the Status a query returns. Only workflow code touches it, from one coroutine at a time, so it
// needs no locking; times come from workflow.Now and are therefore replay-safe.
type tracker struct {
	status Status
}

func newTracker(names []string) *tracker {
	t := &tracker{status: Status{Phase: PhaseRunning}}
	for _, n := range names {
		t.status.Stages = append(t.status.Stages, Stage{Name: n, State: StatePending})
	}
	return t
}

func (t *tracker) stage(name string) *Stage {
	for i := range t.status.Stages {
		if t.status.Stages[i].Name == name {
			return &t.status.Stages[i]
		}
	}
	t.status.Stages = append(t.status.Stages, Stage{Name: name, State: StatePending})
	return &t.status.Stages[len(t.status.Stages)-1]
}

func (t *tracker) start(ctx workflow.Context, name, msg string) {
	s := t.stage(name)
	now := workflow.Now(ctx).UTC()
	s.State, s.Started, s.Message = StateRunning, &now, msg
	// Shown as "current details" in the Web UI; it adds nothing to history.
	workflow.SetCurrentDetails(ctx, "stage: "+name)
	workflow.GetLogger(ctx).Info("stage started", "stage", name, "message", msg)
}

func (t *tracker) end(ctx workflow.Context, name string, state StageState, msg string) {
	s := t.stage(name)
	now := workflow.Now(ctx).UTC()
	if s.Started == nil {
		s.Started = &now
	}
	s.State, s.Ended, s.Message = state, &now, msg
	workflow.GetLogger(ctx).Info("stage ended", "stage", name, "state", string(state), "message", msg)
}

// drop removes stages from the plan, for a release that does not run them (one recorded before they
// existed).
func (t *tracker) drop(names ...string) {
	kept := t.status.Stages[:0]
	for _, s := range t.status.Stages {
		if !slices.Contains(names, s.Name) {
			kept = append(kept, s)
		}
	}
	t.status.Stages = kept
}

// markUnrun turns every stage still pending into skipped, so a finished release shows no pending work.
func (t *tracker) markUnrun(state StageState) {
	for i := range t.status.Stages {
		if t.status.Stages[i].State == StatePending {
			t.status.Stages[i].State = state
		}
	}
}

// compensationStarted/Ended record one compensation under Status.Compensations.
func (t *tracker) compensationStarted(ctx workflow.Context, name, stage string) int {
	now := workflow.Now(ctx).UTC()
	t.status.Compensations = append(t.status.Compensations, Compensation{Undoes: stage, Stage: Stage{Name: name, State: StateRunning, Started: &now}})
	workflow.GetLogger(ctx).Info("compensation started", "step", name)
	return len(t.status.Compensations) - 1
}

func (t *tracker) compensationEnded(ctx workflow.Context, i int, state StageState, msg string) {
	now := workflow.Now(ctx).UTC()
	c := &t.status.Compensations[i]
	c.State, c.Ended, c.Message = state, &now, msg
	workflow.GetLogger(ctx).Info("compensation ended", "step", c.Name, "state", string(state), "message", msg)
}

// stagesCopy returns a copy for results, so later changes do not alias.
func (t *tracker) stagesCopy() []Stage {
	return append([]Stage(nil), t.status.Stages...)
}

// compensation is one undo step, registered right after (or right before) the side effect it undoes.
type compensation struct {
	name  string
	stage string
	run   func(ctx workflow.Context) error
}

// saga runs compensations in reverse order of registration.
type saga struct {
	steps []compensation
}

func (s *saga) add(stage, name string, run func(ctx workflow.Context) error) {
	s.steps = append(s.steps, compensation{name: name, stage: stage, run: run})
}

// compensate runs every registered step, last first, on a context that the release's cancellation cannot
// reach. A failing step is recorded and the others still run: leaving traffic on a broken color because an
// unrelated scale-down failed would be worse. It returns the names of the steps that failed.
func (s *saga) compensate(ctx workflow.Context, t *tracker) []string {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	var failed []string
	for i := len(s.steps) - 1; i >= 0; i-- {
		step := s.steps[i]
		idx := t.compensationStarted(dctx, step.name, step.stage)
		if err := step.run(dctx); err != nil {
			t.compensationEnded(dctx, idx, StateFailed, err.Error())
			failed = append(failed, step.name)
			continue
		}
		t.compensationEnded(dctx, idx, StateSucceeded, "")
		if st := t.stage(step.stage); st.State == StateSucceeded || st.State == StateCompensated {
			st.State, st.Message = StateCompensated, "undone by "+compensatedBy(t, step.stage)
		}
	}
	return failed
}

// compensatedBy lists the compensations that have undone a stage so far.
func compensatedBy(t *tracker, stage string) string {
	var names []string
	for _, c := range t.status.Compensations {
		if c.Undoes == stage && c.State == StateSucceeded {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}
