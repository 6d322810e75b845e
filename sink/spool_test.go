package sink

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSpoolKeepsOrderAcrossMemoryAndFile: records come back from drain exactly as
// added, in order, whether they stayed in memory or went to the file, and the file is
// gone afterwards; a spool drained is empty and can be used again.
func TestSpoolKeepsOrderAcrossMemoryAndFile(t *testing.T) {
	for name, memLimit := range map[string]int64{"memory only": 1 << 20, "file only": 0, "both": 200} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := spool{dir: dir, memLimit: memLimit}
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
				if s.len() != 50 {
					t.Fatalf("len %d, want 50", s.len())
				}
				var got []*kgo.Record
				if err := s.drain(func(r *kgo.Record) error { got = append(got, r); return nil }); err != nil {
					t.Fatal(err)
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
// leaves no file behind.
func TestSpoolCloseRemovesTheFile(t *testing.T) {
	dir := t.TempDir()
	s := spool{dir: dir}
	for i := range 10 {
		if err := s.add(&kgo.Record{Topic: "t", Value: fmt.Appendf(nil, "%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Fatalf("%d files while spooling, want 1", len(files))
	}
	s.close()
	if files, _ := os.ReadDir(dir); len(files) != 0 || s.len() != 0 {
		t.Fatalf("after close: %d files, %d records", len(files), s.len())
	}
}
