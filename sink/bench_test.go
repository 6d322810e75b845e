package sink_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

// BenchmarkCommit60k commits the API's largest window, 60,000 rows of about 300 bytes,
// plus its offset record (with the 60,000 rows as seen state), in one transaction;
// on kfake, and on the real broker when WOLKVOX_TEST_KAFKA is set. It reports rows/s.
func BenchmarkCommit60k(b *testing.B) {
	b.Run(kafkatest.NameFake, func(b *testing.B) { benchCommit(b, kafkatest.Fake(b)) })
	b.Run(kafkatest.NameReal, func(b *testing.B) {
		if os.Getenv(kafkatest.EnvVar) == "" {
			b.Skip(kafkatest.EnvVar + " is unset")
		}
		benchCommit(b, kafkatest.Real(b))
	})
}

func benchCommit(b *testing.B, seeds []string) {
	const rows = 60_000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	events, offs := kafkatest.Topic(b, "events"), kafkatest.Topic(b, "offsets")
	w, err := sink.NewWriter(sink.Seeds(seeds...), sink.TransactionalID(kafkatest.TransactionalID(b)),
		sink.OffsetsTopic(offs), sink.DeadLetterTopic(kafkatest.Topic(b, "dlq")),
		sink.Topics(sink.TopicSettings{Partitions: 3, ReplicationFactor: -1}))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(ctx)
	if err := w.Open(ctx); err != nil {
		b.Fatal(err)
	}
	if err := w.EnsureTopics(ctx, events); err != nil {
		b.Fatal(err)
	}
	if err := offsets.EnsureTopic(ctx, w.Admin(), offs, 1, -1); err != nil {
		b.Fatal(err)
	}

	// Realistic rows: a JSON-ish Avro-sized value with some repetition, as report rows
	// have (agent names, skills, dates), so compression behaves as it would.
	r := rand.New(rand.NewPCG(1, 2))
	ws, we := time.Unix(1740787200, 0), time.Unix(1740787500, 0)
	recs := make([]*kgo.Record, rows)
	seen := make([]offsets.Seen, rows)
	var bytes int64
	for i := range recs {
		v := fmt.Appendf(nil, `{"id_call":"%016x","agent":"agent-%03d","skill":"skill-%02d","date":"2025-03-01 00:%02d:%02d","duration":"0:%02d:%02d","result":"ANSWERED","campaign":"campaign-%d","customer":"%012d","notes":"%x"}`,
			r.Uint64(), r.IntN(300), r.IntN(40), r.IntN(5), r.IntN(60), r.IntN(60), r.IntN(60), r.IntN(10), r.Uint64()%1e12, r.Uint64())
		for len(v) < 300 {
			v = append(v, ' ')
		}
		bytes += int64(len(v))
		recs[i] = sink.EventRecord(events, fmt.Appendf(nil, "%d", i), v, "cdr_1", ws, we, "7")
		seen[i] = offsets.Seen{ID: r.Uint64(), Version: r.Uint64(), Time: ws.Unix() + int64(i%300)}
	}
	key := offsets.Key{Connector: "bench", Server: "0040", Report: "cdr_1"}
	off, err := offsets.Record(offs, key, &offsets.Position{LastSeen: we, WindowEnd: we, Seen: seen})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(bytes + int64(len(off.Value)))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n++
		// Records are reused; franz-go fills in their partition and offset each time.
		if err := w.Commit(ctx, sink.Batch{Records: recs, Offset: off}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*n)/b.Elapsed().Seconds(), "rows/s")
}
