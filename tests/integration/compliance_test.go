//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vektagraf/slipway/internal/compliance"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/spec"
)

func TestMissingReadOnlyRootFilesystemFailsAtComplianceAndAWaiverLetsItPass(t *testing.T) {
	s := appSpec(t, "compliance")
	prod := s.Environments.Production.Namespace
	res, _, err := release(t, h.releases, s, "v1.0.0")
	require.NoError(t, err)
	require.Equal(t, "blue", res.ActiveColor)
	require.NotNil(t, res.Compliance)

	// v1.1.0 with a writable root filesystem: refused before production.
	writable := s
	sc := *s.Container.SecurityContext
	sc.ReadOnlyRootFilesystem = nil
	writable.Container.SecurityContext = &sc
	_, run, err := release(t, h.releases, writable, "v1.1.0")
	recordHistory(t, run, "release-non-compliant")
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err), "%v", err)
	require.Contains(t, err.Error(), "stage compliance failed")
	require.Contains(t, err.Error(), spec.RuleReadOnlyRootFilesystem+" read-only root filesystem")
	require.Equal(t, pinned(t, "v1.0.0"), deploymentOf(t, prod, "demo-app-blue").Image, "production unchanged")
	_, err = h.cs.AppsV1().Deployments(prod).Get(t.Context(), "demo-app-green", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "no new color was created: %v", err)
	st, err := h.releases.Status(deadline(t, 30*time.Second), run.ID, run.RunID)
	require.NoError(t, err)
	require.Equal(t, "failed", st.Compliance.Status)

	// The report is kept with the release, and the status names its digest.
	report := filepath.Join(st.Compliance.ReportsDir, compliance.ReportFile)
	require.Equal(t, filepath.Join(h.reportsDir, "demo-app", "v1.1.0"), st.Compliance.ReportsDir)
	require.Equal(t, st.Compliance.ReportDigest, fileDigest(t, report))
	data, err := os.ReadFile(report)
	require.NoError(t, err)
	require.Contains(t, string(data), `"status": "failed"`)

	// The same with a waiver (reason, future expiry): released, with a warning.
	writable.Compliance.AttachReport = true
	writable.Compliance.Waivers = []spec.Waiver{{Rule: spec.RuleReadOnlyRootFilesystem,
		Reason: "the app writes its cache to /tmp until JIRA-123 moves it to an emptyDir", Expires: "2999-01-01"}}
	res, _, err = release(t, h.releases, writable, "v1.1.0")
	require.NoError(t, err)
	require.Equal(t, "green", res.ActiveColor)
	require.Equal(t, "warning", res.Compliance.Status)
	require.Contains(t, res.Compliance.Waived, spec.RuleReadOnlyRootFilesystem)
	// compliance.attachReport: the report also sits next to the released image.
	require.True(t, strings.HasPrefix(res.Compliance.ReportArtifact, demoImage+"@sha256:"), res.Compliance.ReportArtifact)
}
