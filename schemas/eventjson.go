package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// MarshalJSON writes the event's values (Values) as one JSON object, the form people
// read and tools such as jq take: fields in the schema's order (wv_operation, wv_report,
// … then the report's fields as the API sends them), timestamps as RFC 3339 in UTC,
// date fields as YYYY-MM-DD, and the floats JSON cannot hold (NaN, ±Inf) as text. It is
// the one printer of decoded events (tail, the demo).
func (ev *Event) MarshalJSON() ([]byte, error) {
	vals := ev.Values()
	var b bytes.Buffer
	b.WriteByte('{')
	write := func(name string, v any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(name)
		if err != nil {
			return err
		}
		vb, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("field %s: %w", name, err)
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		return nil
	}
	seen := make(map[string]bool, len(vals))
	for _, f := range schemaFields(ev.Schema) {
		v, ok := vals[f.name]
		if !ok {
			continue
		}
		seen[f.name] = true
		if err := write(f.name, plainValue(v, f.date)); err != nil {
			return nil, err
		}
	}
	// A field the schema text does not list cannot come from a decodable event; were
	// there one, it is still shown, at the end, sorted.
	var rest []string
	for k := range vals {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		if err := write(k, plainValue(vals[k], false)); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type schemaField struct {
	name string
	date bool // int with logicalType date: goavro gives a time.Time at midnight UTC
}

// schemaFields lists a record schema's fields in order; nil when it is not one.
func schemaFields(schema string) []schemaField {
	fields, ok := rawFields(schema)
	if !ok {
		return nil
	}
	out := make([]schemaField, 0, len(fields))
	for _, f := range fields {
		var branches []json.RawMessage
		if json.Unmarshal(f.Type, &branches) != nil {
			branches = []json.RawMessage{f.Type}
		}
		sf := schemaField{name: f.Name}
		for _, br := range branches {
			var l struct {
				LogicalType string `json:"logicalType"`
			}
			if json.Unmarshal(br, &l) == nil && l.LogicalType == "date" {
				sf.date = true
			}
		}
		out = append(out, sf)
	}
	return out
}

// plainValue makes a decoded value printable as JSON.
func plainValue(v any, date bool) any {
	switch x := v.(type) {
	case time.Time:
		if date {
			return x.UTC().Format(time.DateOnly)
		}
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case float32:
		return plainValue(float64(x), date)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainValue(e, false)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e, false)
		}
		return out
	}
	return v
}
