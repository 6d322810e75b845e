package schemas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
	"unsafe"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

func lookup(t testing.TB, api string) *catalog.Report {
	t.Helper()
	rep, ok := catalog.Lookup(api)
	if !ok {
		t.Fatalf("catalog has no %s", api)
	}
	return rep
}

// TestConvertSeedEdges checks the seed reports' typed fields on the edge values the
// API is known to send.
func TestConvertSeedEdges(t *testing.T) {
	tests := []struct {
		api, key, raw string
		want          any // the native union value, nil for null
	}{
		{"act_3", "time", "1:02:03", map[string]any{"long": int64(3723)}},
		{"act_3", "time", "125:00:00", map[string]any{"long": int64(450000)}},
		{"act_3", "time", "00:00:00", map[string]any{"long": int64(0)}},
		{"act_3", "time", "-", nil},
		{"act_3", "time", "--", nil},
		{"act_3", "time", "", nil},
		{"act_3", "comments", "-", map[string]any{"string": "-"}},
		{"act_3", "comments", "", map[string]any{"string": ""}},
		{"act_3", "date", "2024-03-05 14:07:09", map[string]any{"long.timestamp-millis": time.Date(2024, 3, 5, 19, 7, 9, 0, time.UTC).UnixMilli()}},
		{"chat_3", "closing_time", "1:02:03", map[string]any{"long": int64(3723)}},
		{"chat_3", "closing_time", "125:00:00", map[string]any{"long": int64(450000)}},
		{"chat_3", "interactions", "1,172", map[string]any{"long": int64(1172)}},
		{"chat_3", "interactions", "--", nil},
		{"diagram_1_3", "time", "125:00:00", map[string]any{"long": int64(450000)}},
		{"diagram_1_3", "calls", "", nil},
		{"diagram_13", "second_event", "17", map[string]any{"long": int64(17)}},
		{"diagram_13", "attempt", "-", nil},
		{"diagram_4", "voice_message_duration", "0:00:09", map[string]any{"long": int64(9)}},
		{"agent_15", "preview_percent", "9,336.00 %", map[string]any{"double": 9336.0}},
		{"agent_15", "preview_percent", "34.64 %", map[string]any{"double": 34.64}},
		{"agent_16", "preview_percent", "-", nil},
		{"diagram_7", "time", "1500", map[string]any{"long": int64(1500)}},
		{"agent_7", "date", "2024-03-05", map[string]any{"int.date": int32(19787)}},
	}
	var c Converter
	for _, tt := range tests {
		t.Run(tt.api+"/"+tt.key+"="+tt.raw, func(t *testing.T) {
			rep := lookup(t, tt.api)
			ms, err := Fields(rep)
			if err != nil {
				t.Fatal(err)
			}
			name := ""
			for _, m := range ms {
				if m.Key == tt.key {
					name = m.Name
				}
			}
			if name == "" {
				t.Fatalf("%s has no field %q", tt.api, tt.key)
			}
			got, err := c.Convert(rep, Row{{Key: tt.key, Value: tt.raw}}, testMeta(rep, "id"))
			if err != nil {
				t.Fatal(err)
			}
			if !sameNative(got[name], tt.want) {
				t.Errorf("%s = %#v, want %#v", name, got[name], tt.want)
			}
		})
	}
}

func sameNative(got, want any) bool {
	g, gok := got.(map[string]any)
	w, wok := want.(map[string]any)
	if !gok || !wok {
		return got == nil && want == nil
	}
	if len(g) != 1 || len(w) != 1 {
		return false
	}
	for k, v := range w {
		if g[k] != v {
			return false
		}
	}
	return true
}

func TestConvertRejects(t *testing.T) {
	tests := []struct {
		name, api string
		row       Row
		field     string
	}{
		{"count of abc", "chat_3", Row{{Key: "interactions", Value: "abc"}}, "interactions"},
		{"fractional count", "chat_3", Row{{Key: "interactions", Value: "12.5"}}, "interactions"},
		{"minutes out of range", "act_3", Row{{Key: "time", Value: "1:75:00"}}, "time"},
		{"MM:SS duration", "chat_3", Row{{Key: "closing_time", Value: "02:03"}}, "closing_time"},
		{"impossible date", "act_3", Row{{Key: "date", Value: "2024-02-30 10:00:00"}}, "date"},
		{"impossible calendar date", "agent_7", Row{{Key: "date", Value: "2023-02-29"}}, "date"},
		{"decimal comma percent", "agent_15", Row{{Key: "preview_percent", Value: "34,64 %"}}, "preview_percent"},
		{"duplicate known key", "chat_3", Row{{Key: "channel", Value: "a"}, {Key: "channel", Value: "b"}}, "channel"},
		{"duplicate unknown key", "chat_3", Row{{Key: "q01", Value: "a"}, {Key: "q01", Null: true}}, "q01"},
	}
	var c Converter
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := lookup(t, tt.api)
			got, err := c.Convert(rep, tt.row, testMeta(rep, "id"))
			var ce *ConversionError
			if !errors.As(err, &ce) {
				t.Fatalf("Convert = %v, %v; want a *ConversionError", got, err)
			}
			if ce.Report != tt.api || ce.Field != tt.field || len(ce.Row) != len(tt.row) || ce.Reason == "" {
				t.Errorf("ConversionError = %+v", ce)
			}
		})
	}
}

func TestConvertEventTime(t *testing.T) {
	var c Converter
	var n Native // one for every row, as a report's: EventTime follows the last row
	rep := lookup(t, "diagram_13")
	for _, tt := range []struct {
		raw  string
		null bool
		want any
	}{
		{raw: "2024-03-05 14:07:09", want: map[string]any{"long.timestamp-millis": time.Date(2024, 3, 5, 19, 7, 9, 0, time.UTC).UnixMilli()}},
		{raw: "-", want: nil},
		{null: true, want: nil},
		{raw: "2024-03-05 14:07:10", want: map[string]any{"long.timestamp-millis": time.Date(2024, 3, 5, 19, 7, 10, 0, time.UTC).UnixMilli()}},
	} {
		meta := testMeta(rep, "id")
		got, err := fill(&c, &n, rep, Row{{Key: "date", Value: tt.raw, Null: tt.null}}, meta)
		if err != nil {
			t.Fatal(err)
		}
		if !sameNative(got[FieldEventTime], tt.want) {
			t.Errorf("date %q: event time %#v, want %#v", tt.raw, got[FieldEventTime], tt.want)
		}
		checkEventTime(t, &n, got, meta.Location)
	}
	// A range report has no time of its own.
	agg := lookup(t, "chat_3")
	got, err := c.Convert(agg, Row{{Key: "channel", Value: "Email"}}, testMeta(agg, "id"))
	if err != nil || got[FieldEventTime] != nil {
		t.Errorf("chat_3 event time = %#v, %v; want nil", got[FieldEventTime], err)
	}
}

func TestConvertInvalidMeta(t *testing.T) {
	rep := lookup(t, "chat_3")
	good := testMeta(rep, "id")
	tests := map[string]func(m *Meta){
		"no location":       func(m *Meta) { m.Location = nil },
		"no server":         func(m *Meta) { m.Server = "" },
		"no row id":         func(m *Meta) { m.RowID = "" },
		"other report":      func(m *Meta) { m.Report = "chat_4" },
		"window reversed":   func(m *Meta) { m.WindowStart, m.WindowEnd = m.WindowEnd, m.WindowStart },
		"read time missing": func(m *Meta) { m.ReadAt = time.Time{} },
	}
	var c Converter
	// Every problem is named at once, readably.
	_, err := c.Convert(rep, Row{}, Meta{Report: rep.API})
	if want := "Server is empty; the window is unset or ends before it starts; ReadAt is unset; RowID is empty; Location is nil"; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("Convert(empty Meta) = %v, want it to end %q", err, want)
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			m := good
			mutate(&m)
			_, err := c.Convert(rep, Row{}, m)
			var ce *ConversionError
			if !errors.Is(err, ErrInvalidMeta) || errors.As(err, &ce) {
				t.Errorf("Convert = %v, want ErrInvalidMeta and no *ConversionError", err)
			}
		})
	}
}

func TestConvertBadCatalogEntry(t *testing.T) {
	var c Converter
	for _, rep := range []*catalog.Report{
		{API: "x_1", Fields: []catalog.Field{{Name: "a", Type: "colour"}}},
		{API: "x_2", Fields: []catalog.Field{{Name: "a", Type: catalog.String}, {Name: "a", Type: catalog.String}}},
	} {
		if _, err := c.Convert(rep, Row{}, testMeta(rep, "id")); !errors.Is(err, ErrCatalog) {
			t.Errorf("%s: Convert = %v, want ErrCatalog", rep.API, err)
		}
	}
}

// FuzzConvert feeds random text to every typed field of the seed reports (and a report
// with one field of each type): Convert never panics, and every failure is a
// *ConversionError naming a key of the row.
func FuzzConvert(f *testing.F) {
	reports := []*catalog.Report{allTypes()}
	for _, api := range append(seedReports, "agent_15", "agent_7", "diagram_7") {
		if rep, ok := catalog.Lookup(api); ok {
			reports = append(reports, rep)
		}
	}
	for _, s := range []string{"1:02:03", "125:00:00", "9,336.00 %", "-", "--", "", "2024-02-30 10:00:00", "1,2", "1e309", "\x00", "٣"} {
		f.Add(uint8(0), s, false)
	}
	var c Converter
	enc := encoderWith(f, allTypes())
	// reused converts every input into one Native per report, kept across inputs: it
	// must give what a fresh conversion gives, whatever came before, and EncodeNative
	// the bytes that goavro's record codec makes of the fresh event.
	reused := map[*catalog.Report]*Native{}
	f.Fuzz(func(t *testing.T, pick uint8, value string, null bool) {
		rep := reports[int(pick)%len(reports)]
		row := make(Row, 0, len(rep.Fields))
		for i, fd := range rep.Fields {
			v := value
			if i%2 == 1 && len(value) > 1 {
				v = value[len(value)/2:] // vary the text between fields
			}
			row = append(row, Cell{Key: fd.Name, Value: v, Null: null && i%3 == 0})
		}
		native, err := c.Convert(rep, row, testMeta(rep, "id"))
		if reused[rep] == nil {
			reused[rep] = new(Native)
		}
		again, againErr := fill(&c, reused[rep], rep, row, testMeta(rep, "id"))
		if !reflect.DeepEqual(again, native) || !sameError(againErr, err) {
			t.Fatalf("Fill = %v, %v; Convert = %v, %v", again, againErr, native, err)
		}
		if err == nil {
			checkEncodeNative(t, enc, rep, reused[rep], native)
			return
		}
		var ce *ConversionError
		if !errors.As(err, &ce) {
			t.Fatalf("Convert error %v is not a *ConversionError", err)
		}
		if _, ok := rep.Field(ce.Field); !ok {
			t.Fatalf("ConversionError names %q, not a field of %s", ce.Field, rep.API)
		}
	})
}

// allTypes is a report with one field of every FieldType, dated by its timestamp.
func allTypes() *catalog.Report {
	rep := &catalog.Report{API: "test_all", Kind: catalog.Detail, TimeField: "ts", TimeLayout: time.DateTime}
	for _, ft := range []catalog.FieldType{catalog.String, catalog.Count, catalog.Number, catalog.Percent, catalog.Duration, catalog.Seconds, catalog.Millis, catalog.Timestamp, catalog.Date} {
		name := string(ft)
		if ft == catalog.Timestamp {
			name = "ts"
		}
		rep.Fields = append(rep.Fields, catalog.Field{Name: name, Type: ft})
	}
	return rep
}

// sameError reports whether a and b are both nil or say the same, causes included.
func sameError(a, b error) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) && fmt.Sprint(errors.Unwrap(a)) == fmt.Sprint(errors.Unwrap(b))
}

// TestFillReusesExactly converts the golden rows, three times over in a shuffled
// order with failing rows among them, into Natives kept from row to row (one per
// report, and one shared by all reports) and in two time zones: every event and every
// error must be exactly what a fresh Convert gives, and every EncodeNative exactly the
// bytes goavro's record codec makes of it.
func TestFillReusesExactly(t *testing.T) {
	cases := goldenCases()
	tests := map[*catalog.Report]bool{} // the reports the catalog lacks
	for _, g := range cases {
		if _, ok := catalog.Lookup(g.rep.API); !ok {
			tests[g.rep] = true
		}
	}
	enc := encoderWith(t, slices.Collect(maps.Keys(tests))...)
	var sequence []goldenCase
	for range 3 {
		sequence = append(sequence, cases...)
	}
	rand.New(rand.NewPCG(11, 11)).Shuffle(len(sequence), func(i, j int) { sequence[i], sequence[j] = sequence[j], sequence[i] })
	var c Converter
	perReport := map[*catalog.Report]*Native{}
	var shared Native
	for k, g := range sequence {
		meta := testMeta(g.rep, g.name)
		if k%5 == 0 {
			meta.Location = time.UTC
			meta.ReadAt = meta.ReadAt.Add(time.Duration(k) * time.Millisecond)
		}
		want, wantErr := c.Convert(g.rep, g.row, meta)
		if perReport[g.rep] == nil {
			perReport[g.rep] = new(Native)
		}
		for name, n := range map[string]*Native{"per report": perReport[g.rep], "shared": &shared} {
			got, err := fill(&c, n, g.rep, g.row, meta)
			if !reflect.DeepEqual(got, want) || !sameError(err, wantErr) {
				t.Fatalf("row %d, %s, Native %s: Fill = %#v, %v; Convert = %#v, %v", k, g.name, name, got, err, want, wantErr)
			}
			if err == nil {
				checkEventTime(t, n, got, meta.Location)
				checkEncodeNative(t, enc, g.rep, n, want)
			}
		}
	}
}

// encoderWith returns an Encoder of the embedded schemas and those generated for reps.
func encoderWith(tb testing.TB, reps ...*catalog.Report) *Encoder {
	tb.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(avroFS, "avro", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(avroFS, path)
		fsys[strings.TrimPrefix(path, "avro/")] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, rep := range reps {
		b, err := Generate(rep)
		if err != nil {
			tb.Fatal(err)
		}
		fsys[rep.API+".avsc"] = &fstest.MapFile{Data: b}
	}
	set, err := Load(fsys)
	if err != nil {
		tb.Fatal(err)
	}
	enc, err := NewEncoder(WithSchemas(set))
	if err != nil {
		tb.Fatal(err)
	}
	return enc
}

// fill is Fill into n and n's Event.
func fill(c *Converter, n *Native, rep *catalog.Report, row Row, meta Meta) (map[string]any, error) {
	if err := c.Fill(n, rep, row, meta); err != nil {
		return nil, err
	}
	return n.Event(), nil
}

// checkEncodeNative checks that EncodeNative of n, just filled, encodes event, a
// fresh conversion of the same row: byte for byte what goavro's record codec makes of
// it, or, when wv_extra holds more than one key (which goavro writes in map order),
// the same header and the same event once both are decoded.
func checkEncodeNative(t *testing.T, enc *Encoder, rep *catalog.Report, n *Native, event map[string]any) {
	t.Helper()
	ctx := context.Background()
	want, err := enc.Encode(ctx, "t", rep, event, nil)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := enc.EncodeNative(ctx, "t", rep, n, []byte("kept"))
	if err != nil {
		t.Fatalf("EncodeNative: %v", err)
	}
	if string(got[:4]) != "kept" {
		t.Fatalf("EncodeNative did not append to dst: %q", got[:4])
	}
	got = got[4:]
	if extra, _ := event[FieldExtra].(map[string]any); len(extra) <= 1 {
		if !bytes.Equal(got, want) {
			t.Fatalf("EncodeNative = %x\nEncode       = %x", got, want)
		}
		return
	}
	s, _ := enc.cfg.set.Lookup(rep.API)
	decoded, _, err := s.compiled.codec().NativeFromBinary(got[10:])
	wanted, _, wantErr := s.compiled.codec().NativeFromBinary(want[10:])
	if err != nil || wantErr != nil || !bytes.Equal(got[:10], want[:10]) || !reflect.DeepEqual(decoded, wanted) {
		t.Fatalf("EncodeNative decodes to %#v, %v; Encode to %#v, %v", decoded, err, wanted, wantErr)
	}
}

// checkEventTime checks that n.EventTime is the event time of event, just converted
// into n, in loc.
func checkEventTime(t *testing.T, n *Native, event map[string]any, loc *time.Location) {
	t.Helper()
	got, timed := n.EventTime()
	wrapper, _ := event[FieldEventTime].(map[string]any)
	ms, want := wrapper["long.timestamp-millis"].(int64)
	if timed != want || (want && (!got.Equal(time.UnixMilli(ms)) || got.Location() != loc)) {
		t.Fatalf("EventTime = %v, %v; the event holds %#v (zone %v)", got, timed, event[FieldEventTime], loc)
	}
}

// TestFillConcurrent converts the same report's rows on several goroutines, each
// into its own Native, with one Converter: the race detector checks that nothing but the
// Natives changes per row.
func TestFillConcurrent(t *testing.T) {
	rep := lookup(t, "diagram_13")
	var c Converter
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var n Native
			for variant := range 50 {
				row, _, _, _ := testRow(rep, g+variant)
				want, wantErr := c.Convert(rep, row, testMeta(rep, "id"))
				got, err := fill(&c, &n, rep, row, testMeta(rep, "id"))
				if !reflect.DeepEqual(got, want) || !sameError(err, wantErr) {
					t.Errorf("goroutine %d, variant %d: Fill = %v, %v; Convert = %v, %v", g, variant, got, err, want, wantErr)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestEncodeNativeRepeats fills one Native with rows whose values repeat, change by a
// little or by nothing goavro's map would show (0 and -0), go null and come back, or
// are too long to keep: each EncodeNative must be exactly what a fresh Convert and
// Encode give.
func TestEncodeNativeRepeats(t *testing.T) {
	rep := allTypes()
	enc := encoderWith(t, rep)
	long := strings.Repeat("x", maxRememberedEncoding+1)
	// A column that changes at every event stops being remembered, and is tried again
	// every 256th event: repeats then must still encode right.
	var changing []string
	for k := range 600 {
		changing = append(changing, fmt.Sprint("v", k))
		if k%97 == 0 {
			changing = append(changing, fmt.Sprint("v", k), fmt.Sprint("v", k))
		}
	}
	var c Converter
	for _, tt := range []struct {
		name   string
		field  string
		values []string // "<null>" for a JSON null
	}{
		{"zeros", "number", []string{"0", "-0", "-0", "0", "0.0", "-0.0"}},
		{"repeats", "number", []string{"1.5", "1.5", "2.5", "1.5"}},
		{"nulls", "count", []string{"7", "<null>", "7", "-", "7", "7"}},
		{"texts", "string", []string{"a", "a", "b", "", "<null>", "", "a"}},
		{"long texts", "string", []string{long, long, long + "y", "a", long}},
		{"changing texts", "string", changing},
		{"durations", "duration", []string{"0:00:07", "0:00:07", "1:00:07"}},
		{"dates", "date", []string{"2024-03-05", "2024-03-05", "1969-12-31"}},
		{"times", "ts", []string{"2024-03-05 14:07:09", "2024-03-05 14:07:09", "-", "2024-03-05 14:07:10"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var n Native
			for k, v := range tt.values {
				row := Row{{Key: "string", Value: "kept"}, {Key: tt.field, Value: v, Null: v == "<null>"}}
				if tt.field == "string" {
					row = row[1:]
				}
				meta := testMeta(rep, fmt.Sprint("id", k%2))
				want, err := c.Convert(rep, row, meta)
				if err != nil {
					t.Fatalf("%q: %v", v, err)
				}
				if err := c.Fill(&n, rep, row, meta); err != nil {
					t.Fatal(err)
				}
				checkEncodeNative(t, enc, rep, &n, want)
			}
		})
	}
}

// TestEncodeNativeRefuses: a Native whose last Fill failed, or that holds another
// report's event, is not encoded.
func TestEncodeNativeRefuses(t *testing.T) {
	rep, other := lookup(t, "diagram_13"), lookup(t, "chat_3")
	enc := encoderWith(t)
	var c Converter
	var n Native
	ctx := context.Background()
	if _, err := enc.EncodeNative(ctx, "t", rep, &n, nil); !errors.Is(err, ErrEncode) {
		t.Fatalf("an empty Native: %v, want ErrEncode", err)
	}
	if err := c.Fill(&n, rep, Row{{Key: "date", Value: "2024-03-05 14:07:09"}}, testMeta(rep, "id")); err != nil {
		t.Fatal(err)
	}
	if _, err := enc.EncodeNative(ctx, "t", other, &n, nil); !errors.Is(err, ErrEncode) {
		t.Fatalf("another report's Native: %v, want ErrEncode", err)
	}
	if err := c.Fill(&n, rep, Row{{Key: "date", Value: "yesterday"}}, testMeta(rep, "id")); err == nil {
		t.Fatal("a bad date converted")
	}
	if _, err := enc.EncodeNative(ctx, "t", rep, &n, nil); !errors.Is(err, ErrEncode) {
		t.Fatalf("after a failed Fill: %v, want ErrEncode", err)
	}
}

// TestEncodeNativeFallsBack: a schema loaded from elsewhere with a field the converter
// does not fill (it has a default), or with a field whose type names one defined in
// another field, is encoded by goavro's record codec: the same bytes as Encode.
func TestEncodeNativeFallsBack(t *testing.T) {
	rep := lookup(t, "diagram_13")
	text, err := fs.ReadFile(avroFS, "avro/diagram_13.avsc")
	if err != nil {
		t.Fatal(err)
	}
	for name, extra := range map[string]string{
		"a defaulted field": `{"name": "added", "type": ["null", "string"], "default": null}`,
		"a named type":      `{"name": "x1", "type": {"type": "record", "name": "X", "fields": []}, "default": {}}, {"name": "x2", "type": ["null", "X"], "default": null}`,
	} {
		t.Run(name, func(t *testing.T) {
			i := bytes.LastIndex(text, []byte("]"))
			changed := string(text[:i]) + ", " + extra + string(text[i:])
			set, err := Load(fstest.MapFS{"diagram_13.avsc": {Data: []byte(changed)}})
			if err != nil {
				t.Fatal(err)
			}
			enc, err := NewEncoder(WithSchemas(set))
			if err != nil {
				t.Fatal(err)
			}
			var c Converter
			var n Native
			for variant := range 3 {
				row, _, _, _ := testRow(rep, variant)
				want, err := c.Convert(rep, row, testMeta(rep, "id"))
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Fill(&n, rep, row, testMeta(rep, "id")); err != nil {
					t.Fatal(err)
				}
				checkEncodeNative(t, enc, rep, &n, want)
			}
		})
	}
}

// TestEncodeNativeKeepsNoRow: a text that repeats is compared with a copy of the last
// one, not kept: a cell's text shares its row's memory, which must go with the row.
func TestEncodeNativeKeepsNoRow(t *testing.T) {
	rep := allTypes()
	enc := encoderWith(t, rep)
	var c Converter
	var n Native
	text := strings.Repeat("t", maxRecentText+10) // too long to be a recent text
	freed := make(chan struct{})
	first := func() Row {
		row := strings.Repeat("r", 1<<20) + text // one row's memory
		runtime.AddCleanup(unsafe.StringData(row), func(chan struct{}) { close(freed) }, freed)
		return Row{{Key: "string", Value: row[1<<20:]}}
	}
	for _, row := range []Row{first(), {{Key: "string", Value: strings.Clone(text)}}} {
		if err := c.Fill(&n, rep, row, testMeta(rep, "id")); err != nil {
			t.Fatal(err)
		}
		if _, err := enc.EncodeNative(context.Background(), "t", rep, &n, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		runtime.GC()
		select {
		case <-freed:
			runtime.KeepAlive(&n)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the first row's memory is still held after the second row")
}
