package scan

import (
	"testing"

	"github.com/vektagraf/slipway/internal/spec"
)

// BenchmarkMergeAndEvaluate measures the whole pure path of a scan stage over about 1000 findings per
// scanner: merging, evaluating the default policy with an ignore, and rendering SARIF.
func BenchmarkMergeAndEvaluate(b *testing.B) {
	in := syntheticFindings(1000)
	p := spec.ScanPolicy{Ignore: []spec.Ignore{{ID: "GHSA-1", Reason: "benchmark", Expires: "2027-01-01"}}}
	b.ReportAllocs()
	for b.Loop() {
		merged := Merge(in)
		v := Evaluate(p, merged, now)
		if v.Passed {
			b.Fatal("the synthetic findings include blocking ones")
		}
		if _, err := SARIF(merged, testTool); err != nil {
			b.Fatal(err)
		}
	}
}
