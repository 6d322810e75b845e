package source

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
)

// TestSeenSetAgreesWithAMap plays random windows against seenSet and a plain map of the
// same rows: every answer of has and add, every prune and the entries written agree;
// a set forked for a window leaves its parent as it was, whatever the window does; and
// a set read back from its entries is the same set. Rows come back with earlier and
// later window ends, and the sets pass seenPending so that folding is exercised.
func TestSeenSetAgreesWithAMap(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		rng := rand.New(rand.NewPCG(seed, 7))
		// A small ID space so rows come back; a few versions per row. With odd seeds
		// the IDs are spread over 64 bits, as the hashes they are (find guesses from
		// them), with even ones they are not.
		id := func() identity {
			n := rng.Uint64N(3 * seenPending)
			if seed%2 == 1 {
				n = (n + 1) * 0x9e3779b97f4a7c15
			}
			return identity{ID: n, Version: rng.Uint64N(3)}
		}
		model := map[[2]uint64]int64{}
		var committed seenSet
		end := time.Unix(1_700_000_000, 0)
		for window := range 12 {
			before := maps2slice(model)
			s := committed.fork()
			m := cloneMap(model)
			for range rng.IntN(3 * seenPending) {
				r := id()
				k := [2]uint64{r.ID, r.Version}
				// A bisection's halves end before the window does.
				at := end.Add(-time.Duration(rng.IntN(120)) * time.Second)
				_, want := m[k]
				if got := s.has(r); got != want {
					t.Fatalf("seed %d window %d: has(%v) = %v, want %v", seed, window, k, got, want)
				}
				if got := s.add(r, at); got != want {
					t.Fatalf("seed %d window %d: add(%v) = %v, want %v", seed, window, k, got, want)
				}
				if old, ok := m[k]; !ok || old < at.Unix() {
					m[k] = at.Unix()
				}
			}
			if got := committed.entries(); !slices.Equal(sorted(got), before) {
				t.Fatalf("seed %d window %d: the window changed the committed set it was forked from", seed, window)
			}
			if rng.IntN(4) == 0 {
				continue // the window failed: the committed set stays
			}
			from := end.Add(-time.Duration(rng.IntN(300)) * time.Second)
			s.prune(from)
			for k, at := range m {
				if at < from.Unix() {
					delete(m, k)
				}
			}
			got := s.entries()
			if !slices.IsSortedFunc(got, compareSeenKey) || !slices.Equal(sorted(got), maps2slice(m)) || s.len() != len(m) {
				t.Fatalf("seed %d window %d: %d entries after prune, want the map's %d", seed, window, len(got), len(m))
			}
			back := newSeenSet(slices.Clone(got))
			if !slices.Equal(back.entries(), got) {
				t.Fatalf("seed %d window %d: the set read back from its entries differs", seed, window)
			}
			committed, model = s, m
			end = end.Add(time.Duration(60+rng.IntN(600)) * time.Second)
		}
	}
}

func cloneMap(m map[[2]uint64]int64) map[[2]uint64]int64 {
	out := make(map[[2]uint64]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func maps2slice(m map[[2]uint64]int64) []offsets.Seen {
	out := make([]offsets.Seen, 0, len(m))
	for k, t := range m {
		out = append(out, offsets.Seen{ID: k[0], Version: k[1], Time: t})
	}
	return sorted(out)
}

func sorted(s []offsets.Seen) []offsets.Seen {
	s = slices.Clone(s)
	slices.SortFunc(s, compareSeenKey)
	return s
}

// BenchmarkSeenSet60k adds 60,000 new rows, as a catch-up window's dedupe state does,
// to the set and, for comparison, to a Go map of the same keys and times, and reports
// the heap each holds afterwards per row (B/row-held) and the time a row takes to
// check and add (ns/row, the collections between iterations left out).
func BenchmarkSeenSet60k(b *testing.B) {
	const rows = 60_000
	ids := make([]identity, rows)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range ids {
		ids[i] = identity{ID: rng.Uint64(), Version: rng.Uint64()}
	}
	end := time.Unix(1_700_000_000, 0)
	held := func(b *testing.B, build func() any) {
		var keep any
		var before, after runtime.MemStats
		var took time.Duration
		for b.Loop() {
			runtime.GC()
			runtime.ReadMemStats(&before)
			began := time.Now()
			keep = build()
			took += time.Since(began)
			runtime.GC()
			runtime.ReadMemStats(&after)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/rows, "B/row-held")
		b.ReportMetric(float64(took.Nanoseconds())/float64(b.N)/rows, "ns/row")
		runtime.KeepAlive(keep)
	}
	b.Run("seenSet", func(b *testing.B) {
		held(b, func() any {
			var s seenSet
			for _, id := range ids {
				s.add(id, end) // as seenBefore does: one lookup that adds
			}
			s.prune(end) // as a commit does: what the committed set holds
			return &s
		})
	})
	b.Run("map", func(b *testing.B) {
		held(b, func() any {
			m := map[[2]uint64]int64{}
			for _, id := range ids {
				if _, ok := m[[2]uint64{id.ID, id.Version}]; !ok {
					m[[2]uint64{id.ID, id.Version}] = end.Unix()
				}
			}
			return m
		})
	})
}

// TestSeenSetOneID: rows that all share one ID (a report whose key fields are empty,
// every row a version of one identity) fold and find like any others.
func TestSeenSetOneID(t *testing.T) {
	var s seenSet
	end := time.Unix(1_700_000_000, 0)
	const n = 3*seenPending + 17
	for v := range uint64(n) {
		if s.add(identity{ID: 42, Version: (v * 7919) % n}, end) {
			t.Fatalf("version %d found before it was added", v)
		}
	}
	got := s.entries()
	if len(got) != n || !slices.IsSortedFunc(got, compareSeenKey) {
		t.Fatalf("%d entries, sorted %v; want %d sorted", len(got), slices.IsSortedFunc(got, compareSeenKey), n)
	}
	for v := range uint64(n) {
		if !s.has(identity{ID: 42, Version: v}) {
			t.Fatalf("version %d lost", v)
		}
	}
}

// TestPendingRowsSeeded: two tables place the same rows in different slots (their
// mixes are seeded at random), so rows chosen to collide in one collide in no other,
// and each table still finds every row it holds.
func TestPendingRowsSeeded(t *testing.T) {
	var a, b pendingRows
	const n = 256
	for i := range uint64(n) {
		r := offsets.Seen{ID: i * 0x9e3779b97f4a7c15, Version: i % 3, Time: int64(i)}
		a.add(r)
		b.add(r)
	}
	moved := 0
	for _, r := range a.rows {
		if a.slot(r.ID, r.Version) != b.slot(r.ID, r.Version) {
			moved++
		}
		if got := a.get(r.ID, r.Version); got == nil || *got != r {
			t.Fatalf("row %+v not found", r)
		}
		if got := b.get(r.ID, r.Version); got == nil || *got != r {
			t.Fatalf("row %+v not found in the other table", r)
		}
	}
	// With independent seeds a row keeps its slot with odds of 1 in 8,192.
	if moved < n*9/10 {
		t.Fatalf("%d of %d rows kept their slot from one table to the other: the mix is not seeded", n-moved, n)
	}
}
