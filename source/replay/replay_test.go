package replay_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/replay"
)

var bogota = time.FixedZone("-05", -5*3600)

// write is one record a test puts in the report's topic.
type write struct {
	key, label string    // the row's key, and its version's label (its customer_id)
	at         time.Time // the row's date (its event time)
	partition  int32     // -1: the default partitioner, as the connector produces
	windowEnd  time.Time // the wolkvox.window.end header; zero: at + 1 h
	tombstone  bool
	aborted    bool // written in a transaction that aborts
}

// day is 2026-11-20 at h:00 in Bogotá.
func day(h int) time.Time { return time.Date(2026, 11, 20, h, 0, 0, 0, bogota) }

// d13 is a diagram_13 event of w, single-object encoded, with the connector's headers.
func d13(t *testing.T, enc *schemas.Encoder, topic string, w write) *kgo.Record {
	t.Helper()
	rep, _ := catalog.Lookup("diagram_13")
	we := w.windowEnd
	if we.IsZero() {
		we = w.at.Add(time.Hour)
	}
	var value []byte
	if !w.tombstone {
		row := schemas.Row{{Key: "conn_id", Value: w.key}, {Key: "customer_id", Value: w.label}, {Key: "date", Value: w.at.Format(rep.TimeLayout)}}
		native, err := new(schemas.Converter).Convert(rep, row, schemas.Meta{Server: "0040", Report: rep.API, WindowStart: we.Add(-time.Hour), WindowEnd: we, ReadAt: we, RowID: w.key, Location: bogota})
		if err != nil {
			t.Fatal(err)
		}
		if value, err = enc.Encode(t.Context(), topic, rep, native, nil); err != nil {
			t.Fatal(err)
		}
	}
	r := sink.EventRecord(topic, []byte(w.key), value, rep.API, we.Add(-time.Hour), we, "")
	r.Partition = w.partition
	return r
}

// fill writes ws to topic (3 partitions) in order: the aborted ones each in a
// transaction that aborts, the others in transactions that commit.
func fill(t *testing.T, seeds []string, topic string, ws []write) {
	t.Helper()
	kafkatest.CreateTopic(t, seeds, topic, 3, nil)
	enc, err := schemas.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	// Records with a partition go there; the others the way the connector's go.
	def := kgo.StickyKeyPartitioner(nil)
	part := kgo.BasicConsistentPartitioner(func(topic string) func(*kgo.Record, int) int {
		tp := def.ForTopic(topic)
		return func(r *kgo.Record, n int) int {
			if r.Partition >= 0 {
				return int(r.Partition)
			}
			return tp.Partition(r, n)
		}
	})
	cl := kafkatest.Client(t, seeds, kgo.TransactionalID(kafkatest.TransactionalID(t)), kgo.RecordPartitioner(part))
	ctx := t.Context()
	// Runs of writes alike in aborted, each one transaction.
	var batches [][]write
	for i, w := range ws {
		if i == 0 || w.aborted != ws[i-1].aborted {
			batches = append(batches, nil)
		}
		batches[len(batches)-1] = append(batches[len(batches)-1], w)
	}
	for _, batch := range batches {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, w := range batch {
			if err := cl.ProduceSync(ctx, d13(t, enc, topic, w)).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(!batch[0].aborted)); err != nil {
			t.Fatal(err)
		}
	}
}

// got is what an output holds: label by key (a duplicate key fails the test).
func collectJSON(t *testing.T, out []byte) map[string]string {
	t.Helper()
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var line struct {
			Key     string
			Headers map[string]string
			Value   map[string]any
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		if line.Headers[sink.HeaderReport] != "diagram_13" {
			t.Errorf("line without the report header: %s", sc.Bytes())
		}
		addRow(t, got, line.Key, line.Value["customer_id"])
	}
	return got
}

func addRow(t *testing.T, got map[string]string, key string, label any) {
	t.Helper()
	if _, dup := got[key]; dup {
		t.Errorf("key %s written twice", key)
	}
	s, _ := label.(string)
	got[key] = s
}

func collectOCF(t *testing.T, out []byte) map[string]string {
	t.Helper()
	r, err := goavro.NewOCFReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for r.Scan() {
		v, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		m := v.(map[string]any)
		label := m["customer_id"].(map[string]any)["string"]
		addRow(t, got, m[schemas.FieldRowID].(string), label)
	}
	if string(r.MetaData()["wolkvox.report"]) != "diagram_13" {
		t.Errorf("the file's wolkvox.report is %q", r.MetaData()["wolkvox.report"])
	}
	return got
}

func collectTopic(t *testing.T, seeds []string, topic string) map[string]string {
	t.Helper()
	connectortest.WaitStable(t, seeds, topic) // the replay's commit markers may still be on their way
	dec, err := schemas.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err = sink.ReadCommitted(t.Context(), []kgo.Opt{kgo.SeedBrokers(seeds...)}, []string{topic}, func(r *kgo.Record) bool {
		ev, err := dec.Decode(t.Context(), r.Value)
		if err != nil {
			t.Fatal(err)
		}
		addRow(t, got, string(r.Key), ev.Values()["customer_id"])
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestReplay replays a topic of edited, late, deleted, aborted and moved rows into each
// output: each holds the latest committed version of every row in the range, once.
func TestReplay(t *testing.T) {
	tests := []struct {
		name     string
		writes   []write
		from, to time.Time
		want     map[string]string
		counts   replay.Counts // Written, OutOfRange and Deleted
	}{{
		name: "edits keep the last version",
		writes: []write{
			{key: "a", label: "a1", at: day(8), partition: -1},
			{key: "b", label: "b1", at: day(9), partition: -1},
			{key: "a", label: "a2", at: day(8), partition: -1},
			{key: "c", label: "c1", at: day(10), partition: -1},
			{key: "a", label: "a3", at: day(8), partition: -1},
		},
		from: day(8), to: day(11),
		want:   map[string]string{"a": "a3", "b": "b1", "c": "c1"},
		counts: replay.Counts{Written: 3},
	}, {
		name: "the range is half open and in event time, late rows included",
		writes: []write{
			{key: "early", label: "e", at: day(7), partition: -1},
			{key: "first", label: "f", at: day(8), partition: -1},
			{key: "last", label: "l", at: day(10).Add(-time.Second), partition: -1},
			{key: "end", label: "x", at: day(10), partition: -1},
			// Committed last, in a window long after its time.
			{key: "late", label: "late", at: day(9), partition: -1, windowEnd: day(15)},
		},
		from: day(8), to: day(10),
		want:   map[string]string{"first": "f", "last": "l", "late": "late"},
		counts: replay.Counts{Written: 3, OutOfRange: 2},
	}, {
		name: "the latest version decides the range, even when an edit moves the row out",
		writes: []write{
			{key: "moved-out", label: "in", at: day(9), partition: -1},
			{key: "moved-out", label: "out", at: day(12), partition: -1},
			{key: "moved-in", label: "out", at: day(12), partition: -1},
			{key: "moved-in", label: "in", at: day(9), partition: -1},
		},
		from: day(8), to: day(10),
		want:   map[string]string{"moved-in": "in"},
		counts: replay.Counts{Written: 1, OutOfRange: 1},
	}, {
		name: "aborted versions and tombstones",
		writes: []write{
			{key: "a", label: "a1", at: day(9), partition: -1},
			{key: "a", label: "a2-aborted", at: day(9), partition: -1, aborted: true},
			{key: "gone", label: "g1", at: day(9), partition: -1},
			{key: "gone", tombstone: true, partition: -1},
			{key: "back", label: "b1", at: day(9), partition: -1},
			{key: "back", tombstone: true, partition: -1},
			{key: "back", label: "b2", at: day(9), partition: -1},
		},
		from: day(8), to: day(10),
		want:   map[string]string{"a": "a1", "back": "b2"},
		counts: replay.Counts{Written: 2, Deleted: 1},
	}, {
		name: "a key on two partitions: the later window wins",
		writes: []write{
			{key: "k", label: "new", at: day(9), partition: 2, windowEnd: day(14)},
			{key: "k", label: "old", at: day(9), partition: 0, windowEnd: day(12)},
			{key: "j", label: "old", at: day(9), partition: 1, windowEnd: day(12)},
			{key: "j", label: "new", at: day(9), partition: 0, windowEnd: day(13)},
		},
		from: day(8), to: day(10),
		want:   map[string]string{"k": "new", "j": "new"},
		counts: replay.Counts{Written: 2},
	}, {
		name:   "an empty topic",
		from:   day(8),
		to:     day(10),
		want:   map[string]string{},
		counts: replay.Counts{},
	}}
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				topic := kafkatest.Topic(t)
				fill(t, c.Seeds, topic, tt.writes)
				reports := []replay.Report{{Key: "diagram_13", API: "diagram_13", Topic: topic}}
				run := func(out replay.Output) {
					t.Helper()
					r, err := replay.New(reports, tt.from, tt.to, out, replay.KafkaOpts(kgo.SeedBrokers(c.Seeds...)))
					if err != nil {
						t.Fatal(err)
					}
					counts, err := r.Run(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					if counts.Written != tt.counts.Written || counts.OutOfRange != tt.counts.OutOfRange || counts.Deleted != tt.counts.Deleted {
						t.Errorf("counts: written %d, out of range %d, deleted %d; want %d, %d, %d",
							counts.Written, counts.OutOfRange, counts.Deleted, tt.counts.Written, tt.counts.OutOfRange, tt.counts.Deleted)
					}
					committed := 0
					for _, w := range tt.writes {
						if !w.aborted {
							committed++
						}
					}
					if counts.Records != int64(committed) {
						t.Errorf("counts: %d records, want the %d committed", counts.Records, committed)
					}
					if p := r.Progress(); p.Phase != replay.Done || p.Written != counts.Written {
						t.Errorf("progress at the end: %+v", p)
					}
				}
				check := func(output string, got map[string]string) {
					t.Helper()
					if !maps.Equal(got, tt.want) {
						t.Errorf("%s: got %v, want %v", output, got, tt.want)
					}
				}
				var js bytes.Buffer
				run(replay.JSONLines(&js))
				check("json", collectJSON(t, js.Bytes()))
				var file bytes.Buffer
				run(replay.OCF(&file))
				check("ocf", collectOCF(t, file.Bytes()))
				target := topic + ".replay"
				run(replay.ToTopic(target, replay.TransactionalID(kafkatest.TransactionalID(t))))
				check("topic", collectTopic(t, c.Seeds, target))
			})
		}
	})
}

// TestReplayToTopicCrash proves the topic output exactly once when a replay dies: an
// attempt cancelled mid-way, and one killed (its producer left with an open
// transaction, as a killed process leaves it) leave nothing visible, and the replay run
// again writes every row once.
func TestReplayToTopicCrash(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		topic := kafkatest.Topic(t)
		var ws []write
		want := map[string]string{}
		for i := range 300 {
			k := fmt.Sprintf("row-%03d", i%100)
			l := fmt.Sprintf("v%d", i/100)
			ws = append(ws, write{key: k, label: l, at: day(9), partition: -1})
			want[k] = l
		}
		fill(t, c.Seeds, topic, ws)
		reports := []replay.Report{{Key: "diagram_13", API: "diagram_13", Topic: topic}}
		target, txnID := topic+".replay", kafkatest.TransactionalID(t)
		kopts := replay.KafkaOpts(kgo.SeedBrokers(c.Seeds...))

		// Killed: a producer under the replay's transactional ID wrote rows and never
		// ended its transaction.
		kafkatest.CreateTopic(t, c.Seeds, target, 3, nil)
		killed := kafkatest.Client(t, c.Seeds, kgo.TransactionalID(txnID), kgo.DefaultProduceTopic(target))
		if err := killed.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			if err := killed.ProduceSync(t.Context(), &kgo.Record{Key: fmt.Appendf(nil, "row-%03d", i), Value: []byte("half")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}

		// Cancelled: the context ends after 60 rows were produced.
		ctx, cancel := context.WithCancel(t.Context())
		r, err := replay.New(reports, day(8), day(10), replay.CancelAfter(replay.ToTopic(target, replay.TransactionalID(txnID)), 60, cancel), kopts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("the cancelled replay returned %v", err)
		}
		cancel()
		if got := collectTopic(t, c.Seeds, target); len(got) != 0 {
			t.Fatalf("after the killed and the cancelled attempt, %d rows are visible: %v", len(got), slices.Sorted(maps.Keys(got)))
		}
		r, err = replay.New(reports, day(8), day(10), replay.ToTopic(target, replay.TransactionalID(txnID)), kopts)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := r.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := collectTopic(t, c.Seeds, target)
		if !maps.Equal(got, want) || counts.Written != 100 {
			t.Errorf("after the rerun: %d rows (written %d), want the 100 latest: %v", len(got), counts.Written, got)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	one := []replay.Report{{Key: "diagram_13", API: "diagram_13", Topic: "t.diagram_13"}}
	two := append(slices.Clone(one), replay.Report{Key: "act_3", API: "act_3", Topic: "t.act_3"})
	seeds := replay.KafkaOpts(kgo.SeedBrokers("127.0.0.1:1"))
	tests := []struct {
		name     string
		reports  []replay.Report
		from, to time.Time
		out      replay.Output
		opts     []replay.Opt
		want     string
	}{
		{"no report", nil, day(8), day(9), replay.JSONLines(&bytes.Buffer{}), []replay.Opt{seeds}, "no report"},
		{"empty range", one, day(9), day(9), replay.JSONLines(&bytes.Buffer{}), []replay.Opt{seeds}, "is not before"},
		{"bad topic", []replay.Report{{Key: "x", API: "x", Topic: "a b"}}, day(8), day(9), replay.JSONLines(&bytes.Buffer{}), []replay.Opt{seeds}, "report x"},
		{"no output", one, day(8), day(9), nil, []replay.Opt{seeds}, "no output"},
		{"ocf of two reports", two, day(8), day(9), replay.OCF(&bytes.Buffer{}), []replay.Opt{seeds}, "one report's rows"},
		{"topic of two reports", two, day(8), day(9), replay.ToTopic("x"), []replay.Opt{seeds}, "one report's rows"},
		{"into its own topic", one, day(8), day(9), replay.ToTopic("t.diagram_13"), []replay.Opt{seeds}, "own topic"},
		{"no timeout", one, day(8), day(9), replay.ToTopic("x", replay.TransactionTimeout(0)), []replay.Opt{seeds}, "timeout must be positive"},
		{"no Kafka", one, day(8), day(9), replay.JSONLines(&bytes.Buffer{}), nil, "no Kafka options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := replay.New(tt.reports, tt.from, tt.to, tt.out, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestEventTime(t *testing.T) {
	at := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)
	ws := at.Add(-time.Hour)
	tests := []struct {
		name   string
		native map[string]any
		want   time.Time
		err    bool
	}{
		{"event time", map[string]any{schemas.FieldEventTime: map[string]any{"long.timestamp-millis": at}, schemas.FieldWindowStart: ws}, at, false},
		{"no event time: the window's start", map[string]any{schemas.FieldEventTime: nil, schemas.FieldWindowStart: ws}, ws, false},
		{"neither", map[string]any{}, time.Time{}, true},
		{"not a time", map[string]any{schemas.FieldEventTime: map[string]any{"string": "x"}}, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replay.EventTime(&schemas.Event{Native: tt.native})
			if (err != nil) != tt.err || !got.Equal(tt.want) {
				t.Errorf("EventTime = %v, %v; want %v (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}
