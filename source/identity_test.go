package source

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// TestIdentityGolden pins identify's keys and hashes: the dedupe state kept in the
// offsets topic holds them, so a change would deliver every row of the lookback again
// after an upgrade. The wanted values are what the connector computed before any
// optimisation; they must never change.
func TestIdentityGolden(t *testing.T) {
	bogota, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	w := Window{Start: time.Date(2026, 3, 9, 5, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 9, 6, 0, 0, 0, time.UTC)}
	d13 := wolkvox.Row{{Key: "rp_id", Value: "7002"}, {Key: "conn_id", Value: "10000.4277.1773032802.00000"},
		{Key: "customer_id", Value: "7419896345"}, {Key: "channel", Value: "chat-facebook"}, {Key: "attempt", Value: "9"},
		{Key: "telephone", Value: "573250949733"}, {Key: "date", Value: "2026-03-09 00:06:42"},
		{Key: "second_event", Value: "8"}, {Key: "cod_opc_menu", Value: "ALPHA"}}
	// wide has more cells than the sort's insertion-sort cut-off, keys out of order and
	// repeated with other values: their order in the hash is the sort's, and must stay so.
	var wide wolkvox.Row
	for i := range 40 {
		wide = append(wide, wolkvox.Cell{Key: []string{"conn_id", "second_event", "cod_opc_menu", "q01", "q02"}[i*7%5], Value: strconv.Itoa(i), Null: i%11 == 5})
	}
	reversed := make(wolkvox.Row, len(d13))
	for i, c := range d13 {
		reversed[len(d13)-1-i] = c
	}
	tests := []struct {
		name, api string
		row       wolkvox.Row
		window    Window // w when unset
		// wantKey is the Kafka key; wantID and wantVersion the hashes, in hex.
		wantKey, wantID, wantVersion string
		wantMissing                  []string
	}{
		{name: "detail row", api: "diagram_13", row: d13,
			wantKey: "10000.4277.1773032802.00000|8|ALPHA", wantID: "42f0158692bd5265", wantVersion: "98c6be97363a041f"},
		{name: "same cells in another order", api: "diagram_13", row: reversed,
			wantKey: "10000.4277.1773032802.00000|8|ALPHA", wantID: "42f0158692bd5265", wantVersion: "98c6be97363a041f"},
		{name: "null and empty cells, unicode, unknown key", api: "diagram_13", row: wolkvox.Row{
			{Key: "conn_id", Value: "a|b"}, {Key: "second_event", Value: "0"}, {Key: "cod_opc_menu", Value: "Opción ñ"},
			{Key: "rp_id", Null: true}, {Key: "customer_id", Value: ""}, {Key: "q01", Value: "5"}, {Key: "", Value: "x"}},
			wantKey: "a|b|0|Opción ñ", wantID: "2996e1dbbdf672fd", wantVersion: "a65c5736ccad6193"},
		{name: "many cells, keys repeated", api: "diagram_13", row: wide,
			wantKey: "0|3|1", wantID: "42d2825e614bf265", wantVersion: "b636e876cb48a75f"},
		{name: "key field missing", api: "diagram_13", row: d13[:7],
			wantKey: "2657ebafb93af10f", wantID: "8c959d0a1c66a98b", wantVersion: "2657ebafb93af10f",
			wantMissing: []string{"second_event", "cod_opc_menu"}},
		{name: "key field null or blank", api: "diagram_13", row: wolkvox.Row{
			{Key: "conn_id", Null: true}, {Key: "second_event", Value: " "}, {Key: "cod_opc_menu", Value: "2"}},
			wantKey: "a922ebc3d1c419ae", wantID: "ba9773d65df4dd76", wantVersion: "a922ebc3d1c419ae",
			wantMissing: []string{"conn_id", "second_event"}},
		{name: "range aggregate: the window start comes first", api: "agent_1", row: wolkvox.Row{
			{Key: "agent_id", Value: "1045"}, {Key: "agent_name", Value: "LAURA GOMEZ"}, {Key: "calls", Value: "12"}},
			wantKey: "2026-03-09T05:00:00Z|1045", wantID: "64a47100b0f76f00", wantVersion: "3f581723710ae6ae"},
		{name: "bucketed: the window's local date comes first", api: "agent_5", row: wolkvox.Row{
			{Key: "agent_name", Value: "LAURA GOMEZ"}, {Key: "agent_id", Value: "1045"}, {Key: "hour", Value: "08"}},
			wantKey: "2026-03-09|1045|08", wantID: "24b04c4dae3fa8b7", wantVersion: "55e125a52a7c5272"},
		{name: "bucketed, the local date before the UTC one", api: "agent_5", window: Window{Start: time.Date(2026, 3, 9, 3, 0, 0, 0, time.UTC), End: w.End},
			row:     wolkvox.Row{{Key: "agent_id", Value: "1045"}, {Key: "hour", Value: "22"}},
			wantKey: "2026-03-08|1045|22", wantID: "6bbd651e1d7caa04", wantVersion: "d7ae8a165b31ee4e"},
		{name: "no key fields: the content names the row", api: "cdr_7", row: wolkvox.Row{
			{Key: "type_nlp", Value: "bot"}, {Key: "nlp_channel", Value: "whatsapp"}, {Key: "date", Value: "2026-03-09 00:06:42"}},
			wantKey: "ff965f8476797145", wantID: "b56c076583de56e7", wantVersion: "ff965f8476797145"},
		{name: "empty row", api: "cdr_7", row: wolkvox.Row{},
			wantKey: "cbf29ce484222325", wantID: "f6186a006cdd5a7f", wantVersion: "cbf29ce484222325"},
	}
	// check identifies the case's row with r and compares with what the case wants.
	check := func(t *testing.T, r *identifier, i int) {
		tt := tests[i]
		rep, ok := catalog.Lookup(tt.api)
		if !ok {
			t.Fatalf("catalog has no %s", tt.api)
		}
		win := tt.window
		if win.Start.IsZero() {
			win = w
		}
		id, err := r.identify(rep, win, tt.row, bogota)
		got := []string{id.Key, strconv.FormatUint(id.ID, 16), strconv.FormatUint(id.Version, 16)}
		if want := []string{tt.wantKey, tt.wantID, tt.wantVersion}; !slices.Equal(got, want) {
			t.Errorf("%s: key, id, version = %q, want %q", tt.name, got, want)
		}
		var mk *MissingKeyError
		switch {
		case tt.wantMissing == nil && err != nil:
			t.Errorf("%s: identify: %v, want no error", tt.name, err)
		case tt.wantMissing != nil && (!errors.As(err, &mk) || !slices.Equal(mk.Fields, tt.wantMissing)):
			t.Errorf("%s: identify: %v, want a *MissingKeyError for %q", tt.name, err, tt.wantMissing)
		}
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, &identifier{}, i) })
	}
	// One identifier for every row, as a report's: each row's shape differs from the one
	// remembered (cells reordered, fewer, another report's), and each case comes twice
	// in a row, the second time with the shape remembered.
	t.Run("one identifier", func(t *testing.T) {
		var r identifier
		for _, forward := range []bool{true, false} {
			for i := range tests {
				if !forward {
					i = len(tests) - 1 - i
				}
				check(t, &r, i)
				check(t, &r, i)
			}
		}
	})
}

// TestIdentifierRemembersOnlyTheShape: rows of one shape with other values are named
// by their own values, as a fresh identifier names them.
func TestIdentifierRemembersOnlyTheShape(t *testing.T) {
	rep, ok := catalog.Lookup("diagram_13")
	if !ok {
		t.Fatal("catalog has no diagram_13")
	}
	w := Window{Start: time.Date(2026, 3, 9, 5, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 9, 6, 0, 0, 0, time.UTC)}
	var r identifier
	seen := map[identity]bool{}
	for i := range 50 {
		row := wolkvox.Row{{Key: "conn_id", Value: "c" + strconv.Itoa(i%7)}, {Key: "rp_id", Value: strconv.Itoa(i)},
			{Key: "second_event", Value: strconv.Itoa(i % 3)}, {Key: "cod_opc_menu", Value: "M", Null: i%5 == 0}}
		got, gotErr := r.identify(rep, w, row, time.UTC)
		want, wantErr := identify(rep, w, row, time.UTC)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("row %d: remembered shape gives %+v, %v; a fresh identifier %+v, %v", i, got, gotErr, want, wantErr)
		}
		if seen[got] {
			t.Fatalf("row %d: identity %+v given to an earlier row too", i, got)
		}
		seen[got] = true
	}
}

// BenchmarkIdentify names rows, in turn: the per-row cost of identify (key, content
// hash) for a keyed detail report, a bucketed report and one keyed by content, with
// the row's shape remembered, as for a report's rows.
func BenchmarkIdentify(b *testing.B) {
	bogota, err := time.LoadLocation("America/Bogota")
	if err != nil {
		b.Fatal(err)
	}
	w := Window{Start: time.Date(2026, 3, 9, 5, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 9, 6, 0, 0, 0, time.UTC)}
	for _, tt := range []struct {
		api string
		row wolkvox.Row
	}{
		{"diagram_13", wolkvox.Row{{Key: "rp_id", Value: "7002"}, {Key: "conn_id", Value: "10000.4277.1773032802.00000"},
			{Key: "customer_id", Value: "7419896345"}, {Key: "channel", Value: "chat-facebook"}, {Key: "attempt", Value: "9"},
			{Key: "telephone", Value: "573250949733"}, {Key: "date", Value: "2026-03-09 00:06:42"},
			{Key: "second_event", Value: "8"}, {Key: "cod_opc_menu", Value: "ALPHA"}}},
		{"agent_5", wolkvox.Row{{Key: "agent_name", Value: "LAURA GOMEZ"}, {Key: "agent_id", Value: "1045"}, {Key: "hour", Value: "08"},
			{Key: "calls", Value: "12"}, {Key: "inbound", Value: "7"}, {Key: "outbound", Value: "5"}, {Key: "ready_time", Value: "0:41:07"}}},
		{"cdr_7", wolkvox.Row{{Key: "type_nlp", Value: "bot"}, {Key: "nlp_channel", Value: "whatsapp"}, {Key: "chars_send", Value: "1,204"},
			{Key: "chars_answer", Value: "3,977"}, {Key: "total_chars", Value: "5,181"}, {Key: "date", Value: "2026-03-09 00:06:42"}}},
	} {
		b.Run(tt.api, func(b *testing.B) {
			rep, ok := catalog.Lookup(tt.api)
			if !ok {
				b.Fatalf("catalog has no %s", tt.api)
			}
			b.ReportAllocs()
			var r identifier
			for b.Loop() {
				if _, err := r.identify(rep, w, tt.row, bogota); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
