package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/vektagraf/slipway/internal/compliance"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

const complianceDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// complianceOK is a production color rendered from a spec that satisfies every rule (the image by digest, the
// hardened security context, resources, probes, a password from a Secret); each test breaks what it checks.
func complianceOK() ComplianceInput {
	d := baseInput()
	d.Image = "registry.example/demo-app:1.4.2@" + complianceDigest
	d.Container.Resources.Limits.CPU = "500m"
	return ComplianceInput{
		Deployment: d,
		Settings:   spec.ComplianceSettings{EncryptionAtRest: ptr(true), AuditLogging: ptr(true), RateLimiting: ptr(true)},
		Scanned:    true, ScanPassed: true, Signed: true,
		ReportName: "demo-app/1.4.2",
	}
}

// complianceNoReadOnlyRoot is the spec-like input missing container.securityContext.readOnlyRootFilesystem.
func complianceNoReadOnlyRoot() ComplianceInput {
	in := complianceOK()
	sc := *in.Deployment.Container.SecurityContext
	sc.ReadOnlyRootFilesystem = nil
	in.Deployment.Container.SecurityContext = &sc
	return in
}

// complianceExpiry is a waiver's expiry date d from now.
func complianceExpiry(d time.Duration) spec.Date {
	return spec.Date(time.Now().UTC().Add(d).Format(spec.DateLayout))
}

func TestEvaluateCompliancePasses(t *testing.T) {
	c := &Compliance{ReportsDir: t.TempDir()}
	res, err := c.EvaluateCompliance(context.Background(), complianceOK())
	require.NoError(t, err)
	require.Equal(t, compliance.StatusPassed, res.Status)
	require.Equal(t, compliance.Counts{Passed: 13}, res.Counts)
	require.Empty(t, res.Rules)
	require.Equal(t, spec.AllFrameworks, res.Frameworks)
	require.Equal(t, filepath.Join(c.ReportsDir, "demo-app", "1.4.2"), res.ReportsDir)
}

func TestEvaluateComplianceNonCompliant(t *testing.T) {
	c := &Compliance{ReportsDir: t.TempDir()}
	res, err := c.EvaluateCompliance(context.Background(), complianceNoReadOnlyRoot())
	require.Equal(t, ErrNonCompliant, ErrorType(err), "%v", err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable())
	require.Contains(t, NonRetryableErrorTypes, ErrNonCompliant)
	require.Equal(t, "failed: SEC-004 read-only root filesystem (container.securityContext.readOnlyRootFilesystem)", appErr.Message())
	require.Equal(t, res.Summary, appErr.Message())

	require.Equal(t, compliance.StatusFailed, res.Status)
	require.Equal(t, []string{spec.RuleReadOnlyRootFilesystem}, res.Failed)
	require.Empty(t, res.Warnings)
	require.Len(t, res.Rules, 1)
	require.Equal(t, "set container.securityContext.readOnlyRootFilesystem: true", res.Rules[0].Message)

	var fromDetails releaseapi.ComplianceResult
	require.NoError(t, appErr.Details(&fromDetails))
	require.Equal(t, res, fromDetails)

	// The report is written even when it blocks: it is the evidence of why.
	data, err := os.ReadFile(filepath.Join(res.ReportsDir, compliance.ReportFile))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), res.ReportDigest)
	var report compliance.Report
	require.NoError(t, json.Unmarshal(data, &report))
	require.Equal(t, compliance.StatusFailed, report.Status)
	require.Equal(t, "demo-production/demo-app-green", report.Target)
	require.Len(t, report.Rules, 13)
}

func TestEvaluateComplianceWaived(t *testing.T) {
	c := &Compliance{ReportsDir: t.TempDir()}
	in := complianceNoReadOnlyRoot()
	in.Policy = spec.CompliancePolicy{WarningsBlock: true, Waivers: []spec.Waiver{{
		Rule: spec.RuleReadOnlyRootFilesystem, Reason: "the app writes /tmp until 2.0 mounts an emptyDir", Expires: complianceExpiry(30 * 24 * time.Hour),
	}}}
	res, err := c.EvaluateCompliance(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, compliance.StatusWarning, res.Status)
	require.Equal(t, "warning: 1 waived (SEC-004)", res.Summary)
	require.Equal(t, []string{spec.RuleReadOnlyRootFilesystem}, res.Waived)
	require.Empty(t, res.Failed)
	require.Len(t, res.Rules, 1)
	require.NotNil(t, res.Rules[0].Waiver)
	require.Contains(t, res.Rules[0].Message, "the app writes /tmp")

	data, err := os.ReadFile(filepath.Join(res.ReportsDir, compliance.ReportFile))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), res.ReportDigest)
}

func TestEvaluateComplianceWarnings(t *testing.T) {
	in := complianceOK()
	in.Signed = false
	c := &Compliance{}
	res, err := c.EvaluateCompliance(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, compliance.StatusWarning, res.Status)
	require.Equal(t, []string{spec.RuleImageSigned}, res.Warnings)
	// No reports directory: nothing written.
	require.Empty(t, res.ReportsDir)
	require.Empty(t, res.ReportDigest)

	in.Policy.WarningsBlock = true
	res, err = c.EvaluateCompliance(context.Background(), in)
	require.Equal(t, ErrNonCompliant, ErrorType(err), "%v", err)
	require.Equal(t, "warning: SEC-009 image signed (image.signing)", res.Summary)
}

func TestEvaluateComplianceEvaluatesTheRenderedDeployment(t *testing.T) {
	// A tag without a digest, a literal password and no probes: each is judged on what render.Deployment makes
	// of the spec.
	in := complianceOK()
	in.Deployment.Image = "registry.example/demo-app:1.4.2"
	in.Deployment.Container.Env = []spec.EnvVar{{Name: "DB_PASSWORD", Value: "hunter2"}}
	in.Deployment.Container.Probes = spec.Probes{}
	res, err := (&Compliance{}).EvaluateCompliance(context.Background(), in)
	require.Equal(t, ErrNonCompliant, ErrorType(err), "%v", err)
	require.Equal(t, []string{spec.RuleProbes, spec.RuleImageDigest, spec.RuleNoSecretsInEnv}, res.Failed)

	// The frameworks filter: under SOX alone, probes are not checked.
	in.Policy.Frameworks = []string{spec.FrameworkSOX}
	res, err = (&Compliance{}).EvaluateCompliance(context.Background(), in)
	require.Equal(t, ErrNonCompliant, ErrorType(err), "%v", err)
	require.Equal(t, []string{spec.RuleImageDigest, spec.RuleNoSecretsInEnv}, res.Failed)
	require.Equal(t, []string{spec.FrameworkSOX}, res.Frameworks)
}

func TestEvaluateComplianceInvalidInput(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*ComplianceInput)
		want   string
	}{
		{name: "an expired waiver", change: func(in *ComplianceInput) {
			in.Policy.Waivers = []spec.Waiver{{Rule: "SEC-004", Reason: "x", Expires: "2020-01-01"}}
		}, want: "compliance: policy: compliance.waivers[0]: SEC-004 waiver expired on 2020-01-01; remove it or extend it with a new reason"},
		{name: "an unknown framework", change: func(in *ComplianceInput) { in.Policy.Frameworks = []string{"iso"} },
			want: `compliance.frameworks[0]: "iso" is not a framework`},
		{name: "a bad report name", change: func(in *ComplianceInput) { in.ReportName = "../x" }, want: `compliance: reportName "../x"`},
		{name: "a Deployment ApplyDeployment would refuse", change: func(in *ComplianceInput) { in.Deployment.Image = "" },
			want: "compliance: apply deployment demo-production/demo-app-green: image is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := complianceOK()
			c.change(&in)
			dir := t.TempDir()
			_, err := (&Compliance{ReportsDir: dir}).EvaluateCompliance(context.Background(), in)
			require.Equal(t, ErrInvalidInput, ErrorType(err), "%v", err)
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			require.True(t, appErr.NonRetryable())
			require.Contains(t, err.Error(), c.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "no report for an invalid input")
		})
	}
}

func TestEvaluateComplianceReportWriteFailureIsRetryable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err := (&Compliance{ReportsDir: file}).EvaluateCompliance(context.Background(), complianceOK())
	require.Error(t, err)
	require.Empty(t, ErrorType(err))
}

// TestEvaluateComplianceInAnActivityEnvironment runs the activity as Temporal runs it: the input and result
// survive the data converter, and a blocking report reaches the caller as a NonCompliant error whose details
// carry the result.
func TestEvaluateComplianceInAnActivityEnvironment(t *testing.T) {
	c := &Compliance{ReportsDir: t.TempDir()}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(c)

	_, err := env.ExecuteActivity(c.EvaluateCompliance, complianceNoReadOnlyRoot())
	require.Equal(t, ErrNonCompliant, ErrorType(err), "%v", err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable())
	var res releaseapi.ComplianceResult
	require.NoError(t, appErr.Details(&res))
	require.Equal(t, []string{spec.RuleReadOnlyRootFilesystem}, res.Failed)
	require.NotEmpty(t, res.ReportDigest)

	val, err := env.ExecuteActivity(c.EvaluateCompliance, complianceOK())
	require.NoError(t, err)
	require.NoError(t, val.Get(&res))
	require.Equal(t, compliance.StatusPassed, res.Status)
}

// TestComplianceReportAttachedToTheImage: with AttachTo, compliance.json is an OCI artifact whose subject is
// the image, holding the same bytes as the file on the worker.
func TestComplianceReportAttachedToTheImage(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(t, "team/app:v1.0.0")
	image := tr.host + "/team/app@" + d.String()
	c := &Compliance{ReportsDir: t.TempDir()}
	in := complianceOK()
	in.Deployment.Image = tr.host + "/team/app:v1.0.0@" + d.String()
	in.ReportName, in.AttachTo = "app/v1.0.0", image
	res, err := c.EvaluateCompliance(context.Background(), in)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(res.ReportArtifact, tr.host+"/team/app@sha256:"), res.ReportArtifact)

	subject, err := name.NewDigest(image)
	require.NoError(t, err)
	idx, err := remote.Referrers(subject)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	require.Equal(t, ComplianceReportArtifactType, im.Manifests[0].ArtifactType)
	art, err := remote.Image(subject.Context().Digest(im.Manifests[0].Digest.String()))
	require.NoError(t, err)
	m, err := art.Manifest()
	require.NoError(t, err)
	require.Len(t, m.Layers, 1)
	require.Equal(t, res.ReportDigest, m.Layers[0].Digest.String(), "the artifact holds the report the worker wrote")
}
