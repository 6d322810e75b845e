package simulator

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Cell is one key and value of a row exactly as the simulator sends it. It mirrors
// source.Cell: Value is the text of a JSON string, or the literal text of a JSON number
// when Number is set; it is empty when Null is set.
type Cell struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Null   bool   `json:"null,omitempty"`
	Number bool   `json:"number,omitempty"`
}

// Row is one record, cells in the order sent. For nested reports it holds the parent's
// cells followed by the nested element's, like source.Row.
type Row []Cell

// Get returns the value under key and whether it is present and not null.
func (r Row) Get(key string) (string, bool) {
	for _, c := range r {
		if c.Key == key {
			return c.Value, !c.Null
		}
	}
	return "", false
}

// query is one read of a report's data at one instant.
type query struct {
	m       *model
	cols    []column
	from    time.Time // inclusive
	to      time.Time // inclusive
	now     time.Time // visibility instant
	filters []filter
	gp      *genParams
	lenient float64
}

type filter struct {
	col   int
	value string
	// ids maps the column's values to the parameter's when the report lacks the
	// parameter's own column (skill_3 has skill_name, filtered by skill_id).
	ids map[string]string
}

// newQuery resolves columns and parameter filters: a parameter that names a column
// (skill_id, campaign_id, agent_id, cod_act, customer_id) keeps rows with that value,
// unless it is empty or "all".
func newQuery(m *model, params url.Values, from, to, now time.Time, gp *genParams, lenient float64) *query {
	q := &query{m: m, cols: m.columns(params), from: from, to: to, now: now, gp: gp, lenient: lenient}
	for _, p := range m.rep.Params {
		v := strings.TrimSpace(params.Get(p.Name))
		// cod_act is required by act_1/2/3/5 but what it does is undocumented (the
		// Postman default is the placeholder "cod_act1"): it is accepted and ignored.
		if v == "" || strings.EqualFold(v, "all") || p.Name == "cod_act" {
			continue
		}
		if i := slices.IndexFunc(q.cols, func(c column) bool {
			return c.name == p.Name || (p.Name == "campaign_id" && c.name == "campaing_id")
		}); i >= 0 {
			q.filters = append(q.filters, filter{col: i, value: v})
			continue
		}
		// No column of that name: filter through another attribute of the same entity.
		kind := strings.TrimSuffix(p.Name, "_id")
		if i := slices.IndexFunc(q.cols, func(c column) bool { return c.role == roleEntity && c.kind == kind }); i >= 0 {
			c := q.cols[i]
			ids := map[string]string{}
			for idx := range min(entityCard[kind], 64) {
				ids[entityValue(kind, c.family, c.attr, idx, m.seed)] = entityValue(kind, c.family, "id", idx, m.seed)
			}
			q.filters = append(q.filters, filter{col: i, value: v, ids: ids})
		}
	}
	return q
}

func (q *query) keep(r Row) bool {
	for _, f := range q.filters {
		v := r[f.col].Value
		if f.ids != nil {
			v = f.ids[v]
		}
		if v != f.value {
			return false
		}
	}
	return true
}

// detail calls fn with every row visible at q.now, in time order, as its latest visible
// version; fn returns false to stop.
func (q *query) detail(fn func(e *event, v int, r Row) bool) {
	q.detailAll(func(e *event) bool {
		if e.visible.After(q.now) {
			return true
		}
		v := e.version(q.now)
		r := q.detailRow(e, v)
		if !q.keep(r) {
			return true
		}
		return fn(e, v, r)
	})
}

// detailAll calls fn with every event in the window, visible or not, after removing
// the events whose identity repeats an earlier one of the same minute (a catalog whose
// key fields cannot tell two generated rows apart would otherwise see one row twice).
func (q *query) detailAll(fn func(e *event) bool) {
	var minute int64 = -1 << 62
	seen := map[string]bool{}
	// Duplicates are decided over whole minutes, whatever the window, so that whether
	// a row exists never depends on how it is asked for.
	from := time.Unix(floorDiv(q.from.Unix(), 60)*60, 0)
	q.m.forEachEvent(from, q.to, q.gp, func(e *event) bool {
		if len(q.m.keyIdx) > 0 {
			if mm := floorDiv(e.t.Unix(), 60); mm != minute {
				minute = mm
				clear(seen)
			}
			k := q.keyOf(e)
			if seen[k] {
				return true
			}
			seen[k] = true
		}
		if e.t.Before(q.from) {
			return true
		}
		return fn(e)
	})
}

func (q *query) keyOf(e *event) string {
	var b strings.Builder
	for _, i := range q.m.keyIdx {
		b.WriteString(q.cellText(&q.m.cols[i], e, 0))
		b.WriteByte(0)
	}
	return b.String()
}

func (q *query) detailRow(e *event, v int) Row {
	r := make(Row, len(q.cols))
	for i := range q.cols {
		c := &q.cols[i]
		r[i] = q.lenientCell(Cell{Key: c.name, Value: q.cellText(c, e, v)}, c, hash(e.h, c.fh, uint64(v)))
	}
	return r
}

// cellText renders column c of event e in version v.
func (q *query) cellText(c *column, e *event, v int) string {
	m, loc := q.m, q.gp.loc
	src := e.root.h
	if c.nested || !m.groupable {
		src = e.h
	}
	h := hash(src, c.fh)
	switch c.role {
	case roleTime:
		return e.t.In(loc).Format(c.layout)
	case roleInteraction:
		return m.interactionID(c, e.root)
	case roleEntity:
		idx := int(hash(m.seed, e.root.h, strHash(c.family)) % uint64(entityCard[c.kind]))
		if c.editable && e.nEdits > 0 {
			if v == 0 {
				return "" // not typified yet
			}
			idx = (idx + v - 1) % entityCard[c.kind]
		}
		return entityValue(c.kind, c.family, c.attr, idx, m.seed)
	case rolePosition:
		if !m.groupable {
			break
		}
		switch c.typ {
		case catalog.String:
			return genericText(c.name, h, e.pos)
		case catalog.Count, catalog.Seconds, catalog.Millis, catalog.Number:
			return strconv.FormatInt(int64(e.pos)*10+int64(h%10), 10)
		}
	case roleDynamic:
		return dynamicText(c, hash(e.h, c.fh))
	}
	if c.editable {
		if c.typ == catalog.Timestamp || c.typ == catalog.Date {
			return e.changedAt(v).In(loc).Format(c.layout)
		}
		return genericText(c.name, hash(h, uint64(v)), int(h%997)+v)
	}
	if !c.key && hash(h, 0x9ace)%25 == 0 {
		return placeholder(h)
	}
	return scalarText(c, h, e.t, loc)
}

// dynamicText renders q01…, opt1…, service_level_Nseg in a detail row.
func dynamicText(c *column, h uint64) string {
	switch {
	case strings.HasPrefix(c.name, "q"):
		if h%4 == 0 {
			return "-" // unanswered
		}
		return strconv.FormatUint(1+h%5, 10)
	case c.name == "service_level_0seg":
		return "0 %" // what the API sends without a services_time of its own
	case strings.HasPrefix(c.name, "opt"):
		if h%3 == 0 {
			return ""
		}
		return pick(generics, h)
	default:
		return percentText(between(h, 0, 10_000))
	}
}

// interactionID renders an interaction id. Dotted ids follow the live format
// "12462.0277.1782402643.44005": an operation number, a station, the Unix epoch of the
// interaction and a sequence; the last two make it unique within a report as long as a
// minute holds fewer than 100,000 interactions.
func (m *model) interactionID(c *column, root *event) string {
	n := strings.ToLower(c.name)
	seq := uint64(root.i) % 100_000
	if strings.Contains(n, "conn_id") || n == "connect_id" || strings.HasPrefix(n, "id_call") {
		return fmt.Sprintf("%d.%04d.%d.%05d", 10_000+m.seed%90_000, hash(root.h, c.fh)%10_000, root.t.Unix(), seq)
	}
	return strconv.FormatUint(uint64(root.t.Unix())*100_000+seq, 10)
}

// lenientCell turns some values into JSON numbers or nulls when Lenient is on.
func (q *query) lenientCell(cell Cell, c *column, h uint64) Cell {
	if q.lenient == 0 || unit(hash(h, 0x1e)) >= q.lenient {
		return cell
	}
	switch {
	case cell.Value == "-" || cell.Value == "--":
		return Cell{Key: cell.Key, Null: true}
	case c.typ == catalog.Count || c.typ == catalog.Seconds || c.typ == catalog.Millis:
		if _, err := strconv.ParseInt(cell.Value, 10, 64); err == nil {
			cell.Number = true
		}
	}
	return cell
}
