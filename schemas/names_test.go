package schemas

import (
	"errors"
	"regexp"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func TestAvroName(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"conn_id", "conn_id"},
		{"agent_anwers ", "agent_anwers"},
		{" padded\t", "padded"},
		{"ASA", "asa"},
		{"yes/no", "yes_no"},
		{"0_5_seg", "f_0_5_seg"},
		{"61_120_seg", "f_61_120_seg"},
		{"abandon_11seg_20_seg", "abandon_11seg_20_seg"},
		{"Número de llamadas", "numero_de_llamadas"},
		{"año", "ano"},
		{"a -- b", "a_b"},
		{"%abandon", "_abandon"},
		{"a__b", "a__b"},
		{"", "field"},
		{"   ", "field"},
		{"日本", "_"},
		{"9", "f_9"},
	}
	for _, tt := range tests {
		got := AvroName(tt.raw)
		if got != tt.want {
			t.Errorf("AvroName(%q) = %q, want %q", tt.raw, got, tt.want)
		}
		if !validName.MatchString(got) {
			t.Errorf("AvroName(%q) = %q is not a valid Avro name", tt.raw, got)
		}
	}
}

func TestFieldsDisambiguates(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		want []string // Avro names, in catalog order
	}{
		{"clean keys keep their names", []string{"a", "b"}, []string{"a", "b"}},
		{"exact key wins whatever the order", []string{"ASA", "asa"}, []string{"asa_2", "asa"}},
		{"exact key wins, other order", []string{"asa", "ASA"}, []string{"asa", "asa_2"}},
		{"non-exact keys in byte order", []string{"yes/no", "yes no", "yes_no"}, []string{"yes_no_3", "yes_no_2", "yes_no"}},
		{"reserved event names", []string{"wv_operation", "operation", "WV_EXTRA"}, []string{"wv_operation_2", "operation", "wv_extra_2"}},
		{"suffix already taken", []string{"X", "x_2", "x"}, []string{"x_3", "x_2", "x"}},
		{"trailing space", []string{"agent_anwers "}, []string{"agent_anwers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &catalog.Report{API: "test_1"}
			for _, k := range tt.keys {
				rep.Fields = append(rep.Fields, catalog.Field{Name: k, Type: catalog.String})
			}
			got, err := Fields(rep)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range got {
				if m.Key != tt.keys[i] || m.Name != tt.want[i] {
					t.Errorf("field %d: got %q → %q, want %q → %q", i, m.Key, m.Name, tt.keys[i], tt.want[i])
				}
			}
		})
	}
}

func TestFieldsRejectsDuplicateKeys(t *testing.T) {
	rep := &catalog.Report{API: "test_1", Fields: []catalog.Field{{Name: "a", Type: catalog.String}, {Name: "a", Type: catalog.Count}}}
	if _, err := Fields(rep); !errors.Is(err, ErrCatalog) {
		t.Fatalf("Fields with a duplicate key: err = %v, want ErrCatalog", err)
	}
}

// TestCatalogNamesUnique checks the mapping over the real catalog: every name is valid
// and unique within its record, and every record name is unique.
func TestCatalogNamesUnique(t *testing.T) {
	records := map[string]string{}
	for i := range catalog.All() {
		rep := &catalog.All()[i]
		if prev, dup := records[RecordName(rep.API)]; dup {
			t.Errorf("record name %s shared by %s and %s", RecordName(rep.API), prev, rep.API)
		}
		records[RecordName(rep.API)] = rep.API
		ms, err := Fields(rep)
		if err != nil {
			t.Errorf("%s: %v", rep.API, err)
			continue
		}
		seen := map[string]bool{FieldExtra: true}
		for _, n := range metaFields {
			seen[n] = true
		}
		for _, m := range ms {
			if !validName.MatchString(m.Name) || seen[m.Name] {
				t.Errorf("%s: key %q maps to invalid or duplicate name %q", rep.API, m.Key, m.Name)
			}
			seen[m.Name] = true
		}
	}
}

func TestRecordName(t *testing.T) {
	tests := []struct{ api, want string }{
		{"diagram_13", "Diagram13"},
		{"diagram_1_3", "Diagram1_3"},
		{"agent_8_1", "Agent8_1"},
		{"chat_3", "Chat3"},
	}
	for _, tt := range tests {
		if got := RecordName(tt.api); got != tt.want {
			t.Errorf("RecordName(%q) = %q, want %q", tt.api, got, tt.want)
		}
	}
}

func FuzzAvroName(f *testing.F) {
	for _, s := range []string{"agent_anwers ", "yes/no", "0_5_seg", "ASA", "", "ñ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := AvroName(raw)
		if !validName.MatchString(got) {
			t.Fatalf("AvroName(%q) = %q is not a valid Avro name", raw, got)
		}
		if AvroName(got) != got {
			t.Fatalf("AvroName is not idempotent on %q: %q then %q", raw, got, AvroName(got))
		}
	})
}
