package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// lineOf returns the list line that starts with the report's name.
func lineOf(t *testing.T, out, api string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(api) + ` .*$`).FindString(out)
	if m == "" {
		t.Fatalf("no line for %s in\n%s", api, out)
	}
	return m
}

func TestReportsList(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "reports")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tests := []struct {
		api  string
		want []string // in order along the line
	}{
		{"diagram_13", []string{"detail", "conn_id,second_event,cod_opc_menu", "date", "-", "CDR of menu options"}},
		{"agent_2", []string{"detail", "agent_id,date_ini,agent_status", "date_ini", "agent_id*"}},
		{"skill_4_2", []string{"bucketed 10m", "skill_id,hour", "-", "skill_id*=all"}},
		{"act_3", []string{"detail", "conn_id", "date", "cod_act*=cod_act1"}},
		{"diagram_1", []string{"detail", "conn_id,rp_id", "date", "customer_id "}},
		{"chat_15", []string{"range", "(whole row)"}},
		{"chat_3", []string{"range", "channel", "Closed interactions per channel"}},
	}
	for _, tt := range tests {
		line := lineOf(t, out, tt.api)
		rest := line
		for _, w := range tt.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: %q missing (in order) from %q", tt.api, w, line)
				break
			}
			rest = rest[i+len(w):]
		}
	}
	if !strings.Contains(out, "\n104 reports.") {
		t.Errorf("no count footer in\n%s", out)
	}
	// Aligned: a column starts at the same offset on every line as in the header.
	header := strings.SplitN(out, "\n", 2)[0]
	for _, col := range []struct{ api, kind, key string }{
		{"agent_1", "range", "agent_id"},
		{"skill_4_2", "bucketed 10m", "skill_id,hour"},
		{"diagram_1_3", "range", "rp_id,cod_opc_menu"},
		{"wizard_3", "detail", "agent_id,date,question"},
	} {
		line := lineOf(t, out, col.api)
		if got, want := strings.Index(line, " "+col.kind+" ")+1, strings.Index(header, "KIND"); got != want {
			t.Errorf("%s: kind at column %d, header KIND at %d", col.api, got, want)
		}
		if got, want := strings.Index(line, " "+col.key+" ")+1, strings.Index(header, "KEY"); got != want {
			t.Errorf("%s: key at column %d, header KEY at %d", col.api, got, want)
		}
	}
}

func TestReportsKindFilter(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "reports", "--kind", "bucketed")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "\n14 reports.") {
		t.Errorf("want 14 bucketed reports in\n%s", out)
	}
	if strings.Contains(out, "diagram_13") || strings.Contains(out, " detail ") {
		t.Errorf("detail reports listed under --kind bucketed:\n%s", out)
	}
	lineOf(t, out, "agent_8_1")

	code, _, errOut = runCLI(t, nil, "reports", "--kind", "hourly")
	if code != 2 || !strings.Contains(errOut, `--kind "hourly"`) {
		t.Errorf("bad --kind: exit %d, stderr %q", code, errOut)
	}
}

func TestReportsJSON(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "reports", "--json", "--kind", "detail")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []catalog.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range catalog.All() {
		if r.Kind == catalog.Detail {
			n++
		}
	}
	if len(got) != n || n == 0 {
		t.Fatalf("got %d reports, want %d", len(got), n)
	}
	for _, r := range got {
		if r.Kind != catalog.Detail || r.TimeField == "" {
			t.Errorf("%s: kind %s time field %q", r.API, r.Kind, r.TimeField)
		}
	}

	code, out, _ = runCLI(t, nil, "reports", "chat_1", "--json")
	var one catalog.Report
	if err := json.Unmarshal([]byte(out), &one); code != 0 || err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	if _, ok := one.Field("agent_anwers "); !ok || one.API != "chat_1" {
		t.Errorf("chat_1 JSON lost agent_anwers with its trailing space: %+v", one.Fields)
	}
}

func TestReportsShowOne(t *testing.T) {
	tests := []struct {
		api  string
		want []string
	}{
		{"diagram_13", []string{
			"diagram_13  CDR of menu options per interaction",
			"time field:  date (layout 2006-01-02 15:04:05",
			"key:         conn_id,second_event,cod_opc_menu",
			"max window:  31 days",
			"second_event  seconds    [key]",
			"attempt       count",
			"date          timestamp  [time]",
			"several rows per interaction",
		}},
		{"skill_5", []string{"kind:        bucketed 1h", "max window:  24 hours", "skill_id  required, default all"}},
		{"chat_1", []string{`"agent_anwers "`, "chat_duration", "seconds", "filters chats by their close date"}},
		{"cdr_4", []string{"shape:       object", "bucket ", "[key]", "data is an object keyed by bucket"}},
		{"agent_5", []string{"rows nested in status_x_hour"}},
		{"diagram_4", []string{"dynamic columns:  q<N>...", "voice_message_duration", "duration"}},
		{"agent_2", []string{"agent_id  required  Agent id"}},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, "reports", tt.api)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q missing from\n%s", w, out)
				}
			}
		})
	}
}

func TestReportsUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"reports", "agent_99"}, "agent_8_1"},
		{[]string{"reports", "nope"}, "run 'wolkvox-connect reports' for the list"},
		{[]string{"reports", "agent_1", "agent_2"}, "at most one REPORT"},
		{[]string{"reports", "agent_1", "--kind", "range"}, "does not apply to one report"},
		{[]string{"reports", "--colour"}, "unknown flag"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, nil, tt.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 mentioning %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

func TestReportsHelp(t *testing.T) {
	code, out, _ := runCLI(t, nil, "reports", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{"Usage: wolkvox-connect reports [REPORT]", "--kind", "--json", "Example:", "wolkvox-connect reports diagram_13"} {
		if !strings.Contains(out, w) {
			t.Errorf("%q missing from help:\n%s", w, out)
		}
	}
	if code, out, _ := runCLI(t, nil, "help"); code != 0 || !strings.Contains(out, "reports") {
		t.Errorf("top-level help does not list reports: %s", out)
	}
}
