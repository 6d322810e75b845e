package gen

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

func TestParseBody(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		shape      bodyShape
		keys       []string
		nested     string
		nestedKeys []string
		buckets    []string
	}{
		{
			name:  "array keeps order and odd keys",
			body:  `{"code":"200","error":null,"msg":"2 records were found","data":[{"b":"1","agent_anwers ":"x"},{"b":"2","a":"0:01:02"}]}`,
			shape: shapeArray, keys: []string{"b", "agent_anwers ", "a"},
		},
		{
			name:  "nested array",
			body:  `{"code":200,"data":[{"agent_id":"1","status_x_hour":[{"hour":"08:00","calls":"3"}]}]}`,
			shape: shapeNested, keys: []string{"agent_id", "status_x_hour"}, nested: "status_x_hour", nestedKeys: []string{"hour", "calls"},
		},
		{
			name:  "object keyed by bucket",
			body:  `{"code":200,"data":{"0_5_seg":{"calls":"1","cost":"2"},"6_20_seg":{"calls":"3","cost":"4"}}}`,
			shape: shapeObject, keys: []string{"calls", "cost"}, buckets: []string{"0_5_seg", "6_20_seg"},
		},
		{
			name:  "numbers and nulls as values",
			body:  `{"code":200,"data":[{"calls":12,"cost":null}]}`,
			shape: shapeArray, keys: []string{"calls", "cost"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := parseBody([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if b.shape != tt.shape || !slices.Equal(b.keys, tt.keys) || b.nested != tt.nested ||
				!slices.Equal(b.nestedKeys, tt.nestedKeys) || !slices.Equal(b.buckets, tt.buckets) {
				t.Errorf("got shape %d keys %q nested %q %q buckets %q", b.shape, b.keys, b.nested, b.nestedKeys, b.buckets)
			}
		})
	}
}

func TestParseBodyRejects(t *testing.T) {
	tests := map[string]string{
		"no data":            `{"code":200}`,
		"data is a string":   `{"data":"x"}`,
		"error without null": `{"error": ,"data":[]}`,
		"unterminated":       `{"data":[{"a":""}`,
		"two nested arrays":  `{"data":[{"a":[{"x":""}],"b":[{"y":""}]}]}`,
		"nested in object":   `{"data":{"k":{"a":[{"x":""}]}}}`,
		"object value":       `{"data":[{"a":{"x":""}}]}`,
	}
	for name, body := range tests {
		if _, err := parseBody([]byte(body)); err == nil {
			t.Errorf("%s: parsed %s", name, body)
		}
	}
}

func TestTitle(t *testing.T) {
	tests := map[string]string{
		"Agent time by state (per agent summary: calls, ready time)":       "Agent time by state",
		"Agent events for ONE agent (agent_id required): each state":       "Agent events for ONE agent",
		"Interaction (email/social case) detail; attach_array params":      "Interaction detail",
		"Auxiliary (pause) time per agent per aux state":                   "Auxiliary time per agent per aux state",
		"Customers released from Ley 2300 (Colombian consumer-protection)": "Customers released from Ley 2300",
	}
	for in, want := range tests {
		if got := title(in); got != want {
			t.Errorf("title(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDynamic(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"q01", true}, {"q10", true}, {"quality", false}, {"q", false},
		{"opt12", true}, {"option", false},
		{"service_level_40seg", true}, {"service_level_up", false},
	}
	for _, tt := range tests {
		if got := dynamic(tt.name, []string{"q", "opt", "service_level_"}); got != tt.want {
			t.Errorf("dynamic(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestInferType(t *testing.T) {
	detail := catalog.Report{TimeField: "date", TimeLayout: DefaultTimeLayout}
	day := catalog.Report{TimeField: "date", TimeLayout: "2006-01-02"}
	tests := []struct {
		r      catalog.Report
		name   string
		sample string
		want   catalog.FieldType
	}{
		{detail, "date", "", catalog.Timestamp},
		{day, "date", "", catalog.Date},
		{detail, "calls", "", catalog.Count},
		{detail, "inbound_calls", "", catalog.Count},
		{detail, "time_between_calls", "", catalog.String},
		{detail, "talk", "00:04:23", catalog.Duration},
		{detail, "talk", "0:04:23", catalog.Duration},
		{detail, "preview_percent", "9,336.00 %", catalog.Percent},
		{detail, "time", "", catalog.String},
		{detail, "nlp_credits", "2.887", catalog.String},
	}
	for _, tt := range tests {
		if got := inferType(tt.name, tt.sample, tt.r); got != tt.want {
			t.Errorf("inferType(%q, %q) = %s, want %s", tt.name, tt.sample, got, tt.want)
		}
	}
}

// minimal builds inputs for one report, with the overrides given as a JSON fragment.
func minimal(kind, body, report string) Inputs {
	reports, _ := json.Marshal([]map[string]any{{
		"folder": "F", "name": "n", "api": "x_1", "params": []string{"date_ini", "date_end"},
		"fields": [][2]string{{"date", "String"}, {"conn_id", "String"}}, "body": body,
	}})
	return Inputs{
		Reports:   reports,
		Table:     []byte("| api | what | kind | p | f |\n|---|---|---|---|---|\n| `x_1` | Thing detail (aside) | " + kind + " | - | date |\n"),
		Overrides: []byte(`{"field_docs":{"date":"When.","conn_id":"Id."},"params":{},"typos":{},"reports":{"x_1":` + report + `}}`),
	}
}

func TestGenerate(t *testing.T) {
	body := `{"code":"200","data":[{"date":"2026-03-05 14:22:10","conn_id":"12462.0277.1782402643.44005"}]}`
	reports, err := Generate(minimal("D", body, `{"key_fields":["conn_id"]}`))
	if err != nil {
		t.Fatal(err)
	}
	r := reports[0]
	if r.Title != "Thing detail" || r.Kind != catalog.Detail || r.TimeField != "date" || r.TimeLayout != DefaultTimeLayout ||
		r.MaxWindowSeconds != DefaultMaxWindow || r.Shape != catalog.ShapeArray || len(r.Fields) != 2 ||
		r.Fields[0].Type != catalog.Timestamp || r.Fields[1].Type != catalog.String {
		t.Errorf("unexpected report %+v", r)
	}
	out, err := Marshal(reports)
	if err != nil {
		t.Fatal(err)
	}
	var back []catalog.Report
	if err := json.Unmarshal(out, &back); err != nil || back[0].API != "x_1" || !strings.HasSuffix(string(out), "]\n") {
		t.Errorf("Marshal output does not round-trip: %v", err)
	}
}

func TestGenerateRejects(t *testing.T) {
	body := `{"data":[{"date":"","conn_id":""}]}`
	tests := map[string]Inputs{
		"key not decided":         minimal("D", body, `{}`),
		"key not a field":         minimal("D", body, `{"key_fields":["nope"]}`),
		"time field not a field":  minimal("D", body, `{"key_fields":[],"time_field":"nope"}`),
		"bucket on detail":        minimal("D", body, `{"key_fields":[],"bucket":"1h"}`),
		"bucketed without size":   minimal("T", body, `{"key_fields":[]}`),
		"unknown bucket":          minimal("T", body, `{"key_fields":[],"bucket":"2h"}`),
		"time field on range":     minimal("A", body, `{"key_fields":[],"time_field":"date"}`),
		"unknown override key":    minimal("D", body, `{"key_fields":[],"colour":"red"}`),
		"type of unknown field":   minimal("D", body, `{"key_fields":[],"types":{"nope":"count"}}`),
		"unknown type":            minimal("D", body, `{"key_fields":[],"types":{"conn_id":"colour"}}`),
		"hand typed incomplete":   minimal("D", body, `{"key_fields":[],"hand_typed":true,"types":{"date":"timestamp"}}`),
		"fix that does not apply": minimal("D", body, `{"key_fields":[],"body_fixes":[["zzz","y"]]}`),
		"unmatched prefix":        minimal("D", body, `{"key_fields":[],"dynamic_prefixes":["q"]}`),
		"invalid body":            minimal("D", `{"data":[`, `{"key_fields":[]}`),
		"undocumented field":      minimal("D", `{"data":[{"date":"","other":""}]}`, `{"key_fields":[]}`),
		"required extra param":    minimal("D", body, `{"key_fields":[],"params":[{"name":"p","required":true,"doc":"d"}]}`),
		"unknown kind":            minimal("X", body, `{"key_fields":[]}`),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Generate(in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			var re *ReportError
			if strings.HasPrefix(name, "unknown override") {
				return // decoding overrides.json fails before any report is looked at
			}
			if !errors.As(err, &re) || re.API != "x_1" {
				t.Errorf("got %v, want a ReportError for x_1", err)
			}
		})
	}
}

// FuzzParseBody feeds example bodies (outside input) to the decoder: it must never
// panic, and what it accepts must be self-consistent.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{
		`{"code":"200","error":null,"msg":"1 records were found","data":[{"a":"","b":"1"}]}`,
		`{"data":[{"agent_id":"1","status_x_hour":[{"hour":"08:00"}]}]}`,
		`{"data":{"0_5_seg":{"calls":"1"}}}`,
		`{"data":[{"a":1,"b":null,"c":true}]}`,
		`{"error": ,"data":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := parseBody(raw)
		if err != nil {
			return
		}
		for _, keys := range [][]string{b.keys, b.nestedKeys} {
			for i, k := range keys {
				if slices.Contains(keys[i+1:], k) {
					t.Fatalf("key %q twice in %q", k, keys)
				}
			}
		}
		if (b.shape == shapeNested) != (b.nested != "") {
			t.Fatalf("shape %d with nested %q", b.shape, b.nested)
		}
		if b.nested != "" && !slices.Contains(b.keys, b.nested) {
			t.Fatalf("nested %q not among keys %q", b.nested, b.keys)
		}
	})
}
