// Package compliance is the compliance gate before production: built-in rules, each tied to the frameworks it
// serves (GDPR, HIPAA, SOX, PCI DSS), evaluated over what will actually be applied (the rendered production
// Deployment), what the team declares about the app (spec.ComplianceSettings), and the release's evidence (the
// image was scanned and passed, it is signed, it is deployed by digest).
//
// The shape follows a classic compliance validator: every rule runs (a rule that panics is an "error", never a
// silent pass), each gives passed, warning or failed with a message saying how to fix it, and the overall
// status is failed when any rule failed or errored, else warning when any rule warned, else passed. A team
// accepts a failing rule for a while with a waiver (a reason and an expiry date, like scan.ignore): the rule
// then passes with a warning that names the waiver, and an expired waiver is an error in the spec rather than
// a silent lapse.
//
// The policy (frameworks, waivers, warningsBlock), the settings and the rule IDs a waiver names are what a
// team writes in its spec, so they live in internal/spec, which also validates them; this package evaluates
// them. It imports neither activities nor client-go: its callers (the compliance activity, the starter's
// compliance command) render the Deployment with render.Deployment and hand it over as a typed object.
package compliance
