package source

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// identity is who a row is and which version of it this is.
//
// The key names the row: its catalog key fields joined with "|" (for range aggregates
// prefixed with the bucket's start, since the same agent appears in every bucket, and
// for bucketed reports with the window's local date, since some label rows with an hour
// only), or,
// for reports whose rows nothing identifies, a hash of the whole row. It is the Kafka
// record key, so every version of a row lands on one partition in order.
//
// The version is a hash of every cell, keys sorted, so the same content always hashes
// the same whatever order the API sends keys in, and any edit upstream makes a new one.
type identity struct {
	Key     string
	ID      uint64 // hash of Key
	Version uint64
}

// identify names row. A row of a keyed report that lacks one of its key fields (absent,
// null or blank) gets an identity from its content instead, and a *MissingKeyError: two
// such rows would share a key such as "||" and overwrite each other in a compacted
// topic, so the caller dead-letters the row rather than deliver it under that key.
func identify(rep *catalog.Report, w Window, row wolkvox.Row, loc *time.Location) (identity, error) {
	return (&identifier{}).identify(rep, w, row, loc)
}

// identifier is identify with a memory of the last row's shape: its keys in order,
// the order sorting them gives (contentHash) and the cells holding the report's key
// fields. Rows of a report come with the same keys in the same order, so a row of the
// last one's shape is hashed without sorting and keyed without searching; a row of
// another shape costs one sort, and becomes the shape remembered. It is one report's,
// used by one goroutine.
type identifier struct {
	rep   *catalog.Report
	keys  []string
	order []int
	keyAt []int // per rep.KeyFields: the first cell with that key, -1 when none
}

// fit makes the remembered shape row's.
func (r *identifier) fit(rep *catalog.Report, row wolkvox.Row) {
	if r.rep == rep && len(row) == len(r.keys) {
		same := true
		for i := range row {
			if row[i].Key != r.keys[i] {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	r.rep = rep
	r.keys, r.order = r.keys[:0], r.order[:0]
	for i := range row {
		r.keys = append(r.keys, row[i].Key)
		r.order = append(r.order, i)
	}
	// Equal keys keep the order slices.SortFunc gives them: the same comparisons, so the
	// same permutation, for every row of this shape.
	slices.SortFunc(r.order, func(a, b int) int { return strings.Compare(row[a].Key, row[b].Key) })
	r.keyAt = r.keyAt[:0]
	for _, f := range rep.KeyFields {
		r.keyAt = append(r.keyAt, slices.IndexFunc(row, func(c wolkvox.Cell) bool { return c.Key == f }))
	}
}

// identify is the package's identify, for a row of rep.
func (r *identifier) identify(rep *catalog.Report, w Window, row wolkvox.Row, loc *time.Location) (identity, error) {
	r.fit(rep, row)
	version := contentHash(row, r.order)
	var missing []string
	size := len(rep.KeyFields) // the separators, and one more
	for j, f := range rep.KeyFields {
		v, ok := cellValue(row, r.keyAt[j])
		if !ok || strings.TrimSpace(v) == "" {
			missing = append(missing, f)
		}
		size += len(v)
	}
	var key string
	if len(rep.KeyFields) == 0 || len(missing) > 0 {
		key = hashKey(version)
	} else {
		// One allocation: the key is built in place rather than joined from parts.
		var b strings.Builder
		var stamp [len("2006-01-02T15:04:05Z")]byte
		var prefix []byte
		switch rep.Kind {
		case catalog.RangeAggregate:
			prefix = w.Start.UTC().AppendFormat(stamp[:0], "2006-01-02T15:04:05Z")
		case catalog.Bucketed:
			prefix = w.Start.In(loc).AppendFormat(stamp[:0], "2006-01-02")
		}
		b.Grow(len(prefix) + size)
		if prefix != nil {
			b.Write(prefix)
			b.WriteByte('|')
		}
		for j := range rep.KeyFields {
			if j > 0 {
				b.WriteByte('|')
			}
			v, _ := cellValue(row, r.keyAt[j])
			b.WriteString(v)
		}
		key = b.String()
	}
	id := identity{Key: key, ID: fnvString(fnvOffset, key), Version: version}
	if len(missing) > 0 {
		return id, &MissingKeyError{Report: rep.API, Fields: missing}
	}
	return id, nil
}

// cellValue is row.Get for the cell at i (-1: none).
func cellValue(row wolkvox.Row, i int) (string, bool) {
	if i < 0 {
		return "", false
	}
	return row[i].Value, !row[i].Null
}

// MissingKeyError: a row lacks the fields that identify it, so it cannot become an event
// (its key would collide with other such rows); it goes to the dead-letter topic.
type MissingKeyError struct {
	Report string
	Fields []string // the key fields absent, null or blank
}

func (e *MissingKeyError) Error() string {
	return fmt.Sprintf("%s row without its key field(s) %s: it would share its Kafka key with other such rows",
		e.Report, strings.Join(e.Fields, ", "))
}

// Class names the dead-letter cause (sink.ErrorClass).
func (e *MissingKeyError) Class() string { return "missing_key" }

// oversizeIdentity names a row too long to decode by its first bytes and its length,
// so that re-reading it (the lookback) does not dead-letter it again.
func oversizeIdentity(r wolkvox.OversizeRow) identity {
	h := fnv.New64a()
	h.Write(r.Prefix)
	h.Write([]byte(strconv.FormatInt(r.Bytes, 10)))
	v := h.Sum64()
	return identity{Key: hashKey(v), ID: v, Version: v}
}

// contentHash is FNV-1a 64 over the cells in key order (order: the cells' indices sorted
// by key, see identifier.fit), each as key, 0, then 1 for null or 2 and the value, then 0.
func contentHash(row wolkvox.Row, order []int) uint64 {
	h := uint64(fnvOffset)
	for _, i := range order {
		c := &row[i]
		h = fnvByte(fnvString(h, c.Key), 0)
		if c.Null {
			h = fnvByte(h, 1)
		} else {
			h = fnvString(fnvByte(h, 2), c.Value)
		}
		h = fnvByte(h, 0)
	}
	return h
}

// FNV-1a 64 (hash/fnv's New64a) inline: no hasher to allocate, no []byte conversions.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

// hashKey is the key of a row named by a hash: its 16 hex digits, big-endian.
func hashKey(v uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return hex.EncodeToString(b[:])
}

// seenSet is the dedupe state of one report: every (row, version) delivered whose row
// could still come back in a later window, with the end of the last window that
// returned it (Unix seconds). A row already in it is not delivered again; a row whose
// content changed is a new (row, version) pair and is delivered, with the same key.
//
// Entries are dated by the windows that return them, not by the rows' own times: the
// API may filter on another column than the catalog's time field (a long chat by its
// close, a row dated 1990 or 2030), so a row's time says nothing about which windows
// can return it, while a window that starts after the end of the last window that
// returned a row cannot return it again. Entries are forgotten once the next window
// starts after them, which bounds the set by the rows returned within one lookback.
//
// It is kept compact, because a catch-up window holds up to 60,000 rows (and the set
// two windows' worth) for every connector at once: a slice sorted by (ID, Version),
// 24 bytes a row, and a small table of the rows added since the slice was last rebuilt
// (pendingRows), folded into it once it holds seenPending rows. A window's set starts
// out sharing the committed set's slice (fork) and copies it only when it changes a
// row's time, so the committed set stays what it was until the window commits. A Go map of the same rows
// took 55 bytes a row at 60,000 (its table doubles past 57,344 rows), twice over
// during a window.
type seenSet struct {
	rows    []offsets.Seen // sorted by ID, then Version; no two alike
	owned   bool           // rows is this set's own, not shared with the set it was forked from
	pending pendingRows
	// scratch is where fold sorts the pending rows, kept from fold to fold of a window
	// (and dropped at prune, with the pending table, so a committed set keeps neither).
	scratch []offsets.Seen
}

// pendingRows are the rows a set added since its last fold, in the order added, with
// an open-addressed index of them by (ID, Version). Both are hashes already, so a mix
// of them is the index's hash, where a Go map hashed them again (check and add about a
// tenth slower, BenchmarkSeenSet60k). The mix is seeded at random per table: the IDs
// are FNV hashes of what the API sends, unkeyed, so rows chosen to share a slot could
// otherwise make every probe walk the whole table; a Go map is seeded the same way.
type pendingRows struct {
	rows  []offsets.Seen
	index []int32 // 1 + the row's place in rows, 0 for an empty slot; pendingSlots long
	seed  uint64
}

// The index has pendingSlots slots, a power of two at least twice seenPending, so that
// at most half of them are taken and probes stay short until the fold.
const (
	pendingBits  = 13
	pendingSlots = 1 << pendingBits
)

// A compile-time check: the array's length is negative when the index is too small.
var _ [pendingSlots - 2*seenPending]struct{}

// slot returns where (id, version) is in the index, or the empty slot where it goes.
func (p *pendingRows) slot(id, version uint64) int {
	const mix = 0x9e3779b97f4a7c15
	i := int(((id ^ p.seed ^ version*mix) * mix) >> (64 - pendingBits))
	for {
		k := p.index[i]
		if k == 0 {
			return i
		}
		if r := &p.rows[k-1]; r.ID == id && r.Version == version {
			return i
		}
		i = (i + 1) & (pendingSlots - 1)
	}
}

// get returns the pending row (id, version), or nil.
func (p *pendingRows) get(id, version uint64) *offsets.Seen {
	if len(p.rows) == 0 {
		return nil
	}
	if k := p.index[p.slot(id, version)]; k != 0 {
		return &p.rows[k-1]
	}
	return nil
}

// add adds r, which must not be pending already.
func (p *pendingRows) add(r offsets.Seen) {
	if p.index == nil {
		p.index = make([]int32, pendingSlots)
		p.rows = make([]offsets.Seen, 0, seenPending)
		p.seed = rand.Uint64()
	}
	p.index[p.slot(r.ID, r.Version)] = int32(len(p.rows) + 1)
	p.rows = append(p.rows, r)
}

// reset empties p, keeping its memory for the next rows.
func (p *pendingRows) reset() {
	if len(p.rows) > 0 {
		clear(p.index)
		p.rows = p.rows[:0]
	}
}

// clone returns a copy of p that changes without changing p.
func (p *pendingRows) clone() pendingRows {
	if len(p.rows) == 0 {
		return pendingRows{}
	}
	return pendingRows{rows: slices.Clone(p.rows), index: slices.Clone(p.index), seed: p.seed}
}

// seenPending is how many rows a set adds before folding them into its slice: enough
// that rebuilding the slice costs little per row, few enough that the table stays small.
const seenPending = 4096

func newSeenSet(entries []offsets.Seen) seenSet {
	s := seenSet{rows: slices.Clone(entries), owned: true}
	slices.SortFunc(s.rows, compareSeenKey)
	s.rows = slices.CompactFunc(s.rows, func(a, b offsets.Seen) bool {
		return a.ID == b.ID && a.Version == b.Version
	})
	return s
}

func compareSeenKey(a, b offsets.Seen) int {
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return cmp.Compare(a.Version, b.Version)
}

// fork returns a set that starts as s and changes without changing s.
func (s *seenSet) fork() seenSet {
	return seenSet{rows: s.rows, pending: s.pending.clone()}
}

func (s *seenSet) len() int { return len(s.rows) + len(s.pending.rows) }

// find is where (id, version) is or would be in rows.
//
// IDs are hashes, spread evenly over 64 bits, so a row's place is about id/2^64 of the
// way along: the search starts there and widens until it brackets the row, then
// bisects what it bracketed, a few hundred rows near each other in memory rather than
// sixteen probes across the whole slice. IDs that are not spread so (tests) only make
// the widening take longer.
func (s *seenSet) find(id, version uint64) (int, bool) {
	rows := s.rows
	before := func(i int) bool { // rows[i] sorts before (id, version)
		r := &rows[i]
		return r.ID < id || (r.ID == id && r.Version < version)
	}
	// Every row below lo sorts before (id, version), none from hi on.
	lo, hi := 0, len(rows)
	if len(rows) > seenGuessFrom {
		g, _ := bits.Mul64(id, uint64(len(rows))) // id/2^64 of the way along
		at := int(g)
		if before(at) {
			lo = at + 1
			for step := seenGuessStep; at+step < len(rows); step *= 2 {
				if !before(at + step) {
					hi = at + step
					break
				}
				lo = at + step + 1
			}
		} else {
			hi = at
			for step := seenGuessStep; at-step >= 0; step *= 2 {
				if before(at - step) {
					lo = at - step + 1
					break
				}
				hi = at - step
			}
		}
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if before(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(rows) && rows[lo].ID == id && rows[lo].Version == version
}

// find guesses where a row is in sets of more than seenGuessFrom rows, and widens the
// guess by seenGuessStep rows, then twice as many each time: about the distance of a
// row from its guess in a set of some ten thousand.
const (
	seenGuessFrom = 256
	seenGuessStep = 32
)

func (s *seenSet) has(id identity) bool {
	if s.pending.get(id.ID, id.Version) != nil {
		return true
	}
	_, ok := s.find(id.ID, id.Version)
	return ok
}

// add records that a window ending at windowEnd returned id (a later end wins), and
// reports whether id was in the set already.
func (s *seenSet) add(id identity, windowEnd time.Time) bool {
	t := windowEnd.Unix()
	if p := s.pending.get(id.ID, id.Version); p != nil {
		p.Time = max(p.Time, t)
		return true
	}
	if i, ok := s.find(id.ID, id.Version); ok {
		if s.rows[i].Time < t {
			if !s.owned {
				s.rows, s.owned = slices.Clone(s.rows), true
			}
			s.rows[i].Time = t
		}
		return true
	}
	s.pending.add(offsets.Seen{ID: id.ID, Version: id.Version, Time: t})
	if len(s.pending.rows) >= seenPending {
		s.fold()
	}
	return false
}

// fold merges the pending rows into a new slice.
func (s *seenSet) fold() {
	add := s.pending.rows
	if len(add) == 0 {
		return
	}
	if cap(s.scratch) < len(add) {
		s.scratch = make([]offsets.Seen, max(len(add), seenPending))
	}
	sortSeen(add, s.scratch[:len(add)])
	// Merged in place, from the back, into a slice of the set's own with room for
	// them and for the next two folds: a window that adds 60,000 rows copies them every
	// third fold rather than every fold. More room would copy less, but twenty
	// connectors catching up hold twenty sets, and Go's collector lets the heap grow to
	// twice what they hold.
	n := len(s.rows) + len(add)
	if !s.owned || cap(s.rows) < n {
		grown := make([]offsets.Seen, len(s.rows), n+2*seenPending)
		copy(grown, s.rows)
		s.rows, s.owned = grown, true
	}
	i, j := len(s.rows)-1, len(add)-1
	s.rows = s.rows[:n]
	for k := n - 1; j >= 0; k-- {
		if a := &add[j]; i >= 0 && (s.rows[i].ID > a.ID || (s.rows[i].ID == a.ID && s.rows[i].Version > a.Version)) {
			s.rows[k] = s.rows[i]
			i--
		} else {
			s.rows[k] = *a
			j--
		}
	}
	s.pending.reset()
}

// sortSeen sorts rows by ID, then Version: a radix sort on the ID, a byte at a time
// (IDs are hashes, so every byte varies), then the rare runs of one ID ordered by
// Version. It is linear, where a comparison sort of a fold's 4,096 rows took more time
// than everything else the set does.
//
// tmp, of rows' length, is its scratch.
func sortSeen(rows, tmp []offsets.Seen) {
	src, dst := rows, tmp
	for shift := uint(0); shift < 64; shift += 8 {
		var count [257]int
		for i := range src {
			count[int(byte(src[i].ID>>shift))+1]++
		}
		if count[int(byte(src[0].ID>>shift))+1] == len(src) {
			continue // every row has this byte alike
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for i := range src {
			d := byte(src[i].ID >> shift)
			dst[count[d]] = src[i]
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &rows[0] {
		copy(rows, src)
	}
	// Runs of one ID, sorted by Version. They are rare, but a report whose key fields are
	// all empty puts every row in one: a sort, not an insertion, keeps that linearithmic.
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].ID == rows[i].ID {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(rows[i:j], compareSeenKey)
		}
		i = j
	}
}

// prune forgets rows last returned by windows that ended before from: no window
// starting at or after from returns them.
//
// It ends a window's changes: what the set keeps is trimmed to its rows.
func (s *seenSet) prune(from time.Time) {
	s.fold()
	s.scratch, s.pending = nil, pendingRows{}
	cut := from.Unix()
	keep := 0
	for _, r := range s.rows {
		if r.Time >= cut {
			keep++
		}
	}
	if keep == len(s.rows) {
		if cap(s.rows) > keep+keep/4 {
			s.rows = slices.Clone(s.rows) // the room left by fold, which a committed set does not need
		}
		return
	}
	kept := make([]offsets.Seen, 0, keep)
	for _, r := range s.rows {
		if r.Time >= cut {
			kept = append(kept, r)
		}
	}
	s.rows, s.owned = kept, true
}

// entries are the set's rows, to store in a position; they stay the set's: the caller
// must not change them.
func (s *seenSet) entries() []offsets.Seen {
	s.fold()
	return s.rows
}

// Identify returns the Kafka key and the version header value (hex) the connector gives
// a row of rep read in window w: tests use it to match ground truth with events.
func Identify(rep *catalog.Report, w Window, row wolkvox.Row, loc *time.Location) (key, version string) {
	id, _ := identify(rep, w, row, loc)
	return id.Key, strconv.FormatUint(id.Version, 16)
}
