package catalog_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog/internal/gen"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// postmanDir holds the Postman extract the catalog is generated from.
const postmanDir = "postman"

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postman is the part of a reports.json entry the tests check against.
type postman struct {
	API    string   `json:"api"`
	Params []string `json:"params"`
	Body   string   `json:"body"`
}

func loadPostman(t *testing.T) []postman {
	t.Helper()
	var ps []postman
	if err := json.Unmarshal(readFile(t, filepath.Join(postmanDir, "reports.json")), &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

func mustLookup(t *testing.T, api string) *catalog.Report {
	t.Helper()
	r, ok := catalog.Lookup(api)
	if !ok {
		t.Fatalf("report %s is not in the catalog", api)
	}
	return r
}

func TestCatalogIsUpToDate(t *testing.T) {
	dir := postmanDir
	reports, err := gen.Generate(gen.Inputs{
		Reports:   readFile(t, filepath.Join(dir, "reports.json")),
		Table:     readFile(t, filepath.Join(dir, "table.md")),
		Overrides: readFile(t, "overrides.json"),
	})
	if err != nil {
		t.Fatalf("generating: %v", err)
	}
	want, err := gen.Marshal(reports)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, "catalog.json"); !bytes.Equal(got, want) {
		t.Fatal("catalog.json is out of date: run go generate ./schemas/catalog")
	}
}

func TestAllReportsPresentInOrder(t *testing.T) {
	var want []string
	for _, p := range loadPostman(t) {
		want = append(want, p.API)
	}
	var got []string
	for _, r := range catalog.All() {
		got = append(got, r.API)
	}
	if len(got) != 104 {
		t.Errorf("catalog has %d reports, want 104", len(got))
	}
	if !slices.Equal(got, want) {
		t.Errorf("catalog reports differ from reports.json:\n got %v\nwant %v", got, want)
	}
}

// keyRE finds every "key": in a body. It is deliberately not a JSON parser: a few
// documented bodies are not valid JSON, and this check must not share the generator's
// repairs.
var keyRE = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"\s*:\s*([\[{]?)`)

// bodyFields derives a report's field names from its example body by the catalog's
// rules: nested array members follow their parent's keys and the array itself is
// dropped, an object's member names become catalog.BucketKeyField, and dynamic
// columns not listed as fields are left out.
func bodyFields(t *testing.T, body string, r *catalog.Report) []string {
	t.Helper()
	i := strings.Index(body, `"data"`)
	if i < 0 {
		t.Fatalf("%s: example body has no data", r.API)
	}
	matches := keyRE.FindAllStringSubmatch(body[i:], -1)[1:] // [0] is "data" itself
	var names []string
	if r.Shape == catalog.ShapeObject {
		names = append(names, catalog.BucketKeyField)
	}
	for _, m := range matches {
		key, opens := m[1], m[2]
		switch {
		case opens == "[" && key == r.NestedField:
			continue
		case opens == "{" && r.Shape == catalog.ShapeObject:
			continue
		case opens != "":
			t.Errorf("%s: key %q opens %s but the report's shape is %s", r.API, key, opens, r.Shape)
		}
		if slices.Contains(names, key) {
			continue
		}
		if _, listed := r.Field(key); !listed && isDynamic(key, r.DynamicPrefixes) {
			continue
		}
		names = append(names, key)
	}
	return names
}

func isDynamic(key string, prefixes []string) bool {
	for _, p := range prefixes {
		rest, ok := strings.CutPrefix(key, p)
		if ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return true
		}
	}
	return false
}

func TestFieldsMatchExampleBody(t *testing.T) {
	for _, p := range loadPostman(t) {
		t.Run(p.API, func(t *testing.T) {
			r := mustLookup(t, p.API)
			want := bodyFields(t, p.Body, r)
			var got []string
			for _, f := range r.Fields {
				got = append(got, f.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("fields\n got %q\nwant %q", got, want)
			}
			for _, pre := range r.DynamicPrefixes {
				if !slices.ContainsFunc(keyRE.FindAllStringSubmatch(p.Body, -1), func(m []string) bool {
					_, listed := r.Field(m[1])
					return !listed && isDynamic(m[1], []string{pre})
				}) && p.API != "skill_1" { // skill_1's family appears only with services_time
					t.Errorf("dynamic prefix %q matches no unlisted key of the body", pre)
				}
			}
		})
	}
}

func TestTypoKeysKeptByteForByte(t *testing.T) {
	tests := []struct{ api, key string }{
		{"chat_1", "agent_anwers "},
		{"agent_1", "aht_outbund"},
		{"campaign_9", "campaing_id"},
		{"chat_13", "chanel"},
		{"wizard_3", "explation"},
		{"skill_8", "anwers_greater_than_51seg"},
		{"quality_3", "yes/no"},
	}
	for _, tt := range tests {
		if _, ok := mustLookup(t, tt.api).Field(tt.key); !ok {
			t.Errorf("%s: field %q missing", tt.api, tt.key)
		}
	}
	if _, ok := mustLookup(t, "chat_1").Field("agent_anwers"); ok {
		t.Error("chat_1: agent_anwers lost its trailing space")
	}
}

func TestParamsMatchPostman(t *testing.T) {
	for _, p := range loadPostman(t) {
		r := mustLookup(t, p.API)
		var want []string
		for _, name := range p.Params {
			if name != "date_ini" && name != "date_end" {
				want = append(want, name)
			}
		}
		for _, name := range want {
			if _, ok := r.Param(name); !ok {
				t.Errorf("%s: parameter %q missing", p.API, name)
			}
		}
		for _, prm := range r.Params {
			if prm.Doc == "" {
				t.Errorf("%s: parameter %q has no doc", p.API, prm.Name)
			}
			if !slices.Contains(want, prm.Name) && prm.Required {
				t.Errorf("%s: parameter %q is required but reports.json does not list it", p.API, prm.Name)
			}
		}
	}
}

func TestParamDecisions(t *testing.T) {
	type want struct {
		required bool
		def      string
	}
	tests := []struct {
		apis  []string
		param string
		want  want
	}{
		{[]string{"agent_2"}, "agent_id", want{true, ""}},
		{[]string{"agent_1"}, "agent_id", want{false, ""}},
		{[]string{"skill_1", "skill_2", "skill_5", "skill_11"}, "skill_id", want{true, "all"}},
		{[]string{"campaign_1", "campaign_3", "campaign_10"}, "campaign_id", want{true, "all"}},
		{[]string{"act_1", "act_2", "act_3", "act_5"}, "cod_act", want{true, "cod_act1"}},
		{[]string{"diagram_1"}, "customer_id", want{false, ""}},
		{[]string{"chat_4"}, "attach_array", want{false, ""}},
		{[]string{"chat_4"}, "include_attachments", want{false, ""}},
		{[]string{"skill_1"}, "services_time", want{false, ""}},
	}
	for _, tt := range tests {
		for _, api := range tt.apis {
			p, ok := mustLookup(t, api).Param(tt.param)
			if !ok {
				t.Errorf("%s: no parameter %s", api, tt.param)
				continue
			}
			if got := (want{p.Required, p.Default}); got != tt.want {
				t.Errorf("%s %s: got %+v, want %+v", api, tt.param, got, tt.want)
			}
		}
	}
	if _, ok := mustLookup(t, "act_4").Param("cod_act"); ok {
		t.Error("act_4 takes no cod_act")
	}
}

func TestTimeFields(t *testing.T) {
	when := time.Date(2026, 3, 5, 14, 22, 10, 0, time.UTC)
	for _, r := range catalog.All() {
		if r.Kind != catalog.Detail {
			if r.TimeField != "" || r.TimeLayout != "" {
				t.Errorf("%s: a %s report has time field %q", r.API, r.Kind, r.TimeField)
			}
			continue
		}
		f, ok := r.Field(r.TimeField)
		if !ok {
			t.Errorf("%s: time field %q is not a field", r.API, r.TimeField)
			continue
		}
		if f.Type != catalog.Timestamp && f.Type != catalog.Date {
			t.Errorf("%s: time field %q is typed %s", r.API, f.Name, f.Type)
		}
		if r.TimeLayout == "" {
			t.Errorf("%s: no time layout", r.API)
			continue
		}
		if got, err := time.Parse(r.TimeLayout, when.Format(r.TimeLayout)); err != nil || !got.Equal(when) {
			t.Errorf("%s: layout %q does not round-trip a timestamp: %v %v", r.API, r.TimeLayout, got, err)
		}
	}
	for api, field := range map[string]string{
		"agent_2": "date_ini", "agent_14": "date_ini", "chat_8": "start_date", "chat_4": "date_creation",
		"agent_15": "date_preview", "diagram_3": "date_inbound_call", "diagram_11": "end_date_rp",
		"cdr_10": "date_ini", "diagram_13": "date", "chat_2": "date",
	} {
		if got := mustLookup(t, api).TimeField; got != field {
			t.Errorf("%s: time field %q, want %q", api, got, field)
		}
	}
}

func TestKeyFields(t *testing.T) {
	var wholeContent []string
	for _, r := range catalog.All() {
		for _, k := range r.KeyFields {
			if _, ok := r.Field(k); !ok {
				t.Errorf("%s: key field %q is not a field", r.API, k)
			}
		}
		if len(r.KeyFields) == 0 {
			wholeContent = append(wholeContent, r.API)
		}
		if r.Kind == catalog.Bucketed && len(r.KeyFields) == 0 {
			t.Errorf("%s: a bucketed report needs its bucket columns as keys", r.API)
		}
		if r.Kind == catalog.Detail {
			if _, hasConn := r.Field("conn_id"); hasConn && !slices.Contains(r.KeyFields, "conn_id") &&
				!slices.Contains([]string{"agent_2", "agent_14", "chat_8", "wizard_1"}, r.API) {
				t.Errorf("%s: a call-level report without conn_id in its key %v", r.API, r.KeyFields)
			}
		}
	}
	// Only rows with nothing that identifies them are keyed by their whole content.
	want := []string{"cdr_7", "cdr_9", "diagram_7", "diagram_8", "diagram_12", "chat_15"}
	if !slices.Equal(wholeContent, want) {
		t.Errorf("reports keyed by their whole content: got %v, want %v", wholeContent, want)
	}
}

func TestKindsMatchTable(t *testing.T) {
	kinds := map[string]catalog.Kind{"D": catalog.Detail, "T": catalog.Bucketed, "A": catalog.RangeAggregate}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, filepath.Join(postmanDir, "table.md"))))
	n := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) < 5 || !strings.HasPrefix(strings.TrimSpace(cols[1]), "`") {
			continue
		}
		n++
		api := strings.Trim(strings.TrimSpace(cols[1]), "`")
		want, ok := kinds[strings.TrimSpace(cols[3])]
		if !ok {
			t.Fatalf("table.md: %s has kind %q", api, cols[3])
		}
		if got := mustLookup(t, api).Kind; got != want {
			t.Errorf("%s: kind %s, want %s", api, got, want)
		}
	}
	if n != 104 {
		t.Errorf("table.md has %d reports, want 104", n)
	}
}

func TestWindowsAndBuckets(t *testing.T) {
	buckets := map[string]string{
		"agent_5": "1h", "agent_6": "1h", "agent_7": "24h", "agent_8": "1h", "agent_8_1": "30m",
		"skill_3": "24h", "skill_4": "1h", "skill_4_1": "30m", "skill_4_2": "10m", "skill_5": "1h",
		"skill_7": "1h", "diagram_1_1": "24h", "diagram_1_2": "24h", "chat_6": "24h",
	}
	for _, r := range catalog.All() {
		want := int64(2678400)
		if r.API == "skill_5" {
			want = 86400
		}
		if r.MaxWindowSeconds != want {
			t.Errorf("%s: window %ds, want %ds", r.API, r.MaxWindowSeconds, want)
		}
		if r.MaxWindow() != time.Duration(want)*time.Second {
			t.Errorf("%s: MaxWindow() = %v", r.API, r.MaxWindow())
		}
		if got := r.Bucket; got != buckets[r.API] {
			t.Errorf("%s: bucket %q, want %q", r.API, got, buckets[r.API])
		}
	}
}

func TestShapes(t *testing.T) {
	nested := map[string]string{"agent_5": "status_x_hour", "agent_11": "agents", "chat_2": "conversation"}
	for _, r := range catalog.All() {
		want := catalog.ShapeArray
		switch {
		case r.API == "cdr_4":
			want = catalog.ShapeObject
		case nested[r.API] != "":
			want = catalog.ShapeNested
		}
		if r.Shape != want || r.NestedField != nested[r.API] {
			t.Errorf("%s: shape %s nested %q, want %s nested %q", r.API, r.Shape, r.NestedField, want, nested[r.API])
		}
	}
	if _, ok := mustLookup(t, "cdr_4").Field(catalog.BucketKeyField); !ok {
		t.Errorf("cdr_4 lacks the %q field", catalog.BucketKeyField)
	}
	for api, prefix := range map[string]string{"diagram_4": "q", "diagram_5": "q", "diagram_6": "q", "campaign_3": "opt", "skill_1": "service_level_"} {
		if got := mustLookup(t, api).DynamicPrefixes; !slices.Equal(got, []string{prefix}) {
			t.Errorf("%s: dynamic prefixes %v, want [%s]", api, got, prefix)
		}
	}
}

func TestEveryFieldDocumentedAndTyped(t *testing.T) {
	types := []catalog.FieldType{catalog.String, catalog.Count, catalog.Number, catalog.Percent,
		catalog.Duration, catalog.Seconds, catalog.Millis, catalog.Timestamp, catalog.Date}
	for _, r := range catalog.All() {
		if r.Title == "" || r.Folder == "" {
			t.Errorf("%s: missing title or folder", r.API)
		}
		seen := map[string]bool{}
		for _, f := range r.Fields {
			if seen[f.Name] {
				t.Errorf("%s: field %q twice", r.API, f.Name)
			}
			seen[f.Name] = true
			if f.Doc == "" {
				t.Errorf("%s: field %q has no doc", r.API, f.Name)
			}
			if !slices.Contains(types, f.Type) {
				t.Errorf("%s: field %q has type %q", r.API, f.Name, f.Type)
			}
		}
	}
}

// parses reports whether value is a valid text of type ft, the way the schemas package
// must read it; "-" and "--" are the API's "not applicable" placeholders.
func parses(ft catalog.FieldType, layout, value string) bool {
	whole := func(s string) bool { _, err := strconv.ParseInt(s, 10, 64); return err == nil }
	switch ft {
	case catalog.String:
		return true
	case catalog.Count, catalog.Seconds, catalog.Millis:
		return whole(value)
	case catalog.Number:
		_, err := strconv.ParseFloat(strings.ReplaceAll(value, ",", ""), 64)
		return err == nil
	case catalog.Percent:
		num, ok := strings.CutSuffix(value, " %")
		_, err := strconv.ParseFloat(strings.ReplaceAll(num, ",", ""), 64)
		return ok && err == nil
	case catalog.Duration:
		parts := strings.Split(value, ":")
		return len(parts) == 3 && whole(parts[0]) && len(parts[1]) == 2 && whole(parts[1]) && len(parts[2]) == 2 && whole(parts[2])
	case catalog.Timestamp, catalog.Date:
		_, err := time.Parse(layout, value)
		return err == nil
	}
	return false
}

// The five seed reports, checked by hand against the user's documents on them and the API notes.
func TestSeedReports(t *testing.T) {
	tests := []struct {
		api       string
		kind      catalog.Kind
		keys      []string
		timeField string
		types     map[string]catalog.FieldType
		row       wolkvox.Row
	}{
		{
			api: "diagram_13", kind: catalog.Detail, timeField: "date",
			keys: []string{"conn_id", "second_event", "cod_opc_menu"},
			types: map[string]catalog.FieldType{"rp_id": catalog.String, "conn_id": catalog.String, "customer_id": catalog.String,
				"channel": catalog.String, "attempt": catalog.Count, "telephone": catalog.String, "date": catalog.Timestamp,
				"second_event": catalog.Seconds, "cod_opc_menu": catalog.String},
			row: wolkvox.Row{{Key: "rp_id", Value: "4521"}, {Key: "conn_id", Value: "12462.0277.1782402643.44005"},
				{Key: "customer_id", Value: "1032456789"}, {Key: "channel", Value: "voice"}, {Key: "attempt", Value: "1"},
				{Key: "telephone", Value: "3001234567"}, {Key: "date", Value: "2026-03-05 14:22:10"},
				{Key: "second_event", Value: "17"}, {Key: "cod_opc_menu", Value: "2"}},
		},
		{
			api: "act_3", kind: catalog.Detail, timeField: "date", keys: []string{"conn_id"},
			types: map[string]catalog.FieldType{"conn_id": catalog.String, "agent_id": catalog.String, "agent_name": catalog.String,
				"agent_dni": catalog.String, "skill_id": catalog.String, "date": catalog.Timestamp, "cod_act": catalog.String,
				"description_cod_act": catalog.String, "cod_act_2": catalog.String, "description_cod_act_2": catalog.String,
				"comments": catalog.String, "type_interaction": catalog.String, "telephone": catalog.String,
				"destiny": catalog.String, "time": catalog.Duration, "hang_up": catalog.String, "customer_id": catalog.String,
				"campaign_id": catalog.String},
			row: wolkvox.Row{{Key: "conn_id", Value: "12462.0277.1782402643.44005"}, {Key: "agent_id", Value: "12462"},
				{Key: "agent_name", Value: "COM-CAMILO PATINO"}, {Key: "agent_dni", Value: "1020304050"}, {Key: "skill_id", Value: "301"},
				{Key: "date", Value: "2026-03-05 14:22:10"}, {Key: "cod_act", Value: "15"},
				{Key: "description_cod_act", Value: "VENTA EFECTIVA"}, {Key: "cod_act_2", Value: "-"},
				{Key: "description_cod_act_2", Value: "-"}, {Key: "comments", Value: "cliente acepta oferta"},
				{Key: "type_interaction", Value: "outbound_ma"}, {Key: "telephone", Value: "3001234567"},
				{Key: "destiny", Value: "3001234567"}, {Key: "time", Value: "0:04:37"}, {Key: "hang_up", Value: "agent"},
				{Key: "customer_id", Value: "1032456789"}, {Key: "campaign_id", Value: "88"}},
		},
		{
			api: "diagram_4", kind: catalog.Detail, timeField: "date", keys: []string{"conn_id"},
			types: map[string]catalog.FieldType{"agent_id": catalog.String, "agent_name": catalog.String, "agent_dni": catalog.String,
				"skill_id": catalog.String, "skill_name": catalog.String, "date": catalog.Timestamp, "conn_id": catalog.String,
				"ani": catalog.String, "customer_id": catalog.String, "voice_message_duration": catalog.Duration,
				"type_interaction": catalog.String, "result": catalog.String, "time": catalog.Duration,
				"voice_message": catalog.String, "feeling": catalog.String},
			row: wolkvox.Row{{Key: "agent_id", Value: "12462"}, {Key: "agent_name", Value: "COM-CAMILO PATINO"},
				{Key: "agent_dni", Value: "1020304050"}, {Key: "skill_id", Value: "301"}, {Key: "skill_name", Value: "VENTAS"},
				{Key: "date", Value: "2026-03-05 14:22:10"}, {Key: "conn_id", Value: "12462.0277.1782402643.44005"},
				{Key: "ani", Value: "3001234567"}, {Key: "customer_id", Value: "1032456789"},
				{Key: "q01", Value: "5"}, {Key: "q02", Value: "-"},
				{Key: "voice_message_duration", Value: "00:00:12"}, {Key: "type_interaction", Value: "inbound"},
				{Key: "result", Value: "survey completed"}, {Key: "time", Value: "00:01:05"},
				{Key: "voice_message", Value: "-"}, {Key: "feeling", Value: "positive"}},
		},
		{
			api: "diagram_1_3", kind: catalog.RangeAggregate, keys: []string{"rp_id", "cod_opc_menu"},
			types: map[string]catalog.FieldType{"rp_id": catalog.String, "calls": catalog.Count, "time": catalog.Duration,
				"cod_opc_menu": catalog.String},
			row: wolkvox.Row{{Key: "rp_id", Value: "4521"}, {Key: "calls", Value: "132"}, {Key: "time", Value: "2:14:09"},
				{Key: "cod_opc_menu", Value: "PULSE"}},
		},
		{
			api: "chat_3", kind: catalog.RangeAggregate, keys: []string{"channel"},
			types: map[string]catalog.FieldType{"channel": catalog.String, "interactions": catalog.Count,
				"closing_time": catalog.Duration},
			row: wolkvox.Row{{Key: "channel", Value: "facebook_page"}, {Key: "interactions", Value: "57"},
				{Key: "closing_time", Value: "12:40:03"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			r := mustLookup(t, tt.api)
			if r.Kind != tt.kind || r.TimeField != tt.timeField || !slices.Equal(r.KeyFields, tt.keys) {
				t.Errorf("kind %s time %q keys %v, want %s %q %v", r.Kind, r.TimeField, r.KeyFields, tt.kind, tt.timeField, tt.keys)
			}
			if len(r.Fields) != len(tt.types) {
				t.Errorf("%d fields, want %d", len(r.Fields), len(tt.types))
			}
			for _, f := range r.Fields {
				if want, ok := tt.types[f.Name]; !ok || f.Type != want {
					t.Errorf("field %q typed %q, want %q", f.Name, f.Type, want)
				}
			}
			for _, c := range tt.row {
				f, ok := r.Field(c.Key)
				if !ok {
					if !isDynamic(c.Key, r.DynamicPrefixes) {
						t.Errorf("row key %q is neither a field nor dynamic", c.Key)
					}
					continue
				}
				if !parses(f.Type, r.TimeLayout, c.Value) {
					t.Errorf("field %q (%s) rejects the realistic value %q", c.Key, f.Type, c.Value)
				}
			}
			for _, k := range r.KeyFields {
				if v, ok := tt.row.Get(k); !ok || v == "" {
					t.Errorf("key field %q missing from the row", k)
				}
			}
		})
	}
}

// Example samples in the bodies (agent_15, agent_16, diagram_15) must parse as typed.
func TestTypesAcceptDocumentedSamples(t *testing.T) {
	for _, p := range loadPostman(t) {
		r := mustLookup(t, p.API)
		for _, m := range regexp.MustCompile(`"([^"]+)"\s*:\s*"([^"\r\n]*)"`).FindAllStringSubmatch(p.Body, -1) {
			f, ok := r.Field(m[1])
			if !ok || strings.TrimSpace(m[2]) == "" || m[2] == "-" {
				continue
			}
			if !parses(f.Type, r.TimeLayout, m[2]) {
				t.Errorf("%s: field %q (%s) rejects the documented sample %q", p.API, f.Name, f.Type, m[2])
			}
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	if _, ok := catalog.Lookup("agent_99"); ok {
		t.Error("Lookup found a report that does not exist")
	}
	r := mustLookup(t, "diagram_13")
	if _, ok := r.Field("nope"); ok {
		t.Error("Field found a field that does not exist")
	}
	if _, ok := r.Param("nope"); ok {
		t.Error("Param found a parameter that does not exist")
	}
}
