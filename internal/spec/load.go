package spec

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// maxSpecBytes bounds the size of a spec file; a real spec is a few kilobytes, so anything bigger is a mistake
// (a binary, a log) and is refused before parsing.
const maxSpecBytes = 1 << 20

// maxErrors bounds how many errors Parse reports; past that, fixing the first ones is the next step anyway.
const maxErrors = 50

// maxNodes bounds how many YAML nodes one spec may expand to, counting every use of an alias, so an alias
// bomb costs a bounded amount of work. Mapping keys count too.
const maxNodes = 1 << 14

// Load reads the spec file at path and returns it parsed, defaulted and validated, so callers never see a
// half-checked spec. Errors about the content are FieldErrors naming path and line.
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read release spec: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read release spec %s: %w", path, err)
	}
	return Parse(data, path)
}

// Parse decodes one YAML (or JSON) document strictly, then runs ApplyDefaults and Validate. Every problem it
// finds (syntax, unknown or duplicate field, wrong type, failed validation) is collected into one FieldErrors,
// each entry with the field path and, where the YAML has it, the line; source, usually the file name, prefixes
// every message. Like Validate, it does not check scan.ignore's expiry dates against the clock; starting a
// release does (Spec.ValidateAt).
func Parse(data []byte, source string) (*Spec, error) {
	return parseAt(data, source, time.Time{})
}

// parseAt is Parse with ValidateAt's clock: the zero time skips the expiry check, tests pass a fixed time.
func parseAt(data []byte, source string, now time.Time) (*Spec, error) {
	fail := func(errs FieldErrors) (*Spec, error) {
		for i := range errs {
			errs[i].Source = source
		}
		errs.sort()
		if len(errs) > maxErrors {
			more := len(errs) - maxErrors
			errs = append(errs[:maxErrors:maxErrors], FieldError{Source: source, Message: fmt.Sprintf("... and %d more errors", more)})
		}
		return nil, errs
	}
	if len(data) > maxSpecBytes {
		return fail(FieldErrors{{Message: fmt.Sprintf("the file is larger than %d bytes; a release spec is a few kilobytes", maxSpecBytes)}})
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(FieldErrors{emptyError()})
		}
		return fail(FieldErrors{syntaxError(err)})
	}
	var errs FieldErrors
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		errs = append(errs, syntaxError(err))
	case !isEmptyDocument(&next):
		errs = append(errs, FieldError{Line: next.Line, Message: "a spec file holds one YAML document; remove this one and the \"---\" before it"})
	}
	if isEmptyDocument(&doc) {
		return fail(append(errs, emptyError()))
	}

	var s Spec
	d := &decoder{lines: map[string]int{}, budget: maxNodes}
	d.decode(doc.Content[0], reflect.ValueOf(&s).Elem(), "")
	errs = append(errs, d.errs...)

	ApplyDefaults(&s)
	if err := s.ValidateAt(now); err != nil {
		var verrs FieldErrors
		if !errors.As(err, &verrs) {
			return fail(append(errs, FieldError{Message: err.Error()}))
		}
		for _, fe := range verrs {
			if d.undecoded(fe.Path) {
				continue // the decode error on this field already says what is wrong
			}
			if fe.Line == 0 {
				fe.Line = d.lineOf(fe.Path)
			}
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		return fail(errs)
	}
	return &s, nil
}

func emptyError() FieldError {
	return FieldError{Message: fmt.Sprintf("the spec is empty; it must start with \"apiVersion: %s\" and \"kind: %s\"", APIVersion, Kind)}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parser error ("yaml: line 3: did not find expected key") into a FieldError with
// the line split out.
func syntaxError(err error) FieldError {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return FieldError{Line: line, Message: "invalid YAML: " + m[2]}
	}
	return FieldError{Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// isEmptyDocument reports a document with no content, or only a null ("---" at the end of a file, or a file of
// comments).
func isEmptyDocument(doc *yaml.Node) bool {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// decoder walks a yaml.Node tree against the Spec types (fields named by their yaml tags) and fills the value,
// recording every field's line and collecting errors instead of stopping at the first.
type decoder struct {
	errs   FieldErrors
	lines  map[string]int
	failed []string // paths whose value could not be decoded
	budget int
}

func (d *decoder) fail(path string, line int, format string, args ...any) {
	d.errs = append(d.errs, FieldError{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
	d.failed = append(d.failed, path)
}

// undecoded reports whether path is, or is inside, a value that failed to decode; validating it would only
// repeat the decode error in other words (a port that is not a number is also "required").
func (d *decoder) undecoded(path string) bool {
	for _, f := range d.failed {
		if isWithin(path, f) {
			return true
		}
	}
	return false
}

// lineOf returns the line of path, or of its nearest ancestor present in the YAML (a missing field is reported
// on the line of the mapping that should hold it); 0 when none is.
func (d *decoder) lineOf(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := d.lines[p]; ok {
			return l
		}
	}
	return 0
}

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// spend takes one node from the budget and reports whether there was one left.
func (d *decoder) spend(line int) bool {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.fail("", line, "the spec expands to more than %d YAML nodes; write it without so many aliases", maxNodes)
		}
		return false
	}
	return true
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n.Line) {
		return
	}
	line := n.Line
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.AliasNode {
		d.fail(path, line, "unresolved alias")
		return
	}
	tag := n.ShortTag()
	if !strings.HasPrefix(tag, "!!") {
		d.fail(path, line, "YAML tag %s is not supported", tag)
		return
	}
	yamlU := v.CanAddr() && v.Addr().Type().Implements(yamlUnmarshaler)
	textU := !yamlU && v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler)
	// An empty value leaves the zero value, which ApplyDefaults or Validate deal with; except for a type that
	// reads itself from text (Severity), whose zero value may be a valid one (UNKNOWN): an empty list
	// item in failOn must not quietly become a severity, so its UnmarshalText judges the empty text.
	if n.Kind == yaml.ScalarNode && tag == "!!null" && !textU {
		return
	}
	if yamlU {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.fail(path, line, "%s", err.Error())
		}
		return
	}
	if textU {
		if n.Kind != yaml.ScalarNode {
			d.fail(path, line, "want a single value, got %s", describe(n))
			return
		}
		text := n.Value
		if tag == "!!null" {
			text = "" // "~" and "null" are no value, not the words
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			d.fail(path, line, "%s", err.Error())
		}
		return
	}

	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.budget++ // the pointee is the same node
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, line, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = c.Line
			d.decode(c, s.Index(i), p)
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(path, line, "want a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || tag != "!!int" || n.Decode(&i) != nil {
			d.fail(path, line, "want an integer, got %s", describe(n))
			return
		}
		if v.OverflowInt(i) {
			d.fail(path, line, "%d is out of range", i)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || tag != "!!bool" || n.Decode(&b) != nil {
			d.fail(path, line, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		// Only reachable if spec.go gains a field of a kind this walker does not know.
		d.fail(path, line, "internal error: cannot decode into %s", v.Type())
	}
}

// field is one struct field as the YAML sees it; index is its reflect index path (longer than one for a field
// of an inlined struct).
type field struct {
	name  string
	index []int
}

// fieldsOf lists the YAML fields of a struct type in declaration order. An embedded struct tagged
// `yaml:",inline"` (Scan embeds ScanPolicy) contributes its own fields in its place, the way yaml.v3
// and encoding/json read it. Two fields with one name are a mistake in the Go types, which encoding/json
// would resolve silently by dropping one, so it panics; TestFieldNames walks every type of the spec.
func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			if name != "" || !sf.Anonymous || sf.Type.Kind() != reflect.Struct {
				panic(fmt.Sprintf("spec: %s.%s: only an embedded struct (not a pointer) without a name can be inline", t, sf.Name))
			}
			for _, f := range fieldsOf(sf.Type) {
				fs = append(fs, field{name: f.name, index: append([]int{i}, f.index...)})
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fs = append(fs, field{name: name, index: []int{i}})
	}
	for i, f := range fs {
		for _, g := range fs[:i] {
			if g.name == f.name {
				panic(fmt.Sprintf("spec: %s has two fields named %q", t, f.name))
			}
		}
	}
	return fs
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	fields := fieldsOf(v.Type())
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	if n.Kind != yaml.MappingNode {
		d.fail(path, n.Line, "want a mapping with the fields %s; got %s", strings.Join(names, ", "), describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.spend(k.Line) {
			return
		}
		for k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(path, k.Line, "want a field name, got %s", describe(k))
			continue
		}
		p := joinPath(path, k.Value)
		if k.ShortTag() == "!!merge" {
			d.errs = append(d.errs, FieldError{Path: p, Line: k.Line, Message: "merge keys (<<) are not supported; write the fields out"})
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errs = append(d.errs, FieldError{Path: p, Line: k.Line, Message: fmt.Sprintf("duplicate field; already set on line %d", first)})
			continue
		}
		seen[k.Value] = k.Line
		var idx []int
		for _, f := range fields {
			if f.name == k.Value {
				idx = f.index
				break
			}
		}
		if idx == nil {
			d.errs = append(d.errs, FieldError{Path: p, Line: k.Line, Message: unknownField(k.Value, names)})
			continue
		}
		d.lines[p] = k.Line
		d.decode(val, v.FieldByIndex(idx), p)
	}
}

// unknownField says a field is unknown, suggests the closest known name when one is a likely typo (edit
// distance at most 2, ignoring case) and lists the known ones.
func unknownField(name string, known []string) string {
	msg := "unknown field"
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(name), strings.ToLower(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		msg += fmt.Sprintf(", did you mean %q?", best)
	} else {
		msg += ";"
	}
	return msg + " known fields: " + strings.Join(known, ", ")
}

// editDistance is the optimal string alignment distance between a and b in runes: insertions, deletions,
// substitutions and transpositions of neighbours ("prot" for "port") each cost 1. Strings whose lengths
// differ by more than 2 are not compared (their distance is more than 2 anyway).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra)-len(rb) > 2 || len(rb)-len(ra) > 2 {
		return 3
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// describe names what a node is, for "want X, got Y" messages; scalars are quoted and shortened.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return quoteShort(n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// quoteShort quotes s with strconv.Quote, cut to 64 bytes so a hostile or binary value cannot flood a message.
func quoteShort(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinPath appends a field name to a path; a name that is not a plain identifier (only possible for unknown
// fields) is quoted so the path stays readable.
func joinPath(path, name string) string {
	if !plainKey.MatchString(name) {
		name = quoteShort(name)
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

// parentPath strips the last ".field" or "[i]" from path.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// isWithin reports whether path is ancestor itself or lies under it ("" is the root, above everything).
func isWithin(path, ancestor string) bool {
	if ancestor == "" || path == ancestor {
		return true
	}
	return strings.HasPrefix(path, ancestor+".") || strings.HasPrefix(path, ancestor+"[")
}
