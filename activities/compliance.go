package activities

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/vektagraf/slipway/internal/compliance"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/render"
	"github.com/vektagraf/slipway/internal/spec"
)

// ErrNonCompliant: the compliance rules, evaluated over the production Deployment the release would apply,
// block the release. The message is the report's summary and the error's details carry the releaseapi.ComplianceResult,
// like ErrVulnerable; the same input gives the same report, so it is never retried.
const ErrNonCompliant = "NonCompliant"

// Compliance evaluates the compliance gate before production. ReportsDir is the worker's reports directory
// (the same as Scanners.ReportsDir): when it is set, the report of an input with a ReportName goes to
// ReportsDir/ReportName/compliance.json, next to the scan's reports.
type Compliance struct {
	ReportsDir string
	// Registry pushes the report next to the image (ComplianceInput.AttachTo); nil means the default keychain.
	Registry *Registry
}

// ComplianceInput is the input of EvaluateCompliance: the production Deployment as ApplyDeployment would
// render it, what the spec declares and chooses, and the release's evidence so far.
type ComplianceInput struct {
	Deployment ApplyDeploymentInput    `json:"deployment"`
	Settings   spec.ComplianceSettings `json:"settings"`
	Policy     spec.CompliancePolicy   `json:"policy"`
	// Scanned says the release scanned Deployment.Image; ScanPassed that the scan found nothing blocking.
	Scanned    bool `json:"scanned"`
	ScanPassed bool `json:"scanPassed"`
	// Signed says the release signed Deployment.Image and verified the signature.
	Signed bool `json:"signed"`
	// ReportName names the report's subdirectory of the worker's reports directory ("demo-app/1.4.2"), as
	// ScanInput.ReportName does; empty, or a worker without a reports directory, writes no report.
	ReportName string `json:"reportName,omitempty"`
	// AttachTo, when set (an image by digest), also pushes compliance.json as an OCI artifact whose subject is
	// that image (spec compliance.attachReport); releaseapi.ComplianceResult.ReportArtifact names it.
	AttachTo string `json:"attachTo,omitempty"`
}

// EvaluateCompliance renders the production Deployment with render.Deployment, as ApplyDeployment does,
// evaluates the compliance rules of the policy's frameworks over it, the declared settings and the evidence,
// and writes the report when the worker has a reports directory and the input a ReportName.
//
// Errors: a malformed input, an invalid policy or an expired waiver is a non-retryable ErrInvalidInput; a
// report that cannot be written a retryable error. A blocking report (failed, or a warning without a waiver
// under warningsBlock) is returned as the result AND a non-retryable ErrNonCompliant whose message is the
// summary and whose details carry the same releaseapi.ComplianceResult, since Temporal drops an activity's result when it
// returns an error.
func (c *Compliance) EvaluateCompliance(ctx context.Context, in ComplianceInput) (releaseapi.ComplianceResult, error) {
	now := time.Now().UTC()
	if err := validateComplianceInput(in, now); err != nil {
		return releaseapi.ComplianceResult{}, err
	}
	report := compliance.Evaluate(compliance.Input{
		Deployment: render.Deployment(render.DeploymentInput(in.Deployment)),
		Settings:   in.Settings,
		Image:      in.Deployment.Image,
		Scanned:    in.Scanned,
		ScanPassed: in.ScanPassed,
		Signed:     in.Signed,
	}, in.Policy, now)

	res := complianceResult(report)
	if in.ReportName != "" && c.ReportsDir != "" {
		dir := filepath.Join(c.ReportsDir, filepath.FromSlash(in.ReportName))
		digest, err := compliance.WriteReport(dir, report)
		if err != nil {
			return releaseapi.ComplianceResult{}, err
		}
		res.ReportsDir, res.ReportDigest = dir, digest
	}
	if in.AttachTo != "" {
		data, err := compliance.EncodeReport(report)
		if err != nil {
			return releaseapi.ComplianceResult{}, err
		}
		reg := c.Registry
		if reg == nil {
			reg = &Registry{}
		}
		files := reportFiles{{name: compliance.ReportFile, mediaType: ComplianceReportArtifactType, data: data}}
		if res.ReportArtifact, err = reg.attachReports(ctx, in.AttachTo, ComplianceReportArtifactType, files); err != nil {
			return releaseapi.ComplianceResult{}, err
		}
		if res.ReportDigest == "" {
			res.ReportDigest = files.digestOf(compliance.ReportFile)
		}
	}
	if report.Blocks(in.Policy) {
		return res, temporal.NewNonRetryableApplicationError(res.Summary, ErrNonCompliant, nil, res)
	}
	return res, nil
}

// validateComplianceInput refuses what ApplyDeployment would refuse (so the rules judge exactly what would be
// applied), a bad report name and an invalid policy.
func validateComplianceInput(in ComplianceInput, now time.Time) error {
	if err := validateApplyDeployment(in.Deployment); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return invalidInput("compliance: %s", appErr.Message())
		}
		return invalidInput("compliance: %v", err)
	}
	if in.ReportName != "" {
		if problem := reportNameProblem(in.ReportName); problem != "" {
			return invalidInput("compliance: reportName %q: %s", in.ReportName, problem)
		}
	}
	if err := in.Policy.Validate(now); err != nil {
		return invalidInput("compliance: policy: %v", err)
	}
	return nil
}

// complianceResult keeps the report's status, counts and the rules that did not pass.
func complianceResult(r compliance.Report) releaseapi.ComplianceResult {
	res := releaseapi.ComplianceResult{Status: r.Status, Summary: r.Summary(), Counts: r.Counts, Frameworks: r.Frameworks}
	for _, rr := range r.Rules {
		switch {
		case rr.Status == compliance.StatusPassed:
			continue
		case rr.Waived():
			res.Waived = append(res.Waived, rr.ID)
		case rr.Status == compliance.StatusWarning:
			res.Warnings = append(res.Warnings, rr.ID)
		default:
			res.Failed = append(res.Failed, rr.ID)
		}
		res.Rules = append(res.Rules, rr)
	}
	return res
}
