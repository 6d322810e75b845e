package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// windowTxn is one attempt at delivering a window: every answer read for it streams,
// row by row as the client decodes it, through identity and dedupe, conversion and
// encoding into one open Kafka transaction, and the report's new state builds up
// beside it. It is the wolkvox.Handler of the window's reads. Nothing of a window is
// held in memory but the dedupe state: the transaction's producer buffer and spool
// bound the records in flight (see sink.Txn).
//
// The transaction opens with the first record, so a window that returns nothing, or
// waits for the token, holds none open; it ends with commit (the offset record last)
// or abort. Until commit nothing of it is visible to read_committed consumers, so any
// doubt about an answer is settled by aborting and reading again.
type windowTxn struct {
	c      *Connector
	ctx    context.Context
	writer *sink.Writer
	rs     *reportState

	txn    *sink.Txn // nil until the first record
	header kgo.RecordHeader
	limit  sink.SizeLimit // the report topic's, read with header
	d      delivery
	// committed is the report's committed dedupe state, which d.seen starts from: a row
	// found there was delivered by an earlier window (a duplicate); one found only in
	// d.seen came earlier in this window (a bisection's halves return the rows of the
	// capped answer), which is not a duplicate. Only the poll's goroutine writes the
	// report's state, so it is read here without the lock.
	committed seenSet
	// futureAfter: a row dated after this is upstream noise (a clock or data-entry
	// error). It is delivered, but it does not move last_seen, which would otherwise
	// read "no lag" until the present catches up with it.
	futureAfter time.Time

	piece Window    // the window of the answer being read (a half, when bisecting)
	at    time.Time // when the answer's first row arrived
	// headers are those every event of the answer carries, built at its first event.
	headers sink.EventHeaders
	// kept: the transaction holds an earlier answer of the window (a bisection is under
	// way), so a failed answer cannot be taken back alone: the window is read again.
	kept bool
	// answerRecords counts the records the answer being read put into the transaction.
	answerRecords int
}

// errRestart: the window's transaction holds rows that cannot be taken back alone (an
// answer failed in the middle of a bisection, or a bisected report's rows are named by
// their window); it is aborted and the window read again, skipping the calls whose
// answers are known to hit the cap.
var errRestart = errors.New("connector: the window's transaction is aborted and the window read again")

func (c *Connector) newWindowTxn(ctx context.Context, writer *sink.Writer, rs *reportState) *windowTxn {
	wt := &windowTxn{c: c, ctx: ctx, writer: writer, rs: rs,
		futureAfter: c.opts.clock.Now().Add(c.opts.futureTolerance)}
	wt.fromCommitted()
	return wt
}

// fromCommitted starts the window's state over from the report's committed one.
func (wt *windowTxn) fromCommitted() {
	c := wt.c
	c.mu.Lock()
	defer c.mu.Unlock()
	wt.committed = wt.rs.seen
	wt.d = delivery{seen: wt.rs.seen.fork(), lastSeen: wt.rs.lastSeen}
}

// answer starts reading the answer for window w.
func (wt *windowTxn) answer(w Window) {
	wt.piece, wt.at, wt.answerRecords, wt.headers = w, time.Time{}, 0, nil
}

// answered is called once an answer was read whole: the records the producer had no
// room for while it streamed are produced now, with the HTTP call over.
func (wt *windowTxn) answered() error {
	if wt.txn == nil {
		return nil
	}
	if err := wt.txn.Drain(); err != nil {
		return wt.failed(err)
	}
	if wt.answerRecords > 0 {
		wt.kept = true
	}
	return nil
}

// Reset is the client's retry of a failed answer: the rows it streamed are taken back
// by aborting the transaction, unless it holds an earlier answer too.
func (wt *windowTxn) Reset() error {
	if wt.kept {
		return errRestart
	}
	if err := wt.abort(); err != nil {
		return err
	}
	wt.fromCommitted()
	wt.answer(wt.piece)
	return nil
}

// abort ends the open transaction, if any, and counts it.
func (wt *windowTxn) abort() error {
	if wt.txn == nil {
		return nil
	}
	txn := wt.txn
	wt.txn = nil
	wt.c.transactionEnded(wt.rs, false)
	return txn.Abort()
}

// failed is a produce that failed: the transaction is aborted, and the error says what
// the failure means (a *sink.CommitError).
func (wt *windowTxn) failed(err error) error {
	if abortErr := wt.abort(); abortErr != nil {
		return abortErr // Abort reports the produce's failure, classified
	}
	return err
}

// emit produces r into the window's transaction, opening it first if need be.
func (wt *windowTxn) emit(r *kgo.Record) error {
	if wt.txn == nil {
		txn, err := wt.writer.Begin(wt.ctx)
		if err != nil {
			return err
		}
		wt.txn = txn
	}
	wt.answerRecords++
	if err := wt.txn.Produce(r); err != nil {
		return wt.failed(err)
	}
	return nil
}

// Row takes one row of the answer being read.
func (wt *windowTxn) Row(row wolkvox.Row) error {
	c, rs, d := wt.c, wt.rs, &wt.d
	if wt.at.IsZero() {
		wt.at = c.opts.clock.Now()
	}
	id, idErr := rs.ids.identify(rs.rep, wt.piece, row, c.cfg.Location)
	if wt.seenBefore(id) {
		return nil
	}
	if idErr != nil {
		return wt.deadLetter(rowJSON(row), idErr)
	}
	err := c.opts.converter.Fill(&rs.native, rs.rep, row, schemas.Meta{
		Server: c.cfg.Server, Report: rs.rep.API, WindowStart: wt.piece.Start, WindowEnd: wt.piece.End,
		ReadAt: wt.at, RowID: id.Key, Location: c.cfg.Location,
	})
	if err != nil {
		// Declared here, not for every row: errors.As makes it escape to the heap.
		var conv *schemas.ConversionError
		if errors.As(err, &conv) {
			return wt.deadLetter(rowJSON(row), err)
		}
		return fmt.Errorf("%w: converting a %s row: %w", errPermanent, rs.rep.API, err)
	}
	if wt.header.Key == "" {
		if wt.limit, err = wt.writer.SizeLimit(wt.ctx, rs.topic); err != nil {
			return err
		}
		if wt.header, err = c.opts.encoder.SchemaHeader(wt.ctx, rs.topic, rs.rep); err != nil {
			return err
		}
	}
	// The event reuses the memory of one produced earlier (see sink.NewEvent).
	ev := sink.NewEvent()
	value, err := c.opts.encoder.EncodeNative(wt.ctx, rs.topic, rs.rep, &rs.native, ev.Value())
	if err != nil {
		return fmt.Errorf("encoding a %s row: %w", rs.rep.API, err)
	}
	if wt.headers == nil {
		wt.headers = sink.NewEventHeaders(rs.rep.API, wt.piece.Start, wt.piece.End, string(wt.header.Value))
	}
	// The key and the version header share one buffer, the key's room holding both.
	buf := append(slices.Grow(ev.Key(), len(id.Key)+16), id.Key...)
	key, version := buf, strconv.AppendUint(buf[len(buf):], id.Version, 16)
	rec := wt.headers.Event(ev, rs.topic, key, value, kgo.RecordHeader{Key: HeaderRowVersion, Value: version})
	// A record the topic can never take would fail every transaction of the window,
	// for ever: it is a dead letter, decided before producing.
	if err := wt.limit.Check(rec); err != nil {
		if !errors.Is(err, sink.ErrRecordTooLarge) {
			return err
		}
		return wt.deadLetter(rowJSON(row), err)
	}
	if err := wt.emit(rec); err != nil {
		return err
	}
	d.stats.Rows++
	rowTime, timed := rs.native.EventTime() // the event time the converter read
	switch {
	case !timed:
	case rowTime.After(wt.futureAfter):
		d.stats.FutureRows++
	case rowTime.After(d.lastSeen):
		d.lastSeen = rowTime
	}
	return nil
}

// seenBefore reports whether the row id names was delivered already, and records
// that this answer returned it: a row is kept in the dedupe state as long as windows
// return it.
func (wt *windowTxn) seenBefore(id identity) bool {
	if !wt.d.seen.add(id, wt.piece.End) {
		return false
	}
	if wt.committed.has(id) {
		wt.d.stats.Duplicates++
	}
	return true
}

// Oversize takes a row too long to decode: it becomes a dead letter holding its start,
// once (it is named by that start and its length).
func (wt *windowTxn) Oversize(big wolkvox.OversizeRow) error {
	id := oversizeIdentity(big)
	if wt.seenBefore(id) {
		return nil
	}
	reason := &OversizeRowError{Report: wt.rs.rep.API, Bytes: big.Bytes}
	truncated := kgo.RecordHeader{Key: sink.HeaderTruncated, Value: []byte(strconv.FormatInt(big.Bytes, 10))}
	return wt.deadLetter(big.Prefix, reason, truncated)
}

// deadLetter produces a row that cannot become an event, with the reason, into the
// window's transaction.
func (wt *windowTxn) deadLetter(raw []byte, reason error, headers ...kgo.RecordHeader) error {
	c := wt.c
	dl := sink.DeadLetter(c.opts.dest.DeadLetterTopic, raw, reason, c.cfg.Name, wt.rs.rep.API, wt.piece.Start, wt.piece.End)
	dl.Headers = append(dl.Headers, headers...)
	if err := wt.writer.FitDeadLetter(wt.ctx, dl); err != nil {
		return err
	}
	wt.d.stats.DeadLetters++
	return wt.emit(dl)
}

// commit ends window w: the report's new position goes into the transaction last, and
// the transaction commits (one is opened for a window that returned nothing, since its
// offset moves all the same).
func (wt *windowTxn) commit(w Window) (*delivery, error) {
	c, rs, d := wt.c, wt.rs, &wt.d
	d.cursor = advance(rs.rep, w, c.cfg.Location)
	next, _ := plan(rs.rep, &rs.rc, d.cursor, d.cursor.Add(rs.rc.Settle+rs.rc.Interval), c.cfg.Location)
	pruneFrom := d.cursor
	if !next.Start.IsZero() && next.Start.Before(pruneFrom) {
		pruneFrom = next.Start
	}
	d.seen.prune(pruneFrom)
	pos := offsets.Position{LastSeen: d.lastSeen, WindowEnd: d.cursor, Seen: d.seen.entries()}
	offsetRec, err := offsets.Record(c.opts.dest.OffsetsTopic, rs.key, &pos)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPermanent, err)
	}
	if wt.txn == nil {
		if wt.txn, err = wt.writer.Begin(wt.ctx); err != nil {
			return nil, err
		}
	}
	txn := wt.txn
	wt.txn = nil
	spooled := txn.Spooled()
	err = txn.Commit(offsetRec)
	c.transactionEnded(rs, err == nil)
	if err != nil {
		return nil, err
	}
	if spooled > 0 {
		c.log.Info("Kafka was slower than the answer: records waited in the transaction's spool", "report", rs.rc.Key(),
			"window", w, "spooled", spooled)
	}
	return d, nil
}

// transactionEnded counts a window transaction that committed or was aborted.
func (c *Connector) transactionEnded(rs *reportState, committed bool) {
	c.mu.Lock()
	if committed {
		rs.status.Commits++
	} else {
		rs.status.Aborts++
	}
	c.mu.Unlock()
	if c.opts.observer != nil {
		c.opts.observer.Transaction(c.cfg.Name, rs.rc.Key(), committed)
	}
}

// namedByWindow reports whether rep's rows are named by the window that returned them
// (range aggregates: the same agent is a different row in every bucket), so the rows of
// a capped answer are not the rows its halves return, and must not be kept.
func namedByWindow(rep *catalog.Report) bool { return rep.Kind == catalog.RangeAggregate }
