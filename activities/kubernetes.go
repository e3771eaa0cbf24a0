package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vektagraf/slipway/internal/render"
)

// Defaults of the optional Kubernetes fields.
const (
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultRetryDelay        = time.Second
	maxRetryDelay            = 30 * time.Second
	// maxWatchFailures bounds how many transient errors in a row WaitRollout absorbs before it gives the error to
	// Temporal, whose retry policy then decides; a broken API server must not look like a healthy wait.
	maxWatchFailures = 6
	// minWatchLifetime: a watch that ends sooner than this counts as a failure, so a proxy that closes every
	// watch at once cannot turn WaitRollout into a tight Get/Watch loop.
	minWatchLifetime = time.Second
)

// Kubernetes holds the cluster client the Kubernetes activities share; it is registered once with the worker
// and called from workflows through a nil *Kubernetes.
type Kubernetes struct {
	Client kubernetes.Interface
	// HeartbeatInterval is how often WaitRollout heartbeats while nothing changes; it must stay well below the
	// activity's HeartbeatTimeout. Zero means DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// RetryDelay is the first pause before WaitRollout re-watches after a transient error; it doubles up to 30s.
	// Zero means DefaultRetryDelay.
	RetryDelay time.Duration
}

// RolloutProgress is WaitRollout's heartbeat detail, so an operator describing a slow release sees how far the
// rollout got, and a timed-out attempt leaves that evidence in the workflow's history.
type RolloutProgress struct {
	Desired   int32 `json:"desired"`
	Updated   int32 `json:"updated"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`
}

// ApplyDeployment server-side applies one Deployment of the app, forcing Slipway's ownership of every field it
// renders; it reports what was there before so a compensation can restore it.
func (k *Kubernetes) ApplyDeployment(ctx context.Context, in ApplyDeploymentInput) (ApplyDeploymentResult, error) {
	if err := validateApplyDeployment(in); err != nil {
		return ApplyDeploymentResult{}, err
	}
	ac, err := deploymentApplyConfig(render.Deployment(render.DeploymentInput(in)))
	if err != nil {
		return ApplyDeploymentResult{}, invalidInput("apply deployment %s/%s: %v", in.Namespace, in.Name, err)
	}
	return k.applyDeployment(ctx, "apply deployment", in.Namespace, in.Name, ac)
}

// RestoreDeployment puts back a Deployment as a DescribeDeployment snapshot saw it: it server-side applies the
// snapshot's Applied fields (the ones Slipway's field manager owned then), with replicas overridden when
// in.Replicas is set. A compensation thus restores exactly what the previous release had applied (probes, env,
// resources and all), instead of re-rendering the old image with the new spec's settings; fields the failed
// release added are dropped, because the same field manager no longer applies them.
func (k *Kubernetes) RestoreDeployment(ctx context.Context, in RestoreDeploymentInput) (ApplyDeploymentResult,
	error) {
	ac, err := restoreConfig(in)
	if err != nil {
		return ApplyDeploymentResult{}, err
	}
	return k.applyDeployment(ctx, "restore deployment", in.Namespace, in.Name, ac)
}

// applyDeployment server-side applies ac with Slipway's field manager, forced, and reports what was there
// before; ApplyDeployment and RestoreDeployment share it so both answer alike. It is unexported so the worker
// does not register it as an activity.
func (k *Kubernetes) applyDeployment(ctx context.Context, what, namespace, name string,
	ac *appsv1ac.DeploymentApplyConfiguration) (ApplyDeploymentResult, error) {
	ref := namespace + "/" + name
	deployments := k.Client.AppsV1().Deployments(namespace)

	var res ApplyDeploymentResult
	existing, err := deployments.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		res.Created = true
		existing = nil
	case err != nil:
		return ApplyDeploymentResult{}, classify("get deployment "+ref, err)
	default:
		res.PreviousImage = appImage(existing)
		res.PreviousVersion = existing.Labels[LabelVersion]
		res.PreviousReplicas = specReplicas(existing)
	}

	applied, err := deployments.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return ApplyDeploymentResult{}, classify(what+" "+ref, err)
	}
	res.Generation = applied.Generation
	res.Changed = existing == nil ||
		res.PreviousImage != appImage(applied) ||
		res.PreviousReplicas != specReplicas(applied) ||
		applied.Generation != existing.Generation
	return res, nil
}

// restoreConfig decodes and checks RestoreDeployment's input before anything is read or written: the snapshot
// must be a Deployment's, of the Deployment named, and complete enough to apply.
func restoreConfig(in RestoreDeploymentInput) (*appsv1ac.DeploymentApplyConfiguration, error) {
	if err := refError("restore deployment", in.Namespace, in.Name); err != nil {
		return nil, err
	}
	ref := in.Namespace + "/" + in.Name
	if len(in.Applied) == 0 {
		return nil, invalidInput("restore deployment %s: no applied fields to restore", ref)
	}
	if in.Replicas != nil && *in.Replicas < 0 {
		return nil, invalidInput("restore deployment %s: replicas %d is negative", ref, *in.Replicas)
	}
	var ac appsv1ac.DeploymentApplyConfiguration
	if err := json.Unmarshal(in.Applied, &ac); err != nil {
		return nil, invalidInput("restore deployment %s: applied fields do not decode: %v", ref, err)
	}
	if kind, version := deref(ac.GetKind()), deref(ac.GetAPIVersion()); kind != "Deployment" ||
		version != "apps/v1" {
		return nil, invalidInput("restore deployment %s: applied fields are of %q %q, want apps/v1 Deployment", ref,
			version, kind)
	}
	if name, namespace := deref(ac.GetName()), deref(ac.GetNamespace()); name != in.Name ||
		namespace != in.Namespace {
		return nil, invalidInput("restore deployment %s: applied fields are those of %s/%s", ref, namespace, name)
	}
	if !restorable(&ac) {
		return nil, invalidInput("restore deployment %s: applied fields have no selector or no image for "+
			"container %q", ref, ContainerName)
	}
	if in.Replicas != nil {
		ac.Spec.WithReplicas(*in.Replicas)
	}
	return &ac, nil
}

// appliedSnapshot is what DescribeDeployment saves for RestoreDeployment: the fields Slipway's field manager
// owns in d through server-side apply, as JSON. It is nil when there is nothing a restore could apply (Slipway
// never applied d, another manager took over its app container's image, or the managed fields do not parse),
// so the workflow falls back to its own way of undoing.
//
// The replica count is always in it. ScaleDeployment's patch is an update, not an apply, so after a scale the
// apply entry no longer owns spec.replicas; a restore that left it out would drop the field, and the API server
// would default it to 1 instead of putting back the count that was there.
func appliedSnapshot(d *appsv1.Deployment) json.RawMessage {
	ac, err := appsv1ac.ExtractDeployment(d, FieldManager)
	if err != nil || !restorable(ac) {
		return nil
	}
	if ac.Spec.Replicas == nil {
		ac.Spec.WithReplicas(specReplicas(d))
	}
	b, err := json.Marshal(ac)
	if err != nil {
		return nil
	}
	return b
}

// restorable says whether applying ac alone gives a valid Deployment with the release's image: it must carry
// the selector and the app container's image, or the apply would drop them (or be refused).
func restorable(ac *appsv1ac.DeploymentApplyConfiguration) bool {
	if ac == nil || ac.Spec == nil || ac.Spec.Selector == nil || ac.Spec.Template == nil ||
		ac.Spec.Template.Spec == nil {
		return false
	}
	for _, c := range ac.Spec.Template.Spec.Containers {
		if deref(c.Name) == ContainerName {
			return deref(c.Image) != ""
		}
	}
	return false
}

// deref reads an optional field of an apply configuration, "" when it is unset.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// WaitRollout blocks until the Deployment's rollout completes or its progress deadline passes. It watches
// instead of polling, so it reacts to the controller at once and costs the API server one open stream.
func (k *Kubernetes) WaitRollout(ctx context.Context, in WaitRolloutInput) (RolloutResult, error) {
	if err := refError("wait rollout", in.Namespace, in.Name); err != nil {
		return RolloutResult{}, err
	}
	ref := in.Namespace + "/" + in.Name
	deployments := k.Client.AppsV1().Deployments(in.Namespace)

	ticker := time.NewTicker(k.heartbeatInterval())
	defer ticker.Stop()
	var progress RolloutProgress
	beat := func() { heartbeat(ctx, progress) }

	failures := 0
	// retry absorbs a transient error with a growing pause, or returns the error to end the activity.
	retry := func(what string, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		cerr := classify(what, err)
		var appErr *temporal.ApplicationError
		if errors.As(cerr, &appErr) && appErr.NonRetryable() {
			return cerr
		}
		failures++
		if failures >= maxWatchFailures {
			return cerr
		}
		return wait(ctx, k.retryDelay(failures), ticker.C, beat)
	}

	for {
		if err := ctx.Err(); err != nil {
			return RolloutResult{}, err
		}
		d, err := deployments.Get(ctx, in.Name, metav1.GetOptions{})
		if err != nil {
			if err := retry("get deployment "+ref, err); err != nil {
				return RolloutResult{}, err
			}
			continue
		}
		if res, done, err := k.observe(ctx, d, &progress); done {
			return res, err
		}

		w, err := deployments.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", in.Name).String(),
			ResourceVersion: d.ResourceVersion,
		})
		if err != nil {
			if err := retry("watch deployment "+ref, err); err != nil {
				return RolloutResult{}, err
			}
			continue
		}
		started := time.Now()
		res, done, werr := k.consume(ctx, w, in.Name, ticker.C, &progress)
		w.Stop()
		if done {
			return res, werr
		}
		if time.Since(started) >= minWatchLifetime {
			failures = 0 // the watch worked for a while: whatever ended it is a first failure at most.
		} else if werr == nil {
			werr = errors.New("watch closed at once")
		}
		if werr != nil {
			if err := retry("watch deployment "+ref, werr); err != nil {
				return RolloutResult{}, err
			}
		}
		// Otherwise the watch expired normally: start over with a fresh Get.
	}
}

// consume reads one watch until the rollout ends (done), the watch ends (not done, nil error: re-watch), or
// the watch reports an error (not done, error: re-watch after a pause).
func (k *Kubernetes) consume(ctx context.Context, w watch.Interface, name string, tick <-chan time.Time,
	progress *RolloutProgress) (RolloutResult, bool, error) {
	for {
		select {
		case <-ctx.Done():
			return RolloutResult{}, true, ctx.Err()
		case <-tick:
			heartbeat(ctx, *progress)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return RolloutResult{}, false, nil
			}
			switch ev.Type {
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
					return RolloutResult{}, false, nil // the resourceVersion is too old: an expected re-watch.
				}
				return RolloutResult{}, false, err
			case watch.Deleted:
				if d, ok := ev.Object.(*appsv1.Deployment); ok && d.Name == name {
					return RolloutResult{}, false, nil // the next Get reports NotFound.
				}
			case watch.Added, watch.Modified:
				// The field selector already filters by name on a real API server; the check keeps a
				// looser server (or the fake clientset) from mixing in other Deployments.
				d, ok := ev.Object.(*appsv1.Deployment)
				if !ok || d.Name != name {
					continue
				}
				if res, done, err := k.observe(ctx, d, progress); done {
					return res, true, err
				}
			}
		}
	}
}

// observe heartbeats the Deployment's progress and turns a finished rollout into the activity's answer.
func (k *Kubernetes) observe(ctx context.Context, d *appsv1.Deployment, progress *RolloutProgress) (RolloutResult,
	bool, error) {
	phase, p, msg := rolloutStatus(d)
	*progress = p
	heartbeat(ctx, p)
	switch phase {
	case rolloutComplete:
		return RolloutResult{Replicas: p.Desired, AvailableReplicas: p.Available}, true, nil
	case rolloutFailed:
		return RolloutResult{}, true, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("deployment %s/%s exceeded its progress deadline with %d/%d replicas ready (%d updated): %s",
				d.Namespace, d.Name, p.Ready, p.Desired, p.Updated, msg),
			ErrProgressDeadlineExceeded, nil, p)
	}
	return RolloutResult{}, false, nil
}

type rolloutPhase int

const (
	rolloutInProgress rolloutPhase = iota
	rolloutComplete
	rolloutFailed
)

func (p rolloutPhase) String() string {
	return [...]string{"InProgress", "Complete", "Failed"}[p]
}

// rolloutStatus decides, from one Deployment snapshot, whether its rollout is complete, failed or still going,
// the way `kubectl rollout status` does: nothing counts until the controller has observed the current
// generation (a stale ProgressDeadlineExceeded from the previous release must not fail this one), and complete
// means every replica runs the new template and is available, with no old pod left. msg is the controller's
// message when the rollout failed.
func rolloutStatus(d *appsv1.Deployment) (phase rolloutPhase, p RolloutProgress, msg string) {
	p = RolloutProgress{
		Desired:   specReplicas(d),
		Updated:   d.Status.UpdatedReplicas,
		Ready:     d.Status.ReadyReplicas,
		Available: d.Status.AvailableReplicas,
	}
	if d.Status.ObservedGeneration < d.Generation {
		return rolloutInProgress, p, ""
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return rolloutFailed, p, c.Message
		}
	}
	if d.Status.UpdatedReplicas == p.Desired &&
		d.Status.Replicas == p.Desired &&
		d.Status.AvailableReplicas == p.Desired &&
		d.Status.UnavailableReplicas == 0 {
		return rolloutComplete, p, ""
	}
	return rolloutInProgress, p, ""
}

// ApplyService server-side applies a ClusterIP Service selecting one color; applied to an existing Service it
// switches the selector at once, which is why the workflow only uses it for the preview Service. It refuses an
// existing Service of another app with ErrNotOwned (see checkServiceOwner) before writing anything.
func (k *Kubernetes) ApplyService(ctx context.Context, in ApplyServiceInput) (ApplyServiceResult, error) {
	if err := refError("apply service", in.Namespace, in.Name); err != nil {
		return ApplyServiceResult{}, err
	}
	ref := in.Namespace + "/" + in.Name
	switch {
	case in.App == "":
		return ApplyServiceResult{}, invalidInput("apply service %s: app is empty", ref)
	case in.Port < 1 || in.Port > 65535:
		return ApplyServiceResult{}, invalidInput("apply service %s: port %d is not in 1-65535", ref, in.Port)
	case len(validation.IsValidLabelValue(in.Color)) > 0:
		return ApplyServiceResult{}, invalidInput("apply service %s: color %q is not a valid label value", ref,
			in.Color)
	}
	services := k.Client.CoreV1().Services(in.Namespace)

	var res ApplyServiceResult
	existing, err := services.Get(ctx, in.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		res.Created = true
	case err != nil:
		return ApplyServiceResult{}, classify("get service "+ref, err)
	default:
		if err := checkServiceOwner(ref, existing, in.App); err != nil {
			return ApplyServiceResult{}, err
		}
		res.PreviousColor = existing.Spec.Selector[LabelColor]
	}

	svc, err := serviceApplyConfig(render.Service(render.ServiceInput(in)))
	if err != nil {
		return ApplyServiceResult{}, invalidInput("apply service %s: %v", ref, err)
	}
	if _, err := services.Apply(ctx, svc, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return ApplyServiceResult{}, classify("apply service "+ref, err)
	}
	return res, nil
}

// selectorPatch is SwitchService's JSON merge patch; the resourceVersion makes the API server refuse it with a
// 409 Conflict when the Service changed since it was read, instead of overwriting a concurrent switch.
type selectorPatch struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Selector map[string]string `json:"selector"`
	} `json:"spec"`
}

// SwitchService moves a Service's selector to a color, only when it differs, so a retried or replayed switch
// writes nothing and leaves no trace in the audit log. It refuses a Service of another app with ErrNotOwned
// (see checkServiceOwner).
func (k *Kubernetes) SwitchService(ctx context.Context, in SwitchServiceInput) (SwitchServiceResult, error) {
	if err := refError("switch service", in.Namespace, in.Name); err != nil {
		return SwitchServiceResult{}, err
	}
	ref := in.Namespace + "/" + in.Name
	switch {
	case in.App == "":
		return SwitchServiceResult{}, invalidInput("switch service %s: app is empty", ref)
	case in.Color == "" || len(validation.IsValidLabelValue(in.Color)) > 0:
		return SwitchServiceResult{}, invalidInput("switch service %s: color %q is not a valid label value", ref,
			in.Color)
	}
	services := k.Client.CoreV1().Services(in.Namespace)

	svc, err := services.Get(ctx, in.Name, metav1.GetOptions{})
	if err != nil {
		return SwitchServiceResult{}, classify("get service "+ref, err)
	}
	// The patch carries the resourceVersion read here, so the Service cannot change owner between this check and
	// the write.
	if err := checkServiceOwner(ref, svc, in.App); err != nil {
		return SwitchServiceResult{}, err
	}
	res := SwitchServiceResult{PreviousColor: svc.Spec.Selector[LabelColor]}
	if res.PreviousColor == in.Color {
		return res, nil
	}

	var p selectorPatch
	p.Metadata.ResourceVersion = svc.ResourceVersion
	p.Spec.Selector = map[string]string{LabelApp: in.App, LabelColor: in.Color}
	data, err := json.Marshal(p)
	if err != nil {
		return SwitchServiceResult{}, fmt.Errorf("switch service %s: %w", ref, err)
	}
	if _, err := services.Patch(ctx, in.Name, types.MergePatchType, data,
		metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return SwitchServiceResult{}, classify("switch service "+ref, err)
	}
	res.Changed = true
	return res, nil
}

// DeleteService removes a Service Slipway created; a Service already gone counts as deleted, so a retried
// cleanup succeeds.
func (k *Kubernetes) DeleteService(ctx context.Context, in ServiceRef) error {
	if err := refError("delete service", in.Namespace, in.Name); err != nil {
		return err
	}
	ref := in.Namespace + "/" + in.Name
	opts := metav1.DeleteOptions{}
	if in.App != "" {
		// Only a Service of this app is deleted; the UID precondition makes the check and the delete one step.
		svc, err := k.Client.CoreV1().Services(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return classify("delete service "+ref, err)
		}
		if err := checkServiceOwner(ref, svc, in.App); err != nil {
			return err
		}
		opts.Preconditions = &metav1.Preconditions{UID: &svc.UID, ResourceVersion: &svc.ResourceVersion}
	}
	err := k.Client.CoreV1().Services(in.Namespace).Delete(ctx, in.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) {
		return classify("delete service "+ref, err)
	}
	return nil
}

// DeleteDeployment removes a Deployment a failed release created, so no later rollback can pick up the
// rejected build from it. Only a Deployment of in.App that Slipway manages is deleted (in.App is required);
// the UID and resourceVersion preconditions make the check and the delete one step, and a Deployment that is
// already gone is success.
func (k *Kubernetes) DeleteDeployment(ctx context.Context, in DeploymentRef) error {
	if err := refError("delete deployment", in.Namespace, in.Name); err != nil {
		return err
	}
	ref := in.Namespace + "/" + in.Name
	if in.App == "" {
		return invalidInput("delete deployment %s: app is required, so only the app's own Deployment can be deleted", ref)
	}
	d, err := k.Client.AppsV1().Deployments(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return classify("delete deployment "+ref, err)
	}
	if d.Labels[LabelApp] != in.App || d.Labels[LabelManagedBy] != ManagedByValue {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"deployment %s is not a Slipway-managed Deployment of app %q (labels %s=%q, %s=%q): left alone",
			ref, in.App, LabelApp, d.Labels[LabelApp], LabelManagedBy, d.Labels[LabelManagedBy]), ErrNotOwned, nil)
	}
	err = k.Client.AppsV1().Deployments(in.Namespace).Delete(ctx, in.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &d.UID, ResourceVersion: &d.ResourceVersion}})
	if err != nil && !apierrors.IsNotFound(err) {
		return classify("delete deployment "+ref, err)
	}
	return nil
}

// ActiveColor reads the color a Service selects; a missing Service is an answer (the first release), not an
// error.
func (k *Kubernetes) ActiveColor(ctx context.Context, in ServiceRef) (ActiveColorResult, error) {
	if err := refError("active color", in.Namespace, in.Name); err != nil {
		return ActiveColorResult{}, err
	}
	svc, err := k.Client.CoreV1().Services(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ActiveColorResult{}, nil
	}
	if err != nil {
		return ActiveColorResult{}, classify("get service "+in.Namespace+"/"+in.Name, err)
	}
	return ActiveColorResult{Exists: true, Color: svc.Spec.Selector[LabelColor], App: serviceApp(svc)}, nil
}

// serviceApp is the app a Service belongs to: its LabelApp label, or, when it has no such label (a Service
// created by an older Slipway), the app its selector selects.
func serviceApp(svc *corev1.Service) string {
	if app, ok := svc.Labels[LabelApp]; ok {
		return app
	}
	return svc.Spec.Selector[LabelApp]
}

// checkServiceOwner refuses, with the non-retryable ErrNotOwned, a Service that belongs to another app than
// app: a spec that names another app's Service as its active or preview Service must not be able to move that
// app's traffic. A Service labelled LabelApp must carry app; a Service without the label is accepted only
// when its selector already selects app (what an older Slipway created), and is otherwise not Slipway's.
func checkServiceOwner(ref string, svc *corev1.Service, app string) error {
	owner, labelled := svc.Labels[LabelApp]
	switch {
	case labelled && owner != app:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"service %s belongs to app %q (label %s), not to %q: Slipway will not take over another app's "+
				"Service; pick another blueGreen.activeService/previewService for %q",
			ref, owner, LabelApp, app, app), ErrNotOwned, nil)
	case !labelled && svc.Spec.Selector[LabelApp] != app:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"service %s was not created by Slipway (it has no %s label and does not select app %q): Slipway "+
				"will not take over a Service it did not create; pick another blueGreen.activeService/previewService "+
				"for %q", ref, LabelApp, app, app), ErrNotOwned, nil)
	}
	return nil
}

// ScaleDeployment sets a Deployment's replicas through the scale subresource, only when they differ, so it
// touches nothing but the replica count and a repeated scale-down writes nothing.
func (k *Kubernetes) ScaleDeployment(ctx context.Context, in ScaleInput) (ScaleResult, error) {
	if err := refError("scale deployment", in.Namespace, in.Name); err != nil {
		return ScaleResult{}, err
	}
	ref := in.Namespace + "/" + in.Name
	if in.Replicas < 0 {
		return ScaleResult{}, invalidInput("scale deployment %s: replicas %d is negative", ref, in.Replicas)
	}
	deployments := k.Client.AppsV1().Deployments(in.Namespace)

	d, err := deployments.Get(ctx, in.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && in.Replicas == 0 {
		return ScaleResult{}, nil // nothing to scale down.
	}
	if err != nil {
		return ScaleResult{}, classify("get deployment "+ref, err)
	}
	res := ScaleResult{Previous: specReplicas(d)}
	if res.Previous == in.Replicas {
		return res, nil
	}
	data, err := json.Marshal(map[string]any{"spec": map[string]any{"replicas": in.Replicas}})
	if err != nil {
		return ScaleResult{}, fmt.Errorf("scale deployment %s: %w", ref, err)
	}
	// The API server answers a scale patch with a Scale object, which the typed Deployment client cannot
	// decode into a Deployment; the answer is not needed, only the error.
	if _, err := deployments.Patch(ctx, in.Name, types.MergePatchType, data,
		metav1.PatchOptions{FieldManager: FieldManager}, "scale"); err != nil {
		return ScaleResult{}, classify("scale deployment "+ref, err)
	}
	res.Changed = true
	return res, nil
}

// DescribeDeployment reads the image and replica counts of a Deployment, so a rollback can tell whether the
// color it would switch back to still runs and what, and snapshots the fields Slipway applied to it (Applied),
// so a compensation can put them back with RestoreDeployment.
func (k *Kubernetes) DescribeDeployment(ctx context.Context, in DeploymentRef) (DeploymentState, error) {
	if err := refError("describe deployment", in.Namespace, in.Name); err != nil {
		return DeploymentState{}, err
	}
	d, err := k.Client.AppsV1().Deployments(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return DeploymentState{}, nil
	}
	if err != nil {
		return DeploymentState{}, classify("get deployment "+in.Namespace+"/"+in.Name, err)
	}
	return DeploymentState{
		Exists:        true,
		Image:         appImage(d),
		Version:       d.Labels[LabelVersion],
		Replicas:      specReplicas(d),
		ReadyReplicas: d.Status.ReadyReplicas,
		Applied:       appliedSnapshot(d),
	}, nil
}

// refError validates the namespace/name pair every activity needs.
func refError(what, namespace, name string) error {
	if namespace == "" || name == "" {
		return invalidInput("%s: namespace and name are required (got %q/%q)", what, namespace, name)
	}
	return nil
}

// appImage is the image of the container Slipway renders; other containers (sidecars injected by a mesh) are
// not the release.
func appImage(d *appsv1.Deployment) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == ContainerName {
			return c.Image
		}
	}
	return ""
}

// specReplicas applies the API server's default of 1 to an unset replica count.
func specReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func (k *Kubernetes) heartbeatInterval() time.Duration {
	if k.HeartbeatInterval > 0 {
		return k.HeartbeatInterval
	}
	return DefaultHeartbeatInterval
}

// retryDelay is the pause before the n-th retry in a row (n >= 1).
func (k *Kubernetes) retryDelay(n int) time.Duration {
	d := k.RetryDelay
	if d <= 0 {
		d = DefaultRetryDelay
	}
	for i := 1; i < n && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}
