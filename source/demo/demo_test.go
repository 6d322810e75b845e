package demo

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

func TestParseReports(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  []source.ReportConfig
	}{
		{"seeds", DefaultReports(), []source.ReportConfig{
			{API: "diagram_13"},
			{API: "act_3", Params: map[string]string{"cod_act": "cod_act1"}},
			{API: "diagram_4"},
			{API: "diagram_1_3", Settle: lateDelay},
			{API: "chat_3", Settle: lateDelay},
		}},
		{"catalog default filled", []string{"act_3"}, []source.ReportConfig{{API: "act_3", Params: map[string]string{"cod_act": "cod_act1"}}}},
		{"several parameters", []string{" skill_1:skill_id=12:services_time=45"}, []source.ReportConfig{{API: "skill_1", Params: map[string]string{"skill_id": "12", "services_time": "45"}, Settle: lateDelay}}},
		{"required parameter given", []string{"agent_2:agent_id=1001"}, []source.ReportConfig{{API: "agent_2", Params: map[string]string{"agent_id": "1001"}}}},
		{"same report, other parameters", []string{"act_3", "act_3:cod_act=cod_act2"}, []source.ReportConfig{
			{API: "act_3", Params: map[string]string{"cod_act": "cod_act1"}},
			{API: "act_3", Params: map[string]string{"cod_act": "cod_act2"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReports(tt.specs)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d reports, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.API != w.API || !maps.Equal(g.Params, w.Params) || g.Settle != w.Settle {
					t.Errorf("report %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
	for _, bad := range [][]string{nil, {""}, {"act_3:"}, {"act_3:cod_act"}, {"act_3:cod_act="}, {"act_3:=x"}, {"act_3:cod_act=a:cod_act=b"}} {
		if got, err := ParseReports(bad); err == nil {
			t.Errorf("ParseReports(%q) = %+v, want an error", bad, got)
		}
	}
}

// FuzzParseReports: any --reports value either fails or yields valid, distinct
// report configurations the connector accepts.
func FuzzParseReports(f *testing.F) {
	for _, s := range []string{strings.Join(DefaultReports(), ","), "agent_2:agent_id=1", "act_3:cod_act=x:cod_act=y", "skill_1::", ":", "chat_3,chat_3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		reports, err := ParseReports(strings.Split(value, ","))
		if err != nil {
			return
		}
		cfg := source.Config{Name: Connector, Server: "0040", Token: source.NewSecret("t"), DailyQuota: dailyQuota, Reports: reports}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseReports(%q) accepted a configuration the connector refuses: %v", value, err)
		}
		for _, r := range reports {
			rep, _ := catalog.Lookup(r.API)
			if (rep.Kind == catalog.RangeAggregate) != (r.Settle == lateDelay) {
				t.Fatalf("%s: settle %s", r.API, r.Settle)
			}
		}
	})
}

func TestRender(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 42, 13, 0, zone)
	fr := frame{Now: now, Speed: 60, Elapsed: 42*time.Second + 400*time.Millisecond, Status: source.Status{
		Name: Connector, State: source.StateRunning, QuotaUsed: 37, QuotaLimit: 3000,
		Reports: []source.ReportStatus{
			{Key: "diagram_13", State: source.StateRunning, Rows: 812, Windows: 9, Calls: 10, UpstreamErrs: 1, LastSeen: now.Add(-3*time.Minute - 12*time.Second)},
			{Key: "act_3,cod_act=cod_act1", State: source.StateBackingOff, Calls: 2, UpstreamErrs: 2, LastError: "HTTP 500\nINTERNAL " + strings.Repeat("x", 200)},
			{Key: "chat_3", State: source.StateRunning, Rows: 12, Windows: 3, Calls: 3, Cursor: now.Add(-time.Hour)},
		},
	}}
	want := "virtual 2026-05-04 10:42:13 -05 · 60× · 42s · quota 37/3000 calls today · RUNNING\n" +
		"REPORT                  STATE               ROWS  WINDOWS  CALLS  ERRORS  DEAD  LAG\n" +
		"diagram_13              RUNNING              812        9     10       1     0  3m12s\n" +
		"act_3,cod_act=cod_act1  BACKING_OFF            0        0      2       2     0  -\n" +
		"chat_3                  RUNNING               12        3      3       0     0  1h0m0s\n"
	got := render(fr)
	if !strings.HasPrefix(got, want) {
		t.Fatalf("table:\n%s\nwant it to start with:\n%s", got, want)
	}
	errLine := strings.TrimPrefix(got, want)
	if !strings.HasPrefix(errLine, "  act_3,cod_act=cod_act1: HTTP 500 INTERNAL xxx") || !strings.HasSuffix(errLine, "…\n") ||
		len([]rune(strings.TrimSuffix(errLine, "\n"))) != lineWidth {
		t.Errorf("error line %q: want the report's error on one line cut to %d runes", errLine, lineWidth)
	}
}

func TestViewTerminal(t *testing.T) {
	var out, logs bytes.Buffer
	v := newView(&out, true)
	lw := v.logWriter(&logs)

	if _, err := lw.Write([]byte("before\n")); err != nil {
		t.Fatal(err)
	}
	v.c.Show("a\nb\n")
	v.c.Show("c\nd\ne\n")
	if _, err := lw.Write([]byte("during\n")); err != nil {
		t.Fatal(err)
	}
	v.final(frame{Now: time.Date(2026, 5, 4, 10, 0, 0, 0, zone), Speed: 60})

	const (
		up2 = "\x1b[2F\x1b[J"
		up3 = "\x1b[3F\x1b[J"
	)
	wantPrefix := "a\nb\n" + up2 + "c\nd\ne\n" + // redraw in place
		up3 + "c\nd\ne\n" + // lifted off for the log line, then put back
		up3 + "Final status:\n" // replaced by the final table
	if !strings.HasPrefix(out.String(), wantPrefix) {
		t.Errorf("terminal output %q, want it to start with %q", out.String(), wantPrefix)
	}
	if logs.String() != "before\nduring\n" {
		t.Errorf("logs %q", logs.String())
	}
	// After the final table nothing is redrawn: logs no longer touch stdout.
	n := out.Len()
	if _, err := lw.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	if out.Len() != n {
		t.Errorf("a log line after the final table wrote to stdout: %q", out.String()[n:])
	}
}

func TestViewPlain(t *testing.T) {
	var out, logs bytes.Buffer
	v := newView(&out, false)
	v.c.Show("a\nb\n\n")
	if _, err := v.logWriter(&logs).Write([]byte("log\n")); err != nil {
		t.Fatal(err)
	}
	v.final(frame{Now: time.Date(2026, 5, 4, 10, 0, 0, 0, zone), Speed: 60})
	if got := out.String(); !strings.HasPrefix(got, "a\nb\n\nFinal status:\nvirtual 2026-05-04 10:00:00 -05") || strings.Contains(got, "\x1b") {
		t.Errorf("plain output %q", got)
	}
	if logs.String() != "log\n" {
		t.Errorf("logs %q", logs.String())
	}
}

// startOf is 10:00 on the real date in Bogota, whatever the real zone.
func TestStartOf(t *testing.T) {
	tests := []struct {
		real time.Time
		want string
	}{
		{time.Date(2026, 5, 4, 15, 0, 0, 0, time.UTC), "2026-05-04 10:00:00 -05"},
		// 02:00 UTC is still the evening before in Bogota.
		{time.Date(2026, 5, 5, 2, 0, 0, 0, time.UTC), "2026-05-04 10:00:00 -05"},
	}
	for _, tt := range tests {
		if got := startOf(tt.real).Format("2006-01-02 15:04:05 MST"); got != tt.want {
			t.Errorf("startOf(%v) = %s, want %s", tt.real, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	reports, err := ParseReports([]string{"chat_3"})
	if err != nil {
		t.Fatal(err)
	}
	good := Config{Reports: reports, Speed: 60, Out: &bytes.Buffer{}}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string // "" when valid
	}{
		{"valid", func(*Config) {}, ""},
		{"speed at the cap", func(c *Config) { c.Speed = MaxSpeed }, ""},
		{"events at the cap", func(c *Config) { c.Events = MaxEvents }, ""},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }, "Duration"},
		{"zero speed", func(c *Config) { c.Speed = 0 }, "Speed"},
		{"speed above the cap", func(c *Config) { c.Speed = MaxSpeed + 1 }, "Speed"},
		{"negative events", func(c *Config) { c.Events = -1 }, "Events"},
		{"too many events", func(c *Config) { c.Events = MaxEvents + 1 }, "Events"},
		{"no report", func(c *Config) { c.Reports = nil }, "Reports"},
		{"no output", func(c *Config) { c.Out = nil }, "Out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			err := cfg.Validate()
			var bad *ConfigError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.field != "" && (!errors.As(err, &bad) || bad.Field != tt.field):
				t.Fatalf("Validate() = %v, want a *ConfigError for %s", err, tt.field)
			}
			// Run refuses the same, before any I/O.
			if tt.field != "" {
				if err := Run(t.Context(), cfg); !errors.As(err, &bad) || bad.Field != tt.field {
					t.Errorf("Run() = %v, want a *ConfigError for %s", err, tt.field)
				}
			}
		})
	}
}

// TestRunEmbedded runs a short demo on the embedded broker, with no log: a status
// table, the final table with every report stopped, and one decoded event per report.
func TestRunEmbedded(t *testing.T) {
	reports, err := ParseReports([]string{"diagram_13", "chat_3"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg := Config{Reports: reports, Duration: 3 * time.Second, Speed: 600, Events: 1, Out: &out}
	if err := Run(t.Context(), cfg); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"wolkvox-connect demo: broker embedded kfake 127.0.0.1:", "Running for 3s", "Final status:\n",
		`{"topic":"demo.diagram_13","partition":0,"offset":0,`, `{"topic":"demo.chat_3","partition":0,"offset":0,`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	final, _, _ := strings.Cut(got[strings.Index(got, "Final status:"):], "\n\n")
	for _, key := range []string{"diagram_13", "chat_3"} {
		if !strings.Contains(final, "\n"+key+" ") || strings.Contains(final, string(source.StateRunning)) {
			t.Errorf("final table does not show %s stopped:\n%s", key, final)
		}
	}
	if strings.Contains(got, "\x1b[") {
		t.Errorf("ANSI escapes written to a non-terminal")
	}
	if cfg.Reports[0].Start != (time.Time{}) {
		t.Errorf("Run changed the caller's reports: start %v", cfg.Reports[0].Start)
	}
}
