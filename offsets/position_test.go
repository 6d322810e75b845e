package offsets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seenRows returns n distinct rows spread over a day, as a poller would record them.
func seenRows(n int, seed uint64) []Seen {
	r := rand.New(rand.NewPCG(seed, seed))
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	out := make([]Seen, n)
	for i := range out {
		out[i] = Seen{ID: r.Uint64(), Version: r.Uint64(), Time: base + int64(r.IntN(86400))}
	}
	return out
}

func TestPositionRoundTrip(t *testing.T) {
	ts := time.Date(2025, 3, 1, 12, 30, 5, 0, time.UTC)
	tests := []struct {
		name string
		pos  Position
	}{
		{name: "empty", pos: Position{}},
		{name: "times only", pos: Position{LastSeen: ts, WindowEnd: ts.Add(time.Hour)}},
		{name: "sub-second and non-UTC times", pos: Position{LastSeen: ts.Add(123 * time.Millisecond).In(time.FixedZone("COT", -5*3600))}},
		{name: "extra cursors", pos: Position{WindowEnd: ts, Extra: map[string]string{"bucket": "2025-03-01 12", "x": `"q"`}}},
		{name: "one seen row", pos: Position{LastSeen: ts, Seen: []Seen{{ID: 1, Version: 2, Time: ts.Unix()}}}},
		{name: "extreme values", pos: Position{Seen: []Seen{
			{ID: math.MaxUint64, Version: 0, Time: math.MinInt64},
			{ID: 0, Version: math.MaxUint64, Time: math.MaxInt64},
			{ID: 5, Time: 0},
		}}},
		{name: "60,000 seen rows", pos: Position{LastSeen: ts, WindowEnd: ts, Seen: seenRows(60000, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.pos.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var got Position
			if err := got.Unmarshal(b); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			want := normalized(tt.pos)
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("round trip differs:\n got %+v\nwant %+v", summary(got), summary(want))
			}
			again, err := got.Marshal()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("second Marshal differs (err %v)", err)
			}
			if n := len(tt.pos.Seen); n >= 1000 {
				t.Logf("%d seen rows: %d bytes (%.1f per row)", n, len(b), float64(len(b))/float64(n))
			}
		})
	}
}

// normalized is what Unmarshal returns for p: version set, times in UTC, seen sorted.
func normalized(p Position) Position {
	p.Version = CurrentVersion
	p.LastSeen, p.WindowEnd = p.LastSeen.UTC(), p.WindowEnd.UTC()
	if len(p.Seen) > 0 {
		packed, _ := packSeen(p.Seen)
		p.Seen, _ = unpackSeen(packed, len(p.Seen))
	} else {
		p.Seen = nil
	}
	return p
}

// summary shortens a position for a failure message.
func summary(p Position) string {
	head := p.Seen
	if len(head) > 3 {
		head = head[:3]
	}
	return fmt.Sprintf("{v%d last_seen %s window_end %s extra %v seen %d rows, first %v}",
		p.Version, p.LastSeen, p.WindowEnd, p.Extra, len(p.Seen), head)
}

func TestPositionMarshalSortsAndDedupes(t *testing.T) {
	p := Position{Seen: []Seen{{ID: 2, Time: 10}, {ID: 1, Time: 10}, {ID: 2, Time: 10}, {ID: 9, Time: 5}}}
	orig := append([]Seen(nil), p.Seen...)
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Seen, orig) {
		t.Fatalf("Marshal changed its input: %v", p.Seen)
	}
	var got Position
	if err := got.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	want := []Seen{{ID: 9, Time: 5}, {ID: 1, Time: 10}, {ID: 2, Time: 10}}
	if !reflect.DeepEqual(got.Seen, want) {
		t.Fatalf("seen = %v, want %v", got.Seen, want)
	}
}

func TestPositionWireForm(t *testing.T) {
	p := Position{
		LastSeen:  time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		WindowEnd: time.Date(2025, 3, 1, 12, 5, 0, 0, time.UTC),
		Seen:      []Seen{{ID: 1, Version: 2, Time: 3}},
		Extra:     map[string]string{"k": "v"},
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	packed := []byte{6, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2} // varint(3) = 6
	want := `{"version":1,"last_seen":"2025-03-01T12:00:00Z","window_end":"2025-03-01T12:05:00Z","seen_count":1,"seen":"` +
		base64.StdEncoding.EncodeToString(packed) + `","extra":{"k":"v"}}`
	if string(b) != want {
		t.Fatalf("wire form:\n got %s\nwant %s", b, want)
	}
}

func TestPositionVersion(t *testing.T) {
	tests := []struct {
		in          string
		wantVersion int // non-zero: a *VersionError with this version
	}{
		{in: `{"version":2}`, wantVersion: 2},
		{in: `{"version":0}`, wantVersion: 0},
		{in: `{"version":-1,"seen":5}`, wantVersion: -1},
		{in: `{"version":2,"last_seen":12}`, wantVersion: 2}, // a newer format's types are not judged
		{in: `{}`},
		{in: `{"version":"1"}`},
		{in: `{"version":1.5}`},
		{in: `{"version":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var p Position
			err := p.Unmarshal([]byte(tt.in))
			var ve *VersionError
			switch {
			case errors.As(err, &ve):
				if !errors.Is(err, ErrUnsupportedVersion) || ve.Version != tt.wantVersion || tt.in == `{}` {
					t.Fatalf("err = %v (version %d), want version %d", err, ve.Version, tt.wantVersion)
				}
			case tt.wantVersion != 0 || tt.in == `{"version":0}`:
				t.Fatalf("err = %v, want a VersionError", err)
			case !errors.Is(err, ErrMalformedPosition):
				t.Fatalf("err = %v, want ErrMalformedPosition", err)
			}
		})
	}
	if _, err := (Position{Version: 2}).Marshal(); !errors.Is(err, ErrMalformedPosition) {
		t.Fatalf("Marshal of version 2: %v, want ErrMalformedPosition", err)
	}
}

func TestPositionUnmarshalRejects(t *testing.T) {
	enc := func(b ...byte) string { return base64.StdEncoding.EncodeToString(b) }
	row := func(delta byte) []byte { return append([]byte{delta}, make([]byte, 16)...) }
	tests := map[string]string{
		"not JSON":             `{`,
		"array":                `[1]`,
		"bad time":             `{"version":1,"last_seen":"2025-03-01 12:00:00"}`,
		"time without zone":    `{"version":1,"window_end":"2025-03-01T12:00:00"}`,
		"bad base64":           `{"version":1,"seen_count":1,"seen":"!!"}`,
		"count missing":        `{"version":1,"seen":"` + enc(row(0)...) + `"}`,
		"count too high":       `{"version":1,"seen_count":2,"seen":"` + enc(row(0)...) + `"}`,
		"negative count":       `{"version":1,"seen_count":-1}`,
		"truncated row":        `{"version":1,"seen_count":1,"seen":"` + enc(row(0)[:10]...) + `"}`,
		"duplicate row":        `{"version":1,"seen_count":2,"seen":"` + enc(append(row(0), row(0)...)...) + `"}`,
		"extra bytes":          `{"version":1,"seen_count":1,"seen":"` + enc(append(row(0), 1)...) + `"}`,
		"extra wrong type":     `{"version":1,"extra":{"a":1}}`,
		"seen_count not a num": `{"version":1,"seen_count":"1"}`,
		"time delta overflow": `{"version":1,"seen_count":2,"seen":"` + enc(append(
			append([]byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, make([]byte, 16)...), // MaxInt64
			append([]byte{1}, make([]byte, 16)...)...)...) + `"}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			p := Position{Extra: map[string]string{"keep": "me"}}
			err := p.Unmarshal([]byte(in))
			if !errors.Is(err, ErrMalformedPosition) {
				t.Fatalf("Unmarshal(%s) = %v, want ErrMalformedPosition", in, err)
			}
			if p.Extra["keep"] != "me" {
				t.Fatal("Unmarshal changed the position on error")
			}
		})
	}
}

func TestPositionTooLarge(t *testing.T) {
	n := MaxPositionBytes/17 + 1 // over the bound even before base64
	_, err := Position{Seen: seenRows(n, 2)}.Marshal()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Marshal of %d rows = %v, want ErrTooLarge", n, err)
	}
}

func TestPositionBadTime(t *testing.T) {
	_, err := Position{LastSeen: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}.Marshal()
	if !errors.Is(err, ErrMalformedPosition) {
		t.Fatalf("Marshal of year 10000 = %v, want ErrMalformedPosition", err)
	}
}

func TestRecord(t *testing.T) {
	key := Key{Connector: "c", Server: "0040", Report: "act_3"}
	pos := Position{WindowEnd: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, err := Record("offs", key, &pos)
	if err != nil {
		t.Fatal(err)
	}
	if r.Topic != "offs" || string(r.Key) != `["c",{"server":"0040","report":"act_3"}]` || !strings.Contains(string(r.Value), `"window_end":"2025-01-01T00:00:00Z"`) {
		t.Fatalf("record = %s %s %s", r.Topic, r.Key, r.Value)
	}
	tomb, err := Record("offs", key, nil)
	if err != nil || tomb.Value != nil || !bytes.Equal(tomb.Key, r.Key) {
		t.Fatalf("tombstone = %+v, %v", tomb, err)
	}
	if _, err := Record("offs", Key{}, nil); !errors.Is(err, ErrMalformedKey) {
		t.Fatalf("bad key: %v", err)
	}
}

// FuzzPositionUnmarshal feeds arbitrary bytes, as the offsets topic may hold anything:
// Unmarshal never panics, fails only with this package's errors, and whatever it reads
// re-encodes to bytes that read back to the same position.
func FuzzPositionUnmarshal(f *testing.F) {
	for _, p := range []Position{
		{},
		{LastSeen: time.Unix(1700000000, 0), WindowEnd: time.Unix(1700000300, 5)},
		{Seen: seenRows(3, 3), Extra: map[string]string{"a": "b"}},
	} {
		b, err := p.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"seen_count":1,"seen":"AAAAAAAAAAAAAAAAAAAAAAA="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Position
		if err := p.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformedPosition) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("error %v is neither ErrMalformedPosition nor ErrUnsupportedVersion", err)
			}
			return
		}
		m1, err := p.Marshal()
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return
			}
			t.Fatalf("read position does not marshal: %v", err)
		}
		var p2 Position
		if err := p2.Unmarshal(m1); err != nil {
			t.Fatalf("re-encoded position does not read: %v", err)
		}
		m2, err := p2.Marshal()
		if err != nil || !bytes.Equal(m1, m2) {
			t.Fatalf("unstable: %s then %s (%v)", m1, m2, err)
		}
	})
}

// TestPositionMarshalIsItsJSON: Marshal, which writes its JSON by hand into one
// buffer, writes exactly what encoding/json writes for the wire form, for positions
// with and without each member.
func TestPositionMarshalIsItsJSON(t *testing.T) {
	for i, p := range []Position{
		{},
		{LastSeen: time.Unix(1700000000, 0)},
		{WindowEnd: time.Unix(1700000300, 5)},
		{Seen: seenRows(1, 1)},
		{Seen: seenRows(500, 2), LastSeen: time.Unix(1700000000, 0), WindowEnd: time.Unix(1700000300, 0)},
		{Extra: map[string]string{"b": "<&>\u2028\"", "a": ""}},
		{Extra: map[string]string{}},
	} {
		got, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		w := wirePosition{Version: json.Number(strconv.Itoa(CurrentVersion)), Extra: p.Extra}
		w.LastSeen, _ = formatTime(p.LastSeen)
		w.WindowEnd, _ = formatTime(p.WindowEnd)
		if len(p.Seen) > 0 {
			packed, n := packSeen(p.Seen)
			w.SeenCount, w.Seen = n, base64.StdEncoding.EncodeToString(packed)
		}
		want, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("position %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// BenchmarkMarshal60k marshals the position of a 60,000-row window, as every commit of
// a catch-up window does; B/op is the garbage each commit leaves.
func BenchmarkMarshal60k(b *testing.B) {
	p := Position{Seen: seenRows(60_000, 9), LastSeen: time.Unix(1700000000, 0), WindowEnd: time.Unix(1700000300, 0)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
