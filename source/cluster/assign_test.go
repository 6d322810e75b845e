package cluster

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// units makes units of the given sizes: u0 with connectors u0c0..., u1...
func units(sizes ...int) []Unit {
	var out []Unit
	for i, n := range sizes {
		u := Unit{ID: fmt.Sprintf("u%d", i)}
		for j := range n {
			u.Connectors = append(u.Connectors, fmt.Sprintf("u%dc%d", i, j))
		}
		out = append(out, u)
	}
	return out
}

// loadsOf returns each member's connectors in p's target.
func loadsOf(us []Unit, members []string, p plan) map[string]int {
	out := map[string]int{}
	for _, m := range members {
		out[m] = 0
	}
	for _, u := range us {
		out[p.target[u.ID]] += len(u.Connectors)
	}
	return out
}

func spread(loads map[string]int) int {
	var vals []int
	for _, v := range loads {
		vals = append(vals, v)
	}
	return slices.Max(vals) - slices.Min(vals)
}

// moved counts the units whose target owner is not a member that runs them now.
func moved(p plan, owned map[string][]string) int {
	n := 0
	for u, m := range p.target {
		if !slices.Contains(owned[m], u) {
			n++
		}
	}
	return n
}

func TestAssign(t *testing.T) {
	abc := []string{"a", "b", "c"}
	tests := []struct {
		name       string
		units      []Unit
		members    []string
		owned      map[string][]string
		wantSpread int
		wantMoved  int // units that change owner (or get a first one)
		wantNow    map[string][]string
	}{
		{name: "ten connectors, five tokens, three workers, from nothing", units: units(3, 3, 2, 1, 1), members: abc,
			wantSpread: 1, wantMoved: 5,
			wantNow: map[string][]string{"a": {"u0", "u4"}, "b": {"u1"}, "c": {"u2", "u3"}}},
		{name: "one connector per token", units: units(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), members: abc, wantSpread: 1, wantMoved: 10},
		{name: "a worker joins: the fewest units move, and only once their owner stopped them", units: units(1, 1, 1, 1, 1, 1),
			members: abc, owned: map[string][]string{"a": {"u0", "u1", "u2"}, "b": {"u3", "u4", "u5"}},
			wantSpread: 0, wantMoved: 2,
			wantNow: map[string][]string{"a": {"u1", "u2"}, "b": {"u4", "u5"}, "c": {}}},
		{name: "a worker leaves: its units go to the others at once", units: units(1, 1, 1, 1, 1, 1),
			members: []string{"a", "c"}, owned: map[string][]string{"a": {"u0", "u1"}, "b": {"u2", "u3"}, "c": {"u4", "u5"}},
			wantSpread: 0, wantMoved: 2,
			wantNow: map[string][]string{"a": {"u0", "u1", "u2"}, "c": {"u3", "u4", "u5"}}},
		{name: "balanced and sticky: nothing moves", units: units(2, 1, 1),
			members: []string{"a", "b"}, owned: map[string][]string{"a": {"u0"}, "b": {"u1", "u2"}},
			wantSpread: 0, wantMoved: 0,
			wantNow: map[string][]string{"a": {"u0"}, "b": {"u1", "u2"}}},
		{name: "a unit two members claim runs on neither until one stops it", units: units(1, 1),
			members: []string{"a", "b"}, owned: map[string][]string{"a": {"u0"}, "b": {"u0", "u1"}},
			wantSpread: 0, wantMoved: 0,
			wantNow: map[string][]string{"a": {}, "b": {"u1"}}},
		{name: "a token bigger than the rest together", units: units(5, 1, 1), members: abc, wantSpread: 4, wantMoved: 3},
		{name: "more workers than tokens", units: units(1, 1), members: abc, wantSpread: 1, wantMoved: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := assign(tt.units, tt.members, tt.owned)
			loads := loadsOf(tt.units, tt.members, p)
			if got := spread(loads); got != tt.wantSpread {
				t.Errorf("spread %d (loads %v), want %d", got, loads, tt.wantSpread)
			}
			if got := moved(p, tt.owned); got != tt.wantMoved {
				t.Errorf("%d units moved, want %d (target %v)", got, tt.wantMoved, p.target)
			}
			if tt.wantNow != nil && !reflect.DeepEqual(p.now, tt.wantNow) {
				t.Errorf("now = %v, want %v", p.now, tt.wantNow)
			}
			checkPlan(t, tt.units, tt.members, tt.owned, p)
		})
	}
}

// checkPlan holds what every plan must: each unit has one target owner among the
// members; no unit runs on two members in one generation, nor on one while another
// member still runs it (a member gone from the group runs nothing); and the same input gives the same plan.
func checkPlan(t *testing.T, us []Unit, members []string, owned map[string][]string, p plan) {
	t.Helper()
	for _, u := range us {
		if !slices.Contains(members, p.target[u.ID]) {
			t.Errorf("unit %s has no owner among %v: %q", u.ID, members, p.target[u.ID])
		}
	}
	runs := map[string]string{}
	for m, now := range p.now {
		for _, u := range now {
			if other, ok := runs[u]; ok {
				t.Errorf("unit %s runs on %s and %s in one generation", u, other, m)
			}
			runs[u] = m
			if p.target[u] != m {
				t.Errorf("unit %s runs on %s, its target is %s", u, m, p.target[u])
			}
			for o, ownedBy := range owned {
				if o != m && slices.Contains(members, o) && slices.Contains(ownedBy, u) {
					t.Errorf("unit %s given to %s while %s still runs it", u, m, o)
				}
			}
		}
	}
	if again := assign(us, slices.Clone(members), owned); !reflect.DeepEqual(again, p) {
		t.Errorf("the same input gave another plan")
	}
}

// TestAssignRandom holds the plan's rules for random groups, then plays rebalances to
// their end (each member running what it was given) and checks the spread.
func TestAssignRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 500 {
		var sizes []int
		singles := rng.IntN(2) == 0
		for range 1 + rng.IntN(12) {
			if singles {
				sizes = append(sizes, 1)
			} else {
				sizes = append(sizes, 1+rng.IntN(4))
			}
		}
		us := units(sizes...)
		var members []string
		for j := range 1 + rng.IntN(5) {
			members = append(members, fmt.Sprintf("m%d", j))
		}
		owned := map[string][]string{}
		for _, u := range us {
			if rng.IntN(3) > 0 { // a third have no owner; some are claimed by a member gone
				m := fmt.Sprintf("m%d", rng.IntN(len(members)+1))
				owned[m] = append(owned[m], u.ID)
			}
		}
		p := assign(us, members, owned)
		checkPlan(t, us, members, owned, p)
		// Play on: every member runs what it was given now, and rejoins.
		for round := 0; ; round++ {
			next := map[string][]string{}
			for m, now := range p.now {
				next[m] = now
			}
			q := assign(us, members, next)
			checkPlan(t, us, members, next, q)
			if reflect.DeepEqual(q.now, p.now) {
				if round > 2 {
					t.Errorf("case %d: took %d rounds to settle", i, round)
				}
				break
			}
			p = q
		}
		running := 0
		for _, now := range p.now {
			running += len(now)
		}
		if running != len(us) {
			t.Errorf("case %d: settled with %d of %d units running", i, running, len(us))
		}
		loads := loadsOf(us, members, p)
		if singles && spread(loads) > 1 {
			t.Errorf("case %d: one connector per token, spread %d (%v)", i, spread(loads), loads)
		}
		if !singles && spread(loads) > slices.Max(sizes) {
			t.Errorf("case %d: spread %d above the biggest token's %d connectors (%v)", i, spread(loads), slices.Max(sizes), loads)
		}
	}
}
