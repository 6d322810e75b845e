package catalog_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

func TestWriteTable(t *testing.T) {
	reports := []catalog.Report{
		*mustLookup(t, "diagram_13"),
		*mustLookup(t, "skill_4_2"),
		*mustLookup(t, "act_3"),
		*mustLookup(t, "chat_15"),
		{API: "made_up", Kind: catalog.Detail, KeyFields: []string{"a", "agent_anwers "}, TimeField: "date",
			Params: []catalog.Param{{Name: "p", Required: true}, {Name: "q"}}, Title: "Made up"},
	}
	var b bytes.Buffer
	if err := catalog.WriteTable(&b, reports); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 1+len(reports) {
		t.Fatalf("%d lines, want a header and %d reports:\n%s", len(lines), len(reports), b.String())
	}
	want := [][]string{
		{"NAME", "KIND", "KEY", "TIME FIELD", "PARAMETERS", "TITLE"},
		{"diagram_13", "detail", "conn_id,second_event,cod_opc_menu", "date", "-", "CDR of menu options"},
		{"skill_4_2", "bucketed 10m", "skill_id,hour", "-", "skill_id*=all"},
		{"act_3", "detail", "conn_id", "date", "cod_act*=cod_act1"},
		{"chat_15", "range", "(whole row)", "-"},
		{"made_up", "detail", `a,"agent_anwers "`, "date", "p* q", "Made up"},
	}
	for i, line := range lines {
		rest := line
		for _, w := range want[i] {
			j := strings.Index(rest, w)
			if j < 0 {
				t.Errorf("line %d: %q missing (in order) from %q", i, w, line)
				break
			}
			rest = rest[j+len(w):]
		}
	}
	// Aligned: every column starts where its header does.
	for _, col := range []string{"KIND", "KEY", "TIME FIELD", "PARAMETERS", "TITLE"} {
		at := strings.Index(lines[0], col)
		for _, line := range lines[1:] {
			if line[at-2:at] != "  " || line[at] == ' ' {
				t.Errorf("column %s does not start at %d in %q", col, at, line)
			}
		}
	}
}

func TestWriteReport(t *testing.T) {
	tests := []struct {
		name string
		r    *catalog.Report
		want []string
	}{
		{"detail", mustLookup(t, "diagram_13"), []string{
			"diagram_13  CDR of menu options per interaction\n\n",
			"time field:  date (layout 2006-01-02 15:04:05, the operation's time zone)",
			"key:         conn_id,second_event,cod_opc_menu",
			"max window:  31 days",
			"parameters:\n  none besides date_ini and date_end\n",
			"second_event  seconds    [key]",
			"date          timestamp  [time]",
			"quirks:\n  - ",
		}},
		{"bucketed with a default", mustLookup(t, "skill_5"), []string{"kind:        bucketed 1h", "max window:  24 hours", "skill_id  required, default all"}},
		{"field with a trailing space", mustLookup(t, "chat_1"), []string{`"agent_anwers "`}},
		{"nested rows", mustLookup(t, "agent_5"), []string{"rows nested in status_x_hour"}},
		{"dynamic columns", mustLookup(t, "diagram_4"), []string{"dynamic columns:  q<N>... (kept in the extra map)"}},
		{"window in seconds, optional parameter", &catalog.Report{API: "x", MaxWindowSeconds: 90, Params: []catalog.Param{{Name: "p", Doc: "a p"}}},
			[]string{"max window:  90 seconds", "  p  optional  a p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := catalog.WriteReport(&b, tt.r); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("%q missing from\n%s", w, b.String())
				}
			}
			if len(tt.r.Quirks) == 0 && strings.Contains(b.String(), "quirks:") {
				t.Errorf("a quirks section without quirks:\n%s", b.String())
			}
		})
	}
}

func TestFamily(t *testing.T) {
	tests := []struct {
		name, family string
		contains     []string
	}{
		{"agent_99", "agent", []string{"agent_1", "agent_8_1"}},
		{"diagram_13", "diagram", []string{"diagram_1_3", "diagram_13"}},
		{"nope", "nope", nil},
	}
	for _, tt := range tests {
		family, apis := catalog.Family(tt.name)
		if family != tt.family {
			t.Errorf("Family(%q) = %q, want %q", tt.name, family, tt.family)
		}
		for _, api := range tt.contains {
			if !slices.Contains(apis, api) {
				t.Errorf("Family(%q) lacks %s: %v", tt.name, api, apis)
			}
		}
		for _, api := range apis {
			if !strings.HasPrefix(api, tt.family+"_") {
				t.Errorf("Family(%q) holds %s, of another family", tt.name, api)
			}
		}
		if tt.contains == nil && len(apis) > 0 {
			t.Errorf("Family(%q) = %v, want none", tt.name, apis)
		}
	}
}
