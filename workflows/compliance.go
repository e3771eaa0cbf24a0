package workflows

import (
	"cmp"
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
)

// complianceActs is a nil receiver, like k8s.
var complianceActs *activities.Compliance

// complianceGate evaluates the spec's compliance policy over the production Deployment as it will be applied
// (the image by digest, the container's security settings, probes, resources, env), the app's declared
// settings and the release's evidence (scanned, signed). A blocking report fails the stage with NonCompliant
// before production changes; the report is written next to the scan's, and its digest recorded.
func (r *release) complianceGate(ctx workflow.Context) (string, error) {
	s := r.in.Spec
	prod := s.Environments.Production
	in := activities.ComplianceInput{
		Deployment: r.deploymentInput(prod.Namespace, s.App.Name, "", r.image, r.in.Version, prod.Replicas),
		Settings:   s.Compliance.Settings,
		Policy:     s.Compliance.Policy(),
		ReportName: s.App.Name + "/" + r.in.Version,
	}
	if sc := r.t.status.Scan; sc != nil {
		in.Scanned, in.ScanPassed = true, sc.Passed
	}
	in.Signed = s.Image.Signing != nil && stageSucceeded(r.t, releaseapi.StageSign)
	if s.Compliance.AttachReport {
		in.AttachTo = cmp.Or(r.pushed, r.scanned) // the image as deployed, by digest
	}
	var res releaseapi.ComplianceResult
	err := workflow.ExecuteActivity(withShortActivity(ctx), complianceActs.EvaluateCompliance, in).Get(ctx, &res)
	if err != nil {
		if resultOfBlock(err, activities.ErrNonCompliant, &res) {
			r.t.status.Compliance = &res
		}
		return "", err
	}
	r.t.status.Compliance = &res
	return res.Summary, nil
}

// resultOfBlock reads the result an activity attached to its blocking error of type typ (the Vulnerable and
// NonCompliant errors carry the result, since Temporal drops an activity's result when it returns an error).
func resultOfBlock(err error, typ string, result any) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == typ && appErr.HasDetails() && appErr.Details(result) == nil
}

func stageSucceeded(t *tracker, name string) bool {
	for _, s := range t.status.Stages {
		if s.Name == name {
			return s.State == releaseapi.StateSucceeded
		}
	}
	return false
}
