package main

import (
	"bufio"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/demo"
)

// runDemoCmd runs "wolkvox-connect demo args..." in process, as main would.
func runDemoCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLI(t, nil, append([]string{"demo"}, args...)...)
}

// demoOutput is what a demo run printed, parsed.
type demoOutput struct {
	final   map[string][]string // report key → the final table's columns
	samples []demoSampleLine
}

type demoSampleLine struct {
	Topic     string         `json:"topic"`
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	Value     map[string]any `json:"value"`
	raw       string
}

func parseDemoOutput(t *testing.T, stdout string) demoOutput {
	t.Helper()
	o := demoOutput{final: map[string][]string{}}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	inFinal, header := false, false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "Final status:":
			inFinal = true
		case strings.HasPrefix(line, `{"topic":`):
			var s demoSampleLine
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				t.Fatalf("sample line is not JSON: %v\n%s", err, line)
			}
			s.raw = line
			o.samples = append(o.samples, s)
		case inFinal && strings.HasPrefix(line, "REPORT "):
			header = true
		case inFinal && header && line == "":
			inFinal = false
		case inFinal && header && !strings.HasPrefix(line, "  "):
			cols := strings.Fields(line)
			o.final[cols[0]] = cols
		}
	}
	if len(o.final) == 0 {
		t.Fatalf("no final status table in the output:\n%s", stdout)
	}
	return o
}

// check asserts that every report delivered rows and has samples with real fields.
func (o demoOutput) check(t *testing.T, reports map[string]string, perReport int) {
	t.Helper()
	for key, field := range reports {
		cols, ok := o.final[key]
		if !ok {
			t.Errorf("final table has no line for %s: %v", key, slices.Sorted(maps.Keys(o.final)))
			continue
		}
		// REPORT STATE ROWS WINDOWS CALLS ERRORS DEAD LAG
		if len(cols) != 8 {
			t.Errorf("%s: final table line has %d columns, want 8: %q", key, len(cols), cols)
			continue
		}
		if cols[1] != string(source.StateStopped) {
			t.Errorf("%s: final state %s, want STOPPED", key, cols[1])
		}
		for i, name := range map[int]string{2: "rows", 3: "windows", 4: "calls"} {
			if n, err := strconv.Atoi(cols[i]); err != nil || n <= 0 {
				t.Errorf("%s: %s = %q, want a positive count", key, name, cols[i])
			}
		}
		if dead, _ := strconv.Atoi(cols[6]); dead != 0 {
			t.Errorf("%s: %d dead letters, want none", key, dead)
		}
		api, _, _ := strings.Cut(key, ",")
		var got int
		for _, s := range o.samples {
			if s.Value["wv_report"] != api {
				continue
			}
			got++
			if s.Topic != "demo."+api {
				t.Errorf("%s: sample from topic %s, want demo.%s", api, s.Topic, api)
			}
			if !strings.Contains(s.raw, `"value":{"wv_operation":"0040","wv_report":"`+api+`"`) {
				t.Errorf("%s: sample value not in schema order or from another report: %s", api, s.raw)
			}
			if id, _ := s.Value["wv_row_id"].(string); id == "" {
				t.Errorf("%s: sample without wv_row_id: %s", api, s.raw)
			}
			if v, ok := s.Value[field]; !ok || v == nil {
				t.Errorf("%s: sample without %s: %s", api, field, s.raw)
			}
		}
		if got != perReport {
			t.Errorf("%s: %d sample events, want %d", api, got, perReport)
		}
	}
}

// demoSeedFields maps each seed report's key to a field of its own that every event has.
var demoSeedFields = map[string]string{
	"diagram_13":             "conn_id",
	"act_3,cod_act=cod_act1": "conn_id",
	"diagram_4":              "agent_id",
	"diagram_1_3":            "calls",
	"chat_3":                 "channel",
}

// TestDemoEmbedded is what the README promises: with nothing installed, demo streams
// the five seed reports into an embedded broker and prints events, then exits 0.
func TestDemoEmbedded(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	code, stdout, stderr := runDemoCmd(t, "--duration", "8s", "--speed", "600")
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	if !strings.Contains(stdout, "broker embedded kfake 127.0.0.1:") {
		t.Errorf("the output does not say the broker is embedded:\n%s", stdout)
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Errorf("ANSI escapes written to a non-terminal")
	}
	parseDemoOutput(t, stdout).check(t, demoSeedFields, 3)
}

// TestDemoExternalBroker runs demo twice against one external cluster: the topics are
// the demo's own, and the second run resumes from the first one's offsets.
func TestDemoExternalBroker(t *testing.T) {
	seeds := kafkatest.Fake(t)
	brokers := strings.Join(seeds, ",")
	args := []string{"--brokers", brokers, "--speed", "600", "--reports", "diagram_13,chat_3", "--events", "2"}
	reports := map[string]string{"diagram_13": "conn_id", "chat_3": "channel"}

	code, stdout, stderr := runDemoCmd(t, append(args, "--duration", "4s")...)
	if code != 0 {
		t.Fatalf("first run: exit code %d; stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	if strings.Contains(stdout, "Resuming") {
		t.Errorf("first run on an empty cluster claims to resume:\n%s", stdout)
	}
	if !strings.Contains(stdout, "wolkvox-connect tail --brokers "+brokers+" --topic demo.diagram_13") {
		t.Errorf("no hint to read the topics afterwards:\n%s", stdout)
	}
	parseDemoOutput(t, stdout).check(t, reports, 2)
	first := demoPositions(t, seeds)

	code, stdout, stderr = runDemoCmd(t, append(args, "--duration", "3s")...)
	if code != 0 {
		t.Fatalf("second run: exit code %d; stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	if !strings.Contains(stdout, "Resuming from the offsets in demo.offsets") {
		t.Errorf("second run does not say it resumes:\n%s", stdout)
	}
	second := demoPositions(t, seeds)
	for key, p := range first {
		if q, ok := second[key]; !ok || !q.WindowEnd.After(p.WindowEnd) {
			t.Errorf("%s: window end %v after the first run, %v after the second: not resumed and advanced", key, p.WindowEnd, q.WindowEnd)
		}
	}
	// The first events are the first run's: the second one appended, it did not start over.
	out := parseDemoOutput(t, stdout)
	for _, s := range out.samples {
		if s.Offset >= 2 {
			t.Errorf("sample at offset %d: samples are read from the start", s.Offset)
		}
	}

	adm := kadm.NewClient(demoClient(t, seeds))
	topics, err := adm.ListTopics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range topics.Names() {
		if !strings.HasPrefix(name, "demo.") && !strings.HasPrefix(name, "__") {
			t.Errorf("topic %s is not prefixed by the connector name", name)
		}
	}
	for _, want := range []string{"demo.diagram_13", "demo.chat_3", "demo.offsets", "demo.dlq"} {
		if !topics.Has(want) {
			t.Errorf("topic %s missing; have %v", want, topics.Names())
		}
	}
}

func demoClient(t *testing.T, seeds []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func demoPositions(t *testing.T, seeds []string) map[string]offsets.Position {
	t.Helper()
	store, err := offsets.NewStore("demo.offsets", offsets.Seeds(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	pos, err := store.Load(ctx, demo.Connector)
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 2 {
		t.Fatalf("%d positions stored, want 2 (diagram_13 and chat_3)", len(pos))
	}
	return pos
}

func TestDemoUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"zero speed", []string{"--speed", "0"}, "--speed 0"},
		{"negative speed", []string{"--speed", "-5"}, "--speed -5"},
		{"speed too high", []string{"--speed", "100000"}, "at most 3600"},
		{"negative duration", []string{"--duration", "-1s"}, "--duration -1s"},
		{"negative events", []string{"--events", "-1"}, "--events -1"},
		{"bad log level", []string{"--log-level", "loud"}, `--log-level "loud"`},
		{"unknown report", []string{"--reports", "diagram_99"}, `unknown report "diagram_99"`},
		{"missing parameter", []string{"--reports", "agent_2"}, "agent_2:agent_id=VALUE"},
		{"unknown parameter", []string{"--reports", "act_3:colour=red"}, `takes no parameter "colour"`},
		{"duplicate", []string{"--reports", "act_3,act_3:cod_act=cod_act1"}, "reads the same report"},
		{"empty broker", []string{"--brokers", ","}, "empty address"},
		{"argument", []string{"now"}, "unexpected arguments"},
		{"unknown flag", []string{"--fast"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runDemoCmd(t, tt.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not mention %q:\n%s", tt.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout written on a usage error:\n%s", stdout)
			}
		})
	}
}

func TestDemoHelp(t *testing.T) {
	code, stdout, _ := runDemoCmd(t, "--help")
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{"Usage: wolkvox-connect demo", "--duration", "--brokers", "--reports", "--events", "Example:\n  wolkvox-connect demo --duration 30s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help does not mention %q:\n%s", want, stdout)
		}
	}
}
