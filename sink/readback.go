package sink

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadCommitted reads topics the way a read_committed consumer sees them, from each
// partition's start to the last stable offset it finds when called, and calls fn with
// every data record in offset order within its partition. fn returns false to stop
// reading that record's topic. It ends by itself, however few records there are: control
// records are kept so that a partition ending with a commit marker is seen to end.
//
// The worker's readers use it: a backfill collecting what a topic holds, the demo
// printing sample events, tests comparing topics with ground truth.
func ReadCommitted(ctx context.Context, opts []kgo.Opt, topics []string, fn func(*kgo.Record) bool) error {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, opts...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return fmt.Errorf("sink: read back: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("sink: read back: listing start offsets: %w", err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("sink: read back: listing committed offsets: %w", err)
	}
	type partition struct {
		topic string
		id    int32
	}
	from := map[string]map[int32]kgo.Offset{}
	remaining := map[partition]int64{}
	starts.Each(func(s kadm.ListedOffset) {
		e, ok := ends.Lookup(s.Topic, s.Partition)
		if !ok || e.Offset <= s.Offset {
			return
		}
		if from[s.Topic] == nil {
			from[s.Topic] = map[int32]kgo.Offset{}
		}
		from[s.Topic][s.Partition] = kgo.NewOffset().At(s.Offset)
		remaining[partition{s.Topic, s.Partition}] = e.Offset
	})
	if len(remaining) == 0 {
		return nil
	}
	cl.AddConsumePartitions(from)
	stopped := map[string]bool{}
	for len(remaining) > 0 {
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
			if end, ok := remaining[key]; ok && (r.Offset+1 >= end || stopped[r.Topic]) {
				delete(remaining, key)
			}
			if r.Attrs.IsControl() || stopped[r.Topic] {
				continue
			}
			if !fn(r) {
				stopped[r.Topic] = true
				for k := range remaining {
					if k.topic == r.Topic {
						delete(remaining, k)
					}
				}
			}
		}
	}
	return nil
}
