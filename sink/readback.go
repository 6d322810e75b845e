package sink

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadCommitted reads topics the way a read_committed consumer sees them, from each
// partition's start to the last stable offset it finds when called, and calls fn with
// every data record in offset order within its partition; records committed after the
// call began are not passed on. fn returns false to stop reading that record's topic. A
// topic that does not exist reads as empty. It ends by itself, however few records there
// are: control records are kept so that a partition ending with a commit marker is seen
// to end.
//
// opts are the connection options (seeds, TLS, SASL) and may add consumer options such
// as kgo.FetchMaxPartitionBytes. The worker's readers use it: the offsets store loading
// positions, a backfill collecting what a topic holds, the demo printing sample events,
// tests comparing topics with ground truth.
func ReadCommitted(ctx context.Context, opts []kgo.Opt, topics []string, fn func(*kgo.Record) bool) error {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, opts...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return fmt.Errorf("sink: read back: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("sink: read back: listing committed offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("sink: read back: listing start offsets: %w", err)
	}
	type partition struct {
		topic string
		id    int32
	}
	end := map[partition]int64{}    // exclusive: records from here on came after the call
	pending := map[partition]bool{} // partitions whose end is not reached yet
	from := map[string]map[int32]kgo.Offset{}
	var listErr error
	ends.Each(func(e kadm.ListedOffset) {
		if e.Err != nil {
			if !errors.Is(e.Err, kerr.UnknownTopicOrPartition) { // a missing topic is empty
				listErr = errors.Join(listErr, fmt.Errorf("committed offset of %s/%d: %w", e.Topic, e.Partition, e.Err))
			}
			return
		}
		s, ok := starts.Lookup(e.Topic, e.Partition)
		switch {
		case !ok:
			listErr = errors.Join(listErr, fmt.Errorf("start offset of %s/%d: not listed", e.Topic, e.Partition))
			return
		case s.Err != nil:
			listErr = errors.Join(listErr, fmt.Errorf("start offset of %s/%d: %w", e.Topic, e.Partition, s.Err))
			return
		case e.Offset <= s.Offset:
			return
		}
		if from[e.Topic] == nil {
			from[e.Topic] = map[int32]kgo.Offset{}
		}
		from[e.Topic][e.Partition] = kgo.NewOffset().At(s.Offset)
		p := partition{e.Topic, e.Partition}
		end[p], pending[p] = e.Offset, true
	})
	if listErr != nil {
		return fmt.Errorf("sink: read back: %w", listErr)
	}
	if len(pending) == 0 {
		return nil
	}
	cl.AddConsumePartitions(from)
	stopped := map[string]bool{}
	for len(pending) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fetches.EachError(func(topic string, p int32, err error) {
			ferr = errors.Join(ferr, fmt.Errorf("fetching %s/%d: %w", topic, p, err))
		})
		if ferr != nil {
			return fmt.Errorf("sink: read back: %w", ferr)
		}
		for it := fetches.RecordIter(); !it.Done(); {
			r := it.Next()
			key := partition{r.Topic, r.Partition}
			if stopped[r.Topic] || r.Offset >= end[key] {
				continue
			}
			if r.Offset+1 >= end[key] {
				delete(pending, key)
			}
			if r.Attrs.IsControl() {
				continue
			}
			if !fn(r) {
				stopped[r.Topic] = true
				for k := range pending {
					if k.topic == r.Topic {
						delete(pending, k)
					}
				}
			}
		}
	}
	return nil
}
