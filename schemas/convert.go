package schemas

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Meta is what an event carries besides the row: where and when it was read.
type Meta struct {
	// Server is the operation's server number, e.g. "0040". Required.
	Server string
	// Report, when set, must equal the catalog entry's API: a cheap guard against passing
	// one report's rows with another's entry. Optional.
	Report string
	// WindowStart and WindowEnd bound the query window that returned the row. Required.
	WindowStart, WindowEnd time.Time
	// ReadAt is when the answer was received. Required.
	ReadAt time.Time
	// RowID is the row's stable identity (the source derives it from the key fields).
	// Required.
	RowID string
	// Location is the operation's time zone: every local time the API sends is read in
	// it. Required; there is no default because a wrong zone silently shifts every event.
	Location *time.Location
}

func (m *Meta) validate(rep *catalog.Report) error {
	var problems []string
	if m.Server == "" {
		problems = append(problems, "Server is empty")
	}
	if m.Report != "" && m.Report != rep.API {
		problems = append(problems, fmt.Sprintf("Report %q does not match the catalog entry %q", m.Report, rep.API))
	}
	if m.WindowStart.IsZero() || m.WindowEnd.IsZero() || m.WindowEnd.Before(m.WindowStart) {
		problems = append(problems, "the window is unset or ends before it starts")
	}
	if m.ReadAt.IsZero() {
		problems = append(problems, "ReadAt is unset")
	}
	if m.RowID == "" {
		problems = append(problems, "RowID is empty")
	}
	if m.Location == nil {
		problems = append(problems, "Location is nil")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w for report %s: %s", ErrInvalidMeta, rep.API, strings.Join(problems, "; "))
	}
	return nil
}

// Converter turns rows into native Avro events, driven by the catalog entry of the
// report: one code path for all 104 reports. The zero value is ready to use and it is
// safe for concurrent use; it caches one conversion plan per catalog entry.
type Converter struct {
	plans sync.Map // *catalog.Report → *plan
}

// plan is a report's catalog entry prepared for conversion.
type plan struct {
	fields []fieldPlan
	index  map[string]int // raw key → fields index
	err    error          // the entry cannot be mapped (ErrCatalog)
	// timeLayout reads the TimeField into the event time.
	timeLayout string
}

type fieldPlan struct {
	key, name string
	typ       catalog.FieldType
	branch    string // goavro's name for the non-null union branch
	layout    string // for the time field: the catalog's TimeLayout
}

func (c *Converter) plan(rep *catalog.Report) *plan {
	if p, ok := c.plans.Load(rep); ok {
		return p.(*plan)
	}
	p := newPlan(rep)
	actual, _ := c.plans.LoadOrStore(rep, p)
	return actual.(*plan)
}

func newPlan(rep *catalog.Report) *plan {
	mappings, err := Fields(rep)
	if err != nil {
		return &plan{err: err}
	}
	p := &plan{index: make(map[string]int, len(mappings)), timeLayout: rep.TimeLayout}
	for i, m := range mappings {
		ti, ok := fieldTypes[m.Type]
		if !ok {
			return &plan{err: fmt.Errorf("%w: report %s field %q has unknown type %q", ErrCatalog, rep.API, m.Key, m.Type)}
		}
		fp := fieldPlan{key: m.Key, name: m.Name, typ: m.Type, branch: ti.branch}
		if m.Key == rep.TimeField {
			fp.layout = rep.TimeLayout
		}
		p.fields = append(p.fields, fp)
		p.index[m.Key] = i
	}
	if p.timeLayout == "" {
		p.timeLayout = time.DateTime
		if f, ok := rep.Field(rep.TimeField); ok && f.Type == catalog.Date {
			p.timeLayout = time.DateOnly
		}
	}
	return p
}

// Convert turns one row of rep into an event in goavro's native form (a map keyed by
// Avro field name; non-null union values as one-key maps such as {"long": int64(12)}),
// ready for Encoder.Encode.
//
// Typed fields are parsed as the package doc describes; "", "-" and "--" become null.
// String fields keep their text exactly. A JSON null, or a known key the row lacks,
// becomes null. Keys the catalog does not know go to wv_extra with their raw text. The
// event time comes from rep.TimeField read with rep.TimeLayout in meta.Location.
//
// A value that does not fit its type, or a key that appears twice in the row, gives a
// *ConversionError carrying the whole row for the dead-letter topic. A bad meta gives
// ErrInvalidMeta and an unusable catalog entry ErrCatalog: both are bugs, not data.
func (c *Converter) Convert(rep *catalog.Report, row Row, meta Meta) (map[string]any, error) {
	p := c.plan(rep)
	if p.err != nil {
		return nil, p.err
	}
	if err := meta.validate(rep); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(p.fields)+len(metaFields)+1)
	for i := range p.fields {
		out[p.fields[i].name] = nil
	}
	extra := map[string]any{}
	var seenBits [2]uint64 // most reports have under 128 fields: no allocation
	var seenMore map[int]bool
	seen := func(i int) bool {
		if i < 128 {
			was := seenBits[i/64]&(1<<(i%64)) != 0
			seenBits[i/64] |= 1 << (i % 64)
			return was
		}
		if seenMore == nil {
			seenMore = map[int]bool{}
		}
		was := seenMore[i]
		seenMore[i] = true
		return was
	}
	for _, cell := range row {
		i, known := p.index[cell.Key]
		if !known {
			if _, dup := extra[cell.Key]; dup {
				return nil, duplicateKey(rep, row, cell)
			}
			if cell.Null {
				extra[cell.Key] = nil
			} else {
				extra[cell.Key] = map[string]any{"string": cell.Value}
			}
			continue
		}
		if seen(i) {
			return nil, duplicateKey(rep, row, cell)
		}
		if cell.Null {
			continue
		}
		f := &p.fields[i]
		v, err := f.value(cell.Value, meta.Location)
		if err != nil {
			return nil, &ConversionError{Report: rep.API, Field: cell.Key, Value: cell.Value, Reason: f.want(), Row: row, Err: err}
		}
		if v != nil {
			out[f.name] = map[string]any{f.branch: v}
		}
	}

	out[FieldOperation] = meta.Server
	out[FieldReport] = rep.API
	out[FieldEventTime] = nil
	if rep.TimeField != "" {
		if raw, ok := row.Get(rep.TimeField); ok && !isPlaceholder(raw) {
			ms, err := parseTimestamp(raw, p.timeLayout, meta.Location)
			if err != nil {
				return nil, &ConversionError{Report: rep.API, Field: rep.TimeField, Value: raw, Reason: "the report's time field: want a local time in the layout " + p.timeLayout, Row: row, Err: err}
			}
			out[FieldEventTime] = map[string]any{"long.timestamp-millis": ms}
		}
	}
	out[FieldWindowStart] = meta.WindowStart.UnixMilli()
	out[FieldWindowEnd] = meta.WindowEnd.UnixMilli()
	out[FieldReadAt] = meta.ReadAt.UnixMilli()
	out[FieldRowID] = meta.RowID
	out[FieldExtra] = extra
	return out, nil
}

var errDuplicate = errors.New("duplicate key")

func duplicateKey(rep *catalog.Report, row Row, cell Cell) error {
	return &ConversionError{Report: rep.API, Field: cell.Key, Value: cell.Value, Reason: "the key appears twice in the row; keeping one value would lose the other", Row: row, Err: errDuplicate}
}

// value parses one non-null cell. It returns nil for a typed field's placeholder.
func (f *fieldPlan) value(s string, loc *time.Location) (any, error) {
	if f.typ == catalog.String {
		return s, nil
	}
	if isPlaceholder(s) {
		return nil, nil
	}
	switch f.typ {
	case catalog.Count, catalog.Seconds, catalog.Millis:
		return parseWhole(s)
	case catalog.Duration:
		return parseDuration(s)
	case catalog.Number:
		return parseNumber(s)
	case catalog.Percent:
		return parsePercent(s)
	case catalog.Timestamp:
		return parseTimestamp(s, f.layout, loc)
	case catalog.Date:
		return parseDate(s, f.layout)
	}
	return nil, fmt.Errorf("%w: field type %q", ErrCatalog, f.typ) // newPlan rules this out
}

// want describes the text a field accepts, for ConversionError.Reason.
func (f *fieldPlan) want() string {
	switch f.typ {
	case catalog.Count, catalog.Millis, catalog.Seconds:
		return "want a whole number such as 12 or 1,234"
	case catalog.Duration:
		return "want a duration H:MM:SS with minutes and seconds below 60"
	case catalog.Number:
		return "want a number such as 3.5 or 1,234.5"
	case catalog.Percent:
		return "want a percentage such as 34.64 % or 9,336.00 %"
	case catalog.Timestamp:
		if f.layout != "" {
			return "want a local time in the layout " + f.layout
		}
		return "want a local time YYYY-MM-DD HH:MM:SS"
	case catalog.Date:
		if f.layout != "" {
			return "want a date in the layout " + f.layout
		}
		return "want a date YYYY-MM-DD"
	}
	return "unknown field type " + string(f.typ)
}
