package check

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// javaEventReports are the reports TestJavaEvents writes: between them every Avro type
// the schemas use, as the simulator fills them (longs, doubles, timestamps, a date,
// nulls for "-" placeholders, wv_extra's survey columns).
var javaEventReports = []source.ReportConfig{
	{API: "diagram_13"}, // detail: timestamps, longs, nulls
	{API: "diagram_4"},  // detail: q01… survey answers in wv_extra
	{API: "diagram_15"}, // detail: doubles
	{API: "agent_15"},   // detail: longs and a double
	{API: "agent_7"},    // bucketed by day: a date (the day before start, a closed bucket)
}

// TestJavaEvents proves events consumed from the real broker with Apache Kafka's Java
// consumer (read_committed) decode with Java Avro and equal, field by field and type by
// type, what the Go side meant to write, in both wire formats. Two connectors run in
// this process against one simulator (on a fast clock, with late and edited rows) and
// the real broker: one writes Avro single-object encoding, the other the Confluent wire
// format with the real Schema Registry (WOLKVOX_TEST_REGISTRY). Then JavaEvents.java
// reads every committed event of their topics, decodes single-object events with
// BinaryMessageDecoder knowing only the report's .avsc, and Confluent events with
// GenericDatumReader after the 5-byte header, with the writer schema fetched from the
// registry by the event's ID. For each event the test takes the simulator's ground-truth
// row of the event's key and version and converts it with schemas.Converter (the window
// from the event's headers): Java must read exactly that, every field; wv_read_at, the
// one value the truth cannot know, must equal the Go Decoder's reading and lie within
// the run.
func TestJavaEvents(t *testing.T) {
	requireTool(t, "java", "Java's reading of events from the broker")
	requireTool(t, "mvn", "Java's reading of events from the broker (its classpath comes from Maven Central)")
	brokers := testKafka(t)
	reg := testRegistry(t)
	seeds := []string{brokers}
	bogota, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}

	start := time.Date(2026, 11, 20, 6, 0, 0, 0, bogota)
	clock := &connectortest.Freezable{FastClock: source.FastClock{Origin: time.Now(), Start: start.Add(90 * time.Minute), Speed: 300}}
	var apis []string
	for _, r := range javaEventReports {
		apis = append(apis, r.API)
	}
	sim, err := simulator.New(simulator.Seed(14), simulator.WithClock(clock), simulator.Location(bogota), simulator.Reports(apis...),
		simulator.DefaultRowsPerMinute(2), simulator.LateRows(0.2, 10*time.Minute), simulator.Edits(0.1, 15*time.Minute),
		simulator.DailyQuota(100000))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	enc, err := schemas.NewEncoder(schemas.Registry(reg.client(t)))
	if err != nil {
		t.Fatal(err)
	}
	formats := []struct {
		name string
		opts []source.Opt
	}{
		{"single-object", nil},
		{"confluent", []source.Opt{source.Encoder(enc)}},
	}
	type run struct {
		prefix string
		c      *source.Connector
		errc   chan error
	}
	var runs []run
	for _, f := range formats {
		prefix := kafkatest.Topic(t, f.name)
		cfg := source.Config{
			Name: prefix, Server: simulator.DefaultServer, Token: source.NewSecret(simulator.DefaultToken), Location: bogota,
			DailyQuota: 100000, BaseURL: sim.URL(),
		}
		for _, r := range javaEventReports {
			r.Start, r.Lookback, r.Settle = start, time.Hour, 2*time.Minute
			if rep, _ := catalog.Lookup(r.API); rep.Kind == catalog.Bucketed {
				// The open day's row changes until the day ends, and its ground truth is
				// known once it settled: read the day before, a backfill that ends.
				r.Start, r.End = dayBefore(start), dayBefore(start).AddDate(0, 0, 1)
			}
			cfg.Reports = append(cfg.Reports, r)
		}
		dest := source.Destination{Seeds: seeds, TopicTemplate: prefix + ".{report}", OffsetsTopic: prefix + ".offsets",
			DeadLetterTopic: prefix + ".dlq", TransactionalIDPrefix: prefix + "-"}
		c, err := source.New(cfg, append([]source.Opt{source.WriteTo(dest), source.WithClock(clock.FastClock),
			source.SourceOpts(wolkvox.Backoff(10*time.Millisecond, 100*time.Millisecond, time.Minute)),
			source.MaxBackoff(time.Minute), source.Logger(slog.New(slog.DiscardHandler))}, f.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		r := run{prefix: prefix, c: c, errc: make(chan error, 1)}
		go func() { r.errc <- c.Run(ctx) }()
		runs = append(runs, r)
	}
	time.Sleep(5 * time.Second) // 25 minutes of virtual traffic on top of the catch-up
	frozen := clock.Freeze()
	for _, r := range runs {
		drainTo(t, r.c, frozen.Add(10*time.Minute), r.errc)
	}
	cancel()
	for _, r := range runs {
		if err := <-r.errc; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	runEnd := clock.FastClock.Now()

	truth := truthRows(t, sim, bogota, start, frozen, apis...)
	var topicRows []string
	var topics []string
	for _, r := range runs {
		for _, rc := range javaEventReports {
			topic := r.prefix + "." + rc.API
			topics = append(topics, topic)
			topicRows = append(topicRows, topic+"\t"+filepath.Join(repoRoot, "schemas", schemas.Dir, rc.API+".avsc"))
		}
	}
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "topics.tsv"), topicRows)
	// Stable first: a real broker writes the commit markers after EndTxn answered.
	connectortest.ReadAll(t, seeds, topics...)
	records := map[string]*kgo.Record{} // topic/partition/offset → record
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	if err := sink.ReadCommitted(rctx, []kgo.Opt{kgo.SeedBrokers(seeds...)}, topics, func(r *kgo.Record) bool {
		records[fmt.Sprintf("%s\t%d\t%d", r.Topic, r.Partition, r.Offset)] = r
		return true
	}); err != nil {
		t.Fatal(err)
	}

	java := javaEvents(t, brokers, reg, filepath.Join(dir, "topics.tsv"))
	for where, msg := range java.errors {
		t.Errorf("Java: %s: %s", where, msg)
	}
	if len(java.events) != len(records) {
		t.Errorf("Java read %d events, the Go side %d (read_committed both)", len(java.events), len(records))
	}

	dec, err := schemas.NewDecoder(schemas.Registry(reg.client(t)))
	if err != nil {
		t.Fatal(err)
	}
	var conv schemas.Converter
	kinds := map[string]map[string]int{} // format → typed kind → occurrences
	perTopic := map[string]int{}
	for where, ev := range java.events {
		rec, ok := records[where]
		if !ok {
			t.Errorf("%s: Java read an event the Go side did not", where)
			continue
		}
		perTopic[rec.Topic]++
		api := string(header(rec, sink.HeaderReport))
		rep, ok := catalog.Lookup(api)
		if !ok {
			t.Fatalf("%s: report %q", where, api)
		}
		format := "single-object"
		if strings.HasPrefix(ev.format, "id=") {
			format = "confluent"
			if !strings.HasSuffix(string(header(rec, schemas.HeaderKey)), "&"+ev.format) {
				t.Errorf("%s: Java read schema %s, the header says %s", where, ev.format, header(rec, schemas.HeaderKey))
			}
		}
		if !strings.Contains(rec.Topic, "-"+format) {
			t.Errorf("%s: %s event on the other connector's topic", where, format)
		}
		ws, err1 := time.Parse(time.RFC3339, string(header(rec, sink.HeaderWindowStart)))
		we, err2 := time.Parse(time.RFC3339, string(header(rec, sink.HeaderWindowEnd)))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: window headers: %v %v", where, err1, err2)
		}
		goEv, err := dec.Decode(context.Background(), rec.Value)
		if err != nil {
			t.Fatalf("%s: the Go Decoder: %v", where, err)
		}
		readAt, _ := goEv.Values()[schemas.FieldReadAt].(time.Time)
		row, ok := truth[api][string(rec.Key)+"\x00"+string(header(rec, source.HeaderRowVersion))]
		if !ok {
			t.Errorf("%s: %s key %q version %s is not in the ground truth", where, api, rec.Key, header(rec, source.HeaderRowVersion))
			continue
		}
		if readAt.Before(we) || readAt.After(runEnd) {
			t.Errorf("%s: wv_read_at %s is not between the window's end %s and the run's end %s", where, readAt, we, runEnd)
		}
		native, err := conv.Convert(rep, row, schemas.Meta{Server: simulator.DefaultServer, Report: api, WindowStart: ws, WindowEnd: we,
			ReadAt: readAt, RowID: string(rec.Key), Location: bogota})
		if err != nil {
			t.Fatalf("%s: converting the truth row: %v", where, err)
		}
		want, err := typedNative(avscOf(t, api), native)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		wantFields := want.(map[string]any)
		if len(ev.fields) != len(wantFields) {
			t.Errorf("%s: Java decoded %d fields, the Go side meant %d", where, len(ev.fields), len(wantFields))
		}
		for name, w := range wantFields {
			if got := ev.fields[name]; !reflect.DeepEqual(got, w) {
				t.Errorf("%s (%s): field %s: Java read %s, the Go side meant %s", where, api, name, mustJSON(t, got), mustJSON(t, w))
			}
		}
		if kinds[format] == nil {
			kinds[format] = map[string]int{}
		}
		countKinds(kinds[format], ev.fields)
	}
	for _, topic := range topics {
		if perTopic[topic] == 0 {
			t.Errorf("%s: no event", topic)
		}
	}
	// The comparison proves little unless every kind of value occurred in both formats.
	for _, f := range formats {
		for _, k := range []string{"long", "double", "timestamp-millis", "date", "string", "null", "wv_extra"} {
			if kinds[f.name][k] == 0 {
				t.Errorf("%s: no %s value among the events: %v", f.name, k, kinds[f.name])
			}
		}
		t.Logf("%s: values compared by kind: %v", f.name, kinds[f.name])
	}
	t.Logf("%d events read by Java and compared with the ground truth: %v", len(java.events), perTopic)
}

// drainTo waits until every report's cursor has passed until.
func drainTo(t *testing.T, c *source.Connector, until time.Time, errc chan error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			t.Fatalf("Run ended early: %v", err)
		default:
		}
		done := true
		for _, r := range c.Status().Reports {
			target := until
			for _, rc := range c.Config().Reports {
				if rc.Key() == r.Key && !rc.End.IsZero() && rc.End.Before(until) {
					target = rc.End
				}
			}
			if r.Cursor.Before(target) {
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the connector did not drain to %s: %+v", until, c.Status())
}

// truthRows is every version of every row of the given reports the simulator served by
// frozen, keyed by report, then by Kafka key and version (source.Identify, as
// connectortest.Expect computes them).
func truthRows(t *testing.T, sim *simulator.Server, loc *time.Location, start, frozen time.Time, apis ...string) map[string]map[string]schemas.Row {
	t.Helper()
	out := map[string]map[string]schemas.Row{}
	for _, r := range javaEventReports {
		if !slices.Contains(apis, r.API) {
			continue
		}
		rep, _ := catalog.Lookup(r.API)
		params := url.Values{}
		for k, v := range r.Params {
			params.Set(k, v)
		}
		truth, err := sim.Truth(simulator.TruthQuery{Report: r.API, Params: params, From: dayBefore(start), To: frozen.Add(time.Second), AsOf: frozen})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]schemas.Row{}
		for _, tr := range truth {
			row := make(wolkvox.Row, len(tr.Row))
			srow := make(schemas.Row, len(tr.Row))
			for i, c := range tr.Row {
				row[i] = wolkvox.Cell{Key: c.Key, Value: c.Value, Null: c.Null}
				srow[i] = schemas.Cell{Key: c.Key, Value: c.Value, Null: c.Null}
			}
			w := source.Window{Start: tr.Time, End: tr.Time.Add(source.DefaultBucket - time.Second)}
			key, version := source.Identify(rep, w, row, loc)
			m[key+"\x00"+version] = srow
		}
		out[r.API] = m
	}
	return out
}

// dayBefore is the local midnight that starts the day before t's.
func dayBefore(t time.Time) time.Time {
	y, m, d := t.AddDate(0, 0, -1).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func header(r *kgo.Record, key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// avscOf is a report's current .avsc as decoded JSON.
func avscOf(t *testing.T, api string) any {
	t.Helper()
	var s any
	if err := json.Unmarshal(readFile(t, filepath.Join("schemas", schemas.Dir, api+".avsc")), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// countKinds counts the typed leaves of an event by kind; a non-empty wv_extra counts too.
func countKinds(kinds map[string]int, fields map[string]any) {
	for name, v := range fields {
		if name == schemas.FieldExtra {
			if m, ok := v.(map[string]any); ok && len(m) > 0 {
				kinds["wv_extra"]++
				countKinds(kinds, m)
			}
			continue
		}
		leaf, ok := v.(map[string]any)
		switch {
		case v == nil:
			kinds["null"]++
		case ok && len(leaf) == 1:
			for k := range leaf {
				kinds[k]++
			}
		}
	}
}

type javaRead struct {
	format string
	fields map[string]any
}

type javaEventsOut struct {
	events map[string]javaRead // topic TAB partition TAB offset → event
	errors map[string]string
	counts map[string]int
}

// javaEvents runs JavaEvents.java with the README consumer's classpath (the same
// kafka-clients and avro) and parses what it printed.
func javaEvents(t *testing.T, brokers string, reg registry, topics string) javaEventsOut {
	t.Helper()
	pom := "deploy/check/testdata/consumers/pom.xml"
	libs, fresh := cacheDir(t, "consumer-java", pom)
	if fresh {
		run(t, 5*time.Minute, nil, "mvn", "-B", "-q", "-f", pom,
			"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+libs)
		markComplete(t, libs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", "-cp", filepath.Join(libs, "*"),
		filepath.Join(repoRoot, "deploy/check/testdata/javaevents/JavaEvents.java"), brokers, topics)
	cmd.Env = append(os.Environ(), "REGISTRY_URL="+reg.URL, "REGISTRY_USER="+reg.User, "REGISTRY_PASSWORD="+reg.Password)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("java JavaEvents.java: %v\n%s", err, tail(stderr.String(), 40))
	}
	out := javaEventsOut{events: map[string]javaRead{}, errors: map[string]string{}, counts: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		switch {
		case f[0] == "event" && len(f) == 6:
			var fields map[string]any
			if err := json.Unmarshal([]byte(f[5]), &fields); err != nil {
				t.Fatalf("JavaEvents printed %q: %v", sc.Text(), err)
			}
			out.events[strings.Join(f[1:4], "\t")] = javaRead{format: f[4], fields: fields}
		case f[0] == "error" && len(f) == 5:
			out.errors[strings.Join(f[1:4], "\t")] = f[4]
		case f[0] == "count" && len(f) == 3:
			n, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("JavaEvents printed %q", sc.Text())
			}
			out.counts[f[1]] = n
		default:
			t.Fatalf("JavaEvents printed %q", sc.Text())
		}
	}
	t.Logf("Java read, per topic: %v", out.counts)
	return out
}
