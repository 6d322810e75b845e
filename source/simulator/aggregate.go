package simulator

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Aggregates are computed the way the API's SQL would: the events whose time lies in
// the window and that are visible now, grouped by bucket (bucketed reports) and by the
// report's partition columns, each measure summed or averaged. Re-reading a window
// whose events are all visible therefore gives the same answer; a window still
// receiving late events changes.

type aggKey struct {
	bucket int64 // bucket start, Unix seconds; 0 for range reports
	group  int
}

type accum struct {
	n          int64
	sums       []int64
	minT, maxT int64
}

// bucketStart aligns t to the report's bucket size from local midnight.
func bucketStart(t time.Time, size time.Duration, loc *time.Location) time.Time {
	lt := t.In(loc)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	return day.Add(t.Sub(day) / size * size)
}

// averaged says whether a measure is an average rather than a total.
func averaged(c *column) bool {
	if c.typ == catalog.Percent || c.role == roleDynamic {
		return true
	}
	n := strings.ToLower(c.name)
	return strings.HasPrefix(n, "aht") || n == "asa" || n == "ata" || n == "tmo" || n == "average" || n == "occupancy" || strings.HasPrefix(n, "time_") || strings.Contains(n, "average")
}

// contribution is what event h adds to measure c.
func contribution(c *column, first bool, h uint64) int64 {
	switch {
	case c.role == roleDynamic && !strings.HasPrefix(c.name, "service_level"):
		return between(h, 100, 500) // survey answer 1.00..5.00
	case c.typ == catalog.Count:
		if first {
			return 1
		}
		return between(h, 0, 2)
	case c.typ == catalog.Number:
		return between(h, 0, 1000)
	case c.typ == catalog.Percent:
		return between(h, 0, 10_000)
	case c.typ == catalog.Millis:
		return between(h, 50, 5000)
	default: // Duration, Seconds
		return between(h, 5, 600)
	}
}

// aggregate returns the report's rows for the window as visible at q.now.
func (q *query) aggregate() []Row {
	m := q.m
	firstCount := slices.IndexFunc(q.cols, func(c column) bool { return c.typ == catalog.Count && isMeasure(&c) })
	accs := map[aggKey]*accum{}
	m.forEachEvent(q.from, q.to, q.gp, func(e *event) bool {
		if e.visible.After(q.now) {
			return true
		}
		k := aggKey{group: int(hash(e.h, 0x96) % uint64(m.groups))}
		if m.rep.Kind == catalog.Bucketed {
			k.bucket = bucketStart(e.t, m.bucket, q.gp.loc).Unix()
		}
		a := accs[k]
		if a == nil {
			a = &accum{sums: make([]int64, len(q.cols)), minT: e.t.Unix(), maxT: e.t.Unix()}
			accs[k] = a
		}
		a.n++
		a.minT, a.maxT = min(a.minT, e.t.Unix()), max(a.maxT, e.t.Unix())
		for i := range q.cols {
			if c := &q.cols[i]; isMeasure(c) {
				a.sums[i] += contribution(c, i == firstCount, hash(e.h, c.fh))
			}
		}
		return true
	})
	keys := make([]aggKey, 0, len(accs))
	for k := range accs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b aggKey) int {
		if a.bucket != b.bucket {
			return int(a.bucket - b.bucket)
		}
		return a.group - b.group
	})
	rows := make([]Row, 0, len(keys))
	for _, k := range keys {
		r := q.aggRow(k, accs[k])
		if q.keep(r) {
			rows = append(rows, r)
		}
	}
	return rows
}

func (q *query) aggRow(k aggKey, a *accum) Row {
	m, loc := q.m, q.gp.loc
	r := make(Row, len(q.cols))
	seenTime := false
	for i := range q.cols {
		c := &q.cols[i]
		gh := hash(m.seed, m.rh, uint64(k.group), c.fh)
		var v string
		switch {
		case c.role == roleLabel:
			v = q.label(c, time.Unix(k.bucket, 0))
		case c.partition:
			v = entityValue(c.kind, c.family, c.attr, m.groupEntity(k.group, c.family), m.seed)
		case c.role == roleEntity:
			// An entity the rows are not grouped by (agent_11's skill is, its agents'
			// campaign would not be): one per group.
			fh := hash(m.seed, m.rh, uint64(k.group), strHash(c.family))
			v = entityValue(c.kind, c.family, c.attr, int(fh%uint64(entityCard[c.kind])), m.seed)
		case isMeasure(c):
			v = measureText(c, a, i, gh)
		case c.typ == catalog.Timestamp || c.typ == catalog.Date:
			t := a.maxT
			if !seenTime {
				t = a.minT // the first time column is a start (login), the others ends (logout)
			}
			seenTime = true
			v = time.Unix(t, 0).In(loc).Format(c.layout)
		case c.role == roleInteraction:
			v = strconv.Itoa(k.group)
		default:
			v = genericText(c.name, gh, -1)
		}
		r[i] = q.lenientCell(Cell{Key: c.name, Value: v}, c, hash(gh, uint64(k.bucket)))
	}
	return r
}

func measureText(c *column, a *accum, i int, gh uint64) string {
	v := a.sums[i]
	if averaged(c) {
		v /= max(a.n, 1)
	}
	switch {
	case c.name == "service_level_0seg":
		return "0 %" // what the API sends without a services_time of its own
	case c.role == roleDynamic && !strings.HasPrefix(c.name, "service_level"):
		return centsText(v)
	case c.typ == catalog.Percent:
		if gh%40 == 0 {
			v *= 100 // the odd "9,336.00 %"
		}
		return percentText(v)
	case c.typ == catalog.Number:
		return centsText(v)
	case c.typ == catalog.Duration:
		return durationText(v, gh)
	default:
		return strconv.FormatInt(v, 10)
	}
}

// label renders a bucketed row's date, day or hour column for the bucket starting at b.
func (q *query) label(c *column, b time.Time) string {
	lb := b.In(q.gp.loc)
	if strings.EqualFold(c.name, "hour") {
		if c.typ == catalog.Count || q.m.quirk("integer string") {
			return strconv.Itoa(lb.Hour())
		}
		return lb.Format("15:04")
	}
	layout := "2006-01-02"
	switch {
	case c.name == q.m.rep.TimeField && q.m.rep.TimeLayout != "":
		layout = q.m.rep.TimeLayout
	case c.typ == catalog.Timestamp:
		layout = "2006-01-02 15:04:05"
	case q.m.quirk("YYYYMMDD"):
		layout = "20060102"
	}
	return lb.Format(layout)
}
