package activities

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/vektagraf/slipway/internal/spec"
)

// ScanTarget is what to scan; exactly one field is set. Dir and OCILayout are paths on the worker's disk,
// absolute and clean, because a relative path would depend on the worker's working directory.
type ScanTarget struct {
	// Image is an image in a registry, by digest (registry/repository@sha256:...): Scan pulls it into a
	// temporary OCI layout and scans that, so what is scanned is exactly what the digest names.
	Image string `json:"image,omitempty"`
	// Dir is a source tree (scanned with `trivy fs` and `grype dir:`).
	Dir string `json:"dir,omitempty"`
	// OCILayout is an OCI image layout directory (`trivy image --input` and `grype oci-dir:`).
	OCILayout string `json:"ociLayout,omitempty"`
}

// ScanInput is the input of Scan.
type ScanInput struct {
	Target ScanTarget `json:"target"`
	// Digest is the scanned image's digest ("sha256:..."), optional. It is recorded in the report and, with
	// Scanners.CacheDir, keys the result cache (a directory has no stable identity, so it is never cached).
	Digest string          `json:"digest,omitempty"`
	Policy spec.ScanPolicy `json:"policy"`
	// AllowSingleScanner lets the scan go on with one scanner's findings when the other fails; the result
	// then names the scanner used and the other's error. False means both must succeed.
	AllowSingleScanner bool `json:"allowSingleScanner,omitempty"`
	// ReportsDir, when set, receives report.json and report.sarif (created if missing); their digests are in
	// the result.
	ReportsDir string `json:"reportsDir,omitempty"`
	// AttachReports pushes the reports as an OCI artifact whose subject is the scanned image (Target.Image
	// only), so they travel with the image: `crane manifest` / the registry's referrers API find them by the
	// image's digest. Its reference is ScanResult.ReportArtifact.
	AttachReports bool `json:"attachReports,omitempty"`
	// ReportName, when set and the worker has a reports directory (Scanners.ReportsDir), puts the reports in
	// its subdirectory of that name ("demo-app/v1.2.0"), so a workflow names its reports without knowing the
	// worker's disk. Segments are letters, digits, '.', '_' and '-'.
	ReportName string `json:"reportName,omitempty"`
}

// scanTarget is a validated target: its path, whether it is an image layout, and what reports call it. For a
// Target.Image, pull is the reference and path is empty until Scan has pulled it.
type scanTarget struct {
	path  string
	image bool
	name  string
	pull  string
}

func validateScanInput(in *ScanInput, now time.Time) (scanTarget, error) {
	var t scanTarget
	set := 0
	for _, f := range []string{in.Target.Dir, in.Target.OCILayout, in.Target.Image} {
		if f != "" {
			set++
		}
	}
	switch {
	case set == 0:
		return t, invalidInput("scan: no target; set target.image, target.dir or target.ociLayout")
	case set > 1:
		return t, invalidInput("scan: %d targets (image %q, dir %q, ociLayout %q); set exactly one of them", set, in.Target.Image, in.Target.Dir, in.Target.OCILayout)
	case in.Target.Image != "":
		return validateImageTarget(in, now)
	case in.Target.Dir != "":
		t = scanTarget{path: in.Target.Dir, name: in.Target.Dir}
	default:
		t = scanTarget{path: in.Target.OCILayout, image: true, name: in.Target.OCILayout}
	}
	field := "target.dir"
	if t.image {
		field = "target.ociLayout"
	}
	if err := checkPath(field, t.path); err != nil {
		return t, err
	}
	st, err := os.Stat(t.path)
	switch {
	case err != nil:
		return t, invalidInput("scan: %s: %v", field, err)
	case !st.IsDir():
		return t, invalidInput("scan: %s: %s is not a directory", field, t.path)
	}
	if t.image {
		if _, err := os.Stat(filepath.Join(t.path, "oci-layout")); err != nil {
			return t, invalidInput("scan: %s: %s is not an OCI image layout (no oci-layout file)", field, t.path)
		}
		if _, err := os.Stat(filepath.Join(t.path, "index.json")); err != nil {
			return t, invalidInput("scan: %s: %s is not an OCI image layout (no index.json)", field, t.path)
		}
	}
	return t, validateScanOptions(in, now)
}

// validateImageTarget checks an image target: a reference by digest, whose digest becomes in.Digest (the
// cache key) when the input has none and must agree with it when it has one.
func validateImageTarget(in *ScanInput, now time.Time) (scanTarget, error) {
	d, err := name.NewDigest(in.Target.Image, name.StrictValidation)
	if err != nil {
		return scanTarget{}, invalidInput("scan: target.image %q: %v; scan an image by digest: registry/repository@sha256:...", in.Target.Image, err)
	}
	switch {
	case in.Digest == "":
		in.Digest = d.DigestStr()
	case in.Digest != d.DigestStr():
		return scanTarget{}, invalidInput("scan: digest %q differs from target.image's %q; leave digest empty or make them agree", in.Digest, d.DigestStr())
	}
	return scanTarget{image: true, name: d.Name(), pull: d.Name()}, validateScanOptions(in, now)
}

// validateScanOptions checks the fields besides the target.
func validateScanOptions(in *ScanInput, now time.Time) error {
	if in.ReportsDir != "" {
		if err := checkPath("reportsDir", in.ReportsDir); err != nil {
			return err
		}
	}
	if in.ReportName != "" {
		if problem := reportNameProblem(in.ReportName); problem != "" {
			return invalidInput("scan: reportName %q: %s", in.ReportName, problem)
		}
	}
	if in.Digest != "" {
		alg, hexPart, ok := strings.Cut(in.Digest, ":")
		if !ok || alg == "" || hexPart == "" || strings.ContainsAny(in.Digest, " /\t\n") {
			return invalidInput("scan: digest %q: want algorithm:hex, e.g. sha256:...", in.Digest)
		}
	}
	if err := in.Policy.Validate(now); err != nil {
		return invalidInput("scan: policy: %v", err)
	}
	return nil
}

func checkPath(field, p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return invalidInput("scan: %s: %q must be an absolute, clean path (e.g. %s)", field, p, filepath.Clean(p))
	}
	return nil
}
