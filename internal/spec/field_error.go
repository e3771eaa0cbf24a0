package spec

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem with a field a person wrote: which field (its path, e.g. "container.env[1].name"
// in a spec), where (Source and Line, when the spec came from a file) and what to do about it. It is the one
// field error type of the module: the spec's checks report it, and so does internal/imagebuild for its
// Options, so a command line can map any of them to the flag or line to fix.
type FieldError struct {
	Source  string
	Line    int
	Path    string
	Message string
}

// Error formats "source:line: path: message", leaving out the parts that are unknown.
func (e FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.Source != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.Source, e.Line)
	case e.Source != "":
		b.WriteString(e.Source + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// FieldErrors is every problem found in a spec, so one run shows them all instead of one per attempt. Parse
// and Spec's Validate return them sorted by line, then path; errors without a line (a field missing from a
// section that is missing too, or a spec that did not come from YAML) come last. A policy's Validate returns
// them in field order.
type FieldErrors []FieldError

// Error lists the errors one per line.
func (es FieldErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es FieldErrors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		li, lj := es[i].Line, es[j].Line
		if (li == 0) != (lj == 0) {
			return lj == 0
		}
		if li != lj {
			return li < lj
		}
		return es[i].Path < es[j].Path
	})
}
