// Package gen builds the report catalog (catalog.json) from the Wolkvox Postman
// extract (reports.json), its one-line summary (table.md) and a hand-curated
// overrides file. [Generate] returns the reports; [Marshal] writes them in the
// checked-in form. The command internal/gencatalog runs it from go generate, and the
// catalog's tests run it again to prove catalog.json is up to date.
//
// What is derived and what is curated:
//   - fields, their order and the shape come from the example body (bodies win over
//     field tables, keys are kept byte for byte); body_fixes repair the few example
//     bodies that are not valid JSON before they are read;
//   - kind comes from table.md, the title from table.md unless overridden;
//   - time_field defaults to "date" for detail reports, time_layout to
//     "2006-01-02 15:04:05", max_window_seconds to 31 days;
//   - key_fields must be given for every report (an empty list is a decision, not a
//     default), and every field needs a doc (per report, else per field name);
//   - types: the time field is a timestamp (a date when its layout has no clock);
//     calls, count, records and the *_calls totals (countNames) are counts; a field whose example value is
//     H:MM:SS is a duration and one ending in " %" a percent; everything else is a
//     string unless the overrides say otherwise, because a wrong type sends good rows
//     to the dead-letter topic. Reports marked hand_typed take every type from the
//     overrides and nothing from these rules.
package gen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Defaults the overrides may change per report.
const (
	DefaultTimeLayout = "2006-01-02 15:04:05"
	DefaultMaxWindow  = 31 * 24 * 60 * 60
)

// Inputs are the three files a catalog is made from.
type Inputs struct {
	Reports   []byte // reports.json: the Postman extract
	Table     []byte // table.md: one line per report, with its kind
	Overrides []byte // overrides.json: the curated decisions
}

// ErrInvalid marks inputs that contradict each other or leave a decision open.
var ErrInvalid = errors.New("invalid catalog input")

// ReportError is a problem with one report's inputs.
type ReportError struct {
	API string
	Err error
}

func (e *ReportError) Error() string { return fmt.Sprintf("report %s: %v", e.API, e.Err) }
func (e *ReportError) Unwrap() error { return e.Err }

func invalid(api, format string, args ...any) error {
	return &ReportError{API: api, Err: fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))}
}

// source is one entry of reports.json.
type source struct {
	Folder string      `json:"folder"`
	Name   string      `json:"name"`
	API    string      `json:"api"`
	Params []string    `json:"params"`
	Desc   string      `json:"desc"`
	Fields [][2]string `json:"fields"`
	Body   string      `json:"body"`
	Limits []string    `json:"limits"`
	Full   string      `json:"fulldesc"`
}

type overrides struct {
	// FieldDocs is the English doc of a field name, used unless a report has its own.
	FieldDocs map[string]string `json:"field_docs"`
	// Params defines each query parameter by name; a report may replace or add some.
	Params map[string]catalog.Param `json:"params"`
	// Typos maps a key sent misspelt (or with stray spaces) to what it means.
	Typos   map[string]string         `json:"typos"`
	Reports map[string]reportOverride `json:"reports"`
}

type reportOverride struct {
	// Why records the reasoning for reviewers; it is not emitted.
	Why              string                       `json:"why"`
	Title            string                       `json:"title"`
	Bucket           string                       `json:"bucket"`
	TimeField        string                       `json:"time_field"`
	TimeLayout       string                       `json:"time_layout"`
	KeyFields        []string                     `json:"key_fields"`
	MaxWindowSeconds int64                        `json:"max_window_seconds"`
	Params           []catalog.Param              `json:"params"`
	HandTyped        bool                         `json:"hand_typed"`
	Types            map[string]catalog.FieldType `json:"types"`
	Docs             map[string]string            `json:"docs"`
	DynamicPrefixes  []string                     `json:"dynamic_prefixes"`
	// KeepFields match a dynamic prefix but are fixed, always-present columns.
	KeepFields []string `json:"keep_fields"`
	// BodyFixes are literal replacements that make an invalid example body valid JSON.
	BodyFixes [][2]string `json:"body_fixes"`
	Quirks    []string    `json:"quirks"`
}

var (
	durationRE = regexp.MustCompile(`^\d{1,3}:\d{2}:\d{2}$`)
	percentRE  = regexp.MustCompile(`^-?[\d,]+(\.\d+)? ?%$`)
	asideRE    = regexp.MustCompile(`\([^)]*\)`)
	// countNames are the fields whose field tables say "number of calls/records".
	countNames = []string{"calls", "count", "records", "inbound_calls", "answer_calls", "abandon_calls",
		"transfer_calls", "conference_calls", "uncode_calls"}
	buckets    = []string{"10m", "30m", "1h", "24h"}
	fieldTypes = []catalog.FieldType{catalog.String, catalog.Count, catalog.Number, catalog.Percent,
		catalog.Duration, catalog.Seconds, catalog.Millis, catalog.Timestamp, catalog.Date}
)

// Generate builds the catalog, in reports.json order.
func Generate(in Inputs) ([]catalog.Report, error) {
	var srcs []source
	if err := json.Unmarshal(in.Reports, &srcs); err != nil {
		return nil, fmt.Errorf("%w: reports.json: %w", ErrInvalid, err)
	}
	table, err := parseTable(in.Table)
	if err != nil {
		return nil, err
	}
	var ov overrides
	dec := json.NewDecoder(bytes.NewReader(in.Overrides))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ov); err != nil {
		return nil, fmt.Errorf("%w: overrides.json: %w", ErrInvalid, err)
	}
	seen := map[string]bool{}
	out := make([]catalog.Report, 0, len(srcs))
	for _, s := range srcs {
		if seen[s.API] {
			return nil, invalid(s.API, "listed twice in reports.json")
		}
		seen[s.API] = true
		row, ok := table[s.API]
		if !ok {
			return nil, invalid(s.API, "missing from table.md")
		}
		r, err := build(s, row, ov)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	for api := range table {
		if !seen[api] {
			return nil, invalid(api, "in table.md but not in reports.json")
		}
	}
	for api := range ov.Reports {
		if !seen[api] {
			return nil, invalid(api, "in overrides.json but not in reports.json")
		}
	}
	return out, nil
}

// Marshal writes reports as catalog.json: indented, one report per block, ending in a
// newline, with no HTML escaping so keys and docs read as written.
func Marshal(reports []catalog.Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(reports); err != nil {
		return nil, fmt.Errorf("encoding catalog: %w", err)
	}
	return buf.Bytes(), nil
}

type tableRow struct {
	what string
	kind catalog.Kind
}

func parseTable(md []byte) (map[string]tableRow, error) {
	rows := map[string]tableRow{}
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) < 5 {
			return nil, fmt.Errorf("%w: table.md: short row %q", ErrInvalid, line)
		}
		api := strings.Trim(strings.TrimSpace(cols[1]), "`")
		var k catalog.Kind
		switch strings.TrimSpace(cols[3]) {
		case "D":
			k = catalog.Detail
		case "T":
			k = catalog.Bucketed
		case "A":
			k = catalog.RangeAggregate
		default:
			return nil, invalid(api, "table.md kind %q is not D, T or A", cols[3])
		}
		rows[api] = tableRow{what: strings.TrimSpace(cols[2]), kind: k}
	}
	return rows, sc.Err()
}

// title is table.md's summary without its parenthesised asides, up to its first
// colon or semicolon: "Agent events for ONE agent (agent_id required): each ..." gives
// "Agent events for ONE agent".
func title(what string) string {
	what = asideRE.ReplaceAllString(what, "")
	if i := strings.IndexAny(what, ":;"); i > 0 {
		what = what[:i]
	}
	return strings.Join(strings.Fields(what), " ")
}

func build(s source, row tableRow, ov overrides) (catalog.Report, error) {
	o := ov.Reports[s.API]
	raw := s.Body
	for _, f := range o.BodyFixes {
		if !strings.Contains(raw, f[0]) {
			return catalog.Report{}, invalid(s.API, "body fix %q does not apply", f[0])
		}
		raw = strings.Replace(raw, f[0], f[1], 1)
	}
	b, err := parseBody([]byte(raw))
	if err != nil {
		return catalog.Report{}, &ReportError{API: s.API, Err: fmt.Errorf("%w: example body: %w", ErrInvalid, err)}
	}
	r := catalog.Report{
		API:              s.API,
		Folder:           s.Folder,
		Title:            cmp(o.Title, title(row.what)),
		Kind:             row.kind,
		Bucket:           o.Bucket,
		MaxWindowSeconds: DefaultMaxWindow,
		DynamicPrefixes:  o.DynamicPrefixes,
	}
	if o.MaxWindowSeconds != 0 {
		r.MaxWindowSeconds = o.MaxWindowSeconds
	}
	if (r.Kind == catalog.Bucketed) != (r.Bucket != "") {
		return r, invalid(s.API, "bucket %q for kind %s", r.Bucket, r.Kind)
	}
	if r.Bucket != "" && !slices.Contains(buckets, r.Bucket) {
		return r, invalid(s.API, "bucket %q is not one of %v", r.Bucket, buckets)
	}

	names, err := fieldNames(s.API, b, o)
	if err != nil {
		return r, err
	}
	switch b.shape {
	case shapeArray:
		r.Shape = catalog.ShapeArray
	case shapeObject:
		r.Shape = catalog.ShapeObject
	case shapeNested:
		r.Shape, r.NestedField = catalog.ShapeNested, b.nested
	}

	if r.Kind == catalog.Detail {
		r.TimeField = cmp(o.TimeField, "date")
		r.TimeLayout = cmp(o.TimeLayout, DefaultTimeLayout)
		if !slices.Contains(names, r.TimeField) {
			return r, invalid(s.API, "time field %q is not a field", r.TimeField)
		}
	} else if o.TimeField != "" || o.TimeLayout != "" {
		return r, invalid(s.API, "a %s report has no time field", r.Kind)
	}

	if o.KeyFields == nil {
		return r, invalid(s.API, "key_fields not decided (use [] for the whole content)")
	}
	r.KeyFields = o.KeyFields
	for _, k := range r.KeyFields {
		if !slices.Contains(names, k) {
			return r, invalid(s.API, "key field %q is not a field", k)
		}
	}

	if r.Params, err = params(s, o, ov.Params); err != nil {
		return r, err
	}
	if r.Fields, err = fields(s.API, names, b, r, o, ov.FieldDocs); err != nil {
		return r, err
	}
	r.Quirks = append(autoQuirks(s, b, names, o, ov.Typos), o.Quirks...)
	return r, nil
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fieldNames flattens the body's keys into the report's fields: a nested array's keys
// follow its parent's, an object's member name becomes BucketKeyField, and dynamic
// columns are left out.
func fieldNames(api string, b *body, o reportOverride) ([]string, error) {
	var names []string
	if b.shape == shapeObject {
		names = append(names, catalog.BucketKeyField)
	}
	for _, k := range b.keys {
		if k == b.nested {
			continue
		}
		names = append(names, k)
	}
	names = append(names, b.nestedKeys...)
	for _, k := range o.KeepFields {
		if !slices.Contains(names, k) {
			return nil, invalid(api, "keep field %q is not in the body", k)
		}
	}
	kept := names[:0]
	dropped := 0
	for _, n := range names {
		if dynamic(n, o.DynamicPrefixes) && !slices.Contains(o.KeepFields, n) {
			dropped++
			continue
		}
		kept = append(kept, n)
	}
	if len(o.DynamicPrefixes) > 0 && dropped == 0 && len(o.KeepFields) == 0 {
		return nil, invalid(api, "dynamic prefixes %v match no key of the body", o.DynamicPrefixes)
	}
	if dup := firstDup(kept); dup != "" {
		return nil, invalid(api, "field %q appears twice after flattening", dup)
	}
	return kept, nil
}

// dynamic reports whether name is a member of a family: a prefix followed by a digit.
func dynamic(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(name, p); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return true
		}
	}
	return false
}

func firstDup(s []string) string {
	for i, a := range s {
		if slices.Contains(s[i+1:], a) {
			return a
		}
	}
	return ""
}

func params(s source, o reportOverride, defs map[string]catalog.Param) ([]catalog.Param, error) {
	var out []catalog.Param
	for _, name := range s.Params {
		if name == "date_ini" || name == "date_end" {
			continue
		}
		p, ok := defs[name]
		if i := slices.IndexFunc(o.Params, func(p catalog.Param) bool { return p.Name == name }); i >= 0 {
			p, ok = o.Params[i], true
		}
		if !ok {
			return nil, invalid(s.API, "parameter %q has no definition", name)
		}
		p.Name = name
		out = append(out, p)
	}
	for _, p := range o.Params {
		if slices.Contains(s.Params, p.Name) {
			continue
		}
		if p.Required {
			return nil, invalid(s.API, "extra parameter %q cannot be required: reports.json does not list it", p.Name)
		}
		out = append(out, p)
	}
	for _, p := range out {
		if p.Doc == "" {
			return nil, invalid(s.API, "parameter %q has no doc", p.Name)
		}
	}
	return out, nil
}

func fields(api string, names []string, b *body, r catalog.Report, o reportOverride, docs map[string]string) ([]catalog.Field, error) {
	for n := range o.Types {
		if !slices.Contains(names, n) {
			return nil, invalid(api, "type given for unknown field %q", n)
		}
	}
	for n := range o.Docs {
		if !slices.Contains(names, n) {
			return nil, invalid(api, "doc given for unknown field %q", n)
		}
	}
	out := make([]catalog.Field, 0, len(names))
	for _, n := range names {
		f := catalog.Field{Name: n, Type: catalog.String, Doc: cmp(o.Docs[n], docs[n])}
		if f.Doc == "" {
			return nil, invalid(api, "field %q has no doc", n)
		}
		if t, ok := o.Types[n]; ok {
			f.Type = t
		} else if o.HandTyped {
			return nil, invalid(api, "hand-typed report lacks a type for %q", n)
		} else {
			f.Type = inferType(n, b.samples[n], r)
		}
		if !slices.Contains(fieldTypes, f.Type) {
			return nil, invalid(api, "field %q has unknown type %q", n, f.Type)
		}
		out = append(out, f)
	}
	if r.TimeField != "" {
		f, _ := fieldByName(out, r.TimeField)
		if f.Type != catalog.Timestamp && f.Type != catalog.Date {
			return nil, invalid(api, "time field %q is typed %s", r.TimeField, f.Type)
		}
	}
	return out, nil
}

func fieldByName(fs []catalog.Field, name string) (catalog.Field, bool) {
	i := slices.IndexFunc(fs, func(f catalog.Field) bool { return f.Name == name })
	if i < 0 {
		return catalog.Field{}, false
	}
	return fs[i], true
}

func inferType(name, sample string, r catalog.Report) catalog.FieldType {
	switch {
	case name == r.TimeField && r.TimeLayout == "2006-01-02":
		return catalog.Date
	case name == r.TimeField:
		return catalog.Timestamp
	case slices.Contains(countNames, name):
		return catalog.Count
	case durationRE.MatchString(sample):
		return catalog.Duration
	case percentRE.MatchString(sample):
		return catalog.Percent
	}
	return catalog.String
}

// autoQuirks says what the inputs show to be odd, so nobody has to keep it in sync.
func autoQuirks(s source, b *body, names []string, o reportOverride, typos map[string]string) []string {
	var q []string
	switch b.shape {
	case shapeObject:
		q = append(q, fmt.Sprintf("data is an object keyed by bucket (%s), not an array; each member becomes one row with its name in %q",
			strings.Join(b.buckets, ", "), catalog.BucketKeyField))
	case shapeNested:
		q = append(q, fmt.Sprintf("each element of data nests an array %q; one row is made per nested element, carrying its parent's fields", b.nested))
	}
	all := append(slices.Clone(b.keys), b.nestedKeys...)
	for _, k := range all {
		if meaning, ok := typos[k]; ok {
			q = append(q, fmt.Sprintf("key %q is sent as is (%s)", k, meaning))
		} else if strings.TrimSpace(k) != k {
			q = append(q, fmt.Sprintf("key %q carries stray whitespace and is kept byte for byte", k))
		}
	}
	var table []string
	for _, f := range s.Fields {
		n := strings.TrimPrefix(f[0], `data\[\].`)
		if slices.Contains([]string{"code", "error", "msg", "data"}, n) || strings.ContainsAny(n, "#") || strings.Contains(n, "XX") {
			continue
		}
		table = append(table, n)
	}
	flat := append(slices.Clone(all), b.buckets...)
	var onlyTable, onlyBody []string
	for _, n := range table {
		if !slices.Contains(flat, n) {
			onlyTable = append(onlyTable, n)
		}
	}
	for _, n := range names {
		if n != catalog.BucketKeyField && !slices.Contains(table, n) {
			onlyBody = append(onlyBody, n)
		}
	}
	if len(onlyTable) > 0 {
		q = append(q, fmt.Sprintf("the field table also lists %s, which the example body lacks; the body wins", quoteList(onlyTable)))
	}
	if len(onlyBody) > 0 {
		q = append(q, fmt.Sprintf("the example body has %s, which the field table lacks", quoteList(onlyBody)))
	}
	if len(o.BodyFixes) > 0 {
		q = append(q, "the documented example body is not valid JSON; it was repaired by hand to read its keys")
	}
	if b.msg != "" && !strings.Contains(strings.ToLower(b.msg), "records were found") && strings.TrimSpace(b.msg) != "" {
		q = append(q, fmt.Sprintf("example msg is %q, not \"N records were found\"", b.msg))
	}
	return q
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
