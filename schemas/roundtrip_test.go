package schemas

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

var bogota = func() *time.Location {
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		panic(err)
	}
	return loc
}()

// sample is one realistic text per FieldType, with the value an Avro reader must see.
// The expected values are written out by hand, not computed with this package's parsers.
type sample struct {
	raw  string
	want any
}

var samples = map[catalog.FieldType][]sample{
	catalog.String:    {{"Andrés Pérez <ap@x.co>", "Andrés Pérez <ap@x.co>"}, {"-", "-"}, {"", ""}},
	catalog.Count:     {{"12", int64(12)}, {"1,234", int64(1234)}, {"0", int64(0)}},
	catalog.Duration:  {{"1:02:03", int64(3723)}, {"125:00:00", int64(450000)}, {"00:00:07", int64(7)}},
	catalog.Seconds:   {{"45", int64(45)}, {"3,600", int64(3600)}},
	catalog.Millis:    {{"1500", int64(1500)}, {"0", int64(0)}},
	catalog.Percent:   {{"34.64 %", 34.64}, {"9,336.00 %", 9336.0}, {"0.00 %", 0.0}},
	catalog.Number:    {{"3.50", 3.5}, {"1,234.5", 1234.5}},
	catalog.Timestamp: {{"2024-03-05 14:07:09", time.Date(2024, 3, 5, 19, 7, 9, 0, time.UTC)}, {"2023-12-31 23:59:59", time.Date(2024, 1, 1, 4, 59, 59, 0, time.UTC)}},
	catalog.Date:      {{"2024-03-05", time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)}, {"1969-12-31", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)}},
}

// placeholders become null in typed fields.
var placeholders = []string{"-", "--", ""}

var (
	windowStart = time.Date(2024, 3, 5, 19, 0, 0, 0, time.UTC)
	windowEnd   = time.Date(2024, 3, 5, 19, 5, 0, 0, time.UTC)
	readAt      = time.Date(2024, 3, 5, 19, 5, 2, 345e6, time.UTC)
)

func testMeta(rep *catalog.Report, rowID string) Meta {
	return Meta{Server: "0040", Report: rep.API, WindowStart: windowStart, WindowEnd: windowEnd, ReadAt: readAt, RowID: rowID, Location: bogota}
}

// testRow builds a realistic row of rep: variant picks among the samples, and odd
// variants turn some typed values into placeholders and some cells into JSON null. It
// returns the row and what an Avro reader must find, by raw key, plus the extra map and
// the event time.
func testRow(rep *catalog.Report, variant int) (row Row, want map[string]any, extra map[string]any, eventTime any) {
	want = map[string]any{}
	for i, f := range rep.Fields {
		ss := samples[f.Type]
		s := ss[(variant+i)%len(ss)]
		if f.Name == rep.TimeField {
			// The time field is written in the report's own layout.
			layout := rep.TimeLayout
			if layout == "" {
				layout = time.DateTime
			}
			local := time.Date(2024, 3, 5, 14, 7, 9, 0, bogota)
			s.raw = local.Format(layout)
			t, _ := time.ParseInLocation(layout, s.raw, bogota)
			eventTime = t.UTC()
			switch f.Type {
			case catalog.Timestamp:
				s.want = t.UTC()
			case catalog.String:
				s.want = s.raw
			case catalog.Date:
				y, m, d := local.Date()
				s.want = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
			}
		}
		switch {
		case variant%2 == 1 && i%3 == 0:
			row = append(row, Cell{Key: f.Name, Null: true})
			want[f.Name] = nil
			if f.Name == rep.TimeField {
				eventTime = nil
			}
		case variant%2 == 1 && i%3 == 1 && f.Type != catalog.String && f.Name != rep.TimeField:
			row = append(row, Cell{Key: f.Name, Value: placeholders[i%len(placeholders)]})
			want[f.Name] = nil
		default:
			row = append(row, Cell{Key: f.Name, Value: s.raw})
			want[f.Name] = s.want
		}
	}
	extra = map[string]any{"q01": "5", "new column": "x y", "opt1": nil, "service_level_45seg": "91.20 %"}
	row = append(row,
		Cell{Key: "q01", Value: "5"},
		Cell{Key: "new column", Value: "x y"},
		Cell{Key: "opt1", Null: true},
		Cell{Key: "service_level_45seg", Value: "91.20 %"},
	)
	if variant%2 == 1 && len(rep.Fields) > 2 {
		// A known key the row lacks is null too.
		last := rep.Fields[len(rep.Fields)-1].Name
		row = deleteKey(row, last)
		want[last] = nil
		if last == rep.TimeField {
			eventTime = nil
		}
	}
	return row, want, extra, eventTime
}

func deleteKey(row Row, key string) Row {
	out := row[:0:0]
	for _, c := range row {
		if c.Key != key {
			out = append(out, c)
		}
	}
	return out
}

// checkDecoded compares a decoded event (unions already unwrapped) with the source row's
// expectations, reading field names and raw keys from the schema itself.
func checkDecoded(t *testing.T, who string, rep *catalog.Report, schema avro.Schema, got map[string]any, want, extra map[string]any, eventTime any, rowID string) {
	t.Helper()
	rec := schema.(*avro.RecordSchema)
	if len(got) != len(rec.Fields()) {
		t.Errorf("%s %s: %d fields decoded, schema has %d", who, rep.API, len(got), len(rec.Fields()))
	}
	fixed := map[string]any{
		FieldOperation: "0040", FieldReport: rep.API, FieldEventTime: eventTime,
		FieldWindowStart: windowStart, FieldWindowEnd: windowEnd, FieldReadAt: readAt.Truncate(time.Millisecond),
		FieldRowID: rowID, FieldExtra: extra,
	}
	for _, f := range rec.Fields() {
		var expect any
		if key, ok := f.Prop(attrKey).(string); ok {
			expect = want[key]
		} else if e, ok := fixed[f.Name()]; ok {
			expect = e
		} else {
			t.Errorf("%s %s: unexpected field %s", who, rep.API, f.Name())
			continue
		}
		if !sameValue(got[f.Name()], expect) {
			t.Errorf("%s %s: field %s = %#v, want %#v", who, rep.API, f.Name(), got[f.Name()], expect)
		}
	}
}

func sameValue(got, want any) bool {
	switch w := want.(type) {
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || math.Abs(g-w) < 1e-9*math.Abs(w))
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if gv, ok := g[k]; !ok || !sameValue(gv, v) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

// TestRoundTripEveryReport is the independent verification: for every catalog report, a
// realistic row is converted, encoded in both wire formats, decoded by hamba/avro (which
// did not encode it) and by our Decoder, and every field is compared with the row.
func TestRoundTripEveryReport(t *testing.T) {
	ctx := context.Background()
	reg := srfake.New()
	defer reg.Close()
	rcl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	single, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	confluent, err := NewEncoder(Registry(rcl))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(Registry(rcl))
	if err != nil {
		t.Fatal(err)
	}
	set := embeddedSet(t)
	var conv Converter
	reports := catalog.All()
	for i := range reports {
		rep := &reports[i]
		sc, ok := set.Lookup(rep.API)
		if !ok {
			t.Errorf("no schema for %s", rep.API)
			continue
		}
		hschema := hambaParse(t, sc.Text)
		for variant := range 2 {
			row, want, extra, eventTime := testRow(rep, variant)
			rowID := fmt.Sprintf("%s/%d", rep.API, variant)
			native, err := conv.Convert(rep, row, testMeta(rep, rowID))
			if err != nil {
				t.Errorf("Convert(%s, variant %d): %v", rep.API, variant, err)
				continue
			}
			sb, err := single.Encode(ctx, "wolkvox."+rep.API, rep, native, nil)
			if err != nil {
				t.Fatalf("single-object Encode(%s): %v", rep.API, err)
			}
			cb, err := confluent.Encode(ctx, "wolkvox."+rep.API, rep, native, nil)
			if err != nil {
				t.Fatalf("Confluent Encode(%s): %v", rep.API, err)
			}
			for _, wire := range []struct {
				name string
				body []byte
			}{{"single-object", sb[10:]}, {"confluent", cb[5:]}} {
				var got map[string]any
				if err := avro.Unmarshal(hschema, wire.body, &got); err != nil {
					t.Fatalf("hamba decoding %s %s: %v", wire.name, rep.API, err)
				}
				checkDecoded(t, "hamba/"+wire.name, rep, hschema, got, want, extra, eventTime, rowID)
			}
			for _, b := range [][]byte{sb, cb} {
				ev, err := dec.Decode(ctx, b)
				if err != nil {
					t.Fatalf("Decode(%s): %v", rep.API, err)
				}
				if ev.Report != rep.API || ev.Name != sc.Name {
					t.Errorf("Decode(%s): report %q name %q", rep.API, ev.Report, ev.Name)
				}
				checkDecoded(t, "decoder", rep, hschema, ev.Values(), want, extra, eventTime, rowID)
			}
		}
	}
}
