package source

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// HeaderRowVersion is the event header holding the hash (hex) of the row's content: two
// events with the same key and version carry the same row, so consumers can check that
// nothing was repeated.
const HeaderRowVersion = "wolkvox.row.version"

// rowBuffer collects one read's rows, and the rows too long to decode (see
// wolkvox.MaxRowBytes); the client resets it when it retries.
type rowBuffer struct {
	rows     []wolkvox.Row
	oversize []wolkvox.OversizeRow
}

func (b *rowBuffer) Row(r wolkvox.Row) error { b.rows = append(b.rows, r); return nil }
func (b *rowBuffer) Oversize(r wolkvox.OversizeRow) error {
	b.oversize = append(b.oversize, r)
	return nil
}
func (b *rowBuffer) Reset() { b.rows, b.oversize = b.rows[:0], b.oversize[:0] }

// piece is the rows of one (sub)window.
type piece struct {
	w        Window
	rows     []wolkvox.Row
	oversize []wolkvox.OversizeRow
	at       time.Time // when the answer arrived
}

// OversizeRowError: a row longer than the client's MaxRowBytes, which is never decoded;
// its dead letter holds the row's first bytes.
type OversizeRowError struct {
	Report string
	Bytes  int64
}

func (e *OversizeRowError) Error() string {
	return fmt.Sprintf("%s row of %d bytes is longer than the largest row read (max_row_bytes): kept undecoded, its start only", e.Report, e.Bytes)
}

// Class names the dead-letter cause (sink.ErrorClass).
func (e *OversizeRowError) Class() string { return "row_too_large" }

// read reads w, bisecting it while an answer holds the API's row cap: the API cuts such
// answers silently, so a full answer is never taken as the whole window.
func (c *Connector) read(ctx context.Context, rs *reportState, w Window, first bool) ([]piece, error) {
	if !first {
		for {
			until, spent, ok := c.quota.Take(c.opts.clock.Now())
			if ok {
				break
			}
			if spent {
				return nil, fmt.Errorf("%w (reset at %s)", errBudgetSpent, until.Format(time.RFC3339))
			}
			if err := c.opts.clock.Sleep(ctx, until.Sub(c.opts.clock.Now())); err != nil {
				return nil, err
			}
		}
	}
	var buf rowBuffer
	c.mu.Lock()
	c.reading = rs
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reading = nil
		c.mu.Unlock()
	}()
	res, err := c.client.Read(ctx, wolkvox.Request{Report: rs.rc.API, Start: w.Start, End: w.End, Params: rs.rc.Params}, &buf)
	if err != nil {
		return nil, err
	}
	// stated is msg's count (-1: none); more rows than it are taken (nothing is lost,
	// and nested reports count their parents only), fewer never reach here.
	c.log.Debug("answer read", "report", rs.rc.Key(), "window", w, "rows", res.Rows, "stated", res.Stated,
		"oversize", res.Oversize, "capped", res.Capped, "calls", res.Calls)
	if !res.Capped {
		return []piece{{w: w, rows: buf.rows, oversize: buf.oversize, at: c.opts.clock.Now()}}, nil
	}
	a, b, ok := halves(w)
	if !ok {
		return nil, &errWindowTooDense{Report: rs.rc.API, Window: w, Rows: res.Rows}
	}
	c.mu.Lock()
	rs.status.Splits++
	c.mu.Unlock()
	c.log.Info("answer hit the row cap: bisecting", "report", rs.rc.Key(), "window", w, "rows", res.Rows)
	if c.opts.observer != nil {
		c.opts.observer.Split(c.cfg.Name, rs.rc.Key())
	}
	pa, err := c.read(ctx, rs, a, false)
	if err != nil {
		return nil, err
	}
	pb, err := c.read(ctx, rs, b, false)
	if err != nil {
		return nil, err
	}
	return append(pa, pb...), nil
}

// errBudgetSpent: the quota ran out in the middle of a bisection. Nothing of the window
// is committed; it is read again after the reset.
var errBudgetSpent = errors.New("connector: daily call budget spent")

// poll reads window w of one report and commits what is new in it, with the report's
// new offset, in one transaction. The in-memory state moves only after the commit.
func (c *Connector) poll(ctx context.Context, writer *sink.Writer, rs *reportState, w Window) error {
	c.activity(rs, "reading")
	defer c.activity(rs, "")
	pieces, err := c.read(ctx, rs, w, true)
	if errors.Is(err, errBudgetSpent) {
		return fmt.Errorf("%w: %w", wolkvox.ErrQuotaExhausted, err)
	}
	if err != nil {
		return err
	}

	header, err := c.opts.encoder.SchemaHeader(ctx, rs.topic, rs.rep)
	if err != nil {
		return err
	}
	c.activity(rs, "committing")
	d, err := c.deliver(ctx, writer, rs, w, pieces, header)
	if err != nil {
		return err
	}

	c.mu.Lock()
	rs.cursor, rs.lastSeen, rs.seen = d.cursor, d.lastSeen, d.seen
	st := &rs.status
	st.Cursor, st.LastSeen = d.cursor, d.lastSeen
	st.Rows += d.stats.Rows
	st.DeadLetters += d.stats.DeadLetters
	st.Duplicates += d.stats.Duplicates
	st.FutureRows += d.stats.FutureRows
	st.Windows++
	st.LastError, st.FailingSince = "", time.Time{}
	if st.State == StateBackingOff {
		st.State = StateRunning
	}
	c.mu.Unlock()
	d.stats.LastSeen, d.stats.Cursor = d.lastSeen, d.cursor
	if c.opts.observer != nil {
		c.opts.observer.Window(c.cfg.Name, rs.rc.Key(), d.stats)
	}
	if d.stats.FutureRows > 0 {
		c.log.Warn("rows dated in the future: delivered, but last_seen ignores them", "report", rs.rc.Key(),
			"window", w, "rows", d.stats.FutureRows, "tolerance", c.opts.futureTolerance)
	}
	c.log.Info("window delivered", "report", rs.rc.Key(), "window", w, "pieces", len(pieces),
		"rows", d.stats.Rows, "dead_letters", d.stats.DeadLetters, "duplicates", d.stats.Duplicates, "seen", len(d.seen))
	return nil
}

// delivery is a committed window: the state it moved the report to, and its counts.
type delivery struct {
	seen             seenSet
	lastSeen, cursor time.Time
	stats            WindowStats
}

// deliver commits the pieces of window w in one transaction, retrying a transaction
// Kafka aborted: the rows are still in hand, so a retry converts them again from the
// report's committed state and repeats nothing. Fencing is final; an error that is not
// the transaction's (a conversion the engine cannot do, the encoder's registry) ends it
// at once, for the window to be read again later.
func (c *Connector) deliver(ctx context.Context, writer *sink.Writer, rs *reportState, w Window, pieces []piece, header kgo.RecordHeader) (*delivery, error) {
	b := backoff.WithContext(backoff.WithMaxRetries(backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(200*time.Millisecond), backoff.WithMaxInterval(5*time.Second)), 5), ctx)
	var d *delivery
	err := backoff.Retry(func() error {
		var err error
		d, err = c.attempt(ctx, writer, rs, w, pieces, header)
		var ce *sink.CommitError
		if err != nil && !errors.As(err, &ce) {
			return backoff.Permanent(err)
		}
		c.mu.Lock()
		if err == nil {
			rs.status.Commits++
		} else {
			rs.status.Aborts++
		}
		c.mu.Unlock()
		if c.opts.observer != nil {
			c.opts.observer.Transaction(c.cfg.Name, rs.rc.Key(), err == nil)
		}
		if errors.Is(err, sink.ErrFenced) {
			return backoff.Permanent(err)
		}
		if err != nil {
			c.mu.Lock()
			rs.status.State, rs.status.LastError = StateBackingOff, "Kafka transaction aborted, retrying: "+c.redact(err.Error())
			if rs.status.FailingSince.IsZero() {
				rs.status.FailingSince = time.Now()
			}
			c.mu.Unlock()
			c.log.Warn("transaction aborted; retrying", "report", rs.rc.Key(), "err", err)
		}
		return err
	}, b)
	return d, err
}

// attempt is one transaction of deliver: every new row of the pieces goes, as it is
// converted and encoded, into the open transaction (the producer's buffer bounds what
// is held), then the window's offset record, and the commit.
func (c *Connector) attempt(ctx context.Context, writer *sink.Writer, rs *reportState, w Window, pieces []piece, header kgo.RecordHeader) (_ *delivery, err error) {
	c.mu.Lock()
	d := &delivery{seen: maps.Clone(rs.seen), lastSeen: rs.lastSeen}
	c.mu.Unlock()
	txn, err := writer.Begin(ctx)
	if err != nil {
		return nil, err
	}
	// Every return before Commit is an error: the transaction is aborted with it (the
	// next Begin or Close retries an abort that fails).
	ended := false
	defer func() {
		if !ended {
			if abortErr := txn.Abort(); abortErr != nil {
				c.log.Warn("aborting the window's transaction", "report", rs.rc.Key(), "err", abortErr, "because", err)
			}
		}
	}()
	produce := func(r *kgo.Record) error {
		if err := txn.Produce(r); err != nil {
			ended = true
			return txn.Abort() // says what the failed produce means
		}
		return nil
	}
	seen, stats := d.seen, &d.stats
	// A row dated after this is upstream noise (a clock or data-entry error): it is
	// delivered, but it does not move last_seen, which would otherwise read "no lag"
	// until the present catches up with it.
	futureAfter := c.opts.clock.Now().Add(c.opts.futureTolerance)
	for _, p := range pieces {
		deadLetter := func(raw []byte, reason error, headers ...kgo.RecordHeader) error {
			dl := sink.DeadLetter(c.opts.dest.DeadLetterTopic, raw, reason, c.cfg.Name, rs.rep.API, p.w.Start, p.w.End)
			dl.Headers = append(dl.Headers, headers...)
			if err := writer.FitDeadLetter(ctx, dl); err != nil {
				return err
			}
			stats.DeadLetters++
			return produce(dl)
		}
		for _, big := range p.oversize {
			id := oversizeIdentity(big)
			if seen.has(id) {
				seen.add(id, p.w.End)
				stats.Duplicates++
				continue
			}
			seen.add(id, p.w.End)
			reason := &OversizeRowError{Report: rs.rep.API, Bytes: big.Bytes}
			truncated := kgo.RecordHeader{Key: sink.HeaderTruncated, Value: []byte(strconv.FormatInt(big.Bytes, 10))}
			if err := deadLetter(big.Prefix, reason, truncated); err != nil {
				return nil, err
			}
		}
		for _, row := range p.rows {
			id, idErr := identify(rs.rep, p.w, row, c.cfg.Location)
			if seen.has(id) {
				seen.add(id, p.w.End) // returned again: keep it as long as windows return it
				stats.Duplicates++
				continue
			}
			seen.add(id, p.w.End)
			if idErr != nil {
				if err := deadLetter(rowJSON(row), idErr); err != nil {
					return nil, err
				}
				continue
			}
			native, err := c.opts.converter.Convert(rs.rep, row, schemas.Meta{
				Server: c.cfg.Server, Report: rs.rep.API, WindowStart: p.w.Start, WindowEnd: p.w.End,
				ReadAt: p.at, RowID: id.Key, Location: c.cfg.Location,
			})
			var conv *schemas.ConversionError
			if errors.As(err, &conv) {
				if err := deadLetter(rowJSON(row), err); err != nil {
					return nil, err
				}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%w: converting a %s row: %w", errPermanent, rs.rep.API, err)
			}
			value, err := c.opts.encoder.Encode(ctx, rs.topic, rs.rep, native, nil)
			if err != nil {
				return nil, fmt.Errorf("encoding a %s row: %w", rs.rep.API, err)
			}
			rec := sink.EventRecord(rs.topic, []byte(id.Key), value, rs.rep.API, p.w.Start, p.w.End, string(header.Value))
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: HeaderRowVersion, Value: []byte(strconv.FormatUint(id.Version, 16))})
			// A record the topic can never take would fail every transaction of the
			// window, for ever: it is a dead letter, decided before producing.
			if err := writer.CheckSize(ctx, rec); err != nil {
				if !errors.Is(err, sink.ErrRecordTooLarge) {
					return nil, err
				}
				if err := deadLetter(rowJSON(row), err); err != nil {
					return nil, err
				}
				continue
			}
			if err := produce(rec); err != nil {
				return nil, err
			}
			stats.Rows++
			rowTime, timed := rowTimeOf(rs, row, c.cfg.Location)
			switch {
			case !timed:
			case rowTime.After(futureAfter):
				stats.FutureRows++
			case rowTime.After(d.lastSeen):
				d.lastSeen = rowTime
			}
		}
	}

	d.cursor = advance(rs.rep, w, c.cfg.Location)
	next, _ := plan(rs.rep, &rs.rc, d.cursor, d.cursor.Add(rs.rc.Settle+rs.rc.Interval), c.cfg.Location)
	pruneFrom := d.cursor
	if !next.Start.IsZero() && next.Start.Before(pruneFrom) {
		pruneFrom = next.Start
	}
	seen.prune(pruneFrom)
	pos := offsets.Position{LastSeen: d.lastSeen, WindowEnd: d.cursor, Seen: seen.entries()}
	offsetRec, err := offsets.Record(c.opts.dest.OffsetsTopic, rs.key, &pos)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPermanent, err)
	}
	ended = true
	if err := txn.Commit(offsetRec); err != nil {
		return nil, err
	}
	return d, nil
}

// rowJSON is a row as dead letters carry it: its JSON, keys in the order the API sent them.
func rowJSON(row wolkvox.Row) []byte {
	raw, _ := row.MarshalJSON() // cannot fail: keys and values are strings
	return raw
}

// activity records what rs is doing now (see ReportStatus.Activity).
func (c *Connector) activity(rs *reportState, what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs.status.Activity, rs.status.ActivitySince = what, time.Time{}
	if what != "" {
		rs.status.ActivitySince = time.Now()
	}
}

// rowTimeOf reads a detail row's time from its time field, in the operation's zone.
func rowTimeOf(rs *reportState, row wolkvox.Row, loc *time.Location) (time.Time, bool) {
	if rs.rep.TimeField == "" || rs.rep.TimeLayout == "" {
		return time.Time{}, false
	}
	v, ok := row.Get(rs.rep.TimeField)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(rs.rep.TimeLayout, v, loc)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
