package localpods

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// PodHeader names the pod that answered, on every proxied response, so a check can tell which color (or
// replica) served it.
const PodHeader = "X-Localpods-Pod"

const proxyPrefix = "/api/v1/namespaces/"

// transport is shared by every proxied request: children are on loopback, so short timeouts are plenty.
var transport = &http.Transport{
	Proxy:                 nil,
	DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	MaxIdleConnsPerHost:   8,
	IdleConnTimeout:       30 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
}

// Handler serves the routing endpoints:
//
//	/api/v1/namespaces/{ns}/services/{svc}/proxy/{path...}   the API server's service-proxy URL shape;
//	                                                          {svc} is name, name:port or http:name:port
//	GET /healthz                                             200 "ok"
//	GET /debug/pods                                          JSON list of Pods()
//
// Errors are Kubernetes Status objects with the API server's codes and messages: 404 `services "x" not
// found`, 503 `no endpoints available for service "x"`, 503 `no service port 9 found for service "x"`.
// Before the caches have synced every proxy request gets 503.
func (r *Runner) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /debug/pods", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r.Pods())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Not through the mux: it would clean and redirect the path that belongs to the app.
		if strings.HasPrefix(req.URL.Path, proxyPrefix) {
			r.serveProxy(w, req)
			return
		}
		mux.ServeHTTP(w, req)
	})
}

func (r *Runner) serveProxy(w http.ResponseWriter, req *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(req.URL.EscapedPath(), proxyPrefix), "/", 5) // ns services id proxy path
	if len(parts) < 4 || parts[0] == "" || parts[1] != "services" || parts[2] == "" || parts[3] != "proxy" {
		writeStatus(w, &apierrors.StatusError{ErrStatus: metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
			Message: "the server could not find the requested resource (localpods serves only the service proxy)",
		}})
		return
	}
	ns, err1 := url.PathUnescape(parts[0])
	id, err2 := url.PathUnescape(parts[2])
	rawPath := "/"
	if len(parts) == 5 {
		rawPath += parts[4]
	}
	path, err3 := url.PathUnescape(rawPath)
	if err := errors.Join(err1, err2, err3); err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	scheme, name, port, valid := utilnet.SplitSchemeNamePort(id)
	if !valid {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("invalid service request %q", id)))
		return
	}
	if scheme != "" && scheme != "http" {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("localpods proxies plain http only, not %q", scheme)))
		return
	}

	select {
	case <-r.synced:
	default:
		writeStatus(w, apierrors.NewServiceUnavailable("localpods: informer caches have not synced yet"))
		return
	}
	sl, pl := r.serviceLister(ns), r.podLister(ns)
	if sl == nil || pl == nil { // a namespace localpods does not watch
		writeStatus(w, apierrors.NewNotFound(corev1.Resource("services"), name))
		return
	}
	svc, err := sl.Get(name)
	if apierrors.IsNotFound(err) { // the lister says "service"; the API server says "services"
		err = apierrors.NewNotFound(corev1.Resource("services"), name)
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	// Like the API server: a port number must be one of the Service's ports; a name (or "", the unnamed
	// port) must name one, else there are no endpoints for it.
	if n, err := strconv.ParseInt(port, 10, 32); err == nil {
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int64(p.Port) == n }) {
			writeStatus(w, apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", n, name)))
			return
		}
	} else if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == port }) {
		writeStatus(w, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name)))
		return
	}
	eps, err := r.endpoints(svc, pl)
	if err != nil {
		writeStatus(w, err)
		return
	}
	if len(eps) == 0 {
		writeStatus(w, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name)))
		return
	}
	c, _ := r.rr.LoadOrStore(ns+"/"+name, new(atomic.Uint64))
	ep := eps[(c.(*atomic.Uint64).Add(1)-1)%uint64(len(eps))]

	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(ep.Port))
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = target
			pr.Out.URL.Path = path
			pr.Out.URL.RawPath = rawPath
			pr.Out.Host = "" // use target
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(PodHeader, ep.Name)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			r.log.Warn("proxying failed", "service", ns+"/"+name, "pod", ep.Name, "target", target, "err", err)
			writeStatus(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach service: %v", err)))
		},
	}
	rp.ServeHTTP(w, req)
}

// writeStatus answers with err as a Kubernetes Status object, as the API server would.
func writeStatus(w http.ResponseWriter, err error) {
	var st metav1.Status
	var apiStatus apierrors.APIStatus
	if errors.As(err, &apiStatus) {
		st = apiStatus.Status()
	} else {
		st = apierrors.NewInternalError(err).ErrStatus
	}
	st.Kind, st.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(st.Code))
	_ = json.NewEncoder(w).Encode(st)
}
