package schemas_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// rowsOf collects the rows a wolkvox.Client hands on.
type rowsOf struct{ rows []wolkvox.Row }

func (h *rowsOf) Row(r wolkvox.Row) error { h.rows = append(h.rows, slices.Clone(r)); return nil }
func (h *rowsOf) Reset() error            { h.rows = nil; return nil }

// TestSimulatorRowsEveryReport is the proof with the rows the connector really
// gets: every report's rows are read from the simulator through wolkvox.Client (nested
// arrays flattened, cdr_4's object, numbers sent as JSON numbers), converted, encoded
// and decoded by hamba/avro and by our Decoder. Not one row may be refused (a good row
// in the dead-letter topic is a schema bug), and every decoded field must equal what
// the standard library reads from the raw text: the expectation does not use this
// package's parsers.
func TestSimulatorRowsEveryReport(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, schemas.Bogota)
	sim, err := simulator.New(simulator.Seed(5), simulator.Location(schemas.Bogota), simulator.WithClock(simulator.NewVirtualClock(now)),
		simulator.FlatRate(), simulator.DefaultRowsPerMinute(1), simulator.Lenient(0.3), simulator.DailyQuota(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	cl, err := wolkvox.NewClient(wolkvox.Server(simulator.DefaultServer), wolkvox.Token(simulator.DefaultToken),
		wolkvox.BaseURL(srv.URL), wolkvox.Location(schemas.Bogota))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.CloseIdleConnections()
	enc, err := schemas.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := schemas.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	set := schemas.EmbeddedSet(t)
	var conv schemas.Converter
	// A closed, settled day: detail rows, every hourly and daily bucket, the range.
	start := time.Date(2026, 3, 9, 0, 0, 0, 0, schemas.Bogota)
	end := start.Add(24*time.Hour - time.Second)
	reports := catalog.All()
	total, typed := 0, 0
	for i := range reports {
		rep := &reports[i]
		params := map[string]string{}
		for _, p := range rep.Params {
			if p.Required {
				params[p.Name] = "all" // every skill, agent, campaign; cod_act is ignored
			}
		}
		var h rowsOf
		if _, err := cl.Read(ctx, wolkvox.Request{Report: rep.API, Start: start, End: end, Params: params}, &h); err != nil {
			t.Errorf("%s: reading the simulator: %v", rep.API, err)
			continue
		}
		if len(h.rows) == 0 {
			t.Errorf("%s: the simulator sent no row for %s..%s", rep.API, start, end)
			continue
		}
		sc, _ := set.Lookup(rep.API)
		hschema := schemas.HambaParse(t, sc.Text)
		for n, row := range h.rows[:min(len(h.rows), 20)] {
			meta := schemas.TestMeta(rep, fmt.Sprintf("%s/%d", rep.API, n))
			native, err := conv.Convert(rep, row, meta)
			if err != nil {
				t.Errorf("%s: a simulator row is refused: %v", rep.API, err)
				continue
			}
			b, err := enc.Encode(ctx, "t", rep, native, nil)
			if err != nil {
				t.Fatalf("%s: Encode: %v", rep.API, err)
			}
			var got map[string]any
			if err := avro.Unmarshal(hschema, b[10:], &got); err != nil {
				t.Fatalf("%s: hamba decoding: %v", rep.API, err)
			}
			ev, err := dec.Decode(ctx, b)
			if err != nil {
				t.Fatalf("%s: Decode: %v", rep.API, err)
			}
			ours := ev.Values()
			for name, v := range got {
				if !schemas.SameValue(ours[name], v) {
					t.Errorf("%s: field %s: hamba %#v, our Decoder %#v", rep.API, name, v, ours[name])
				}
			}
			typed += checkAgainstRaw(t, rep, hschema, got, row)
			total++
		}
	}
	t.Logf("%d simulator rows of %d reports decoded and compared, %d typed values", total, len(reports), typed)
	if typed == 0 {
		t.Error("no typed value was compared")
	}
}

// checkAgainstRaw compares every decoded field with the raw row, reading the raw text
// with the standard library only; it returns how many typed values it compared.
func checkAgainstRaw(t *testing.T, rep *catalog.Report, schema avro.Schema, got map[string]any, row wolkvox.Row) (typed int) {
	t.Helper()
	known := map[string]bool{}
	for _, f := range schema.(*avro.RecordSchema).Fields() {
		key, ok := f.Prop(schemas.AttrKey).(string)
		if !ok {
			continue
		}
		known[key] = true
		ft := catalog.FieldType(f.Prop(schemas.AttrType).(string))
		raw, present := row.Get(key)
		var want any
		switch {
		case !present:
			want = nil
		case ft == catalog.String:
			want = raw
		case strings.TrimSpace(raw) == "" || strings.TrimSpace(raw) == "-" || strings.TrimSpace(raw) == "--":
			want = nil
		default:
			var err error
			want, err = stdlibValue(ft, raw, layoutOf(rep, key, ft))
			if err != nil {
				t.Errorf("%s: field %q: the standard library cannot read %q either: %v", rep.API, key, raw, err)
				continue
			}
			typed++
		}
		if !schemas.SameValue(got[f.Name()], want) {
			t.Errorf("%s: field %s (%s) from %q = %#v, want %#v", rep.API, f.Name(), ft, raw, got[f.Name()], want)
		}
	}
	extra := map[string]any{}
	for _, c := range row {
		if !known[c.Key] {
			extra[c.Key] = c.Value
			if c.Null {
				extra[c.Key] = nil
			}
		}
	}
	if !schemas.SameValue(got[schemas.FieldExtra], extra) {
		t.Errorf("%s: wv_extra = %#v, want %#v", rep.API, got[schemas.FieldExtra], extra)
	}
	var wantTime any
	if raw, ok := row.Get(rep.TimeField); ok && rep.TimeField != "" {
		f, _ := rep.Field(rep.TimeField)
		layout := layoutOf(rep, rep.TimeField, f.Type)
		if f.Type == catalog.Date {
			layout = cmpOr(rep.TimeLayout, time.DateOnly)
		}
		tm, err := time.ParseInLocation(layout, strings.TrimSpace(raw), schemas.Bogota)
		if err != nil {
			t.Errorf("%s: time field %q = %q: %v", rep.API, rep.TimeField, raw, err)
		}
		wantTime = tm
	}
	if !schemas.SameValue(got[schemas.FieldEventTime], wantTime) {
		t.Errorf("%s: wv_event_time = %#v, want %#v", rep.API, got[schemas.FieldEventTime], wantTime)
	}
	return typed
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// layoutOf is the layout the catalog gives a field: the report's TimeLayout for its time
// field, else the API's usual one.
func layoutOf(rep *catalog.Report, key string, ft catalog.FieldType) string {
	if key == rep.TimeField && rep.TimeLayout != "" {
		return rep.TimeLayout
	}
	if ft == catalog.Date {
		return time.DateOnly
	}
	return time.DateTime
}

// stdlibValue reads typed raw text with strconv, fmt and time, as an Avro reader must
// see it: long, double, or time.Time for timestamp-millis and date.
func stdlibValue(ft catalog.FieldType, raw, layout string) (any, error) {
	s := strings.ReplaceAll(strings.TrimSpace(raw), ",", "")
	switch ft {
	case catalog.Count, catalog.Seconds, catalog.Millis:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f != float64(int64(f)) {
			return nil, fmt.Errorf("not a whole number: %v", err)
		}
		return int64(f), nil
	case catalog.Duration:
		var h, m, sec int64
		sign := int64(1)
		if strings.HasPrefix(s, "-") {
			sign, s = -1, s[1:]
		}
		if _, err := fmt.Sscanf(s, "%d:%d:%d", &h, &m, &sec); err != nil {
			return nil, err
		}
		return sign * (h*3600 + m*60 + sec), nil
	case catalog.Number, catalog.Percent:
		return strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	case catalog.Timestamp:
		return time.ParseInLocation(layout, strings.TrimSpace(raw), schemas.Bogota)
	case catalog.Date:
		d, err := time.Parse(layout, strings.TrimSpace(raw))
		return d, err
	}
	return nil, fmt.Errorf("unknown type %s", ft)
}
