package schemas

import (
	"errors"
	"fmt"
	"math"
	"slices"
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
	// timeIndex is the TimeField's index in fields, -1 when it is not a known field.
	// timeShared says that the field's own value is the event time: a timestamp read
	// with timeLayout.
	timeIndex  int
	timeShared bool
	report     any // rep.API, boxed once
	// slots are the event's fields as a Native holds them: the meta fields (at the
	// slot constants), then fields, then wv_extra.
	slots []slot
}

// slot is one field of an event as a Native holds it.
type slot struct {
	name   string
	branch string // goavro's name for the non-null branch of its union; "" for no union
}

// The slots of the meta fields; a plan field i is at slotFields+i.
const (
	slotOperation = iota
	slotReport
	slotEventTime
	slotWindowStart
	slotWindowEnd
	slotReadAt
	slotRowID
	slotFields
)

// extraSlot is wv_extra's slot.
func (p *plan) extraSlot() int { return len(p.slots) - 1 }

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
	p := &plan{index: make(map[string]int, len(mappings)), timeLayout: rep.TimeLayout, timeIndex: -1, report: rep.API,
		slots: make([]slot, slotFields, slotFields+len(mappings)+1)}
	p.slots[slotOperation], p.slots[slotReport], p.slots[slotRowID] = slot{name: FieldOperation}, slot{name: FieldReport}, slot{name: FieldRowID}
	p.slots[slotEventTime] = slot{name: FieldEventTime, branch: fieldTypes[catalog.Timestamp].branch}
	p.slots[slotWindowStart], p.slots[slotWindowEnd], p.slots[slotReadAt] = slot{name: FieldWindowStart}, slot{name: FieldWindowEnd}, slot{name: FieldReadAt}
	for i, m := range mappings {
		ti, ok := fieldTypes[m.Type]
		if !ok {
			return &plan{err: fmt.Errorf("%w: report %s field %q has unknown type %q", ErrCatalog, rep.API, m.Key, m.Type)}
		}
		fp := fieldPlan{key: m.Key, name: m.Name, typ: m.Type, branch: ti.branch}
		if m.Key == rep.TimeField {
			fp.layout = rep.TimeLayout
			p.timeIndex = i
		}
		p.fields = append(p.fields, fp)
		p.slots = append(p.slots, slot{name: m.Name, branch: ti.branch})
		p.index[m.Key] = i
	}
	p.slots = append(p.slots, slot{name: FieldExtra})
	if p.timeLayout == "" {
		p.timeLayout = time.DateTime
		if f, ok := rep.Field(rep.TimeField); ok && f.Type == catalog.Date {
			p.timeLayout = time.DateOnly
		}
	}
	if p.timeIndex >= 0 {
		f := &p.fields[p.timeIndex]
		p.timeShared = f.typ == catalog.Timestamp && f.layout == p.timeLayout
	}
	return p
}

// Native is a reusable native event. Fill puts a row in it, which Encoder.EncodeNative
// encodes and Event shows as goavro's native map; both are valid until the next Fill
// into the same Native. What it holds is kept from row to row (the union wrapper of every
// field, the values of texts a column repeats, and for EncodeNative the bytes each field
// encoded to last), so that a row costs a few allocations instead of dozens. A Native
// may be used for rows of any report (switching reports starts it afresh), but by one
// goroutine at a time: keep one per connector and report, for rows encoded as they are
// converted. The zero value is ready to use.
type Native struct {
	plan *plan
	loc  *time.Location // the zone the remembered values were read in
	// values are the event's values by slot (see plan.slots): a union's branch value,
	// not its wrapper, and nil for null. wv_extra's slot holds extra.
	values []any
	// wrappers are the union wrappers ({branch: value}) by slot, nil where the field is
	// not a union; Event and EncodeNative put the value in before handing one to goavro.
	wrappers []map[string]any
	event    map[string]any // what Event returns, made on first use
	extra    map[string]any
	// fields holds the recent texts of each plan field, by index.
	fields []nativeField
	// extras are the union wrappers of the unknown keys' texts, by order in the row.
	extras []map[string]any
	// keys and keyFields remember the last row's keys and their fields (-1: unknown):
	// rows of a report come with the same keys in the same order, and comparing a key
	// with the one seen at its place is cheaper than a map lookup.
	keys        []string
	keyFields   []int
	eventMillis int64 // what wv_event_time holds, when it is not null
	// The meta values last put in the event, when metaKnown.
	server                       string
	windowStart, windowEnd, read int64
	metaKnown                    bool
	filled                       bool // the last Fill succeeded
	// encoding is the layout of the last schema EncodeNative wrote n's events in.
	encoding *nativeEncoding
}

// nativeField is what a Native remembers of one plan field.
type nativeField struct {
	// recent are the last distinct texts read and what they gave, next the one to
	// replace: a column often repeats a few values (a channel, a routing point), which
	// are then neither parsed nor boxed again. misses counts the rows in a row whose
	// text was not among them; past missLimit (an id, a phone number) the column is
	// looked up only every 256th row (skipped counts them), in case its texts start to
	// repeat.
	recent  [recentTexts]recentText
	next    uint8
	misses  uint8
	skipped uint8
}

// recentText is a remembered text and its value. The text is copied in place, so that
// it holds no memory of the row it came from (a cell's text shares the row's one string).
type recentText struct {
	text  [maxRecentText]byte
	n     uint8 // len of the text
	known bool
	value any
}

const (
	recentTexts = 4
	// maxRecentText bounds the texts remembered: longer ones seldom repeat.
	maxRecentText = 64
	missLimit     = 32
)

// looking reports whether to look this row's text up among the recent ones.
func (nf *nativeField) looking() bool {
	if nf.misses < missLimit {
		return true
	}
	nf.skipped++
	return nf.skipped == 0
}

// recall returns the value of s if it is a recent text.
func (nf *nativeField) recall(s string) (any, bool) {
	for k := range nf.recent {
		if r := &nf.recent[k]; r.known && string(r.text[:r.n]) == s { // no allocation: a comparison
			nf.misses = 0
			return r.value, true
		}
	}
	if nf.misses < math.MaxUint8 {
		nf.misses++
	}
	return nil, false
}

// remember makes s, at most maxRecentText bytes, and its value v a recent text.
func (nf *nativeField) remember(s string, v any) {
	r := &nf.recent[nf.next]
	r.n, r.known, r.value = uint8(copy(r.text[:], s)), true, v
	nf.next = (nf.next + 1) % recentTexts
}

// maxRememberedKeys bounds Native.keys: a row of ever-new keys must not grow it without end.
const maxRememberedKeys = 512

// prepare readies n for a row of p read in loc: every field null until the row says
// otherwise, the meta fields as the last row left them.
func (n *Native) prepare(p *plan, loc *time.Location) {
	if n.plan != p {
		*n = Native{plan: p, loc: loc, values: make([]any, len(p.slots)), wrappers: make([]map[string]any, len(p.slots)),
			extra: map[string]any{}, fields: make([]nativeField, len(p.fields))}
		for k, s := range p.slots {
			if s.branch != "" {
				n.wrappers[k] = map[string]any{s.branch: nil}
			}
		}
		n.values[slotReport] = p.report
	}
	if n.loc != loc {
		// What was read in another zone may differ in this one.
		n.loc = loc
		for i := range n.fields {
			n.fields[i].recent = [recentTexts]recentText{}
		}
	}
	if len(n.extra) > 0 {
		clear(n.extra)
	}
	clear(n.values[slotFields:p.extraSlot()])
	n.values[p.extraSlot()] = n.extra
}

// field returns the plan index of the j-th cell of a row, whose key is key; -1 for a key
// the catalog does not know.
func (n *Native) field(j int, key string) int {
	if j < len(n.keys) && n.keys[j] == key {
		return n.keyFields[j]
	}
	i, ok := n.plan.index[key]
	if !ok {
		i = -1
	}
	switch {
	case j < len(n.keys):
		n.keys[j], n.keyFields[j] = key, i
	case j == len(n.keys) && j < maxRememberedKeys:
		n.keys, n.keyFields = append(n.keys, key), append(n.keyFields, i)
	}
	return i
}

// value is the native value of the non-null text s of field i (nil for a placeholder).
func (n *Native) value(i int, s string) (any, error) {
	nf := &n.fields[i]
	looking := nf.looking()
	if looking {
		if v, ok := nf.recall(s); ok {
			return v, nil
		}
	}
	remember := looking && len(s) <= maxRecentText
	f := &n.plan.fields[i]
	text := s
	if remember && f.typ == catalog.String {
		text = strings.Clone(s) // the value is the text: kept, it must not hold the row's memory
	}
	v, err := f.value(text, n.loc)
	if err != nil {
		return nil, err
	}
	if remember {
		nf.remember(s, v)
	}
	return v, nil
}

// EventTime is the event time of the last event filled into n (wv_event_time), and
// false when that event has none.
func (n *Native) EventTime() (time.Time, bool) {
	if n.values == nil || n.values[slotEventTime] == nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n.eventMillis).In(n.loc), true
}

// setMeta puts meta's values in the event, boxing only those that changed.
func (n *Native) setMeta(meta *Meta) {
	start, end, read := meta.WindowStart.UnixMilli(), meta.WindowEnd.UnixMilli(), meta.ReadAt.UnixMilli()
	if !n.metaKnown || meta.Server != n.server {
		n.values[slotOperation], n.server = meta.Server, meta.Server
	}
	if !n.metaKnown || start != n.windowStart {
		n.values[slotWindowStart], n.windowStart = start, start
	}
	if !n.metaKnown || end != n.windowEnd {
		n.values[slotWindowEnd], n.windowEnd = end, end
	}
	if !n.metaKnown || read != n.read {
		n.values[slotReadAt], n.read = read, read
	}
	n.metaKnown = true
	n.values[slotRowID] = meta.RowID
}

// Event is the event last filled into n in goavro's native form (see Convert): n's own
// map, which the next Fill into n changes; nil when the last Fill failed.
func (n *Native) Event() map[string]any {
	if !n.filled {
		return nil
	}
	if n.event == nil {
		n.event = make(map[string]any, len(n.plan.slots))
	}
	for k := range n.plan.slots {
		n.event[n.plan.slots[k].name] = n.datum(k)
	}
	return n.event
}

// datum is slot k's value as goavro takes it: in its union wrapper unless null.
func (n *Native) datum(k int) any {
	v := n.values[k]
	if w := n.wrappers[k]; w != nil && v != nil {
		w[n.plan.slots[k].branch] = v
		return w
	}
	return v
}

// extraText returns the k-th unknown key's union wrapper holding text.
func (n *Native) extraText(k int, text string) map[string]any {
	if k == len(n.extras) {
		n.extras = append(n.extras, map[string]any{"string": nil})
	}
	n.extras[k]["string"] = text
	return n.extras[k]
}

// fieldSet is a set of plan field indices; most reports have under 128 fields, which
// need no allocation.
type fieldSet struct {
	bits [2]uint64
	more map[int]bool
}

// add adds i and reports whether it was there already.
func (s *fieldSet) add(i int) bool {
	if i < 128 {
		was := s.bits[i/64]&(1<<(i%64)) != 0
		s.bits[i/64] |= 1 << (i % 64)
		return was
	}
	if s.more == nil {
		s.more = map[int]bool{}
	}
	was := s.more[i]
	s.more[i] = true
	return was
}

// Convert turns one row of rep into an event in goavro's native form (a map keyed by
// Avro field name; non-null union values as one-key maps such as {"long": int64(12)}),
// ready for Encoder.Encode. The map is the caller's to keep; Fill reuses a Native
// instead, for rows encoded as they are converted.
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
	var n Native
	if err := c.Fill(&n, rep, row, meta); err != nil {
		return nil, err
	}
	return n.Event(), nil
}

// Fill is Convert into n, for Encoder.EncodeNative or n.Event; the errors are exactly
// Convert's, and after one n holds no event.
func (c *Converter) Fill(n *Native, rep *catalog.Report, row Row, meta Meta) error {
	p := c.plan(rep)
	if p.err != nil {
		return p.err
	}
	if err := meta.validate(rep); err != nil {
		return err
	}
	n.prepare(p, meta.Location)
	n.filled = false
	var seen fieldSet
	var timeText string
	var timeKnown bool // the row has the time field, not null
	var timeValue any  // when timeShared: the time field's value
	extras := 0
	for j := range row {
		cell := &row[j]
		i := n.field(j, cell.Key)
		if i < 0 {
			if _, dup := n.extra[cell.Key]; dup {
				return duplicateKey(rep, row, *cell)
			}
			if cell.Null {
				n.extra[cell.Key] = nil
			} else {
				n.extra[cell.Key] = n.extraText(extras, cell.Value)
				extras++
			}
			continue
		}
		if seen.add(i) {
			return duplicateKey(rep, row, *cell)
		}
		if i == p.timeIndex {
			timeText, timeKnown = cell.Value, !cell.Null
		}
		if cell.Null {
			continue
		}
		v, err := n.value(i, cell.Value)
		if err != nil {
			f := &p.fields[i]
			return &ConversionError{Report: rep.API, Field: cell.Key, Value: cell.Value, Reason: f.want(), Row: slices.Clone(row), Err: err}
		}
		if v != nil {
			n.values[slotFields+i] = v
			if i == p.timeIndex && p.timeShared {
				timeValue = v
			}
		}
	}

	var eventTime any
	if rep.TimeField != "" {
		if p.timeIndex < 0 {
			timeText, timeKnown = row.Get(rep.TimeField)
		}
		if timeKnown && !isPlaceholder(timeText) {
			ms, shared := timeValue.(int64)
			if shared {
				eventTime = timeValue
			} else {
				var err error
				if ms, err = parseTimestamp(timeText, p.timeLayout, n.loc); err != nil {
					return &ConversionError{Report: rep.API, Field: rep.TimeField, Value: timeText, Reason: "the report's time field: want a local time in the layout " + p.timeLayout, Row: slices.Clone(row), Err: err}
				}
				eventTime = ms
			}
			n.eventMillis = ms
		}
	}
	n.values[slotEventTime] = eventTime
	n.setMeta(&meta)
	n.filled = true
	return nil
}

var errDuplicate = errors.New("duplicate key")

func duplicateKey(rep *catalog.Report, row Row, cell Cell) error {
	return &ConversionError{Report: rep.API, Field: cell.Key, Value: cell.Value, Reason: "the key appears twice in the row; keeping one value would lose the other", Row: slices.Clone(row), Err: errDuplicate}
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
