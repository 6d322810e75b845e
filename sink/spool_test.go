package sink

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSpoolKeepsOrderAcrossMemoryAndFile: records come back from drain exactly as
// added, in order, whether they stayed in memory (while the budget had room) or went
// to the file, and the file is gone afterwards; a record from memory comes with its
// budget, which returns in full; a spool drained is empty and can be used again.
func TestSpoolKeepsOrderAcrossMemoryAndFile(t *testing.T) {
	for name, tc := range map[string]struct {
		budget int64
		inMem  int // of 50 records
	}{
		"memory only":    {budget: 1 << 20, inMem: 50},
		"one, then file": {budget: 1, inMem: 1},     // the first record fits an empty budget
		"both":           {budget: 3000, inMem: -1}, // as many as fit, counted below
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			budget := NewBudget(tc.budget)
			s := spool{dir: dir, budget: &share{budget: budget}}
			for round := range 2 {
				var want []*kgo.Record
				for i := range 50 {
					r := &kgo.Record{Topic: "t" + fmt.Sprint(i%3), Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d-%d", round, i)}
					if i%4 == 0 {
						r.Headers = []kgo.RecordHeader{{Key: "h", Value: []byte("1")}, {Key: "empty"}}
					}
					want = append(want, r)
					if err := s.add(r); err != nil {
						t.Fatal(err)
					}
				}
				if tc.inMem < 0 {
					var used int64
					tc.inMem = 0
					for _, r := range want {
						if used += RecordMemory(r); used > tc.budget {
							break
						}
						tc.inMem++
					}
					if tc.inMem == 0 || tc.inMem == len(want) {
						t.Fatalf("the budget holds %d of %d records: neither memory nor file is tested", tc.inMem, len(want))
					}
				}
				if s.len() != 50 || len(s.mem) != tc.inMem {
					t.Fatalf("round %d: len %d with %d in memory, want 50 with %d", round, s.len(), len(s.mem), tc.inMem)
				}
				var got []*kgo.Record
				reserved := 0
				if err := s.drain(func(r *kgo.Record, fromBudget bool) error {
					got = append(got, r)
					if fromBudget {
						reserved++
						budget.give(RecordMemory(r))
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if reserved != tc.inMem || budget.Used() != 0 {
					t.Fatalf("%d records came with their budget, %d bytes still used; want %d and 0", reserved, budget.Used(), tc.inMem)
				}
				if !slices.EqualFunc(got, want, sameRecord) {
					t.Fatalf("round %d: drained records differ from those added", round)
				}
				if files, _ := os.ReadDir(dir); len(files) != 0 || s.len() != 0 {
					t.Fatalf("after drain: %d files, %d records left", len(files), s.len())
				}
			}
		})
	}
}

func sameRecord(a, b *kgo.Record) bool {
	return a.Topic == b.Topic && string(a.Key) == string(b.Key) && string(a.Value) == string(b.Value) &&
		slices.EqualFunc(a.Headers, b.Headers, func(x, y kgo.RecordHeader) bool {
			return x.Key == y.Key && string(x.Value) == string(y.Value)
		})
}

// TestSpoolCloseRemovesTheFile: a transaction that ends without draining (an abort)
// leaves no file behind and gives its memory back.
func TestSpoolCloseRemovesTheFile(t *testing.T) {
	dir := t.TempDir()
	budget := NewBudget(1)
	s := spool{dir: dir, budget: &share{budget: budget}}
	for i := range 10 {
		if err := s.add(&kgo.Record{Topic: "t", Value: fmt.Appendf(nil, "%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Fatalf("%d files while spooling, want 1", len(files))
	}
	s.close()
	if files, _ := os.ReadDir(dir); len(files) != 0 || s.len() != 0 || budget.Used() != 0 {
		t.Fatalf("after close: %d files, %d records, %d bytes of budget used", len(files), s.len(), budget.Used())
	}
}

// TestSpoolReadsFieldsBackAsWritten: a record read back from the file has its own
// bytes (not the reader's scratch, which the next record reuses), empty fields come
// back empty rather than nil (a nil value would be a tombstone), and the topic and
// header names are the same strings from record to record.
func TestSpoolReadsFieldsBackAsWritten(t *testing.T) {
	s := spool{dir: t.TempDir(), budget: &share{budget: NewBudget(1)}}
	in := []*kgo.Record{
		{Topic: "t", Key: []byte{}, Value: []byte{}},
		{Topic: "t", Key: []byte("k1"), Value: []byte("v1"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}},
		{Topic: "t", Key: []byte("k2"), Value: []byte("v2"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("y")}}},
	}
	for _, r := range append([]*kgo.Record{{Topic: "first, kept in memory"}}, in...) {
		if err := s.add(r); err != nil {
			t.Fatal(err)
		}
	}
	var got []*kgo.Record
	if err := s.drain(func(r *kgo.Record, reserved bool) error {
		if reserved {
			s.budget.give(RecordMemory(r))
			return nil
		}
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, in, sameRecord) {
		t.Fatalf("read back %v, want %v", got, in)
	}
	if got[0].Key == nil || got[0].Value == nil {
		t.Errorf("empty key or value read back nil: %#v", got[0])
	}
	if unsafe.StringData(got[1].Topic) != unsafe.StringData(got[2].Topic) ||
		unsafe.StringData(got[1].Headers[0].Key) != unsafe.StringData(got[2].Headers[0].Key) {
		t.Errorf("the topic and header names are copied for every record")
	}
}

// TestRecycleTakesBackOnlyNewEvents: recycle takes back the records of NewEvent, keeping
// the room of their key and value (not past maxRecycledBytes), and leaves every other
// record alone: one built by Record, by hand, or a copy of an event.
func TestRecycleTakesBackOnlyNewEvents(t *testing.T) {
	h := NewEventHeaders("act_3", time.Unix(0, 0), time.Unix(300, 0), "1")
	ev := NewEvent()
	r := h.Event(ev, "t", append(ev.Key(), "key"...), append(ev.Value(), make([]byte, 100)...), kgo.RecordHeader{Key: "v", Value: []byte("1")})
	copied := *r
	recycle(&copied)
	if r.Topic != "t" || len(r.Key) != 3 {
		t.Fatal("recycling a copy of an event changed the event")
	}
	recycle(r)
	if r.Topic != "" || len(r.Key) != 0 || cap(r.Key) < 3 || cap(r.Value) < 100 || r.Headers != nil || r.Context != nil {
		t.Errorf("a recycled event: %+v; want it empty, its key and value keeping their room", r)
	}
	wide := NewEvent()
	w := h.Event(wide, "t", nil, make([]byte, maxRecycledBytes+1), kgo.RecordHeader{})
	recycle(w)
	if w.Value != nil {
		t.Errorf("a recycled event keeps %d bytes of value room, over %d", cap(w.Value), maxRecycledBytes)
	}
	for name, other := range map[string]*kgo.Record{
		"Record":  h.Record("t", []byte("k"), []byte("v"), kgo.RecordHeader{}),
		"by hand": {Topic: "t", Key: []byte("k"), Value: []byte("v")},
	} {
		recycle(other)
		if other.Topic != "t" || string(other.Key) != "k" || string(other.Value) != "v" {
			t.Errorf("recycle changed a record built by %s: %+v", name, other)
		}
	}
}
