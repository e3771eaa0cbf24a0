// Package localpods stands in for the kubelet and for Service routing on a Kubernetes control plane whose
// Pods run nothing (KWOK marks them Running and Ready, but no container exists), so that smoke checks can
// still reach "the app through a Service" and get real HTTP answers from the version that was deployed.
//
// A Runner watches Pods and Services. For every Running pod with a container whose image repository has a
// program (for example localhost/slipway/demo-app → bin/demoapp), it runs that program as a local child
// process on a 127.0.0.1 listener it hands over as fd 3 (LISTEN_FDS=1), with the container's plain env,
// SLIPWAY_POD_NAME, SLIPWAY_POD_NAMESPACE and APP_VERSION set to the image tag. The child is restarted with
// backoff if it exits and stopped when the pod goes away, stops running or changes image.
//
// Runner.Handler serves the Kubernetes API server's service-proxy URLs
// (/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/{path}) and forwards each request to one of the
// Service's ready pods, picked round-robin. The real API server cannot do this here: its service proxy
// refuses loopback endpoint addresses, EndpointSlices reject them, and KWOK's pod IPs reach nothing. See
// docs/local-cluster.md.
package localpods

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// DefaultGracePeriod is how long a child gets between SIGTERM and SIGKILL unless Runner.GracePeriod says
// otherwise; short, because the demo's children exit at once and nothing waits on them.
const DefaultGracePeriod = 5 * time.Second

// Runner runs local processes for pods and routes service-proxy requests to them. Create it with New, set
// the exported fields before calling Run, and call Run once.
type Runner struct {
	// Namespaces limits the watch to these namespaces; empty watches all of them.
	Namespaces []string
	// GracePeriod is how long a child gets between SIGTERM and SIGKILL (DefaultGracePeriod if zero).
	GracePeriod time.Duration
	// ChildOutput receives every child's stdout and stderr; nil logs each line through the logger.
	ChildOutput io.Writer

	client   kubernetes.Interface
	programs map[string]string // normalised image repository → executable
	log      *slog.Logger

	started  atomic.Bool
	synced   chan struct{}
	finished chan struct{}
	stop     chan struct{} // closed by Shutdown
	stopOnce sync.Once

	// listers by namespace; the key "" holds the all-namespaces listers. Written before listersReady is set.
	pods         map[string]corelisters.PodLister
	services     map[string]corelisters.ServiceLister
	listersReady atomic.Bool

	mu       sync.Mutex
	procs    map[string]*proc // by "namespace/name"
	changed  chan struct{}    // closed and replaced on every change; see WaitUntil
	children sync.WaitGroup   // one per proc, done when its child is gone (also for procs being stopped)

	rr sync.Map // "namespace/service" → *atomic.Uint64, the round-robin counters
}

// PodInfo describes a pod that has a local process: what /debug/pods lists and what Endpoints returns.
type PodInfo struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Image     string `json:"image"`
	// Version is the image tag, the child's APP_VERSION.
	Version string `json:"version"`
	// Program is the executable that runs for the pod.
	Program string `json:"program"`
	// Port is the 127.0.0.1 port the child serves on (stable across child restarts).
	Port int `json:"port"`
	// PID is the child's process id, 0 while it is down between restarts.
	PID int `json:"pid"`
	// Ready means the pod's Ready condition is True, it is not being deleted and a child runs: the proxy may
	// send it requests.
	Ready    bool `json:"ready"`
	Restarts int  `json:"restarts"`
}

// New returns a Runner that uses client to watch Pods and Services, and programs, a map from image
// repository (for example "localhost/slipway/demo-app") to the executable that stands in for its
// containers. A nil logger discards logs.
func New(client kubernetes.Interface, programs map[string]string, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := make(map[string]string, len(programs))
	for repo, path := range programs {
		p[normalizeRepo(repo)] = path
	}
	return &Runner{
		client:   client,
		programs: p,
		log:      logger,
		synced:   make(chan struct{}),
		finished: make(chan struct{}),
		stop:     make(chan struct{}),
		procs:    map[string]*proc{},
		changed:  make(chan struct{}),
	}
}

// Ready is closed once the informer caches have synced and a child has been started for every matching pod
// that existed then, so the proxy answers from a complete view of the cluster. (A child that has just
// started may not accept yet; requests to it wait in its listener's queue rather than fail.)
func (r *Runner) Ready() <-chan struct{} { return r.synced }

// WaitForSync blocks until Ready is closed or ctx is done.
func (r *Runner) WaitForSync(ctx context.Context) error {
	select {
	case <-r.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("localpods: waiting for informer caches: %w", ctx.Err())
	}
}

// Run watches the cluster and keeps one child per matching pod until ctx is done or Shutdown is called;
// then it stops every child (SIGTERM, SIGKILL after GracePeriod) and returns once they are gone. It returns
// nil after such a shutdown, and an error if it was stopped before the informer caches synced.
func (r *Runner) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("localpods: Run called twice")
	}
	defer close(r.finished)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer r.stopAll()

	queue := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "localpods"})
	defer queue.ShutDown()

	namespaces := r.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{corev1.NamespaceAll}
	}
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	podHandler := cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}
	notify := func(any) { r.notify() }
	svcHandler := cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		DeleteFunc: notify,
	}

	r.pods = map[string]corelisters.PodLister{}
	r.services = map[string]corelisters.ServiceLister{}
	var factories []informers.SharedInformerFactory
	var hasSynced []cache.InformerSynced
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(r.client, 0, informers.WithNamespace(ns))
		pi, si := f.Core().V1().Pods(), f.Core().V1().Services()
		pr, err := pi.Informer().AddEventHandler(podHandler)
		if err != nil {
			return fmt.Errorf("localpods: pod handler: %w", err)
		}
		sr, err := si.Informer().AddEventHandler(svcHandler)
		if err != nil {
			return fmt.Errorf("localpods: service handler: %w", err)
		}
		r.pods[ns], r.services[ns] = pi.Lister(), si.Lister()
		hasSynced = append(hasSynced, pr.HasSynced, sr.HasSynced)
		factories = append(factories, f)
	}
	for _, f := range factories {
		f.Start(ctx.Done())
	}
	defer func() { // runs before stopAll: no reconcile may start a child after it
		cancel()
		for _, f := range factories {
			f.Shutdown()
		}
	}()
	if !cache.WaitForCacheSync(ctx.Done(), hasSynced...) { // returns false only once ctx is done
		return fmt.Errorf("localpods: stopped before the informer caches synced: %w", ctx.Err())
	}
	// Start the children of the pods that exist now before declaring Ready, so that the first request after
	// Ready already finds them. The queued events for these pods find nothing left to do.
	r.listersReady.Store(true)
	for _, l := range r.pods {
		pods, err := l.List(labels.Everything())
		if err != nil {
			return fmt.Errorf("localpods: listing pods: %w", err)
		}
		for _, pod := range pods {
			key := pod.Namespace + "/" + pod.Name
			if err := r.reconcile(key); err != nil {
				r.log.Error("reconcile failed; retrying", "pod", key, "err", err)
				queue.AddRateLimited(key)
			}
		}
	}
	close(r.synced)
	r.log.Info("informer caches synced", "namespaces", namespaces, "programs", r.programs, "children", len(r.Pods()))

	var workers sync.WaitGroup
	for range 2 {
		workers.Go(func() {
			for {
				key, quit := queue.Get()
				if quit {
					return
				}
				if err := r.reconcile(key); err != nil {
					r.log.Error("reconcile failed; retrying", "pod", key, "err", err)
					queue.AddRateLimited(key)
				} else {
					queue.Forget(key)
				}
				queue.Done(key)
			}
		})
	}
	<-ctx.Done()
	queue.ShutDown()
	workers.Wait()
	return nil
}

// Shutdown stops Run (and so every child) and waits until Run has returned or ctx is done. It is a no-op if
// Run was never called.
func (r *Runner) Shutdown(ctx context.Context) error {
	if !r.started.Load() {
		return nil
	}
	r.stopOnce.Do(func() { close(r.stop) })
	select {
	case <-r.finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopAll stops every child and waits until all of them, including those already being stopped, have
// exited.
func (r *Runner) stopAll() {
	r.mu.Lock()
	procs := make([]*proc, 0, len(r.procs))
	for key, p := range r.procs {
		procs = append(procs, p)
		delete(r.procs, key)
	}
	r.mu.Unlock()
	for _, p := range procs {
		p.stop()
	}
	r.children.Wait() // also the children that were already being stopped
	r.notify()
}

// notify wakes every WaitUntil.
func (r *Runner) notify() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// WaitUntil returns nil as soon as cond returns true, or ctx's error. cond is evaluated now and again after
// every pod or service event and every child start or exit, so callers (tests above all) can wait for a
// state without sleeping; cond typically calls Pods or Endpoints.
func (r *Runner) WaitUntil(ctx context.Context, cond func() bool) error {
	for {
		r.mu.Lock()
		changed := r.changed
		r.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// podLister returns the lister that covers namespace ns, or nil if ns is not watched or the caches have
// not synced.
func (r *Runner) podLister(ns string) corelisters.PodNamespaceLister {
	if !r.listersReady.Load() {
		return nil
	}
	if l, ok := r.pods[corev1.NamespaceAll]; ok {
		return l.Pods(ns)
	}
	if l, ok := r.pods[ns]; ok {
		return l.Pods(ns)
	}
	return nil
}

func (r *Runner) serviceLister(ns string) corelisters.ServiceNamespaceLister {
	if !r.listersReady.Load() {
		return nil
	}
	if l, ok := r.services[corev1.NamespaceAll]; ok {
		return l.Services(ns)
	}
	if l, ok := r.services[ns]; ok {
		return l.Services(ns)
	}
	return nil
}

// desired is what should run for a pod: nil if nothing.
type desired struct {
	image, version, program string
	env                     []string
}

// want decides whether pod gets a child: it must be Running and not being deleted, and have a container
// whose image repository has a program. The first such container wins.
func (r *Runner) want(pod *corev1.Pod) *desired {
	if pod == nil || pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
		return nil
	}
	for _, c := range pod.Spec.Containers {
		repo, tag, ok := splitImage(c.Image)
		if !ok {
			continue
		}
		program, ok := r.programs[repo]
		if !ok {
			continue
		}
		env := []string{}
		if path, ok := os.LookupEnv("PATH"); ok {
			env = append(env, "PATH="+path)
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				env = append(env, e.Name+"="+e.Value)
			}
		}
		// Set last so they win over the container's env: exec keeps the last value of a duplicate key.
		env = append(env,
			"SLIPWAY_POD_NAME="+pod.Name,
			"SLIPWAY_POD_NAMESPACE="+pod.Namespace,
			"APP_VERSION="+tag,
			"LISTEN_FDS=1",
		)
		return &desired{image: c.Image, version: tag, program: program, env: env}
	}
	return nil
}

// reconcile makes the children match the pod behind key.
func (r *Runner) reconcile(key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key we made; nothing to retry
	}
	var pod *corev1.Pod
	if l := r.podLister(ns); l != nil {
		pod, err = l.Get(name)
		if apierrors.IsNotFound(err) {
			pod = nil
		} else if err != nil {
			return err
		}
	}
	want := r.want(pod)

	r.mu.Lock()
	cur := r.procs[key]
	if cur != nil && (want == nil || cur.uid != pod.UID || cur.image != want.image || cur.program != want.program) {
		delete(r.procs, key)
		cur.stop()
		why := "pod gone"
		switch {
		case pod != nil && pod.DeletionTimestamp != nil:
			why = "pod terminating"
		case pod != nil && pod.Status.Phase != corev1.PodRunning:
			why = "pod not running (" + string(pod.Status.Phase) + ")"
		case pod != nil && cur.uid != pod.UID:
			why = "pod replaced"
		case want != nil:
			why = "image changed to " + want.image
		case pod != nil:
			why = "no container with a program"
		}
		r.log.Info("stopping child", "pod", key, "image", cur.image, "reason", why)
		cur = nil
	}
	var startErr error
	if cur == nil && want != nil {
		p := &proc{
			namespace: ns, name: name, uid: pod.UID,
			image: want.image, version: want.version, program: want.program, env: want.env,
			grace:  r.GracePeriod,
			notify: r.notify,
			log:    r.log.With("pod", key),
		}
		if p.grace <= 0 {
			p.grace = DefaultGracePeriod
		}
		p.out = r.ChildOutput
		if p.out == nil {
			p.out = &lineLogger{log: r.log.With("pod", key, "stream", "child")}
		}
		if startErr = startProc(p); startErr == nil {
			r.procs[key] = p
			r.children.Go(func() { <-p.done })
			r.log.Info("starting child", "pod", key, "image", want.image, "program", want.program, "port", p.port)
		}
	}
	r.mu.Unlock()
	r.notify() // the pod's readiness may have changed even when its child did not
	return startErr
}

// Pods lists the pods that have a local process, sorted by namespace and name.
func (r *Runner) Pods() []PodInfo {
	r.mu.Lock()
	procs := make([]*proc, 0, len(r.procs))
	for _, p := range r.procs {
		procs = append(procs, p)
	}
	r.mu.Unlock()
	out := make([]PodInfo, 0, len(procs))
	for _, p := range procs {
		info := p.info()
		if l := r.podLister(p.namespace); l != nil {
			if pod, err := l.Get(p.name); err == nil && pod.UID == p.uid {
				info.Ready = info.PID != 0 && podReady(pod)
			}
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b PodInfo) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out
}

func (p *proc) info() PodInfo {
	return PodInfo{
		Namespace: p.namespace, Name: p.name, Image: p.image, Version: p.version, Program: p.program,
		Port: p.port, PID: p.running(), Restarts: p.restartCount(),
	}
}

// podReady is the condition under which Kubernetes lists a pod as a ready endpoint.
func podReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Endpoints returns the pods a request to the Service would be sent to: pods in its namespace that match
// its selector, are Ready and have a running child, sorted by name. The error is a Kubernetes status error
// (NotFound when there is no such Service).
func (r *Runner) Endpoints(namespace, service string) ([]PodInfo, error) {
	sl, pl := r.serviceLister(namespace), r.podLister(namespace)
	if sl == nil || pl == nil {
		return nil, apierrors.NewNotFound(corev1.Resource("services"), service)
	}
	svc, err := sl.Get(service)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(corev1.Resource("services"), service)
	}
	if err != nil {
		return nil, err
	}
	return r.endpoints(svc, pl)
}

func (r *Runner) endpoints(svc *corev1.Service, pl corelisters.PodNamespaceLister) ([]PodInfo, error) {
	if len(svc.Spec.Selector) == 0 { // Kubernetes makes no endpoints for a Service without a selector either
		return nil, nil
	}
	pods, err := pl.List(labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return nil, err
	}
	var out []PodInfo
	r.mu.Lock()
	for _, pod := range pods {
		p := r.procs[pod.Namespace+"/"+pod.Name]
		if p == nil || p.uid != pod.UID || !podReady(pod) {
			continue
		}
		info := p.info()
		if info.PID == 0 {
			continue
		}
		info.Ready = true
		out = append(out, info)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b PodInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
