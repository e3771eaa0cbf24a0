// Package render builds the Kubernetes objects Slipway applies for an app (its Deployments and its Services)
// as typed k8s.io/api objects. It is pure and imports no client, so what a release would apply can be tested,
// diffed and judged by the compliance rules without a cluster, and the starter can render without linking
// client-go; the activities turn these objects into server-side apply configurations and send them.
//
// The package imports internal/spec and the Kubernetes API types only: never client-go, never activities.
package render
