// Package connectortest proves connectors against the simulator's ground truth: it
// reads back every event a connector committed to Kafka (read_committed) and compares
// them, row by row and version by version, with what the simulator says a complete and
// exact consumer holds. The key types are [Freezable], a virtual clock shared by the
// simulator and the connector that the test can stop, and [Delivered], what reached Kafka.
package connectortest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// Freezable is a fast virtual clock that can be stopped: the simulator runs on it, so
// once frozen no row appears or changes any more, while the connector's own clock (the
// same FastClock, unfrozen) goes on until it has read everything.
type Freezable struct {
	source.FastClock
	frozen atomic.Pointer[time.Time]
}

// Now is the virtual time, or the instant of Freeze once called.
func (f *Freezable) Now() time.Time {
	if t := f.frozen.Load(); t != nil {
		return *t
	}
	return f.FastClock.Now()
}

// Freeze stops the clock and returns the instant it stopped at.
func (f *Freezable) Freeze() time.Time {
	t := f.FastClock.Now().Truncate(time.Second)
	f.frozen.Store(&t)
	return t
}

// Event is one record read back from a report topic.
type Event struct {
	Key, Version string
	Partition    int32
	Offset       int64
}

// at is where the event sits in its topic, for failure messages: two copies at one
// place were read twice; at two places, produced twice.
func (e Event) at() string { return fmt.Sprintf("%d@%d", e.Partition, e.Offset) }

// WaitStable waits (a minute at most) until no partition of topics has an open
// transaction: a real broker writes commit markers after it answered EndTxn, and until
// they land a read_committed reader stops short of the last transaction.
func WaitStable(t testing.TB, seeds []string, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		committed, err := adm.ListCommittedOffsets(ctx, topics...)
		if err != nil {
			t.Fatalf("listing committed offsets: %v", err)
		}
		hwm, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			t.Fatalf("listing end offsets: %v", err)
		}
		stable := true
		hwm.Each(func(o kadm.ListedOffset) {
			if c, ok := committed.Lookup(o.Topic, o.Partition); !ok || c.Offset != o.Offset {
				stable = false
			}
		})
		if stable {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the topics never became stable (an open transaction?): %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Delivered maps each topic to its events, as a read_committed consumer sees them.
type Delivered map[string][]Event

// ReadAll consumes topics from the start under read_committed up to their last stable
// offsets, once they are stable (WaitStable).
func ReadAll(t testing.TB, seeds []string, topics ...string) Delivered {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	WaitStable(t, seeds, topics...)
	out := Delivered{}
	err := sink.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(seeds...)}, topics, func(r *kgo.Record) bool {
		var version string
		for _, h := range r.Headers {
			if h.Key == source.HeaderRowVersion {
				version = string(h.Value)
			}
		}
		out[r.Topic] = append(out[r.Topic], Event{Key: string(r.Key), Version: version, Partition: r.Partition, Offset: r.Offset})
		return true
	})
	if err != nil {
		t.Fatalf("reading back %v: %v", topics, err)
	}
	return out
}

// Expected is one version of a row the connector must have delivered.
type Expected struct {
	Key, Version string
	// Required is false for an intermediate version that lived shorter than the
	// connector's interval: a poller may legitimately never see it.
	Required bool
	// Info describes the truth row, for failure messages.
	Info string
}

// Expect converts the simulator's ground truth to keys and versions as the connector
// computes them. An intermediate version is required only if it became visible after
// polling began (observableFrom) and lived at least minLife (the interval plus settle,
// with a margin): any other the poller may never have had a chance to see.
func Expect(rep *catalog.Report, truth []simulator.TruthRow, bucket time.Duration, loc *time.Location, observableFrom time.Time, minLife time.Duration) []Expected {
	var out []Expected
	for _, tr := range truth {
		row := make(wolkvox.Row, len(tr.Row))
		for i, c := range tr.Row {
			row[i] = wolkvox.Cell{Key: c.Key, Value: c.Value, Null: c.Null}
		}
		w := source.Window{Start: tr.Time, End: tr.Time.Add(bucket - time.Second)}
		key, version := source.Identify(rep, w, row, loc)
		required := tr.Latest() || (!tr.At.Before(observableFrom) && tr.SupersededAt.Sub(tr.At) >= minLife)
		info := fmt.Sprintf("v%d time=%s visible=%s", tr.Version, tr.Time.Format(time.TimeOnly), tr.At.Format(time.TimeOnly))
		if !tr.Latest() {
			info += " superseded=" + tr.SupersededAt.Format(time.TimeOnly)
		}
		out = append(out, Expected{Key: key, Version: version, Required: required, Info: info})
	}
	return out
}

// BucketsBefore keeps the events of aggregate buckets that start before to (their key
// starts with the bucket's start in UTC, see source.Identify): later buckets were read
// from a frozen simulator and have no ground truth.
func BucketsBefore(events []Event, to time.Time) []Event {
	var out []Event
	for _, e := range events {
		prefix, _, _ := strings.Cut(e.Key, "|")
		if t, err := time.Parse("2006-01-02T15:04:05Z", prefix); err == nil && !t.Before(to) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Compare checks that events hold every required expected version exactly once, and
// nothing that is not expected. It returns a readable list of differences.
func Compare(events []Event, expected []Expected) []string {
	type kv struct{ k, v string }
	got := map[kv][]string{} // where each copy is
	for _, e := range events {
		got[kv{e.Key, e.Version}] = append(got[kv{e.Key, e.Version}], e.at())
	}
	exp := map[kv]bool{}
	info := map[kv]string{}
	var diffs []string
	for _, e := range expected {
		exp[kv{e.Key, e.Version}] = exp[kv{e.Key, e.Version}] || e.Required
		info[kv{e.Key, e.Version}] = e.Info
	}
	for k, required := range exp {
		at := got[k]
		switch {
		case len(at) == 0 && required:
			diffs = append(diffs, fmt.Sprintf("missing %s version %s (%s)", k.k, k.v, info[k]))
		case len(at) > 1:
			diffs = append(diffs, fmt.Sprintf("%s version %s delivered %d times (partition@offset %s)", k.k, k.v, len(at), strings.Join(at, ", ")))
		}
	}
	for k, at := range got {
		if _, ok := exp[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected %s version %s (%d times, partition@offset %s)", k.k, k.v, len(at), strings.Join(at, ", ")))
		}
	}
	slices.Sort(diffs)
	return diffs
}

// Summary describes a comparison in one line.
func Summary(report string, events []Event, expected []Expected, diffs []string) string {
	req := 0
	for _, e := range expected {
		if e.Required {
			req++
		}
	}
	s := fmt.Sprintf("%s: %d events, %d expected versions (%d required), %d differences", report, len(events), len(expected), req, len(diffs))
	if len(diffs) > 0 {
		s += ":\n  " + strings.Join(diffs[:min(len(diffs), 20)], "\n  ")
	}
	return s
}

// StartSimulator starts a simulator built with opts on a free local port; the test's
// cleanup stops it.
func StartSimulator(tb testing.TB, opts ...simulator.Opt) *simulator.Server {
	tb.Helper()
	sim, err := simulator.New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	if err := sim.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sim.Close() })
	return sim
}
