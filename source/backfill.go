package source

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
)

// Backfill makes the connector re-read a past range, from..to, instead of following the
// present, writing to topic (empty: each report's own topic). It keeps the live
// connector's offsets untouched: a backfill stores its progress under its own offset key
// (the report's key plus "backfill": "from/to"), commits with its own transactional ID
// ("wolkvox-connect-backfill-<connector>" by default), so it can run while the live connector runs, and
// resumes where it stopped if interrupted. Before reading, it collects the key and
// version of every event already in the target topic, so a row already there is not
// written again. Run returns once every report has reached to.
//
// Rows the live connector writes to the same topic while the backfill runs are not seen
// by it: backfill ranges the live connector has already passed.
func Backfill(from, to time.Time, topic string) Opt {
	return optFunc(func(o *options) { o.backfill = &backfillSpec{from: from, to: to, topic: topic} })
}

type backfillSpec struct {
	from, to time.Time
	topic    string

	// progress is what BackfillProgress reports, written by the connector's goroutine
	// and read by whoever draws the progress.
	mu       sync.Mutex
	progress BackfillProgress
}

// BackfillProgress is where a backfill stands beyond its reports' Status.
type BackfillProgress struct {
	// Seeding is true while the backfill reads the events already in its topics, before
	// any call; Seeded counts the events read so far (every event the topics held, once
	// Seeding is false). An event among them that the range returns again is not
	// written again, and is counted in the report's Status.Duplicates.
	Seeding bool
	Seeded  int64
	// Finished counts the reports whose range was already done when Run started: their
	// stored progress had reached the range's end, so they read nothing. Every report
	// finished means the whole backfill had been done before.
	Finished int
	// Keys are the report keys the backfill's progress is stored under (with their
	// "backfill" parameter), as 'wolkvox-connect offsets list' shows them.
	Keys []string
}

// BackfillProgress reports a backfill's progress; false when the connector is not a
// backfill. It is safe to call while Run runs.
func (c *Connector) BackfillProgress() (BackfillProgress, bool) {
	b := c.opts.backfill
	if b == nil {
		return BackfillProgress{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.progress
	p.Keys = slices.Clone(p.Keys)
	return p, true
}

func (b *backfillSpec) update(fn func(p *BackfillProgress)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn(&b.progress)
}

// apply turns the connector into a backfill: bounded reports, separate offset keys and
// transactional ID, optional target topic.
func (b *backfillSpec) apply(c *Connector) {
	rangeParam := b.from.UTC().Format(time.RFC3339) + "/" + b.to.UTC().Format(time.RFC3339)
	c.opts.dest.TransactionalIDPrefix += "backfill-"
	for _, rs := range c.reports {
		rs.rc.Start, rs.rc.End = b.from, b.to
		rs.key.Params = maps.Clone(rs.key.Params)
		if rs.key.Params == nil {
			rs.key.Params = map[string]string{}
		}
		rs.key.Params["backfill"] = rangeParam
		if b.topic != "" {
			rs.topic = b.topic
			rs.status.Topic = b.topic
		}
		key := ReportConfig{API: rs.key.Report, Params: rs.key.Params}
		b.update(func(p *BackfillProgress) { p.Keys = append(p.Keys, key.Key()) })
	}
}

// seedFromTopic adds to rs's dedupe state every event already in its topic, read
// committed up to the topic's high watermark (waiting for the transactions open there,
// the live connector's window among them, to end): the key and the version header identify it, the window end header bounds
// when it can be forgotten.
//
// A report whose stored progress has already reached the range's end reads nothing,
// not even its topic: it is counted in BackfillProgress.Finished.
func (c *Connector) seedFromTopic(ctx context.Context, rs *reportState) error {
	b := c.opts.backfill
	c.mu.Lock()
	done := rs.done()
	c.mu.Unlock()
	if done {
		b.update(func(p *BackfillProgress) { p.Finished++ })
		c.log.Info("backfill: the range was already done", "report", rs.rc.Key(), "to", rs.rc.End)
		return nil
	}
	b.update(func(p *BackfillProgress) { p.Seeding = true })
	defer b.update(func(p *BackfillProgress) { p.Seeding = false })
	seeded := 0
	opts := c.opts.dest.readOpts()
	err := sink.ReadCommitted(ctx, opts, []string{rs.topic}, func(r *kgo.Record) bool {
		var version uint64
		var windowEnd time.Time
		var versioned bool
		for _, h := range r.Headers {
			switch h.Key {
			case HeaderRowVersion:
				v, err := strconv.ParseUint(string(h.Value), 16, 64)
				version, versioned = v, err == nil
			case sink.HeaderWindowEnd:
				windowEnd, _ = time.Parse(time.RFC3339, string(h.Value))
			}
		}
		if versioned {
			h := fnv.New64a()
			h.Write(r.Key)
			rs.seen.add(identity{ID: h.Sum64(), Version: version}, windowEnd)
			seeded++
			b.update(func(p *BackfillProgress) { p.Seeded++ })
		}
		return true
	}, sink.ToHighWatermark()) // events committed above an open transaction count too (see offsets.Store.Load)
	if err != nil {
		return fmt.Errorf("backfill: reading what %s holds: %w", rs.topic, err)
	}
	c.log.Info("backfill: events already in the topic will not be written again", "report", rs.rc.Key(), "topic", rs.topic, "events", seeded)
	return nil
}
