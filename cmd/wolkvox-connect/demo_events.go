package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// demoSample is one event read back from Kafka, as the demo prints it: one JSON line,
// the record's coordinates and the decoded value with its fields in schema order.
type demoSample struct {
	Report    string      `json:"report"`
	Topic     string      `json:"topic"`
	Partition int32       `json:"partition"`
	Offset    int64       `json:"offset"`
	Value     demoOrdered `json:"value"`
}

// printDemoSamples reads the first n committed events of each report's topic and
// prints them as JSON lines, report by report. An event that does not decode is printed
// as an error line, not skipped: the demo is also a check of the wire format.
func printDemoSamples(ctx context.Context, w io.Writer, kopts []kgo.Opt, reports []source.ReportStatus, n int, log *slog.Logger) error {
	topics := make([]string, 0, len(reports))
	byTopic := map[string]string{}
	for _, r := range reports {
		if _, dup := byTopic[r.Topic]; !dup {
			topics = append(topics, r.Topic)
		}
		byTopic[r.Topic] = r.Key
	}
	samples, err := readDemoSamples(ctx, kopts, topics, n, log)
	if err != nil {
		return fmt.Errorf("reading sample events back: %w", err)
	}
	dec, err := schemas.NewDecoder(schemas.WithLogger(log))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nSample events: the first %d of each report's topic, read back from Kafka (read_committed) and decoded from Avro:\n", n)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, topic := range topics {
		recs := samples[topic]
		if len(recs) == 0 {
			fmt.Fprintf(w, "(%s: no committed event in %s yet)\n", byTopic[topic], topic)
			continue
		}
		for _, r := range recs {
			s := demoSample{Report: byTopic[topic], Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
			ev, err := dec.Decode(ctx, r.Value)
			if err != nil {
				fmt.Fprintf(w, "(%s %s/%d@%d does not decode: %v)\n", s.Report, r.Topic, r.Partition, r.Offset, err)
				continue
			}
			s.Report = ev.Report
			s.Value = demoValue(ev)
			if err := enc.Encode(s); err != nil {
				return fmt.Errorf("writing an event: %w", err)
			}
		}
	}
	return nil
}

// readDemoSamples returns up to n committed records of each topic, in offset order
// within a partition. It reads from the start to the last stable offset, so it ends by
// itself however few events there are.
func readDemoSamples(ctx context.Context, kopts []kgo.Opt, topics []string, n int, log *slog.Logger) (map[string][]*kgo.Record, error) {
	out := map[string][]*kgo.Record{}
	opts := append(slices.Clone(kopts), kgo.WithLogger(sink.KafkaLogger(log)))
	err := sink.ReadCommitted(ctx, opts, topics, func(r *kgo.Record) bool {
		out[r.Topic] = append(out[r.Topic], r)
		return len(out[r.Topic]) < n
	})
	if err != nil {
		return nil, err
	}
	for _, recs := range out {
		slices.SortFunc(recs, func(a, b *kgo.Record) int {
			return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
		})
	}
	return out, nil
}

// demoOrdered is a JSON object whose keys keep a given order: the schema's, so an
// event reads wv_operation, wv_report, … then the report's fields as the API sends them.
type demoOrdered struct {
	keys []string
	vals map[string]any
}

func (o demoOrdered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", k, err)
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// demoValue is an event's plain values in schema field order: timestamps as RFC 3339 in
// UTC, dates as YYYY-MM-DD, floats JSON cannot hold as text.
func demoValue(ev *schemas.Event) demoOrdered {
	vals := ev.Values()
	fields := demoSchemaFields(ev.Schema)
	o := demoOrdered{vals: make(map[string]any, len(vals))}
	for _, f := range fields {
		if v, ok := vals[f.name]; ok {
			o.keys = append(o.keys, f.name)
			o.vals[f.name] = demoPlain(v, f.date)
		}
	}
	// A field the schema text did not list (it cannot happen with a decodable event,
	// whose fields come from that schema) is still shown, at the end, sorted.
	var rest []string
	for k := range vals {
		if _, ok := o.vals[k]; !ok {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		o.keys = append(o.keys, k)
		o.vals[k] = demoPlain(vals[k], false)
	}
	return o
}

type demoField struct {
	name string
	date bool // int with logicalType date: goavro gives a time.Time at midnight UTC
}

// demoSchemaFields lists a record schema's fields in order; nil when it is not one.
func demoSchemaFields(schema string) []demoField {
	var rec struct {
		Fields []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if json.Unmarshal([]byte(schema), &rec) != nil {
		return nil
	}
	out := make([]demoField, 0, len(rec.Fields))
	for _, f := range rec.Fields {
		var branches []json.RawMessage
		if json.Unmarshal(f.Type, &branches) != nil {
			branches = []json.RawMessage{f.Type}
		}
		df := demoField{name: f.Name}
		for _, b := range branches {
			var l struct {
				LogicalType string `json:"logicalType"`
			}
			if json.Unmarshal(b, &l) == nil && l.LogicalType == "date" {
				df.date = true
			}
		}
		out = append(out, df)
	}
	return out
}

// demoPlain makes a decoded value printable as JSON.
func demoPlain(v any, date bool) any {
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
		return demoPlain(float64(x), date)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = demoPlain(e, false)
		}
		return out
	}
	return v
}
