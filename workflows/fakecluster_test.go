package workflows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/scan"
)

// fakeCluster is an in-memory model of the objects the activities touch, so workflow tests assert on the
// resulting cluster state (which color serves, which image, how many replicas) rather than on call scripts.
// Its methods have the activities' signatures and are installed with OnActivity(...).Return(method).
type fakeCluster struct {
	mu          sync.Mutex
	deployments map[string]*fakeDeployment
	services    map[string]string // ns/name -> selected color ("" selects the uncolored staging Deployment)
	owners      map[string]string // ns/name -> app label of a Service, when not demo-app
	calls       []string
	// fail maps "Method ns/name" to the errors returned by its next calls, one per call.
	fail map[string][]error
	// findings is what the fake scanners find in every image; the scan's policy decides over them.
	findings []scan.Finding
	// scanBlocks makes Scan wait until its activity is cancelled, like a long scan.
	scanBlocks bool
	// regTags maps repository:tag to a digest, rejected image to reason, signed the images signed.
	regTags      map[string]string
	rejected     map[string]string
	signed       map[string]bool
	pushedImages map[string]bool
	// posts are the notifications sent, in order; notifyDown makes every Notify fail.
	posts      []activities.NotifyInput
	notifyDown bool
	// measure answers the n-th measurement (from 0) of a metric; nil passes every one.
	measure   func(in activities.MeasureInput, n int) (value, samples *float64, err error)
	measured  map[string]int
	measureAt []time.Time
}

type fakeDeployment struct {
	image, version string
	replicas       int32
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{deployments: map[string]*fakeDeployment{}, services: map[string]string{}, owners: map[string]string{},
		fail: map[string][]error{}, regTags: map[string]string{}, rejected: map[string]string{}, signed: map[string]bool{},
		pushedImages: map[string]bool{}}
}

// registerActivities registers the workflows' activities; it must precede every OnActivity call.
func registerActivities(env *testsuite.TestWorkflowEnvironment) {
	activities.Register(env, activities.Set{Kubernetes: &activities.Kubernetes{}, Prober: &activities.Prober{},
		Registry: &activities.Registry{}, Scanners: &activities.Scanners{}, Analysis: &activities.Analysis{}})
}

// install wires every activity of the workflows to the fake.
func (f *fakeCluster) install(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(k8s.ApplyDeployment, mockAny, mockAny).Return(f.ApplyDeployment).Maybe()
	env.OnActivity(k8s.WaitRollout, mockAny, mockAny).Return(f.WaitRollout).Maybe()
	env.OnActivity(k8s.ApplyService, mockAny, mockAny).Return(f.ApplyService).Maybe()
	env.OnActivity(k8s.SwitchService, mockAny, mockAny).Return(f.SwitchService).Maybe()
	env.OnActivity(k8s.DeleteService, mockAny, mockAny).Return(f.DeleteService).Maybe()
	env.OnActivity(k8s.ActiveColor, mockAny, mockAny).Return(f.ActiveColor).Maybe()
	env.OnActivity(k8s.ScaleDeployment, mockAny, mockAny).Return(f.ScaleDeployment).Maybe()
	env.OnActivity(k8s.DescribeDeployment, mockAny, mockAny).Return(f.DescribeDeployment).Maybe()
	env.OnActivity(k8s.RestoreDeployment, mockAny, mockAny).Return(f.RestoreDeployment).Maybe()
	env.OnActivity(k8s.DeleteDeployment, mockAny, mockAny).Return(f.DeleteDeployment).Maybe()
	env.OnActivity(probe.SmokeCheck, mockAny, mockAny).Return(f.SmokeCheck).Maybe()
	env.OnActivity(registry.ResolveImage, mockAny, mockAny).Return(f.ResolveImage).Maybe()
	env.OnActivity(scanners.Scan, mockAny, mockAny).Return(f.Scan).Maybe()
	env.OnActivity(registry.PushImage, mockAny, mockAny).Return(f.PushImage).Maybe()
	env.OnActivity(registry.RestoreTags, mockAny, mockAny).Return(f.RestoreTags).Maybe()
	env.OnActivity(registry.MarkRejected, mockAny, mockAny).Return(f.MarkRejected).Maybe()
	env.OnActivity(registry.SignImage, mockAny, mockAny).Return(f.SignImage).Maybe()
	env.OnActivity(registry.CheckSigningKeys, mockAny, mockAny).Return(f.CheckSigningKeys).Maybe()
	env.OnActivity(registry.ReadTags, mockAny, mockAny).Return(f.ReadTags).Maybe()
	env.OnActivity(notifications.Notify, mockAny, mockAny).Return(f.Notify).Maybe()
	env.OnActivity(analysis.Measure, mockAny, mockAny).Return(f.Measure).Maybe()
	env.OnActivity(complianceActs.EvaluateCompliance, mockAny, mockAny).Return(f.EvaluateCompliance).Maybe()
	env.OnActivity(registry.VerifyImage, mockAny, mockAny).Return(f.VerifyImage).Maybe()
	env.OnActivity(registry.UnsignImage, mockAny, mockAny).Return(f.UnsignImage).Maybe()
}

// Notify records the message; the first of a release gets TS "1.000001", the channel ID "C0FAKE".
// Measure judges what f.measure answers for the metric's n-th measurement, as the real activity judges a
// provider's answer; without f.measure every measurement sees a healthy value with plenty of samples.
func (f *fakeCluster) Measure(ctx context.Context, in activities.MeasureInput) (releaseapi.Measurement, error) {
	f.mu.Lock()
	if f.measured == nil {
		f.measured = map[string]int{}
	}
	n := f.measured[in.Metric.Name]
	f.measured[in.Metric.Name]++
	now := time.Now()
	if activity.IsActivity(ctx) {
		now = activity.GetInfo(ctx).StartedTime
	}
	f.measureAt = append(f.measureAt, now)
	answer := f.measure
	f.mu.Unlock()
	value, samples, err := ptrTo(1.0), ptrTo(1000.0), error(nil)
	if answer != nil {
		value, samples, err = answer(in, n)
	}
	return releaseapi.NewMeasurement(in.Metric, now, value, samples, err), nil
}

func ptrTo(f float64) *float64 { return &f }

func (f *fakeCluster) Notify(_ context.Context, in activities.NotifyInput) (activities.NotifyResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notifyDown {
		return activities.NotifyResult{}, temporal.NewApplicationError("slack: service unavailable", activities.ErrNotificationUnavailable)
	}
	f.posts = append(f.posts, in)
	return activities.NotifyResult{Channel: "C0FAKE", TS: fmt.Sprintf("1.%06d", len(f.posts)), Sent: true}, nil
}

// EvaluateCompliance runs the real evaluation (it is pure) without writing a report; failures are injected
// under "EvaluateCompliance <app>".
func (f *fakeCluster) EvaluateCompliance(ctx context.Context, in activities.ComplianceInput) (releaseapi.ComplianceResult, error) {
	f.mu.Lock()
	err := f.record("EvaluateCompliance", in.Deployment.App)
	f.mu.Unlock()
	if err != nil {
		return releaseapi.ComplianceResult{}, err
	}
	in.ReportName = ""
	return (&activities.Compliance{}).EvaluateCompliance(ctx, in)
}

// titles are the titles of the notifications sent.
func (f *fakeCluster) titles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.posts))
	for i, p := range f.posts {
		out[i] = p.Message.Title
	}
	return out
}

// ReadTags reports where the tags point now.
func (f *fakeCluster) ReadTags(_ context.Context, in activities.ReadTagsInput) (activities.ReadTagsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ReadTags", in.Repository); err != nil {
		return activities.ReadTagsResult{}, err
	}
	var res activities.ReadTagsResult
	for _, tag := range in.Tags {
		res.Tags = append(res.Tags, activities.TagChange{Tag: tag, Previous: f.regTags[in.Repository+":"+tag]})
	}
	return res, nil
}

// PushImage "copies" the source digest into the repository and moves the tags, remembering where each
// pointed before.
func (f *fakeCluster) PushImage(_ context.Context, in activities.PushImageInput) (activities.PushImageResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("PushImage", in.Repository); err != nil {
		return activities.PushImageResult{}, err
	}
	_, digest, _ := strings.Cut(in.Source, "@")
	res := activities.PushImageResult{Image: in.Repository + "@" + digest, Digest: digest}
	f.pushedImages[res.Image] = true
	for _, tag := range in.Tags {
		key := in.Repository + ":" + tag
		res.Tags = append(res.Tags, activities.TagChange{Tag: tag, Previous: f.regTags[key]})
		f.regTags[key] = digest
		if err := f.record("SetTag", key); err != nil {
			return activities.PushImageResult{}, err // a push that fails halfway: earlier tags are moved
		}
	}
	return res, nil
}

// RestoreTags puts each tag back where it pointed before the push, or removes it.
func (f *fakeCluster) RestoreTags(_ context.Context, in activities.RestoreTagsInput) (activities.RestoreTagsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("RestoreTags", in.Repository); err != nil {
		return activities.RestoreTagsResult{}, err
	}
	var res activities.RestoreTagsResult
	for i := len(in.Tags) - 1; i >= 0; i-- {
		tc := in.Tags[i]
		key := in.Repository + ":" + tc.Tag
		switch {
		case f.regTags[key] != in.Digest:
			res.LeftAlone = append(res.LeftAlone, tc.Tag)
		case tc.Previous == "":
			delete(f.regTags, key)
			res.Deleted = append(res.Deleted, tc.Tag)
		default:
			f.regTags[key] = tc.Previous
			res.Restored = append(res.Restored, tc.Tag)
		}
	}
	return res, nil
}

func (f *fakeCluster) MarkRejected(_ context.Context, in activities.MarkRejectedInput) (activities.MarkRejectedResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("MarkRejected", in.Image); err != nil {
		return activities.MarkRejectedResult{}, err
	}
	if !f.pushedImages[in.Image] {
		return activities.MarkRejectedResult{}, temporal.NewNonRetryableApplicationError("no "+in.Image, activities.ErrImageNotFound, nil)
	}
	f.rejected[in.Image] = in.Reason
	return activities.MarkRejectedResult{Marker: in.Image + ".rejected"}, nil
}

// CheckSigningKeys accepts any pair; failures are injected under "CheckSigningKeys <key>".
func (f *fakeCluster) CheckSigningKeys(_ context.Context, in activities.CheckSigningKeysInput) (activities.CheckSigningKeysResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("CheckSigningKeys", in.Key); err != nil {
		return activities.CheckSigningKeysResult{}, err
	}
	return activities.CheckSigningKeysResult{KeyID: "sha256:fake"}, nil
}

func (f *fakeCluster) SignImage(_ context.Context, in activities.SignImageInput) (activities.SignImageResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("SignImage", in.Image); err != nil {
		return activities.SignImageResult{}, err
	}
	already := f.signed[in.Image]
	f.signed[in.Image] = true
	return activities.SignImageResult{Signature: in.Image + ".sig", AlreadySigned: already}, nil
}

// UnsignImage removes what SignImage added.
func (f *fakeCluster) UnsignImage(_ context.Context, in activities.UnsignImageInput) (activities.UnsignImageResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("UnsignImage", in.Image); err != nil {
		return activities.UnsignImageResult{}, err
	}
	if !f.signed[in.Image] {
		return activities.UnsignImageResult{}, nil
	}
	delete(f.signed, in.Image)
	return activities.UnsignImageResult{Removed: 1, Deleted: true}, nil
}

// VerifyImage accepts what SignImage signed; anything else is Unsigned.
func (f *fakeCluster) VerifyImage(_ context.Context, in activities.VerifyImageInput) (activities.VerifyImageResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("VerifyImage", in.Image); err != nil {
		return activities.VerifyImageResult{}, err
	}
	if !f.signed[in.Image] {
		return activities.VerifyImageResult{}, temporal.NewNonRetryableApplicationError("no signature for "+in.Image, activities.ErrUnsigned, nil)
	}
	return activities.VerifyImageResult{Image: in.Image, Signature: in.Image + ".sig"}, nil
}

// fakeDigest is the digest the fake registry gives a tag: stable, and different per tag.
func fakeDigest(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ResolveImage pins every tag to fakeDigest; failures are injected under "ResolveImage <ref>".
func (f *fakeCluster) ResolveImage(_ context.Context, ref string) (activities.ResolvedImage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ResolveImage", ref); err != nil {
		return activities.ResolvedImage{}, err
	}
	repo, _, _ := strings.Cut(ref, ":")
	return activities.ResolvedImage{Reference: ref, Repository: repo, Digest: fakeDigest(ref)}, nil
}

// Scan evaluates the input's policy over f.findings, as the real activity does over the scanners' merged
// findings, including the Vulnerable error with the result in its details; failures are injected under
// "Scan <image>".
func (f *fakeCluster) Scan(ctx context.Context, in activities.ScanInput) (activities.ScanResult, error) {
	if f.scanBlocks {
		<-ctx.Done()
		return activities.ScanResult{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Scan", in.Target.Image); err != nil {
		return activities.ScanResult{}, err
	}
	if err := in.Policy.Validate(time.Now()); err != nil {
		return activities.ScanResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, nil)
	}
	res := activities.ScanResult{
		Verdict:  scan.Evaluate(in.Policy, f.findings, time.Now()),
		Scanners: []string{scan.ScannerGrype, scan.ScannerTrivy},
	}
	if !res.Verdict.Passed {
		return res, temporal.NewNonRetryableApplicationError(res.Verdict.Summary, activities.ErrVulnerable, nil, res)
	}
	return res, nil
}

// seedLive makes the cluster look like a previous release of version on color is live in production and staging.
func (f *fakeCluster) seedLive(color, version string) {
	img := "localhost/slipway/demo-app:" + version
	f.deployments["demo-production/demo-app-"+color] = &fakeDeployment{image: img, version: version, replicas: 2}
	f.deployments["demo-staging/demo-app"] = &fakeDeployment{image: img, version: version, replicas: 1}
	f.services["demo-production/demo-app-active"] = color
	f.services["demo-production/demo-app-preview"] = color
	f.services["demo-staging/demo-app"] = ""
}

func (f *fakeCluster) failNext(method, object string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method+" "+object] = append(f.fail[method+" "+object], errs...)
}

// record logs the call and returns the injected error for it, if any.
func (f *fakeCluster) record(method, object string) error {
	f.calls = append(f.calls, method+" "+object)
	key := method + " " + object
	if errs := f.fail[key]; len(errs) > 0 {
		f.fail[key] = errs[1:]
		return errs[0]
	}
	return nil
}

func (f *fakeCluster) callsOf(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeCluster) deployment(key string) fakeDeployment {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.deployments[key]; d != nil {
		return *d
	}
	return fakeDeployment{}
}

func (f *fakeCluster) service(key string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.services[key]
	return c, ok
}

func (f *fakeCluster) ApplyDeployment(_ context.Context, in activities.ApplyDeploymentInput) (activities.ApplyDeploymentResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("ApplyDeployment", key); err != nil {
		return activities.ApplyDeploymentResult{}, err
	}
	res := activities.ApplyDeploymentResult{Created: true}
	if d := f.deployments[key]; d != nil {
		res = activities.ApplyDeploymentResult{PreviousImage: d.image, PreviousVersion: d.version, PreviousReplicas: d.replicas}
	}
	f.deployments[key] = &fakeDeployment{image: in.Image, version: in.Version, replicas: in.Replicas}
	return res, nil
}

func (f *fakeCluster) WaitRollout(_ context.Context, in activities.WaitRolloutInput) (activities.RolloutResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("WaitRollout", key); err != nil {
		return activities.RolloutResult{}, err
	}
	d := f.deployments[key]
	if d == nil {
		return activities.RolloutResult{}, temporal.NewNonRetryableApplicationError("no deployment "+key, activities.ErrNotFound, nil)
	}
	return activities.RolloutResult{Replicas: d.replicas, AvailableReplicas: d.replicas}, nil
}

func (f *fakeCluster) ApplyService(_ context.Context, in activities.ApplyServiceInput) (activities.ApplyServiceResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("ApplyService", key+"="+in.Color); err != nil {
		return activities.ApplyServiceResult{}, err
	}
	prev, ok := f.services[key]
	f.services[key] = in.Color
	return activities.ApplyServiceResult{Created: !ok, PreviousColor: prev}, nil
}

func (f *fakeCluster) SwitchService(_ context.Context, in activities.SwitchServiceInput) (activities.SwitchServiceResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("SwitchService", key+"="+in.Color); err != nil {
		return activities.SwitchServiceResult{}, err
	}
	prev, ok := f.services[key]
	if !ok {
		return activities.SwitchServiceResult{}, temporal.NewNonRetryableApplicationError("no service "+key, activities.ErrNotFound, nil)
	}
	f.services[key] = in.Color
	return activities.SwitchServiceResult{PreviousColor: prev, Changed: prev != in.Color}, nil
}

func (f *fakeCluster) DeleteService(_ context.Context, in activities.ServiceRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("DeleteService", key); err != nil {
		return err
	}
	delete(f.services, key)
	return nil
}

func (f *fakeCluster) ActiveColor(_ context.Context, in activities.ServiceRef) (activities.ActiveColorResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("ActiveColor", key); err != nil {
		return activities.ActiveColorResult{}, err
	}
	c, ok := f.services[key]
	app := "demo-app"
	if o, set := f.owners[key]; set {
		app = o
	}
	if !ok {
		app = ""
	}
	return activities.ActiveColorResult{Exists: ok, Color: c, App: app}, nil
}

func (f *fakeCluster) ScaleDeployment(_ context.Context, in activities.ScaleInput) (activities.ScaleResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("ScaleDeployment", fmt.Sprintf("%s=%d", key, in.Replicas)); err != nil {
		return activities.ScaleResult{}, err
	}
	d := f.deployments[key]
	if d == nil {
		if in.Replicas == 0 {
			return activities.ScaleResult{}, nil
		}
		return activities.ScaleResult{}, temporal.NewNonRetryableApplicationError("no deployment "+key, activities.ErrNotFound, nil)
	}
	prev := d.replicas
	d.replicas = in.Replicas
	return activities.ScaleResult{Previous: prev, Changed: prev != in.Replicas}, nil
}

func (f *fakeCluster) DescribeDeployment(_ context.Context, in activities.DeploymentRef) (activities.DeploymentState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("DescribeDeployment", key); err != nil {
		return activities.DeploymentState{}, err
	}
	d := f.deployments[key]
	if d == nil {
		return activities.DeploymentState{}, nil
	}
	applied, _ := json.Marshal(fakeApplied{Image: d.image, Version: d.version, Replicas: d.replicas})
	return activities.DeploymentState{Exists: true, Image: d.image, Version: d.version, Replicas: d.replicas,
		ReadyReplicas: d.replicas, Applied: applied}, nil
}

// fakeApplied stands in for the server-side-apply snapshot DescribeDeployment returns.
type fakeApplied struct {
	Image, Version string
	Replicas       int32
}

func (f *fakeCluster) RestoreDeployment(_ context.Context, in activities.RestoreDeploymentInput) (activities.ApplyDeploymentResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("RestoreDeployment", key); err != nil {
		return activities.ApplyDeploymentResult{}, err
	}
	var a fakeApplied
	if err := json.Unmarshal(in.Applied, &a); err != nil {
		return activities.ApplyDeploymentResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, nil)
	}
	if in.Replicas != nil {
		a.Replicas = *in.Replicas
	}
	f.deployments[key] = &fakeDeployment{image: a.Image, version: a.Version, replicas: a.Replicas}
	return activities.ApplyDeploymentResult{}, nil
}

// SmokeCheck fails when the Service selects a Deployment whose version contains "broken" (as the demo app does),
// or when an error was injected for that Service.
func (f *fakeCluster) SmokeCheck(_ context.Context, in activities.SmokeCheckInput) (activities.SmokeCheckResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Service
	if err := f.record("SmokeCheck", key); err != nil {
		return activities.SmokeCheckResult{}, err
	}
	color, ok := f.services[key]
	if !ok {
		return activities.SmokeCheckResult{}, temporal.NewNonRetryableApplicationError("no service "+key, activities.ErrSmokeCheckFailed, nil)
	}
	name := "demo-app"
	if color != "" {
		name += "-" + color
	}
	d := f.deployments[in.Namespace+"/"+name]
	if d == nil || d.replicas == 0 || strings.Contains(d.version, "broken") {
		return activities.SmokeCheckResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("check /health through %s: status 503", key), activities.ErrSmokeCheckFailed, nil)
	}
	return activities.SmokeCheckResult{Attempts: 1}, nil
}

func (f *fakeCluster) DeleteDeployment(_ context.Context, in activities.DeploymentRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.Namespace + "/" + in.Name
	if err := f.record("DeleteDeployment", key); err != nil {
		return err
	}
	delete(f.deployments, key)
	return nil
}
