package source

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// HeaderRowVersion is the event header holding the hash (hex) of the row's content: two
// events with the same key and version carry the same row, so consumers can check that
// nothing was repeated.
const HeaderRowVersion = "wolkvox.row.version"

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

// readWindow reads window w into wt, bisecting it while an answer holds the API's row
// cap: the API cuts such answers silently, so a full answer is never taken as the whole
// window. The rows of a capped answer stay in the transaction (they are rows of the
// window) and its halves' copies of them are recognised by the dedupe state, so nothing
// is produced twice and nothing is held back; rows named by their window (namedByWindow)
// are the exception: the transaction is restarted, and the halves read into a new one.
//
// capped holds the windows of this poll whose answers hit the cap, with their rows: reading the window
// again (errRestart, a failed commit) skips their calls and reads their halves. taken
// says the call for w was already taken from the quota.
func (c *Connector) readWindow(ctx context.Context, wt *windowTxn, w Window, taken bool, capped map[Window]int) error {
	rs := wt.rs
	if _, known := capped[w]; !known {
		if !taken {
			if err := c.takeCall(ctx, wt.txn != nil); err != nil {
				return err
			}
		}
		c.mu.Lock()
		c.reading = rs
		c.mu.Unlock()
		wt.answer(w)
		res, err := c.client.Read(ctx, wolkvox.Request{Report: rs.rc.API, Start: w.Start, End: w.End, Params: rs.rc.Params}, wt)
		c.mu.Lock()
		c.reading = nil
		c.mu.Unlock()
		if err != nil {
			return err
		}
		// stated is msg's count (-1: none); more rows than it are taken (nothing is
		// lost, and nested reports count their parents only), fewer never reach here.
		c.log.Debug("answer read", "report", rs.rc.Key(), "window", w, "rows", res.Rows, "stated", res.Stated,
			"oversize", res.Oversize, "capped", res.Capped, "calls", res.Calls)
		if err := wt.answered(); err != nil {
			return err
		}
		if !res.Capped {
			return nil
		}
		capped[w] = res.Rows
		c.mu.Lock()
		rs.status.Splits++
		c.mu.Unlock()
		c.log.Info("answer hit the row cap: bisecting", "report", rs.rc.Key(), "window", w, "rows", res.Rows)
		if c.opts.observer != nil {
			c.opts.observer.Split(c.cfg.Name, rs.rc.Key())
		}
		if res.Rows > 0 && namedByWindow(rs.rep) {
			if _, _, ok := halves(w); ok {
				return errRestart
			}
		}
	}
	a, b, ok := halves(w)
	if !ok {
		return &errWindowTooDense{Report: rs.rc.API, Window: w, Rows: capped[w]}
	}
	if err := c.readWindow(ctx, wt, a, false, capped); err != nil {
		return err
	}
	return c.readWindow(ctx, wt, b, false, capped)
}

// takeCall takes one call from the quota for a read beyond the first of a poll (a
// bisection's, or a window's read again). With a transaction open it is not paced: the
// transaction must not wait for hours, and the calls it spends are counted, so the next
// window waits for them instead. A spent day's budget is never overrun.
func (c *Connector) takeCall(ctx context.Context, inTxn bool) error {
	for {
		now := c.opts.clock.Now()
		var until time.Time
		var spent, ok bool
		var err error
		if inTxn {
			until, ok, err = c.quota.TakeUnpaced(ctx, now)
			spent = !ok
		} else {
			until, spent, ok, err = c.quota.Take(ctx, now)
		}
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if spent {
			return fmt.Errorf("%w (reset at %s)", errBudgetSpent, until.Format(time.RFC3339))
		}
		if err := c.opts.clock.Sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

// errBudgetSpent: the quota ran out in the middle of a bisection. Nothing of the window
// is committed; it is read again after the reset.
var errBudgetSpent = errors.New("connector: daily call budget spent")

// maxWindowRestarts bounds how often one poll reads its window again after aborting its
// transaction (each costs calls); then the report backs off as after any failure.
const maxWindowRestarts = 5

// poll reads window w of one report into one transaction that commits its new rows
// with the report's new offset. The in-memory state moves only after the commit.
//
// A transaction that cannot go on is aborted and the window read again from the start,
// up to maxWindowRestarts times with backoff: Kafka aborted it (a failed produce or
// commit), or an answer failed in the middle of a bisection (errRestart). Since the
// rows are not held, reading again costs calls: one per answer read, the capped ones
// excepted. Fencing is final; any other error ends the poll at once, and the window is
// read again later.
func (c *Connector) poll(ctx context.Context, writer *sink.Writer, rs *reportState, w Window) error {
	c.activity(rs, "reading")
	defer c.activity(rs, "")
	b := backoff.WithContext(backoff.WithMaxRetries(backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(200*time.Millisecond), backoff.WithMaxInterval(5*time.Second)), maxWindowRestarts), ctx)
	capped := map[Window]int{}
	taken := true // run took the first call
	var d *delivery
	for {
		wt := c.newWindowTxn(ctx, writer, rs)
		err := c.readWindow(ctx, wt, w, taken, capped)
		taken = false
		if err == nil {
			c.activity(rs, "committing")
			d, err = wt.commit(w)
		}
		if err == nil {
			break
		}
		if abortErr := wt.abort(); abortErr != nil {
			c.log.Warn("aborting the window's transaction", "report", rs.rc.Key(), "err", abortErr, "because", err)
		}
		if errors.Is(err, errBudgetSpent) {
			return fmt.Errorf("%w: %w", wolkvox.ErrQuotaExhausted, err)
		}
		if !restartable(err) {
			return err
		}
		if kafkaSide(err) && !c.kafkaUp(ctx, writer) {
			return err // read again once Kafka answers (settle, kafkaAnswers): no call before
		}
		wait := b.NextBackOff()
		if wait == backoff.Stop {
			return err
		}
		c.mu.Lock()
		rs.status.State, rs.status.LastError = StateBackingOff, "window aborted, reading it again: "+c.redact(err.Error())
		if rs.status.FailingSince.IsZero() {
			rs.status.FailingSince = time.Now()
		}
		c.mu.Unlock()
		c.log.Warn("window transaction aborted; reading the window again", "report", rs.rc.Key(), "window", w,
			"wait", wait, "err", err)
		if err := c.opts.clock.Sleep(ctx, wait); err != nil {
			return err
		}
		c.activity(rs, "reading")
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
	c.log.Info("window delivered", "report", rs.rc.Key(), "window", w, "splits", len(capped),
		"rows", d.stats.Rows, "dead_letters", d.stats.DeadLetters, "duplicates", d.stats.Duplicates, "seen", d.seen.len())
	return nil
}

// restartable reports whether a poll that failed with err reads its window again at
// once: Kafka aborted the transaction (not fencing), or it was restarted because an
// answer failed mid-bisection in a way the client would have retried.
func restartable(err error) bool {
	var ce *sink.CommitError
	if errors.As(err, &ce) {
		return !errors.Is(err, sink.ErrFenced)
	}
	// Reset's errRestart comes wrapped with the answer's failure, which may be final.
	return errors.Is(err, errRestart) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, wolkvox.ErrQuotaExhausted) && !errors.Is(err, wolkvox.ErrInvalidToken) &&
		!errors.Is(err, wolkvox.ErrBadRequest)
}

// delivery is a committed window: the state it moved the report to, and its counts.
type delivery struct {
	seen             seenSet
	lastSeen, cursor time.Time
	stats            WindowStats
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
