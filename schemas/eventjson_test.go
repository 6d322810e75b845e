package schemas

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSchemaFieldsDates(t *testing.T) {
	tests := []struct {
		name, schema string
		want         []string
	}{
		{"plain and union", `{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"int","logicalType":"date"}},{"name":"b","type":["null",{"type":"int","logicalType":"date"}]},{"name":"c","type":["null",{"type":"long","logicalType":"timestamp-millis"}]},{"name":"d","type":"string"}]}`, []string{"a", "b"}},
		{"not a record", `"string"`, nil},
		{"not JSON", `{`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range schemaFields(tt.schema) {
				if f.date {
					got = append(got, f.name)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("date fields %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlainValue(t *testing.T) {
	ts := time.Date(2026, 11, 1, 8, 0, 0, 500_000_000, time.FixedZone("x", -5*3600))
	zero := 0.0
	got, err := json.Marshal(plainValue(map[string]any{
		"t": ts, "nan": zero / zero, "list": []any{ts, int64(3)}, "s": "x",
	}, false))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"list":["2026-11-01T13:00:00.5Z",3],"nan":"NaN","s":"x","t":"2026-11-01T13:00:00.5Z"}`
	if string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestEventJSON: a decoded event prints its fields in schema order, unions unwrapped,
// a date field as a date and a timestamp in UTC.
func TestEventJSON(t *testing.T) {
	schema := `{"type":"record","name":"r","fields":[{"name":"z","type":"string"},{"name":"d","type":{"type":"int","logicalType":"date"}},{"name":"a","type":["null",{"type":"long","logicalType":"timestamp-millis"}]}]}`
	ev := &Event{Schema: schema, Native: map[string]any{
		"a": map[string]any{"long.timestamp-millis": time.Date(2026, 11, 1, 8, 0, 0, 0, time.FixedZone("x", -5*3600))},
		"d": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"z": "first",
	}}
	got, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"z":"first","d":"2026-11-01","a":"2026-11-01T13:00:00Z"}`
	if string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// FuzzSchemaFields feeds writer schemas, which come from a registry the reader does not
// control: any text must give an answer, never a panic.
func FuzzSchemaFields(f *testing.F) {
	f.Add(`{"fields":[{"name":"a","type":["null",{"type":"int","logicalType":"date"}]}]}`)
	f.Add(`{"fields":[{"name":"a","type":[1,2,{"logicalType":3}]}]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, schema string) {
		for _, field := range schemaFields(schema) {
			if !strings.Contains(schema, field.name) {
				t.Fatalf("field %q is not in the schema", field.name)
			}
		}
	})
}
