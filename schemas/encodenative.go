package schemas

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/linkedin/goavro/v2"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// recordField is one field of a schema's record, with goavro's codec for its type alone:
// an Avro record's binary encoding is its fields' encodings one after the other, so
// EncodeNative has goavro encode each field's value and lays them out in order.
type recordField struct {
	name  string
	codec *goavro.Codec
	// member is the codec of the one other type of a ["null", T] union, for fields
	// whose value EncodeNative writes without goavro's one-key union map: goavro's
	// encoding of the union is its branch's bytes followed by the member's encoding of
	// the value, and layout learns those branch bytes from goavro itself.
	member *goavro.Codec
}

// recordFields are the fields of the record schema text, in order; nil when a field's
// type does not compile alone (a reference to a type named elsewhere in the schema,
// which the generated schemas never make), and EncodeNative then encodes the whole
// record with goavro's record codec.
func recordFields(text string) []recordField {
	fields, ok := rawFields(text)
	if !ok || len(fields) == 0 {
		return nil
	}
	out := make([]recordField, len(fields))
	for i, f := range fields {
		codec, err := goavro.NewCodec(string(f.Type))
		if err != nil {
			return nil
		}
		out[i] = recordField{name: f.Name, codec: codec}
		var union []json.RawMessage
		if json.Unmarshal(f.Type, &union) == nil && len(union) == 2 && string(union[0]) == `"null"` {
			out[i].member, _ = goavro.NewCodec(string(union[1])) // nil if it does not compile alone
		}
	}
	return out
}

// rawField is a field of a record schema: its name and its type's JSON.
type rawField struct {
	Name string          `json:"name"`
	Type json.RawMessage `json:"type"`
}

// rawFields are the fields of the record schema text, in order; false when the text is
// not JSON.
func rawFields(text string) ([]rawField, bool) {
	var rec struct {
		Fields []rawField `json:"fields"`
	}
	if json.Unmarshal([]byte(text), &rec) != nil {
		return nil, false
	}
	return rec.Fields, true
}

// nativeEncoding is a Native laid out for one schema: for each record field, the
// Native's slot that holds its value, and the bytes that value encoded to last. Rows of
// a window repeat most values (the meta fields, nulls, a channel, a counter), whose
// bytes are then copied rather than encoded again.
type nativeEncoding struct {
	set    *Set // schema's, so that an event of the same report and set needs no lookup
	schema *Schema
	// record are schema's fields with their codecs, and fields what this Native
	// encodes with them, one for one.
	record []recordField
	fields []encodedField
}

type encodedField struct {
	slot int
	// With member (see recordField.member), null and branch are goavro's bytes for a
	// null and for the start of a value of the slot's branch; without, the value goes
	// to the field's codec in its union wrapper.
	member       *goavro.Codec
	null, branch []byte
	// bytes are what the last value encoded to, when known: a text (copied into text,
	// since a cell's text shares its row's memory, which must not be kept) or another
	// value (last: a number, or nil).
	known  bool
	isText bool
	text   []byte
	last   any
	bytes  []byte
	// changes counts the events in a row whose value differed from the last one; past
	// missLimit (an id, a phone number) the field stops remembering, but for every
	// 256th event (skipped counts them), as Native's recent texts do.
	changes, skipped uint8
}

// remembering reports whether to remember this event's encoding of a field whose value
// changed.
func (f *encodedField) remembering() bool {
	if f.changes < missLimit {
		f.changes++
		return true
	}
	f.skipped++
	return f.skipped == 0
}

// holds reports whether v encodes to f.bytes.
func (f *encodedField) holds(v any) bool {
	if !f.known {
		return false
	}
	if t, ok := v.(string); ok {
		return f.isText && string(f.text) == t
	}
	return !f.isText && encodesAlike(v, f.last)
}

// remember makes encoded, what v encoded to, f's last encoding.
func (f *encodedField) remember(v any, encoded []byte) {
	f.bytes, f.known = append(f.bytes[:0], encoded...), true
	if t, ok := v.(string); ok {
		f.text, f.isText, f.last = append(f.text[:0], t...), true, nil
		return
	}
	f.isText, f.last = false, v
}

// unionBytes sets f.member, f.null and f.branch for the union field rf holding values of
// goavro's branch name, when goavro's own encodings agree with that layout: a null, and
// a sample value of the member, through the union and through the member alone.
func (f *encodedField) unionBytes(rf *recordField, name string) {
	if rf.member == nil || name == "" {
		return
	}
	null, err := rf.codec.BinaryFromNative(nil, nil)
	if err != nil {
		return
	}
	sample, _, err := rf.member.NativeFromBinary(make([]byte, 16)) // zeros: 0, "", false...
	if err != nil {
		return
	}
	whole, err := rf.codec.BinaryFromNative(nil, map[string]any{name: sample})
	if err != nil {
		return
	}
	alone, err := rf.member.BinaryFromNative(nil, sample)
	if err != nil || !bytes.HasSuffix(whole, alone) {
		return
	}
	f.member, f.null, f.branch = rf.member, null, whole[:len(whole)-len(alone)]
}

// maxRememberedEncoding bounds what a field keeps of its last encoding: a long text is
// seldom repeated.
const maxRememberedEncoding = 256

// layout returns n's layout for s, made on first use; nil when s has a field n does not
// fill (one with a default, in a schema loaded from elsewhere) or whose type does not
// compile alone, and the record codec must encode the event.
func (n *Native) layout(set *Set, s *Schema) *nativeEncoding {
	if n.encoding != nil && n.encoding.schema == s {
		return n.encoding.usable()
	}
	n.encoding = &nativeEncoding{set: set, schema: s}
	record := s.compiled.fieldCodecs()
	if record == nil {
		return nil
	}
	slots := make(map[string]int, len(n.plan.slots))
	for k, sl := range n.plan.slots {
		slots[sl.name] = k
	}
	fields := make([]encodedField, len(record))
	for i := range record {
		rf := &record[i]
		k, ok := slots[rf.name]
		if !ok {
			return nil
		}
		fields[i].slot = k
		fields[i].unionBytes(rf, n.plan.slots[k].branch)
	}
	n.encoding.record, n.encoding.fields = record, fields
	return n.encoding
}

// usable is e, or nil when it has no fields (see layout).
func (e *nativeEncoding) usable() *nativeEncoding {
	if e.fields == nil {
		return nil
	}
	return e
}

// encodesAlike reports whether two slot values encode alike: as == does, except that a
// float64 is the same only bit for bit (0 and -0 encode apart; a NaN is itself), and
// wv_extra's map, which == cannot compare, never is (texts: see encodedField.holds).
func encodesAlike(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case map[string]any:
		return false
	}
	return a == b
}

// EncodeNative is Encode of the event last filled into n (Converter.Fill) for rep,
// with the same bytes, but without building its map: each field's value goes to goavro's
// codec for that field, and a value equal to the one the field held in the last event
// is not encoded again.
func (e *Encoder) EncodeNative(ctx context.Context, topic string, rep *catalog.Report, n *Native, dst []byte) ([]byte, error) {
	var (
		s  *Schema
		ok bool
	)
	if enc := n.encoding; enc != nil && enc.set == e.cfg.set && enc.schema.Report == rep.API {
		s = enc.schema
	} else if s, ok = e.cfg.set.Lookup(rep.API); !ok {
		return dst, fmt.Errorf("%w: %s", ErrUnknownReport, rep.API)
	}
	if !n.filled || n.plan.report != rep.API {
		return dst, fmt.Errorf("%w: report %s: the Native holds no event of it", ErrEncode, rep.API)
	}
	layout := n.layout(e.cfg.set, s)
	if layout == nil {
		return e.Encode(ctx, topic, rep, n.Event(), dst)
	}
	out, err := e.head(ctx, topic, s, dst)
	if err != nil {
		return dst, err
	}
	for i := range layout.fields {
		f := &layout.fields[i]
		v := n.values[f.slot]
		if f.holds(v) {
			f.changes = 0
			out = append(out, f.bytes...)
			continue
		}
		start := len(out)
		switch {
		case f.member == nil:
			out, err = layout.record[i].codec.BinaryFromNative(out, n.datum(f.slot))
		case v == nil:
			out = append(out, f.null...)
		default:
			out, err = f.member.BinaryFromNative(append(out, f.branch...), v)
		}
		if err != nil {
			return dst, fmt.Errorf("%w: report %s: cannot encode binary record %q field %q: value does not match its schema: %w", ErrEncode, rep.API, s.Name, layout.record[i].name, err)
		}
		if f.known = len(out)-start <= maxRememberedEncoding && f.remembering(); f.known {
			f.remember(v, out[start:])
		}
	}
	s.lastSize.Store(int64(len(out) - len(dst)))
	return out, nil
}
