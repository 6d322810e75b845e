package offsets

import (
	"errors"
	"reflect"
	"testing"
)

func TestKeyEncode(t *testing.T) {
	tests := []struct {
		name string
		key  Key
		want string
	}{
		{
			name: "the brief's example",
			key:  Key{Connector: "c1", Server: "0040", Report: "act_3"},
			want: `["c1",{"server":"0040","report":"act_3"}]`,
		},
		{
			name: "parameters sorted after server and report",
			key:  Key{Connector: "prod", Server: "0040", Report: "cdr_1", Params: map[string]string{"skill_id": "all", "campaign_id": "7", "b": ""}},
			want: `["prod",{"server":"0040","report":"cdr_1","b":"","campaign_id":"7","skill_id":"all"}]`,
		},
		{
			name: "empty params map encodes like none",
			key:  Key{Connector: "c", Server: "", Report: "r", Params: map[string]string{}},
			want: `["c",{"server":"","report":"r"}]`,
		},
		{
			name: "quote and backslash escaped",
			key:  Key{Connector: `a"b\c`, Server: "1", Report: "r"},
			want: `["a\"b\\c",{"server":"1","report":"r"}]`,
		},
		{
			name: "control characters as Jackson writes them",
			key:  Key{Connector: "a\b\t\n\f\r\x00\x1f", Server: "1", Report: "r"},
			want: `["a\b\t\n\f\r\u0000\u001F",{"server":"1","report":"r"}]`,
		},
		{
			name: "HTML characters, DEL, slash and non-ASCII are not escaped",
			key:  Key{Connector: "<a&b>/\x7f", Server: "ñ", Report: "r\u2028\U0001F600"},
			want: "[\"<a&b>/\x7f\",{\"server\":\"ñ\",\"report\":\"r\u2028\U0001F600\"}]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.key.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("Encode:\n got %s\nwant %s", got, tt.want)
			}
			back, err := DecodeKey(got)
			if err != nil {
				t.Fatalf("DecodeKey: %v", err)
			}
			want := tt.key
			if len(want.Params) == 0 {
				want.Params = nil
			}
			if !reflect.DeepEqual(want, back) {
				t.Fatalf("round trip: got %+v, want %+v", back, want)
			}
		})
	}
}

func TestKeyEncodeRejects(t *testing.T) {
	tests := []struct {
		name string
		key  Key
	}{
		{"empty connector", Key{Server: "1", Report: "r"}},
		{"empty report", Key{Connector: "c", Server: "1"}},
		{"reserved param server", Key{Connector: "c", Report: "r", Params: map[string]string{"server": "x"}}},
		{"reserved param report", Key{Connector: "c", Report: "r", Params: map[string]string{"report": "x"}}},
		{"invalid UTF-8 connector", Key{Connector: "c\xff", Report: "r"}},
		{"invalid UTF-8 param name", Key{Connector: "c", Report: "r", Params: map[string]string{"\xff": "x"}}},
		{"invalid UTF-8 param value", Key{Connector: "c", Report: "r", Params: map[string]string{"p": "\xfe"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := tt.key.Encode(); !errors.Is(err, ErrMalformedKey) {
				t.Fatalf("Encode = %q, %v; want ErrMalformedKey", b, err)
			}
		})
	}
}

func TestDecodeKey(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Key
		wantErr bool
	}{
		{name: "other tool's spacing and order", in: ` [ "c1" , { "report" : "act_3", "skill_id":"all", "server":"0040" } ] `,
			want: Key{Connector: "c1", Server: "0040", Report: "act_3", Params: map[string]string{"skill_id": "all"}}},
		{name: "unicode escapes", in: `["c\u00f1",{"server":"\u0030","report":"r"}]`, want: Key{Connector: "cñ", Server: "0", Report: "r"}},
		{name: "not JSON", in: `nope`, wantErr: true},
		{name: "object, not array", in: `{"server":"1","report":"r"}`, wantErr: true},
		{name: "one element", in: `["c"]`, wantErr: true},
		{name: "three elements", in: `["c",{"server":"1","report":"r"},1]`, wantErr: true},
		{name: "connector not a string", in: `[1,{"server":"1","report":"r"}]`, wantErr: true},
		{name: "partition null", in: `["c",null]`, wantErr: true},
		{name: "number value (Connect allows it, this package does not write it)", in: `["c",{"server":"1","report":"r","n":1}]`, wantErr: true},
		{name: "no server", in: `["c",{"report":"r"}]`, wantErr: true},
		{name: "no report", in: `["c",{"server":"1"}]`, wantErr: true},
		{name: "empty connector", in: `["",{"server":"1","report":"r"}]`, wantErr: true},
		{name: "trailing garbage", in: `["c",{"server":"1","report":"r"}]x`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeKey([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformedKey) {
					t.Fatalf("DecodeKey = %+v, %v; want ErrMalformedKey", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeKey: %v", err)
			}
			if !reflect.DeepEqual(tt.want, got) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzDecodeKey feeds arbitrary bytes, as the offsets topic may hold anything: decoding
// never panics, and whatever decodes re-encodes to a canonical form that is stable.
func FuzzDecodeKey(f *testing.F) {
	for _, s := range []string{
		`["c1",{"server":"0040","report":"act_3"}]`,
		`["c",{"server":"1","report":"r","skill_id":"all"}]`,
		`["a\"b\\c\u0000",{"report":"r","server":"<&>"}]`,
		`["c",null]`, `[]`, `{}`, `[1,2]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := DecodeKey(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedKey) {
				t.Fatalf("error %v is not ErrMalformedKey", err)
			}
			return
		}
		enc, err := k.Encode()
		if err != nil {
			// Decoding accepts names Encode reserves only if they collide, which
			// DecodeKey removes; anything else must encode.
			t.Fatalf("decoded key %+v does not encode: %v", k, err)
		}
		k2, err := DecodeKey(enc)
		if err != nil {
			t.Fatalf("canonical %s does not decode: %v", enc, err)
		}
		if !reflect.DeepEqual(k, k2) {
			t.Fatalf("unstable round trip: %+v then %+v", k, k2)
		}
	})
}
