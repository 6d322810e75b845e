package connector

import (
	"encoding/hex"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/catalog"
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

func identify(rep *catalog.Report, w Window, row source.Row, loc *time.Location) identity {
	version := contentHash(row)
	var key string
	if len(rep.KeyFields) == 0 {
		key = hex.EncodeToString(fnvBytes(version))
	} else {
		parts := make([]string, 0, len(rep.KeyFields)+1)
		switch rep.Kind {
		case catalog.RangeAggregate:
			parts = append(parts, w.Start.UTC().Format("2006-01-02T15:04:05Z"))
		case catalog.Bucketed:
			parts = append(parts, w.Start.In(loc).Format("2006-01-02"))
		}
		for _, f := range rep.KeyFields {
			v, _ := row.Get(f)
			parts = append(parts, v)
		}
		key = strings.Join(parts, "|")
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return identity{Key: key, ID: h.Sum64(), Version: version}
}

func contentHash(row source.Row) uint64 {
	cells := slices.Clone(row)
	slices.SortFunc(cells, func(a, b source.Cell) int { return strings.Compare(a.Key, b.Key) })
	h := fnv.New64a()
	for _, c := range cells {
		h.Write([]byte(c.Key))
		h.Write([]byte{0})
		if c.Null {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{2})
			h.Write([]byte(c.Value))
		}
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func fnvBytes(v uint64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[7-i] = byte(v >> (8 * i))
	}
	return b
}

// seenSet is the dedupe state of one report: every (row, version) delivered whose row
// could still come back in a later window. A row already in it is not delivered again;
// a row whose content changed is a new (row, version) pair and is delivered, with the
// same key. Entries are forgotten once no later window can return them, which bounds the
// set by the rows of one lookback period.
type seenSet map[[2]uint64]int64

func newSeenSet(entries []offsets.Seen) seenSet {
	s := make(seenSet, len(entries))
	for _, e := range entries {
		s[[2]uint64{e.ID, e.Version}] = e.Time
	}
	return s
}

func (s seenSet) has(id identity) bool {
	_, ok := s[[2]uint64{id.ID, id.Version}]
	return ok
}

func (s seenSet) add(id identity, t time.Time) {
	s[[2]uint64{id.ID, id.Version}] = t.Unix()
}

// prune forgets rows dated before from: no window starting at or after from returns them.
func (s seenSet) prune(from time.Time) {
	cut := from.Unix()
	for k, t := range s {
		if t < cut {
			delete(s, k)
		}
	}
}

func (s seenSet) entries() []offsets.Seen {
	out := make([]offsets.Seen, 0, len(s))
	for k, t := range s {
		out = append(out, offsets.Seen{ID: k[0], Version: k[1], Time: t})
	}
	return out
}

// Identify returns the Kafka key and the version header value (hex) the connector gives
// a row of rep read in window w: tests use it to match ground truth with events.
func Identify(rep *catalog.Report, w Window, row source.Row, loc *time.Location) (key, version string) {
	id := identify(rep, w, row, loc)
	return id.Key, strconv.FormatUint(id.Version, 16)
}
