package cluster

import (
	"cmp"
	"slices"
)

// Unit is what the assignor moves: the connectors that share one Wolkvox token, which
// must run on one worker, since Wolkvox counts the quota and limits calls in flight per
// token. ID is the token's hash (never the token), or the connector's name for a
// connector without one.
type Unit struct {
	ID         string
	Connectors []string
}

// memberLoad is one member as the assignor sees it: what it runs now (from its join
// metadata) and what it is given.
type memberLoad struct {
	id    string
	owned map[string]bool // unit IDs it runs now
	units []string        // unit IDs of the target assignment
	load  int             // connectors in units
}

// plan is the assignor's answer: the target owner of every unit, and which units each
// member may run in this generation (the target, less what another member still runs:
// that member stops it and rejoins first, and the unit comes in the next generation).
type plan struct {
	target map[string]string   // unit ID → member ID
	now    map[string][]string // member ID → unit IDs to run in this generation
}

// assign spreads units over members: sticky (a unit stays where it runs while that keeps
// the spread), balanced in connectors (moves are made while one lowers the most loaded
// member's load; with one connector per token, max − min ≤ 1; a token with more
// connectors can leave the spread at most its size), deterministic (ties by ID), and
// cooperative (a unit never runs on two members in one generation). owned maps member
// ID → unit IDs that member runs now, as its metadata says; members are sorted.
func assign(units []Unit, members []string, owned map[string][]string) plan {
	p := plan{target: map[string]string{}, now: map[string][]string{}}
	if len(members) == 0 {
		return p
	}
	size := map[string]int{}
	for _, u := range units {
		size[u.ID] = len(u.Connectors)
	}
	loads := make([]*memberLoad, 0, len(members))
	byID := map[string]*memberLoad{}
	for _, id := range slices.Sorted(slices.Values(members)) {
		m := &memberLoad{id: id, owned: map[string]bool{}}
		for _, u := range owned[id] {
			m.owned[u] = true
		}
		loads = append(loads, m)
		byID[id] = m
	}
	give := func(m *memberLoad, unit string) {
		m.units = append(m.units, unit)
		m.load += size[unit]
		p.target[unit] = m.id
	}
	// 1. Sticky: a unit stays with the first member (by ID) that runs it.
	var free []Unit
	for _, u := range units {
		i := slices.IndexFunc(loads, func(m *memberLoad) bool { return m.owned[u.ID] })
		if i < 0 {
			free = append(free, u)
			continue
		}
		give(loads[i], u.ID)
	}
	// 2. New units and those of members gone: largest first, to the least loaded.
	slices.SortStableFunc(free, func(a, b Unit) int {
		return cmp.Or(cmp.Compare(len(b.Connectors), len(a.Connectors)), cmp.Compare(a.ID, b.ID))
	})
	least := func() *memberLoad {
		return slices.MinFunc(loads, func(a, b *memberLoad) int { return cmp.Or(cmp.Compare(a.load, b.load), cmp.Compare(a.id, b.id)) })
	}
	for _, u := range free {
		give(least(), u.ID)
	}
	// 3. Balance: make the move that lowers the sum of squared loads most (moving a unit
	// of s connectors from a member of load a to one of load b lowers it when b+s < a),
	// the smallest unit on a tie, while there is one. Each move lowers that sum, so this
	// ends; it stops with no member able to give a unit to a less loaded one without
	// becoming less loaded than it.
	for {
		var from, to *memberLoad
		best, gain := "", 0
		for _, a := range loads {
			for _, u := range a.units {
				sz := size[u]
				for _, b := range loads {
					g := sz * (a.load - b.load - sz)
					if g > gain || (g == gain && g > 0 && sz < size[best]) {
						from, to, best, gain = a, b, u, g
					}
				}
			}
		}
		if best == "" {
			break
		}
		from.units = slices.DeleteFunc(from.units, func(u string) bool { return u == best })
		from.load -= size[best]
		give(to, best)
	}
	// 4. Cooperative: a unit another member still runs waits for it to stop.
	for _, m := range loads {
		now := []string{}
		for _, u := range m.units {
			if slices.ContainsFunc(loads, func(o *memberLoad) bool { return o != m && o.owned[u] }) {
				continue
			}
			now = append(now, u)
		}
		slices.Sort(now)
		p.now[m.id] = now
	}
	return p
}
