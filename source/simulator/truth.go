package simulator

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// TruthQuery asks for the ground truth of one report over a span of time.
type TruthQuery struct {
	Report string
	// Params are the report's extra parameters (skill_id, agent_id, services_time…),
	// applied as the API applies them.
	Params url.Values
	// From and To bound the truth, From inclusive, To exclusive: detail rows whose time
	// lies in the span, aggregate buckets that start in it.
	From, To time.Time
	// AsOf is the instant the consumer is judged at.
	AsOf time.Time
	// Bucket is the fixed, closed bucket a connector reads a range aggregate in, aligned
	// to local midnight; it must divide 24 h. Zero means one hour. Ignored for the other
	// kinds, whose buckets are the report's own.
	Bucket time.Duration
}

// TruthRow is one version of one row that a complete and exact consumer has by AsOf.
type TruthRow struct {
	Report string `json:"report"`
	// Identity names the row across versions: a JSON array of strings. Detail rows: the
	// values of the report's KeyFields (the whole row's cells when it has none).
	// Aggregates: the bucket start (RFC 3339, operation zone) followed by the row's
	// label and partition values, in column order.
	Identity string `json:"identity"`
	// Version counts edits: 0 is the row as it first appeared.
	Version int `json:"version"`
	// At is when this version became visible (detail) or when the bucket settled
	// (aggregates); SupersededAt is when the next version replaced it, zero if none has
	// by AsOf.
	At           time.Time `json:"at"`
	SupersededAt time.Time `json:"superseded_at,omitzero"`
	// Time is the detail row's time, or the aggregate bucket's start.
	Time time.Time `json:"time"`
	Row  Row       `json:"row"`
}

// Latest reports whether r is the current version as of the query's AsOf.
func (r TruthRow) Latest() bool { return r.SupersededAt.IsZero() }

// Truth returns the ground truth: every row, in every version, that a consumer polling
// the API completely and exactly holds by q.AsOf.
//
// Detail reports: every row whose time is in [From, To) and that is visible at AsOf,
// once per version visible at AsOf (original first, then each edit), in time order. A
// consumer that polls less often than rows change may legitimately miss an
// intermediate version; it can never miss the Latest one once AsOf is past the row's
// last edit.
//
// Bucketed and range reports: one row per group for each bucket that starts in
// [From, To) and has settled by AsOf (every event visible: bucket end plus the late
// delay), computed as a call for exactly that bucket (date_ini its start, date_end one
// second before its end) answers once settled. Values a consumer saw while a bucket was
// filling are not ground truth.
//
// Truth ignores the 60,000-row truncation: a consumer must split windows until it gets
// everything.
func (s *Server) Truth(q TruthQuery) ([]TruthRow, error) {
	m, ok := s.models[q.Report]
	if !ok || (s.served != nil && !s.served[q.Report]) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownReport, q.Report)
	}
	if !q.To.After(q.From) {
		return nil, fmt.Errorf("%w: empty range %s..%s", ErrBadQuery, q.From, q.To)
	}
	for _, p := range m.rep.Params {
		if p.Required && q.Params.Get(p.Name) == "" {
			return nil, fmt.Errorf("%w: %s needs parameter %s", ErrBadQuery, q.Report, p.Name)
		}
	}
	gp := s.gps[q.Report]
	switch m.rep.Kind {
	case catalog.Detail:
		return s.detailTruth(m, gp, q), nil
	case catalog.Bucketed:
		return s.aggTruth(m, gp, q, m.bucket)
	default:
		size := q.Bucket
		if size == 0 {
			size = time.Hour
		}
		return s.aggTruth(m, gp, q, size)
	}
}

func (s *Server) detailTruth(m *model, gp *genParams, q TruthQuery) []TruthRow {
	qr := newQuery(m, q.Params, q.From, q.To.Add(-time.Second), q.AsOf, gp, s.cfg.lenient)
	var out []TruthRow
	qr.detailAll(func(e *event) bool {
		if e.visible.After(q.AsOf) {
			return true
		}
		last := e.version(q.AsOf)
		id := ""
		for v := 0; v <= last; v++ {
			r := qr.detailRow(e, v)
			if id == "" {
				id = identity(m, qr.cols, r)
			}
			if !qr.keep(r) {
				continue
			}
			tr := TruthRow{Report: m.rep.API, Identity: id, Version: v, At: e.changedAt(v), Time: e.t, Row: r}
			if v < last {
				tr.SupersededAt = e.changedAt(v + 1)
			}
			out = append(out, tr)
		}
		return true
	})
	return out
}

func identity(m *model, cols []column, r Row) string {
	var vals []string
	if len(m.rep.KeyFields) == 0 {
		for _, c := range r {
			vals = append(vals, c.Key+"="+c.Value)
		}
	}
	for _, k := range m.rep.KeyFields {
		if i := slices.IndexFunc(cols, func(c column) bool { return c.name == k }); i >= 0 {
			vals = append(vals, r[i].Value)
		}
	}
	b, _ := json.Marshal(vals) // a []string always marshals
	return string(b)
}

func (s *Server) aggTruth(m *model, gp *genParams, q TruthQuery, size time.Duration) ([]TruthRow, error) {
	if size <= 0 || (24*time.Hour)%size != 0 || size%time.Second != 0 {
		return nil, fmt.Errorf("%w: bucket %s does not divide a day", ErrBadQuery, size)
	}
	var out []TruthRow
	settledAt := func(b time.Time) time.Time { return b.Add(size).Add(gp.maxLate) }
	for b := bucketStart(q.From, size, s.loc); b.Before(q.To); b = b.Add(size) {
		if b.Before(q.From) {
			continue
		}
		at := settledAt(b)
		if at.After(q.AsOf) {
			break
		}
		qr := newQuery(m, q.Params, b, b.Add(size-time.Second), at, gp, s.cfg.lenient)
		for _, r := range qr.aggregate() {
			vals := []string{b.In(s.loc).Format(time.RFC3339)}
			for i, c := range qr.cols {
				if c.role == roleLabel || c.partition {
					vals = append(vals, r[i].Value)
				}
			}
			id, _ := json.Marshal(vals) // a []string always marshals
			out = append(out, TruthRow{Report: m.rep.API, Identity: string(id), At: at, Time: b, Row: r})
		}
	}
	return out, nil
}
