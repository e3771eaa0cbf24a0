package workflows

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// releaseStages is the plan the status query shows before anything runs.
var releaseStages = []string{
	releaseapi.StageValidate, releaseapi.StageScan, releaseapi.StagePush, releaseapi.StageSign, releaseapi.StageStagingDeploy, releaseapi.StageStagingSmoke, releaseapi.StageCompliance, releaseapi.StageApproval, releaseapi.StageProductionDeploy,
	releaseapi.StagePreviewChecks, releaseapi.StageTrafficSwitch, releaseapi.StageVerify, releaseapi.StageMonitor, releaseapi.StageReleaseTags, releaseapi.StageScaleDownOld,
}

// tracker keeps the Status a query returns. Only workflow code touches it, from one coroutine at a time, so it
// needs no locking; times come from workflow.Now and are therefore replay-safe.
type tracker struct {
	status releaseapi.Status
}

func newTracker(names []string) *tracker {
	t := &tracker{status: releaseapi.Status{Phase: releaseapi.PhaseRunning}}
	for _, n := range names {
		t.status.Stages = append(t.status.Stages, releaseapi.Stage{Name: n, State: releaseapi.StatePending})
	}
	return t
}

func (t *tracker) stage(name string) *releaseapi.Stage {
	for i := range t.status.Stages {
		if t.status.Stages[i].Name == name {
			return &t.status.Stages[i]
		}
	}
	t.status.Stages = append(t.status.Stages, releaseapi.Stage{Name: name, State: releaseapi.StatePending})
	return &t.status.Stages[len(t.status.Stages)-1]
}

func (t *tracker) start(ctx workflow.Context, name, msg string) {
	s := t.stage(name)
	now := workflow.Now(ctx).UTC()
	s.State, s.Started, s.Message = releaseapi.StateRunning, &now, msg
	// Shown as "current details" in the Web UI; it adds nothing to history.
	workflow.SetCurrentDetails(ctx, "stage: "+name)
	workflow.GetLogger(ctx).Info("stage started", "stage", name, "message", msg)
}

func (t *tracker) end(ctx workflow.Context, name string, state releaseapi.StageState, msg string) {
	s := t.stage(name)
	now := workflow.Now(ctx).UTC()
	if s.Started == nil {
		s.Started = &now
	}
	s.State, s.Ended, s.Message = state, &now, msg
	workflow.GetLogger(ctx).Info("stage ended", "stage", name, "state", string(state), "message", msg)
}

// markUnrun turns every stage still pending into skipped, so a finished release shows no pending work.
func (t *tracker) markUnrun(state releaseapi.StageState) {
	for i := range t.status.Stages {
		if t.status.Stages[i].State == releaseapi.StatePending {
			t.status.Stages[i].State = state
		}
	}
}

// compensationStarted/Ended record one compensation under Status.Compensations.
func (t *tracker) compensationStarted(ctx workflow.Context, name, stage string) int {
	now := workflow.Now(ctx).UTC()
	t.status.Compensations = append(t.status.Compensations, releaseapi.Compensation{Undoes: stage, Stage: releaseapi.Stage{Name: name, State: releaseapi.StateRunning, Started: &now}})
	workflow.GetLogger(ctx).Info("compensation started", "step", name)
	return len(t.status.Compensations) - 1
}

func (t *tracker) compensationEnded(ctx workflow.Context, i int, state releaseapi.StageState, msg string) {
	now := workflow.Now(ctx).UTC()
	c := &t.status.Compensations[i]
	c.State, c.Ended, c.Message = state, &now, msg
	workflow.GetLogger(ctx).Info("compensation ended", "step", c.Name, "state", string(state), "message", msg)
}

// stagesCopy returns a copy for results, so later changes do not alias.
func (t *tracker) stagesCopy() []releaseapi.Stage {
	return append([]releaseapi.Stage(nil), t.status.Stages...)
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
			t.compensationEnded(dctx, idx, releaseapi.StateFailed, err.Error())
			failed = append(failed, step.name)
			continue
		}
		t.compensationEnded(dctx, idx, releaseapi.StateSucceeded, "")
		if st := t.stage(step.stage); st.State == releaseapi.StateSucceeded || st.State == releaseapi.StateCompensated {
			st.State, st.Message = releaseapi.StateCompensated, "undone by "+compensatedBy(t, step.stage)
		}
	}
	return failed
}

// compensatedBy lists the compensations that have undone a stage so far.
func compensatedBy(t *tracker, stage string) string {
	var names []string
	for _, c := range t.status.Compensations {
		if c.Undoes == stage && c.State == releaseapi.StateSucceeded {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}
