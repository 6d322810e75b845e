package wolkvox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// collect decodes body and returns the rows handed on.
func collect(t *testing.T, body string) ([]Row, envelope, error) {
	t.Helper()
	var rows []Row
	env, err := decode(strings.NewReader(body), func(r Row) error {
		rows = append(rows, slices.Clone(r))
		return nil
	})
	return rows, env, err
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// row builds a Row from alternating keys and values; a value of nil makes a Null cell.
func row(kv ...any) Row {
	var r Row
	for i := 0; i < len(kv); i += 2 {
		c := Cell{Key: kv[i].(string)}
		if kv[i+1] == nil {
			c.Null = true
		} else {
			c.Value = kv[i+1].(string)
		}
		r = append(r, c)
	}
	return r
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		want     []Row
		wantEnv  envelope
		wantMalf bool
	}{
		{
			name:    "flat rows, code as string",
			body:    `{"code":"200","error":null,"msg":"2 records were found","data":[{"a":"1","b":"x"},{"a":"2","b":"y"}]}`,
			want:    []Row{row("a", "1", "b", "x"), row("a", "2", "b", "y")},
			wantEnv: envelope{code: "200", hasCode: true, msg: "2 records were found", hasData: true, rows: 2},
		},
		{
			name:    "code as number, values of every JSON kind",
			body:    `{"code":200,"error":null,"msg":"x","data":[{"s":"t","n":12.50,"i":-3,"e":1e3,"b":true,"f":false,"z":null}]}`,
			want:    []Row{row("s", "t", "n", "12.50", "i", "-3", "e", "1e3", "b", "true", "f", "false", "z", nil)},
			wantEnv: envelope{code: "200", hasCode: true, msg: "x", hasData: true, rows: 1},
		},
		{
			name:    "members in any order, msg not a string",
			body:    `{"data":[{"a":"1"}],"msg":{"n":1},"error":"none","code":" 200 "}`,
			want:    []Row{row("a", "1")},
			wantEnv: envelope{code: "200", hasCode: true, errorText: "none", msg: `{"n":1}`, hasData: true, rows: 1},
		},
		{
			name:    "keys kept byte for byte, escapes decoded",
			body:    `{"code":"200","data":[{"agent_anwers ":"7","aht_outbund":"0:01:00","\u00f1":"Jos\u00e9 \"P\"\n"}]}`,
			want:    []Row{row("agent_anwers ", "7", "aht_outbund", "0:01:00", "ñ", "José \"P\"\n")},
			wantEnv: envelope{code: "200", hasCode: true, hasData: true, rows: 1},
		},
		{
			name: "nested array: parent fields first, those after the array too",
			body: `{"code":"200","data":[{"agent_name":"L","status_x_hour":[{"hour":"08:00","calls":"3"},{"hour":"09:00","calls":"1"}],"agent_id":"7"}]}`,
			want: []Row{
				row("agent_name", "L", "agent_id", "7", "hour", "08:00", "calls", "3"),
				row("agent_name", "L", "agent_id", "7", "hour", "09:00", "calls", "1"),
			},
			wantEnv: envelope{code: "200", hasCode: true, hasData: true, rows: 2},
		},
		{
			name:    "empty nested array: the parent alone",
			body:    `{"code":"200","data":[{"agent_name":"J","status_x_hour":[],"agent_id":"8"}]}`,
			want:    []Row{row("agent_name", "J", "agent_id", "8")},
			wantEnv: envelope{code: "200", hasCode: true, hasData: true, rows: 1},
		},
		{
			name: "only the first array of objects nests; other compound values are JSON text",
			body: `{"code":"200","data":[{"id":"1","conversation":[{"from":"a"}],"tags":["x",2,null],"more":[{"k":"v"}],"meta":{"k":[1,{"a":"b"}]}}]}`,
			want: []Row{
				row("id", "1", "tags", `["x",2,null]`, "more", `[{"k":"v"}]`, "meta", `{"k":[1,{"a":"b"}]}`, "from", "a"),
			},
			wantEnv: envelope{code: "200", hasCode: true, hasData: true, rows: 1},
		},
		{
			name: "nested element values that are compound become JSON text",
			body: `{"code":"200","data":[{"skill_name":"S","agents":[{"agent_id":"1","x":{"y":"z"}}]}]}`,
			want: []Row{
				row("skill_name", "S", "agent_id", "1", "x", `{"y":"z"}`),
			},
			wantEnv: envelope{code: "200", hasCode: true, hasData: true, rows: 1},
		},
		{
			name: "object data keyed by bucket",
			body: `{"code":200,"data":{"0_5_seg":{"calls":"1"},"6_20_seg":{"calls":"2"}}}`,
			want: []Row{
				row("bucket", "0_5_seg", "calls", "1"),
				row("bucket", "6_20_seg", "calls", "2"),
			},
			wantEnv: envelope{code: "200", hasCode: true, hasData: true, rows: 2},
		},
		{
			name:    "object data with scalar members is one row",
			body:    `{"code":200,"data":{"calls":"1","minutes":"3"}}`,
			want:    []Row{row("calls", "1", "minutes", "3")},
			wantEnv: envelope{code: "200", hasCode: true, hasData: true, rows: 1},
		},
		{
			name:    "empty data object and array",
			body:    `{"code":200,"data":{},"x":[]}`,
			wantEnv: envelope{code: "200", hasCode: true, hasData: true},
		},
		{
			name:    "null data",
			body:    `{"code":200,"data":null}`,
			wantEnv: envelope{code: "200", hasCode: true, hasData: true},
		},
		{
			name:    "string data",
			body:    `{"code":200,"data":""}`,
			wantEnv: envelope{code: "200", hasCode: true, hasData: true},
		},
		{
			name:    "error body",
			body:    `{"code": 403, "error": "FORBIDDEN", "msg": "TOKEN LIMIT EXCEEDED"}`,
			wantEnv: envelope{code: "403", hasCode: true, errorText: "FORBIDDEN", msg: "TOKEN LIMIT EXCEEDED"},
		},
		{name: "empty body", body: ``, wantMalf: true},
		{name: "html", body: `<html><body>maintenance</body></html>`, wantMalf: true},
		{name: "top-level array", body: `[{"code":200}]`, wantMalf: true},
		{name: "trailing garbage", body: `{"code":200,"data":[]}<br/>Notice`, wantMalf: true},
		{name: "second value", body: `{"code":200,"data":[]} {}`, wantMalf: true},
		{name: "data element not an object", body: `{"code":200,"data":["a"]}`, wantMalf: true},
		{
			name:     "bucket member not an object",
			body:     `{"code":200,"data":{"a":{"x":"1"},"b":"2"}}`,
			want:     []Row{row("bucket", "a", "x", "1")},
			wantMalf: true,
		},
		{name: "nested array mixing objects", body: `{"code":200,"data":[{"n":[{"a":"1"},"x"]}]}`, wantMalf: true},
		{
			name:     "cut in the middle of a row",
			body:     `{"code":"200","data":[{"a":"1"},{"a":"2","b":"x`,
			want:     []Row{row("a", "1")},
			wantEnv:  envelope{code: "200", hasCode: true, hasData: true, rows: 1},
			wantMalf: true,
		},
		{
			name:     "cut before the closing brace",
			body:     `{"code":"200","data":[{"a":"1"}]`,
			want:     []Row{row("a", "1")},
			wantEnv:  envelope{code: "200", hasCode: true, hasData: true, rows: 1},
			wantMalf: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, env, err := collect(t, tt.body)
			if got := errors.Is(err, errMalformed); got != tt.wantMalf {
				t.Fatalf("err = %v, want malformed %v", err, tt.wantMalf)
			}
			if !reflect.DeepEqual(rows, tt.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", rows, tt.want)
			}
			if !tt.wantMalf && env != tt.wantEnv {
				t.Errorf("envelope = %+v, want %+v", env, tt.wantEnv)
			}
		})
	}
}

func TestDecodeFixtures(t *testing.T) {
	tests := []struct {
		file     string
		rows     int
		code     string
		check    func(t *testing.T, rows []Row)
		wantMalf bool
	}{
		{file: "diagram_13_code_string.json", rows: 3, code: "200", check: func(t *testing.T, rows []Row) {
			if v, _ := rows[1].Get("cod_opc_menu"); v != "ASESOR" {
				t.Errorf("cod_opc_menu = %q", v)
			}
		}},
		{file: "act_3_code_number.json", rows: 2, code: "200", check: func(t *testing.T, rows []Row) {
			if v, _ := rows[0].Get("comments"); v != "Cliente acepta \"plan 2\"\nllamar lunes" {
				t.Errorf("comments = %q", v)
			}
			if v, _ := rows[1].Get("agent_id"); v != "1046" {
				t.Errorf("numeric agent_id = %q", v)
			}
			if _, ok := rows[1].Get("agent_dni"); ok {
				t.Errorf("null agent_dni read as present")
			}
		}},
		{file: "chat_1.json", rows: 1, code: "200", check: func(t *testing.T, rows []Row) {
			if v, ok := rows[0].Get("agent_anwers "); !ok || v != "7" {
				t.Errorf(`"agent_anwers " = %q, %v`, v, ok)
			}
		}},
		{file: "cdr_4.json", rows: 5, code: "200", check: func(t *testing.T, rows []Row) {
			want := row("bucket", "greater_than_121", "calls", "120", "minutes", "540", "cost", "54.00", "percentage", "10.00 %")
			if !reflect.DeepEqual(rows[4], want) {
				t.Errorf("last row %+v, want %+v", rows[4], want)
			}
		}},
		{file: "agent_5.json", rows: 3, code: "200", check: func(t *testing.T, rows []Row) {
			if rows[0][0].Key != "agent_name" || rows[0][1].Key != "agent_id" || rows[0][2].Key != "hour" {
				t.Errorf("parent fields do not come first: %+v", rows[0])
			}
			if v, _ := rows[1].Get("occupancy"); v != "63.54 %" {
				t.Errorf("occupancy = %q", v)
			}
			if want := row("agent_name", "JOSÉ PÉREZ", "agent_id", "1046"); !reflect.DeepEqual(rows[2], want) {
				t.Errorf("agent without hours = %+v, want %+v", rows[2], want)
			}
		}},
		{file: "truncated.json", rows: 1, code: "200", wantMalf: true},
		{file: "html_200.html", wantMalf: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rows, env, err := collect(t, string(fixture(t, tt.file)))
			if errors.Is(err, errMalformed) != tt.wantMalf {
				t.Fatalf("err = %v, want malformed %v", err, tt.wantMalf)
			}
			if len(rows) != tt.rows || env.rows != tt.rows {
				t.Fatalf("got %d rows (counted %d), want %d", len(rows), env.rows, tt.rows)
			}
			if env.code != tt.code {
				t.Errorf("code = %q, want %q", env.code, tt.code)
			}
			if tt.check != nil {
				tt.check(t, rows)
			}
		})
	}
}

func TestDecodeStopsOnHandlerError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	env, err := decode(strings.NewReader(string(fixture(t, "diagram_13_code_string.json"))), func(Row) error {
		n++
		if n == 2 {
			return boom
		}
		return nil
	})
	var herr *handlerError
	if !errors.As(err, &herr) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the handler's error", err)
	}
	if n != 2 || env.rows != 1 {
		t.Errorf("handler called %d times, %d rows counted; want 2 and 1", n, env.rows)
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestDecodeReadError(t *testing.T) {
	cause := errors.New("connection reset")
	_, err := decode(&failingReader{r: strings.NewReader(`{"code":"200","data":[{"a":"1"}`), err: cause}, func(Row) error { return nil })
	if !errors.Is(err, cause) || errors.Is(err, errMalformed) {
		t.Fatalf("err = %v, want the reader's error, not malformed", err)
	}
}

// FuzzDecode checks that the decoder never panics, that rows only come from well-formed
// JSON objects, and that every row it produces is a well-formed flat object.
func FuzzDecode(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			f.Add(fixture(f, e.Name()))
		}
	}
	for _, s := range []string{
		`{"code":200,"data":{"a":{"b":"1"}}}`,
		`{"code":200,"data":[{"n":[{"a":"1"}],"m":[{"b":2}]}]}`,
		`{"data":[{"a":"1"}],"code":403,"msg":"TOKEN LIMIT EXCEEDED"}`,
		`{"code":"200","data":[{"a":[[],{}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var rows []Row
		env, err := decode(strings.NewReader(string(body)), func(r Row) error {
			rows = append(rows, slices.Clone(r))
			return nil
		})
		if len(rows) != env.rows {
			t.Fatalf("%d rows handed on, %d counted", len(rows), env.rows)
		}
		if err == nil && !json.Valid(body) {
			t.Fatalf("invalid JSON decoded without error: %q", body)
		}
		for _, r := range rows {
			b, err := r.MarshalJSON()
			if err != nil || !json.Valid(b) {
				t.Fatalf("row %+v does not marshal: %v", r, err)
			}
		}
	})
}

// jsonFlatRows decodes body with encoding/json into the rows decode must hand on, when body
// is an object whose "data" members are arrays of objects of scalar values (ok is false
// otherwise): the reference for each row's keys and value texts.
func jsonFlatRows(body []byte) (rows []Row, ok bool) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, false
		}
		if key != "data" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil, false
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil, false
		}
		for dec.More() {
			if t, err := dec.Token(); err != nil || t != json.Delim('{') {
				return nil, false
			}
			r := Row{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, false
				}
				v, err := dec.Token()
				if err != nil {
					return nil, false
				}
				c := Cell{Key: k.(string)}
				switch v := v.(type) {
				case string:
					c.Value = v
				case json.Number:
					c.Value = string(v)
				case bool:
					c.Value = fmt.Sprint(v)
				case nil:
					c.Null = true
				default:
					return nil, false // a compound value: not a flat row
				}
				r = append(r, c)
			}
			if _, err := dec.Token(); err != nil {
				return nil, false
			}
			rows = append(rows, slices.Clone(r))
		}
		if _, err := dec.Token(); err != nil {
			return nil, false
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	return rows, true
}

// FuzzDecodeRowsMatchEncodingJSON holds the rows of flat bodies to what encoding/json
// reads: the same keys and the same texts, escapes and invalid UTF-8 included, although
// decode gathers a row's values in one string.
func FuzzDecodeRowsMatchEncodingJSON(f *testing.F) {
	for _, name := range []string{"diagram_13_code_string.json", "act_3_code_number.json", "chat_1.json"} {
		f.Add(fixture(f, name))
	}
	for _, s := range []string{
		`{"code":200,"data":[{"a":"1","b":"","c":null,"d":-1.5e3,"e":true,"f":"\u00e9\"\n","g":"\ud800x"}]}`,
		"{\"code\":200,\"data\":[{\"a\":\"\xff\xfe\",\"b\":\"x\"},{},{\"a\":\"\"}]}",
		`{"data":[{"k":"v"}],"code":"200","data":[{"k":"w","n":0}]}`,
		// Members the quick way (plainMember) beside those it leaves to the scanner:
		// blanks, non-ASCII text, escapes, a literal cut short.
		`{"code":200,"data":[{"a":"ñandú","b" : "x", "c":null ,"d":"\u00e9é","e":null,"f":nul}]}`,
		`{"code":200,"data":[{"a":"ñandú","b":"x","c":null,"d":"\u00e9é","e":null,"f":"0123456789abcdef"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// Read in pieces, the body must give the same rows and error as read whole:
		// the decoder's quick way through a row stops at the end of the buffer.
		read := func(r io.Reader) (rows []Row, err error) {
			_, err = decode(r, func(r Row) error {
				rows = append(rows, slices.Clone(r))
				return nil
			})
			return rows, err
		}
		got, err := read(strings.NewReader(string(body)))
		for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(body)), iotest.HalfReader(bytes.NewReader(body))} {
			rows, pieceErr := read(r)
			if fmt.Sprint(pieceErr) != fmt.Sprint(err) || len(rows) != len(got) {
				t.Fatalf("read in pieces: %d rows, %v; read whole: %d rows, %v", len(rows), pieceErr, len(got), err)
			}
			for i := range got {
				if !slices.Equal(rows[i], got[i]) {
					t.Fatalf("read in pieces, row %d = %+v; read whole, %+v", i, rows[i], got[i])
				}
			}
		}
		want, ok := jsonFlatRows(body)
		if !ok || err != nil {
			return // what the envelope rules refuse is decode_test's
		}
		if len(got) != len(want) {
			t.Fatalf("%d rows, encoding/json reads %d", len(got), len(want))
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) && !(len(got[i]) == 0 && len(want[i]) == 0) {
				t.Fatalf("row %d = %+v, encoding/json reads %+v", i, got[i], want[i])
			}
		}
	})
}
