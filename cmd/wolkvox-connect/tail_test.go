package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.uber.org/goleak"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// tailTestConfig writes a configuration for seeds (and a schema registry when
// registryURL is set) to a temporary file and returns its path. It has two connectors;
// bogota reads act_3 without parameters, so its key carries the catalog's default
// cod_act=cod_act1.
func tailTestConfig(t *testing.T, seeds []string, registryURL string) string {
	t.Helper()
	registry := ""
	if registryURL != "" {
		registry = "schema_registry: {url: " + registryURL + "}\n"
	}
	yaml := fmt.Sprintf(`kafka: {brokers: [%s]}
%stopics: {offsets: test-offsets}
connectors:
  - name: bogota
    server: "0040"
    token: bogota-token
    daily_quota: 3000
    defaults: {start: "2026-11-01"}
    reports:
      - api: diagram_13
      - api: act_3
      - api: agent_7
  - name: medellin
    server: "0041"
    token: medellin-token
    time_zone: UTC
    daily_quota: 1000
    reports:
      - api: chat_3
`, strings.Join(seeds, ", "), registry)
	path := filepath.Join(t.TempDir(), "worker.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tailRunCLI runs the CLI as main does, under ctx, writing stdout to out.
func tailRunCLI(ctx context.Context, out, errOut *tailBuffer, args ...string) int {
	env := &environment{stdout: out, stderr: errOut, getenv: func(string) string { return "" }}
	return runMain(ctx, env, args)
}

// tailBuffer collects output written from a command's goroutine. tail writes each
// event with one Write call, so lines receives whole JSON lines.
type tailBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newTailBuffer() *tailBuffer { return &tailBuffer{lines: make(chan string, 1000)} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	select {
	case b.lines <- string(p):
	default: // nobody reads lines beyond the first thousand; the buffer keeps them all
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far; it may be called while the command runs.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tailProducer writes events the way the connector does: converted, encoded and
// wrapped by sink.EventRecord, in transactions.
type tailProducer struct {
	t     *testing.T
	cl    *kgo.Client
	enc   *schemas.Encoder
	conv  schemas.Converter
	bogot *time.Location
}

func newTailProducer(t *testing.T, seeds []string, opts ...schemas.Opt) *tailProducer {
	t.Helper()
	enc, err := schemas.NewEncoder(opts...)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	// The manual partitioner writes each record to its Partition field (0 unless set).
	cl := kafkatest.Client(t, seeds, kgo.TransactionalID(kafkatest.TransactionalID(t)), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	return &tailProducer{t: t, cl: cl, enc: enc, bogot: loc}
}

// record converts and encodes one row of api for topic.
func (p *tailProducer) record(topic, api string, row wolkvox.Row) *kgo.Record {
	p.t.Helper()
	ctx := context.Background()
	rep, ok := catalog.Lookup(api)
	if !ok {
		p.t.Fatalf("no report %s", api)
	}
	start := time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC)
	end := start.Add(5 * time.Minute)
	id, _ := row.Get(rep.Fields[1].Name)
	native, err := p.conv.Convert(rep, row, schemas.Meta{Server: "0040", Report: api, WindowStart: start, WindowEnd: end,
		ReadAt: end.Add(time.Minute), RowID: "id-" + id, Location: p.bogot})
	if err != nil {
		p.t.Fatal(err)
	}
	value, err := p.enc.Encode(ctx, topic, rep, native, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	h, err := p.enc.SchemaHeader(ctx, topic, rep)
	if err != nil {
		p.t.Fatal(err)
	}
	return sink.EventRecord(topic, []byte("id-"+id), value, api, start, end, string(h.Value))
}

// commit writes records in one transaction, committed or aborted, and waits for its
// markers: a real broker writes them just after answering EndTxn, and until then the
// last stable offset, where a read_committed reader such as tail stops, is before them.
func (p *tailProducer) commit(commit bool, recs ...*kgo.Record) {
	p.t.Helper()
	ctx := context.Background()
	if err := p.cl.BeginTransaction(); err != nil {
		p.t.Fatal(err)
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		p.t.Fatal(err)
	}
	if err := p.cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		p.t.Fatal(err)
	}
	var topics []string
	for _, r := range recs {
		topics = append(topics, r.Topic)
	}
	adm := kadm.NewClient(p.cl)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		high, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			p.t.Fatal(err)
		}
		stable, err := adm.ListCommittedOffsets(ctx, topics...)
		if err != nil {
			p.t.Fatal(err)
		}
		open := 0
		high.Each(func(o kadm.ListedOffset) {
			if s, ok := stable.Lookup(o.Topic, o.Partition); !ok || s.Offset != o.Offset {
				open++
			}
		})
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d partition(s) keep the transaction open", open)
		}
	}
}

func tailDiagram13Row(connID, date string) wolkvox.Row {
	return wolkvox.Row{
		{Key: "rp_id", Value: "7"}, {Key: "conn_id", Value: connID}, {Key: "customer_id", Value: "-"},
		{Key: "channel", Value: "voice"}, {Key: "attempt", Value: "1,002"}, {Key: "telephone", Value: "573001112233"},
		{Key: "date", Value: date}, {Key: "second_event", Value: "12"}, {Key: "cod_opc_menu", Value: "3"},
		{Key: "new_col", Value: "surprise"}, {Key: "null_col", Null: true},
	}
}

// tailLine is a printed line, decoded.
type tailLine struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       *string           `json:"key"`
	Headers   map[string]string `json:"headers"`
	Value     map[string]any    `json:"value"`
	Error     string            `json:"error"`
	Raw       []byte            `json:"raw"`
}

func parseTailLines(t *testing.T, out string) []tailLine {
	t.Helper()
	var lines []tailLine
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var tl tailLine
		dec := json.NewDecoder(strings.NewReader(l))
		dec.UseNumber()
		if err := dec.Decode(&tl); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, tl)
	}
	return lines
}

func TestTail(t *testing.T) {
	seeds := kafkatest.Fake(t)
	cfg := tailTestConfig(t, seeds, "")
	p := newTailProducer(t, seeds)
	const d13, a7 = "wolkvox.bogota.diagram_13", "wolkvox.bogota.agent_7"
	kafkatest.CreateTopic(t, seeds, d13, 1, nil)
	kafkatest.CreateTopic(t, seeds, a7, 1, nil)
	p.commit(true, p.record(d13, "diagram_13", tailDiagram13Row("12462.0277.1782402643.44005", "2026-11-01 08:15:30")),
		p.record(d13, "diagram_13", tailDiagram13Row("12462.0277.1782402643.44006", "2026-11-01 08:16:00")))
	p.commit(false, p.record(d13, "diagram_13", tailDiagram13Row("aborted", "2026-11-01 08:17:00")))
	p.commit(true, p.record(d13, "diagram_13", tailDiagram13Row("12462.0277.1782402643.44007", "2026-11-01 08:18:00")))
	p.commit(true, p.record(a7, "agent_7", wolkvox.Row{{Key: "agent_name", Value: "Ana"}, {Key: "agent_id", Value: "1001"},
		{Key: "date", Value: "2026-11-01"}, {Key: "login", Value: "08:00:00"}}))
	kafkatest.CreateTopic(t, seeds, "wolkvox.bogota.empty", 2, nil)
	// act_3 has two partitions, each ending in its own commit marker.
	kafkatest.CreateTopic(t, seeds, "wolkvox.bogota.act_3", 2, nil)
	var act3 []*kgo.Record
	for i, agent := range []string{"A1", "A2", "A3", "A4"} {
		r := p.record("wolkvox.bogota.act_3", "act_3", wolkvox.Row{{Key: "conn_id", Value: "c" + agent}, {Key: "agent_id", Value: agent}, {Key: "date", Value: "2026-11-01 08:00:00"}})
		r.Partition = int32(i % 2)
		act3 = append(act3, r)
	}
	p.commit(true, act3[:3]...)
	p.commit(true, act3[3])

	// The first diagram_13 event as tail must print it: the row's local time in
	// America/Bogota as UTC, "1,002" as a number, "-" as null, unknown keys in wv_extra.
	first := map[string]any{
		"wv_operation": "0040", "wv_report": "diagram_13", "wv_event_time": "2026-11-01T13:15:30Z",
		"wv_window_start": "2026-11-01T13:00:00Z", "wv_window_end": "2026-11-01T13:05:00Z", "wv_read_at": "2026-11-01T13:06:00Z",
		"wv_row_id": "id-12462.0277.1782402643.44005", "rp_id": "7", "conn_id": "12462.0277.1782402643.44005",
		"customer_id": "-", "channel": "voice", "attempt": json.Number("1002"), "telephone": "573001112233",
		"date": "2026-11-01T13:15:30Z", "second_event": json.Number("12"), "cod_opc_menu": "3",
		"wv_extra": map[string]any{"new_col": "surprise", "null_col": nil},
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		keys   []string // the events' keys, in order
		stderr string
		// anyOrder compares keys sorted: partitions interleave in any order.
		anyOrder bool
		check    func(t *testing.T, lines []tailLine)
	}{
		{name: "from beginning to the end", args: []string{"--connector", "bogota", "--report", "diagram_13", "--from-beginning"},
			keys: []string{"id-12462.0277.1782402643.44005", "id-12462.0277.1782402643.44006", "id-12462.0277.1782402643.44007"},
			check: func(t *testing.T, lines []tailLine) {
				l := lines[0]
				if l.Topic != d13 || l.Partition != 0 || l.Offset != 0 {
					t.Errorf("position %s/%d@%d, want %s/0@0", l.Topic, l.Partition, l.Offset, d13)
				}
				wantJSON, _ := json.Marshal(first)
				gotJSON, _ := json.Marshal(l.Value)
				if !bytes.Equal(wantJSON, gotJSON) {
					t.Errorf("value\n got %s\nwant %s", gotJSON, wantJSON)
				}
				for k, v := range map[string]string{sink.HeaderReport: "diagram_13", sink.HeaderWindowStart: "2026-11-01T13:00:00Z", sink.HeaderWindowEnd: "2026-11-01T13:05:00Z"} {
					if l.Headers[k] != v {
						t.Errorf("header %s = %q, want %q", k, l.Headers[k], v)
					}
				}
				if !strings.HasPrefix(l.Headers[sink.HeaderSchema], "name=com.wolkvox.reports.Diagram13&fingerprint=") {
					t.Errorf("schema header %q", l.Headers[sink.HeaderSchema])
				}
			}},
		{name: "max", args: []string{"--connector", "bogota", "--report", "diagram_13", "--from-beginning", "--max", "2"},
			keys: []string{"id-12462.0277.1782402643.44005", "id-12462.0277.1782402643.44006"}},
		{name: "date field as a date", args: []string{"--connector", "bogota", "--report", "agent_7", "--from-beginning"},
			keys: []string{"id-1001"},
			check: func(t *testing.T, lines []tailLine) {
				v := lines[0].Value
				if v["date"] != "2026-11-01" || v["agent_id"] != "1001" || v["wv_event_time"] != nil {
					t.Errorf("date %v, agent_id %v, wv_event_time %v", v["date"], v["agent_id"], v["wv_event_time"])
				}
			}},
		{name: "report key with default parameter, two partitions", args: []string{"--connector", "bogota", "--report", "act_3,cod_act=cod_act1", "--from-beginning"},
			keys: []string{"id-A1", "id-A2", "id-A3", "id-A4"}, anyOrder: true,
			check: func(t *testing.T, lines []tailLine) {
				parts := map[int32]int{}
				for _, l := range lines {
					parts[l.Partition]++
				}
				if parts[0] != 2 || parts[1] != 2 {
					t.Errorf("events per partition %v, want 2 in each", parts)
				}
			}},
		{name: "empty topic", args: []string{"--topic", "wolkvox.bogota.empty", "--from-beginning"},
			stderr: "wolkvox.bogota.empty has no committed event to show"},
		{name: "report not configured", args: []string{"--connector", "bogota", "--report", "agent_8", "--from-beginning"}, code: 2,
			stderr: `reads no report "agent_8"; its reports: diagram_13, act_3,cod_act=cod_act1, agent_7 (fix --report`},
		{name: "topic not on the cluster", args: []string{"--topic", "wolkvox.bogota.nope", "--from-beginning"}, code: 1,
			stderr: "wolkvox.bogota.nope does not exist"},
		{name: "unknown connector", args: []string{"--connector", "cali", "--report", "diagram_13"}, code: 2,
			stderr: `has no connector "cali"; its connectors: bogota, medellin (fix --connector)`},
		{name: "connector required", args: []string{"--report", "diagram_13"}, code: 2,
			stderr: "has 2 connectors (bogota, medellin): choose one (fix --connector)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut := newTailBuffer(), newTailBuffer()
			code := tailRunCLI(context.Background(), out, errOut, append([]string{"tail", "--config", cfg}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, errOut.String())
			}
			lines := parseTailLines(t, out.String())
			var keys []string
			for _, l := range lines {
				keys = append(keys, *l.Key)
			}
			if tt.anyOrder {
				slices.Sort(keys)
			}
			if strings.Join(keys, " ") != strings.Join(tt.keys, " ") {
				t.Fatalf("keys %q, want %q", keys, tt.keys)
			}
			if tt.check != nil {
				tt.check(t, lines)
			}
		})
	}
}

// TestTailWithoutConfig reads a topic given by --brokers and --topic: a tombstone and
// bytes in neither wire format are printed and do not stop tail.
func TestTailWithoutConfig(t *testing.T) {
	seeds := kafkatest.Fake(t)
	p := newTailProducer(t, seeds)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, seeds, topic, 1, nil)
	p.commit(true, p.record(topic, "diagram_13", tailDiagram13Row("c1", "2026-11-01 08:15:30")),
		&kgo.Record{Topic: topic, Key: []byte("gone")},
		&kgo.Record{Topic: topic, Value: []byte("not avro")})

	out, errOut := newTailBuffer(), newTailBuffer()
	code := tailRunCLI(context.Background(), out, errOut, "tail", "--brokers", strings.Join(seeds, ","), "--topic", topic, "--from-beginning")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := parseTailLines(t, out.String())
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), out.String())
	}
	if lines[0].Value["conn_id"] != "c1" {
		t.Errorf("event: %+v", lines[0])
	}
	if *lines[1].Key != "gone" || lines[1].Value != nil || lines[1].Error != "" {
		t.Errorf("tombstone: %+v", lines[1])
	}
	if lines[2].Key != nil || lines[2].Value != nil || !strings.Contains(lines[2].Error, "schemas:") || string(lines[2].Raw) != "not avro" {
		t.Errorf("undecodable: %+v", lines[2])
	}
}

// TestTailRegistry decodes Confluent-framed events with the registry of the file.
func TestTailRegistry(t *testing.T) {
	seeds := kafkatest.Fake(t)
	reg := srfake.New()
	defer reg.Close()
	cfg := tailTestConfig(t, seeds, reg.URL())
	p := newTailProducer(t, seeds, schemas.RegistryURLs(reg.URL()))
	const topic = "wolkvox.bogota.diagram_13"
	kafkatest.CreateTopic(t, seeds, topic, 1, nil)
	p.commit(true, p.record(topic, "diagram_13", tailDiagram13Row("c1", "2026-11-01 08:15:30")))

	out, errOut := newTailBuffer(), newTailBuffer()
	code := tailRunCLI(context.Background(), out, errOut, "tail", "-c", cfg, "--connector", "bogota", "--report", "diagram_13", "--from-beginning")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := parseTailLines(t, out.String())
	if len(lines) != 1 || lines[0].Value["conn_id"] != "c1" || lines[0].Value["date"] != "2026-11-01T13:15:30Z" {
		t.Fatalf("lines: %+v", lines)
	}
	if !strings.Contains(lines[0].Headers[sink.HeaderSchema], "&id=") {
		t.Errorf("schema header %q names no registry ID", lines[0].Headers[sink.HeaderSchema])
	}
}

// TestTailFollow keeps tail running past the end: it prints an event committed after
// it reached the end, and stops cleanly (exit 0) when its context is cancelled, as on
// Ctrl-C.
func TestTailFollow(t *testing.T) {
	seeds := kafkatest.Fake(t)
	p := newTailProducer(t, seeds)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, seeds, topic, 1, nil)
	p.commit(true, p.record(topic, "diagram_13", tailDiagram13Row("c1", "2026-11-01 08:15:30")))

	// tail's clients and their goroutines are gone once it returns. The cluster's are
	// not tail's: those started above, and the server side of the connections the
	// producer opens below.
	const conn = "github.com/twmb/franz-go/pkg/kfake.(*clientConn)."
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreAnyFunction(conn+"read"),
		goleak.IgnoreAnyFunction(conn+"read.func1"), goleak.IgnoreAnyFunction(conn+"write"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := newTailBuffer(), newTailBuffer()
	done := make(chan int, 1)
	go func() {
		done <- tailRunCLI(ctx, out, errOut, "tail", "--brokers", seeds[0], "--topic", topic, "--from-beginning", "--follow")
	}()
	for _, want := range []string{`"id-c1"`, `"id-c2"`} {
		select {
		case line := <-out.lines:
			if !strings.Contains(line, want) {
				t.Fatalf("line %s, want key %s", line, want)
			}
		case code := <-done:
			t.Fatalf("tail stopped (exit %d) before printing %s: %s", code, want, errOut.String())
		}
		if want == `"id-c1"` {
			p.commit(true, p.record(topic, "diagram_13", tailDiagram13Row("c2", "2026-11-01 08:16:30")))
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after cancel: %s", code, errOut.String())
	}
}

func TestTailUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
		stdout []string // help is output
	}{
		{name: "nothing", args: nil, code: 2, stderr: []string{"give --config FILE (and --report), or --brokers HOST:PORT and --topic"}},
		{name: "brokers and config", args: []string{"--config", "x.yaml", "--brokers", "h:9092", "--report", "diagram_13"}, code: 2, stderr: []string{"give one or the other"}},
		{name: "registry and config", args: []string{"--config", "x.yaml", "--registry", "http://r", "--report", "diagram_13"}, code: 2, stderr: []string{"schema_registry.url"}},
		{name: "brokers without topic", args: []string{"--brokers", "h:9092"}, code: 2, stderr: []string{"--topic"}},
		{name: "report without config", args: []string{"--brokers", "h:9092", "--topic", "t", "--report", "diagram_13"}, code: 2, stderr: []string{"need --config"}},
		{name: "topic and report", args: []string{"--config", "x.yaml", "--topic", "t", "--report", "diagram_13"}, code: 2, stderr: []string{"not both"}},
		{name: "config without report", args: []string{"--config", "x.yaml"}, code: 2, stderr: []string{"--report is required"}},
		{name: "negative max", args: []string{"--brokers", "h:9092", "--topic", "t", "--max", "-1"}, code: 2, stderr: []string{"--max -1"}},
		{name: "argument", args: []string{"--brokers", "h:9092", "--topic", "t", "extra"}, code: 2, stderr: []string{`unexpected argument "extra"`}},
		{name: "missing file", args: []string{"--config", "/nonexistent/worker.yaml", "--report", "diagram_13"}, code: 1, stderr: []string{"/nonexistent/worker.yaml"}},
		{name: "help", args: []string{"--help"}, stdout: []string{"Example:", "wolkvox-connect tail --config worker.yaml --connector bogota --report diagram_13", "--from-beginning", "--follow", "read_committed", "dates as YYYY-MM-DD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut := newTailBuffer(), newTailBuffer()
			code := tailRunCLI(context.Background(), out, errOut, append([]string{"tail"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.code, errOut.String())
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut.String())
				}
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
		})
	}
}
