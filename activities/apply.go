package activities

import (
	"encoding/json"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/vektagraf/slipway/internal/spec"
)

// validateApplyDeployment refuses inputs the API server would refuse anyway, or worse accept with a meaning
// nobody intended, before any write.
func validateApplyDeployment(in ApplyDeploymentInput) error {
	switch {
	case in.Namespace == "":
		return invalidInput("apply deployment: namespace is empty")
	case in.Name == "":
		return invalidInput("apply deployment %s: name is empty", in.Namespace)
	case in.App == "":
		return invalidInput("apply deployment %s/%s: app is empty", in.Namespace, in.Name)
	case in.Image == "":
		return invalidInput("apply deployment %s/%s: image is empty", in.Namespace, in.Name)
	case in.Replicas < 0:
		return invalidInput("apply deployment %s/%s: replicas %d is negative", in.Namespace, in.Name, in.Replicas)
	case in.Container.Port < 1 || in.Container.Port > 65535:
		return invalidInput("apply deployment %s/%s: container port %d is not in 1-65535", in.Namespace, in.Name,
			in.Container.Port)
	}
	where := in.Namespace + "/" + in.Name
	for _, v := range []struct{ what, value string }{{"app", in.App}, {"color", in.Color}} {
		if errs := validation.IsValidLabelValue(v.value); len(errs) > 0 {
			return invalidInput("apply deployment %s: %s %q is not a valid label value: %s", where, v.what, v.value,
				strings.Join(errs, "; "))
		}
	}
	for _, q := range []struct{ what, value string }{
		{"requests.cpu", in.Container.Resources.Requests.CPU},
		{"requests.memory", in.Container.Resources.Requests.Memory},
		{"limits.cpu", in.Container.Resources.Limits.CPU},
		{"limits.memory", in.Container.Resources.Limits.Memory},
	} {
		if q.value == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q.value); err != nil {
			return invalidInput("apply deployment %s: resources.%s %q: %v", where, q.what, q.value, err)
		}
	}
	for name, p := range map[string]*spec.HTTPProbe{
		"liveness": in.Container.Probes.Liveness, "readiness": in.Container.Probes.Readiness,
	} {
		if p != nil && !strings.HasPrefix(p.Path, "/") {
			return invalidInput("apply deployment %s: %s probe path %q must start with /", where, name, p.Path)
		}
	}
	seen := map[string]bool{}
	for _, e := range in.Container.Env {
		switch {
		case e.Name == "":
			return invalidInput("apply deployment %s: an env var has no name", where)
		case e.Name == VersionEnv:
			return invalidInput("apply deployment %s: env %s is set by Slipway", where, VersionEnv)
		case seen[e.Name]:
			return invalidInput("apply deployment %s: env %s is set twice", where, e.Name)
		case e.SecretRef != nil && e.Value != "":
			return invalidInput("apply deployment %s: env %s has both a value and a secretRef", where, e.Name)
		case e.SecretRef != nil && (e.SecretRef.Name == "" || e.SecretRef.Key == ""):
			return invalidInput("apply deployment %s: env %s: secretRef needs a name and a key", where, e.Name)
		}
		seen[e.Name] = true
	}
	return nil
}

// deploymentApplyConfig is the apply configuration ApplyDeployment sends for a rendered Deployment: the same
// fields, so that Slipway's field manager owns exactly what render.Deployment sets and nothing a typed object
// adds. A typed object cannot leave out a struct field, so its empty status and a container's empty resources
// are dropped; and it cannot tell an empty env value from none, so a literal env var keeps its value, even "",
// as the apply has always sent it.
func deploymentApplyConfig(d *appsv1.Deployment) (*appsv1ac.DeploymentApplyConfiguration, error) {
	var ac appsv1ac.DeploymentApplyConfiguration
	if err := applyConfigOf(d, &ac); err != nil {
		return nil, err
	}
	ac.Status = nil
	if ac.Spec != nil && ac.Spec.Template != nil && ac.Spec.Template.Spec != nil {
		for i := range ac.Spec.Template.Spec.Containers {
			c := &ac.Spec.Template.Spec.Containers[i]
			if r := c.Resources; r != nil && r.Requests == nil && r.Limits == nil && len(r.Claims) == 0 {
				c.Resources = nil
			}
			for j := range c.Env {
				if e := &c.Env[j]; e.ValueFrom == nil && e.Value == nil {
					e.WithValue("")
				}
			}
		}
	}
	return &ac, nil
}

// serviceApplyConfig is the apply configuration ApplyService sends for a rendered Service, without the empty
// status a typed Service always carries, so Slipway's field manager owns only what render.Service sets.
func serviceApplyConfig(svc *corev1.Service) (*corev1ac.ServiceApplyConfiguration, error) {
	var ac corev1ac.ServiceApplyConfiguration
	if err := applyConfigOf(svc, &ac); err != nil {
		return nil, err
	}
	ac.Status = nil
	return &ac, nil
}

// applyConfigOf fills an apply configuration from a typed object through their shared JSON form, so a field
// render adds reaches the cluster without a conversion to keep in step.
func applyConfigOf(obj, ac any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ac)
}
