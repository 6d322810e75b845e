package restapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

func TestParseOffsets(t *testing.T) {
	windowEnd := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		body    string
		want    []source.OffsetChange
		wantIs  error // errors.Is target, besides the 400
		wantErr bool
	}{
		{
			name: "set and reset",
			body: `{"offsets":[{"partition":{"server":"0040","report":"act_3","cod_act":"X"},"offset":{"version":1,"window_end":"2026-11-19T00:00:00Z"}},
				{"partition":{"report":"chat_3","server":"0040"},"offset":null}]}`,
			want: []source.OffsetChange{
				{Key: offsets.Key{Connector: "c", Server: "0040", Report: "act_3", Params: map[string]string{"cod_act": "X"}},
					Position: &offsets.Position{Version: 1, WindowEnd: windowEnd}},
				{Key: offsets.Key{Connector: "c", Server: "0040", Report: "chat_3"}},
			},
		},
		{name: "not JSON", body: `{"offsets":`, wantErr: true},
		{name: "trailing data", body: `{"offsets":[{"partition":{"server":"1","report":"r"},"offset":null}]} {}`, wantErr: true},
		{name: "unknown member", body: `{"offsets":[],"extra":1}`, wantErr: true},
		{name: "unknown member of an entry", body: `{"offsets":[{"partition":{"server":"1","report":"r"},"offset":null,"x":1}]}`, wantErr: true},
		{name: "empty list", body: `{"offsets":[]}`, wantErr: true},
		{name: "no partition", body: `{"offsets":[{"offset":null}]}`, wantErr: true},
		{name: "null partition", body: `{"offsets":[{"partition":null,"offset":null}]}`, wantIs: offsets.ErrMalformedKey},
		{name: "partition without report", body: `{"offsets":[{"partition":{"server":"1"},"offset":null}]}`, wantIs: offsets.ErrMalformedKey},
		{name: "partition value not a string", body: `{"offsets":[{"partition":{"server":1,"report":"r"},"offset":null}]}`, wantIs: offsets.ErrMalformedKey},
		{name: "no offset", body: `{"offsets":[{"partition":{"server":"1","report":"r"}}]}`, wantErr: true},
		{name: "offset without version", body: `{"offsets":[{"partition":{"server":"1","report":"r"},"offset":{"window_end":"2026-11-19T00:00:00Z"}}]}`, wantIs: offsets.ErrMalformedPosition},
		{name: "offset of a newer version", body: `{"offsets":[{"partition":{"server":"1","report":"r"},"offset":{"version":2}}]}`, wantIs: offsets.ErrUnsupportedVersion},
		{
			name:    "same partition twice",
			body:    `{"offsets":[{"partition":{"server":"1","report":"r"},"offset":null},{"partition":{"report":"r","server":"1"},"offset":null}]}`,
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOffsets("c", []byte(tt.body))
			if tt.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			var apiErr *Error
			if !errors.As(err, &apiErr) || apiErr.Code != http.StatusBadRequest {
				t.Fatalf("err %v, want a 400 *Error", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err %v is not %v", err, tt.wantIs)
			}
		})
	}
}

// TestOffsetsRoundTrip: what GET answers, PATCH accepts unchanged.
func TestOffsetsRoundTrip(t *testing.T) {
	entries := []offsets.Entry{{
		Key: offsets.Key{Connector: "c", Server: "0040", Report: "act_3", Params: map[string]string{"cod_act": "X \"quoted\" é"}},
		Position: offsets.Position{Version: 1, LastSeen: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), WindowEnd: time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC),
			Seen: []offsets.Seen{{ID: 1, Version: 2, Time: 1700000000}, {ID: 3, Version: 4, Time: 1700000060}}, Extra: map[string]string{"bucket": "x"}},
	}}
	view, err := viewOffsets(entries)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := parseOffsets("c", body)
	if err != nil {
		t.Fatalf("PATCH of GET's answer: %v\n%s", err, body)
	}
	if len(changes) != 1 || changes[0].Position == nil || !reflect.DeepEqual(changes[0].Key, entries[0].Key) ||
		!reflect.DeepEqual(*changes[0].Position, entries[0].Position) {
		t.Errorf("round trip changed the offset:\n got %+v\nwant %+v", changes, entries)
	}
}

// FuzzParseOffsets: any body either fails with a 400 or yields changes that belong to
// the connector, encode as keys, and survive a GET/PATCH round trip unchanged.
func FuzzParseOffsets(f *testing.F) {
	for _, s := range []string{
		`{"offsets":[{"partition":{"server":"0040","report":"act_3","cod_act":"X"},"offset":{"version":1,"window_end":"2026-11-19T00:00:00Z"}}]}`,
		`{"offsets":[{"partition":{"server":"1","report":"r"},"offset":null}]}`,
		`{"offsets":[{"partition":{"server":"1","report":"r"},"offset":{"version":1,"seen_count":1,"seen":"AgAAAAAAAAABAAAAAAAAAAI="}}]}`,
		`{"offsets":[{"partition":null,"offset":null}]}`,
		`{"offsets":[]}`, `[]`, `null`, ``,
	} {
		f.Add("c", []byte(s))
	}
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		changes, err := parseOffsets(name, body)
		if err != nil {
			var apiErr *Error
			if !errors.As(err, &apiErr) || apiErr.Code != http.StatusBadRequest {
				// Only a name that cannot be JSON-encoded may fail otherwise, and
				// json.Marshal encodes every Go string.
				t.Fatalf("err %v, want a 400 *Error", err)
			}
			return
		}
		if len(changes) == 0 {
			t.Fatal("no error and no change")
		}
		var entries []offsets.Entry
		for _, ch := range changes {
			if ch.Key.Connector != name {
				t.Fatalf("change for connector %q parsed for %q", ch.Key.Connector, name)
			}
			if _, err := ch.Key.Encode(); err != nil {
				t.Fatalf("parsed key does not encode: %v", err)
			}
			if ch.Position != nil {
				entries = append(entries, offsets.Entry{Key: ch.Key, Position: *ch.Position})
			}
		}
		if len(entries) == 0 {
			return
		}
		view, err := viewOffsets(entries)
		if err != nil {
			t.Fatal(err)
		}
		again, err := json.Marshal(view)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseOffsets(name, again)
		if err != nil {
			t.Fatalf("GET's rendering of parsed offsets does not parse: %v\n%s", err, again)
		}
		if len(back) != len(entries) {
			t.Fatalf("%d changes after the round trip, want %d", len(back), len(entries))
		}
	})
}
