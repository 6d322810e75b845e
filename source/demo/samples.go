package demo

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// printSamples reads the first n committed events of each report's topic and prints
// them as JSON lines, report by report, as tail does (schemas.Record). An event that
// does not decode is printed with its error and raw bytes, not skipped: the demo is
// also a check of the wire format.
func printSamples(ctx context.Context, w io.Writer, kopts []kgo.Opt, reports []source.ReportStatus, n int, log *slog.Logger) error {
	topics := make([]string, 0, len(reports))
	byTopic := map[string]string{}
	for _, r := range reports {
		if _, dup := byTopic[r.Topic]; !dup {
			topics = append(topics, r.Topic)
		}
		byTopic[r.Topic] = r.Key
	}
	samples, err := readSamples(ctx, kopts, topics, n, log)
	if err != nil {
		return fmt.Errorf("reading sample events back: %w", err)
	}
	dec, err := schemas.NewDecoder(schemas.WithLogger(log))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nSample events: the first %d of each report's topic, read back from Kafka (read_committed) and decoded from Avro:\n", n)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, topic := range topics {
		recs := samples[topic]
		if len(recs) == 0 {
			fmt.Fprintf(w, "(%s: no committed event in %s yet)\n", byTopic[topic], topic)
			continue
		}
		for _, r := range recs {
			if err := enc.Encode(dec.DecodeRecord(ctx, r)); err != nil {
				return fmt.Errorf("writing an event: %w", err)
			}
		}
	}
	return nil
}

// readSamples returns up to n committed records of each topic, in offset order within
// a partition. It reads from the start to the last stable offset, so it ends by itself
// however few events there are.
func readSamples(ctx context.Context, kopts []kgo.Opt, topics []string, n int, log *slog.Logger) (map[string][]*kgo.Record, error) {
	out := map[string][]*kgo.Record{}
	opts := append(slices.Clone(kopts), kgo.WithLogger(sink.KafkaLogger(log)))
	err := sink.ReadCommitted(ctx, opts, topics, func(r *kgo.Record) bool {
		out[r.Topic] = append(out[r.Topic], r)
		return len(out[r.Topic]) < n
	})
	if err != nil {
		return nil, err
	}
	for _, recs := range out {
		slices.SortFunc(recs, func(a, b *kgo.Record) int {
			return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
		})
	}
	return out, nil
}
