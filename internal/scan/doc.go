// Package scan is the pure core of the scan stage: it reads the JSON reports of Trivy and Grype (run as
// separate, pinned processes; their libraries are not linked), merges their findings into one list, gates a
// release on a severity policy and writes the evidence (a JSON report and a SARIF log).
//
// Nothing here runs a scanner, touches the network or reads the clock: the caller passes the reports and
// "now", so every function is deterministic and can run in a workflow, an activity or a test alike.
package scan
