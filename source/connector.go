package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// Errors that end Run.
var (
	// ErrFenced: another instance of this connector took over its transactional ID.
	ErrFenced = errors.New("connector: fenced by another instance with the same transactional ID")
	// ErrInvalidToken: Wolkvox refused the token; nothing will work until it is fixed.
	ErrInvalidToken = errors.New("connector: Wolkvox refused the token")
	// ErrAllFailed: every report failed; see each report's last error.
	ErrAllFailed = errors.New("connector: every report failed")
)

// Connector reads one Wolkvox operation into Kafka. Run it once; Pause, Resume and
// Status may be called from other goroutines while it runs.
type Connector struct {
	cfg    Config
	opts   options
	log    *slog.Logger
	client *wolkvox.Client
	quota  *Quota
	// ownQuota: the quota is the connector's own (no SharedQuota), closed when Run ends.
	ownQuota bool

	mu        sync.Mutex
	state     State
	lastErr   string
	nextRetry time.Time // when a failed start is tried again
	reports   []*reportState
	paused    bool
	wake      chan struct{} // closed and replaced on Resume
	// reading is the report whose window is being read: reads are serial, so every
	// call the client reports belongs to it.
	reading *reportState
	// writer is the Kafka writer while Run has one open, for Status.
	writer *sink.Writer
}

type reportState struct {
	rc    ReportConfig
	rep   *catalog.Report
	key   offsets.Key
	topic string

	// guarded by Connector.mu once Run has started
	cursor   time.Time
	lastSeen time.Time
	seen     seenSet
	retryAt  time.Time
	backoff  backoff.BackOff
	// kafkaDown: the last poll failed on Kafka's side; the next one waits until Kafka
	// answers (see kafkaAnswers), without spending a call.
	kafkaDown bool
	status    ReportStatus
	// native is the report's conversion scratch, reused row after row by the poll's
	// goroutine (each row is encoded before the next is converted).
	native schemas.Native
	// ids names the report's rows, remembering their shape; the poll's goroutine's too.
	ids identifier
}

// New builds a connector. It validates cfg and fails with every problem at once.
func New(cfg Config, opts ...Opt) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	o := resolve(opts)
	if len(o.dest.Seeds) == 0 {
		return nil, errors.New("connector: no Kafka seed brokers (option WriteTo)")
	}
	if o.encoder == nil {
		enc, err := schemas.NewEncoder()
		if err != nil {
			return nil, err
		}
		o.encoder = enc
	}
	if o.redactor == nil {
		o.redactor = NewRedactor()
	}
	o.redactor.Add(cfg.Token.Reveal())
	log := slog.New(o.redactor.Handler(o.logger.Handler())).With("connector", cfg.Name)
	c := &Connector{cfg: cfg, opts: o, log: log, state: StateStopped, wake: make(chan struct{})}

	c.quota = o.quota
	if c.quota == nil {
		var err error
		if c.quota, err = o.dest.quota(cfg, log); err != nil {
			return nil, err
		}
		c.ownQuota = true
	}
	srcOpts := []wolkvox.Opt{
		wolkvox.Server(cfg.Server), wolkvox.Token(cfg.Token.Reveal()), wolkvox.Location(cfg.Location),
		wolkvox.Logger(log), wolkvox.OnCall(c.onCall), wolkvox.BeforeRetry(c.beforeRetry),
	}
	if cfg.BaseURL != "" {
		srcOpts = append(srcOpts, wolkvox.BaseURL(cfg.BaseURL))
	}
	if cfg.MaxInFlight > 0 {
		l, err := wolkvox.NewLimiter(cfg.MaxInFlight)
		if err != nil {
			return nil, err
		}
		srcOpts = append(srcOpts, wolkvox.WithLimiter(l))
	}
	srcOpts = append(srcOpts, o.sourceOpts...)
	client, err := wolkvox.NewClient(srcOpts...)
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", cfg.Name, err)
	}
	c.client = client

	for _, rc := range cfg.Reports {
		rep, _ := catalog.Lookup(rc.API) // Validate checked it
		topic, err := sink.TopicName(o.dest.TopicTemplate, cfg.Name, cfg.Server, rc.API)
		if err != nil {
			return nil, fmt.Errorf("connector %s: report %s: %w", cfg.Name, rc.API, err)
		}
		rs := &reportState{
			rc: rc, rep: rep, topic: topic,
			key: OffsetKey(cfg, rc),
		}
		rs.status = ReportStatus{Report: rc.API, Key: rc.Key(), Topic: topic, State: StateStopped}
		c.reports = append(c.reports, rs)
	}
	if o.backfill != nil {
		if !o.backfill.from.Before(o.backfill.to) {
			return nil, fmt.Errorf("connector %s: backfill range %s..%s is empty", cfg.Name, o.backfill.from, o.backfill.to)
		}
		o.backfill.apply(c)
	}
	return c, nil
}

// Name is the connector's name.
func (c *Connector) Name() string { return c.cfg.Name }

// Config returns the connector's configuration with defaults applied.
func (c *Connector) Config() Config { return c.cfg }

// TransactionalIDPrefix is the prefix of the connector's transactional ID (see
// [TransactionalID]): a backfill's has "backfill-" added, so it never fences the live
// connector. Offset administration of its positions takes the same prefix.
func (c *Connector) TransactionalIDPrefix() string { return c.opts.dest.TransactionalIDPrefix }

// Topics returns the topic of every report, by report key.
func (c *Connector) Topics() map[string]string {
	out := map[string]string{}
	for _, rs := range c.reports {
		out[rs.rc.Key()] = rs.topic
	}
	return out
}

// Status returns a snapshot of the connector and its reports (see [Status] for how the
// connector's state sums up its reports').
func (c *Connector) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.clock.Now()
	used, limit := c.quota.Usage(now)
	reserved, _ := c.quota.Reserved(now)
	st := Status{Name: c.cfg.Name, State: c.state, LastError: c.lastErr, NextRetry: c.nextRetry,
		QuotaUsed: used, QuotaLimit: limit, QuotaReserved: reserved, ProducerMemoryLimit: c.producerMemoryLimit()}
	if c.writer != nil {
		st.ProducerMemory, st.ProducerMemoryLimit = c.writer.Memory()
	}
	wall := time.Now()
	live, backingOff, waitingQuota := 0, 0, 0
	for _, rs := range c.reports {
		r := rs.status
		if c.paused && r.State != StateFailed {
			r.State = StatePaused
		}
		r.Stalled = (r.Activity != "" && wall.Sub(r.ActivitySince) > c.opts.stallTimeout) ||
			(!r.FailingSince.IsZero() && wall.Sub(r.FailingSince) > c.opts.stallTimeout)
		switch r.State {
		case StateFailed:
		case StateBackingOff:
			live++
			backingOff++
		case StateQuotaExhausted:
			live++
			waitingQuota++
		default:
			live++
		}
		if st.LastError == "" && r.LastError != "" {
			st.LastError = "report " + r.Key + ": " + r.LastError
		}
		st.Reports = append(st.Reports, r)
	}
	if st.State == StateRunning {
		switch {
		case waitingQuota > 0:
			st.State = StateQuotaExhausted
		case live > 0 && backingOff == live:
			st.State = StateBackingOff
		}
	}
	return st
}

// Pause stops new reads after the current window commits; Resume lets them go on.
func (c *Connector) Pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = true
	if c.state == StateRunning {
		c.state = StatePaused
	}
}

// Resume undoes Pause.
func (c *Connector) Resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.paused {
		return
	}
	c.paused = false
	if c.state == StatePaused {
		c.state = StateRunning
	}
	close(c.wake)
	c.wake = make(chan struct{})
}

func (c *Connector) setState(s State, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = s
	if err != nil {
		c.lastErr = c.redact(err.Error())
	}
}

// beforeRetry takes a retry inside the client from the quota before it is sent: it
// costs a call like any other (the first attempt was taken before the read), and is not
// paced (the read is under way), but never overruns a spent day's budget.
func (c *Connector) beforeRetry(ctx context.Context) error {
	until, ok, err := c.quota.TakeUnpaced(ctx, c.opts.clock.Now())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w (reset at %s)", errBudgetSpent, until.Format(time.RFC3339))
	}
	return nil
}

// onCall is told of every HTTP call the client makes.
func (c *Connector) onCall(call wolkvox.Call) {
	c.mu.Lock()
	rs := c.reading
	report := call.Report
	if rs != nil {
		report = rs.rc.Key()
		st := &rs.status
		st.Calls++
		st.ActivitySince = time.Now() // an answer, even a failed one, is progress
		if call.Err != nil && call.Class != wolkvox.ClassCanceled && call.Class != wolkvox.ClassHandler {
			// The client retries on its own; say so while it does, rather than
			// RUNNING with no error for the minutes its backoff may last. (A call we
			// cancelled, or whose rows we refused, is not the API's failure.)
			st.UpstreamErrs++
			st.State, st.LastError = StateBackingOff, "retrying a failed call: "+c.redact(call.Err.Error())
			if st.FailingSince.IsZero() {
				st.FailingSince = time.Now()
			}
		} else if st.State == StateBackingOff {
			st.State = StateRunning
		}
	}
	c.mu.Unlock()
	if c.opts.observer != nil {
		c.opts.observer.Call(c.cfg.Name, report, call)
	}
}

// Run fences any previous instance, loads the committed offsets and reads every report
// until ctx ends (returning nil), the connector is fenced, the token is refused, or
// every report has failed. Run may be called once.
func (c *Connector) Run(ctx context.Context) error {
	if c.ownQuota {
		defer c.quota.Close()
	}
	err := c.run(ctx)
	switch {
	case err == nil || (ctx.Err() != nil && errors.Is(err, ctx.Err())):
		c.setState(StateStopped, nil)
		c.mu.Lock()
		for _, rs := range c.reports {
			if rs.status.State != StateFailed {
				rs.status.State = StateStopped
			}
		}
		c.mu.Unlock()
		return nil
	default:
		c.setState(StateFailed, err)
		c.mu.Lock()
		// Nothing of a failed connector runs: its reports say so, not RUNNING.
		for _, rs := range c.reports {
			if rs.status.State != StateFailed {
				rs.status.State = StateFailed
				if rs.status.LastError == "" {
					rs.status.LastError = "the connector failed: " + c.redact(err.Error())
				}
			}
			rs.status.Activity = ""
		}
		c.mu.Unlock()
		return err
	}
}

// startWithRetry starts the connector (start), retrying with backoff what can pass by
// itself, such as a broker that is not up yet or a network that is down: the connector
// reads BACKING_OFF meanwhile, with the error and the next attempt. What cannot pass
// (fencing, an offsets topic that is not compacted or holds what it cannot read,
// refused authorisation, a bad topic name) fails at once.
func (c *Connector) startWithRetry(ctx context.Context) (*sink.Writer, map[string]offsets.Position, error) {
	b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(time.Second),
		backoff.WithMaxInterval(min(time.Minute, c.opts.maxBackoff)), backoff.WithMaxElapsedTime(0))
	for attempt := 1; ; attempt++ {
		writer, positions, err := c.start(ctx)
		if err == nil {
			c.mu.Lock()
			c.nextRetry = time.Time{}
			if c.state == StateBackingOff {
				c.state, c.lastErr = StateRunning, ""
				if c.paused {
					c.state = StatePaused
				}
			}
			c.mu.Unlock()
			return writer, positions, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if permanentStart(err) {
			return nil, nil, err
		}
		wait := b.NextBackOff()
		c.mu.Lock()
		c.state, c.lastErr = StateBackingOff, "starting: "+c.redact(err.Error())
		c.nextRetry = c.opts.clock.Now().Add(wait)
		c.mu.Unlock()
		c.log.Warn("connector could not start; retrying", "attempt", attempt, "retry_in", wait, "err", err)
		if err := c.opts.clock.Sleep(ctx, wait); err != nil {
			return nil, nil, err
		}
	}
}

// permanentStart reports start failures that no retry can cure.
func permanentStart(err error) bool {
	var notCompacted *offsets.NotCompactedError
	return errors.Is(err, ErrFenced) || errors.Is(err, sink.ErrFenced) || errors.As(err, &notCompacted) ||
		errors.Is(err, offsets.ErrCorrupt) || errors.Is(err, sink.ErrInvalidTopic) || errors.Is(err, errPermanent) ||
		errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed) || errors.Is(err, kerr.SaslAuthenticationFailed) ||
		errors.Is(err, kerr.PolicyViolation) || errors.Is(err, kerr.InvalidConfig)
}

// start opens the writer (fencing any previous instance), makes sure the topics exist
// and loads the committed offsets. On failure nothing stays open.
func (c *Connector) start(ctx context.Context) (_ *sink.Writer, _ map[string]offsets.Position, err error) {
	o := c.opts
	writer, err := o.dest.writer(c.cfg.Name, c.log, o.producerMemory)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errPermanent, err)
	}
	defer func() {
		if err != nil {
			c.closeWriter(ctx, writer)
		}
	}()
	// Fence first: a crashed predecessor's open transaction would hold the offsets
	// topic's last stable offset back, and its zombie must not commit after we start.
	if err := writer.Open(ctx); err != nil {
		return nil, nil, c.kafkaErr(err)
	}
	if err := offsets.EnsureTopic(ctx, writer.Admin(), o.dest.OffsetsTopic, 1, o.dest.NewTopics.ReplicationFactor); err != nil {
		return nil, nil, fmt.Errorf("connector %s: %w", c.cfg.Name, err)
	}
	store, err := o.dest.store("", c.log)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errPermanent, err)
	}
	// Both reads below wait for every transaction open on the offsets topic (see
	// offsets.Store.Load): the status says so, and a wait past the stall timeout makes
	// the worker not ready.
	for _, rs := range c.reports {
		c.activity(rs, "loading offsets")
	}
	stopWatching := c.watchLoad(ctx, store)
	positions, err := c.loadOffsets(ctx, store)
	stopWatching()
	for _, rs := range c.reports {
		c.activity(rs, "")
	}
	if err != nil {
		return nil, nil, err
	}
	topics := []string{o.dest.DeadLetterTopic}
	for _, rs := range c.reports {
		topics = append(topics, rs.topic)
	}
	if err := writer.EnsureTopics(ctx, topics...); err != nil {
		return nil, nil, c.kafkaErr(err)
	}
	return writer, positions, nil
}

// loadOffsets claims the token's call count, then loads the connector's positions. The
// claim comes first because it fences the token's ledger: a crashed predecessor's
// reservation, left open on the offsets topic, would otherwise hold the load for the
// ledger's transaction timeout.
func (c *Connector) loadOffsets(ctx context.Context, store *offsets.Store) (map[string]offsets.Position, error) {
	if err := c.quota.Claim(ctx, c.opts.clock.Now()); err != nil {
		return nil, fmt.Errorf("connector %s: %w", c.cfg.Name, err)
	}
	positions, err := store.Load(ctx, c.cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("connector %s: loading offsets: %w", c.cfg.Name, err)
	}
	return positions, nil
}

// A Load normally takes milliseconds; one still running after loadWatchDelay waits for
// transactions open on the offsets topic (another connector's window, which lasts its
// reads, or a crashed producer's, which lasts until its timeout), and the connector
// names them, again every loadWatchEvery while it waits. Wall-clock times: the wait is
// Kafka's, whatever clock the connector runs on.
const (
	loadWatchDelay = 5 * time.Second
	loadWatchEvery = 30 * time.Second
)

// watchLoad names the transactions a Load running past loadWatchDelay waits for, in
// the reports' status (waiting_for) and, when they change, in a warning: an operator
// sees whose transaction holds the start and when the broker will abort it. stop ends
// the watch, waits for its goroutine and clears the status.
func (c *Connector) watchLoad(ctx context.Context, store *offsets.Store) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		timer := time.NewTimer(loadWatchDelay)
		defer timer.Stop()
		said := ""
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			open, err := store.OpenTransactions(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				c.log.Debug("could not name the transactions open on the offsets topic", "err", err)
			}
			what := describeOpen(open)
			c.waitingFor(what)
			if what != "" && what != said {
				c.log.Warn("loading offsets waits for the transactions open on the offsets topic to end",
					"topic", c.opts.dest.OffsetsTopic, "transactions", what)
			}
			said = what
			timer.Reset(loadWatchEvery)
		}
	}()
	return func() {
		cancel()
		<-done
		c.waitingFor("")
	}
}

// maxNamedTransactions bounds the transactions a status names: a worker of a hundred
// connectors may have as many open, and every report's status carries the text.
const maxNamedTransactions = 3

// describeOpen names the oldest open transactions, and counts the others.
func describeOpen(open []offsets.OpenTransaction) string {
	names := make([]string, 0, maxNamedTransactions+1)
	for i, t := range open {
		if i == maxNamedTransactions {
			names = append(names, fmt.Sprintf("and %d more", len(open)-i))
			break
		}
		names = append(names, t.String())
	}
	return strings.Join(names, "; ")
}

// waitingFor sets what every report's activity waits for.
func (c *Connector) waitingFor(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range c.reports {
		rs.status.WaitingFor = what
	}
}

func (c *Connector) closeWriter(ctx context.Context, writer *sink.Writer) {
	c.mu.Lock()
	if c.writer == writer {
		c.writer = nil
	}
	c.mu.Unlock()
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := writer.Close(closeCtx); err != nil {
		c.log.Warn("closing the Kafka writer", "err", err)
	}
}

// starting marks the connector as running from the moment Run is called (or the worker
// starts it), so a status read right after a start never sees STOPPED.
func (c *Connector) starting() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = StateRunning
	if c.paused {
		c.state = StatePaused
	}
	for _, rs := range c.reports {
		rs.status.State = StateRunning
	}
}

func (c *Connector) run(ctx context.Context) error {
	o := c.opts
	c.starting()
	writer, positions, err := c.startWithRetry(ctx)
	if err != nil {
		return err
	}
	defer c.closeWriter(ctx, writer)
	c.mu.Lock()
	c.writer = writer
	c.mu.Unlock()

	now := o.clock.Now()
	c.mu.Lock()
	for _, rs := range c.reports {
		enc, err := rs.key.Encode()
		if err != nil {
			c.mu.Unlock()
			return err
		}
		rs.backoff = o.newBackoff()
		if pos, ok := positions[string(enc)]; ok {
			rs.cursor, rs.lastSeen, rs.seen = pos.WindowEnd, pos.LastSeen, newSeenSet(pos.Seen)
			c.log.Info("resuming report", "report", rs.rc.Key(), "cursor", rs.cursor, "seen", rs.seen.len())
		} else {
			rs.cursor = firstCursor(rs.rc, now)
			rs.seen = seenSet{}
			c.log.Info("starting report", "report", rs.rc.Key(), "from", rs.cursor)
		}
		rs.status.Cursor, rs.status.LastSeen = rs.cursor, rs.lastSeen
	}
	c.mu.Unlock()
	if o.backfill != nil {
		for _, rs := range c.reports {
			if err := c.seedFromTopic(ctx, rs); err != nil {
				return err
			}
		}
	}

	for {
		if err := c.waitWhilePaused(ctx); err != nil {
			return err
		}
		rs, w, due := c.next()
		if rs == nil {
			if c.allFailed() {
				return ErrAllFailed
			}
			if c.allDone() {
				c.log.Info("every report reached its end")
				return nil
			}
			if err := o.clock.Sleep(ctx, max(due.Sub(o.clock.Now()), 10*time.Millisecond)); err != nil {
				return err
			}
			continue
		}
		if !c.kafkaAnswers(ctx, writer, rs) {
			continue
		}
		until, spent, ok, err := c.quota.Take(ctx, o.clock.Now())
		if err != nil {
			if stop := c.settle(ctx, rs, err); stop != nil {
				return stop
			}
			continue
		}
		if !ok {
			if spent {
				c.waitQuota(ctx, until)
			} else if err := c.waitPace(ctx, until); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		err = c.poll(ctx, writer, rs, w)
		if stop := c.settle(ctx, rs, err); stop != nil {
			return stop
		}
	}
}

func (c *Connector) waitWhilePaused(ctx context.Context) error {
	for {
		c.mu.Lock()
		paused, wake := c.paused, c.wake
		c.mu.Unlock()
		if !paused {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// next picks the report whose window is due earliest. When none is due yet it returns
// nil and the time the first one will be.
func (c *Connector) next() (*reportState, Window, time.Time) {
	now := c.opts.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var (
		best    *reportState
		bestW   Window
		bestDue time.Time
	)
	for _, rs := range c.reports {
		if rs.status.State == StateFailed || rs.done() {
			continue
		}
		w, due := plan(rs.rep, &rs.rc, rs.cursor, now, c.cfg.Location)
		if rs.retryAt.After(due) {
			due = rs.retryAt
		}
		rs.status.NextPoll = due
		if bestDue.IsZero() || due.Before(bestDue) {
			best, bestW, bestDue = rs, w, due
		}
	}
	if best == nil || bestW.Start.IsZero() || bestDue.After(now) {
		if bestDue.IsZero() {
			bestDue = now.Add(time.Second)
		}
		return nil, Window{}, bestDue
	}
	return best, bestW, bestDue
}

// done reports whether a report with an End has read up to it.
func (rs *reportState) done() bool {
	return !rs.rc.End.IsZero() && !rs.cursor.Before(rs.rc.End)
}

// allDone reports whether every report that has not failed is done.
func (c *Connector) allDone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range c.reports {
		if rs.status.State != StateFailed && !rs.done() {
			return false
		}
	}
	return true
}

func (c *Connector) allFailed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range c.reports {
		if rs.status.State != StateFailed {
			return false
		}
	}
	return true
}

// waitPace waits until the quota's pacing allows the next call: the intervals of a
// catch-up stretch rather than spend the day's budget early.
func (c *Connector) waitPace(ctx context.Context, until time.Time) error {
	c.mu.Lock()
	for _, rs := range c.reports {
		if rs.status.NextPoll.Before(until) {
			rs.status.NextPoll = until
		}
	}
	c.mu.Unlock()
	c.log.Debug("pacing the daily quota", "until", until)
	return c.opts.clock.Sleep(ctx, until.Sub(c.opts.clock.Now()))
}

// waitQuota parks every report until the token's quota resets, without calling.
func (c *Connector) waitQuota(ctx context.Context, resetAt time.Time) {
	c.mu.Lock()
	for _, rs := range c.reports {
		if rs.status.State != StateFailed {
			rs.status.State = StateQuotaExhausted
			rs.status.NextPoll = resetAt
		}
	}
	c.state = StateQuotaExhausted
	c.mu.Unlock()
	c.log.Warn("daily quota spent: waiting for the reset, without calling", "reset_at", resetAt)
	_ = c.opts.clock.Sleep(ctx, resetAt.Sub(c.opts.clock.Now()))
	c.mu.Lock()
	for _, rs := range c.reports {
		if rs.status.State == StateQuotaExhausted {
			rs.status.State = StateRunning
		}
	}
	if c.state == StateQuotaExhausted {
		c.state = StateRunning
	}
	c.mu.Unlock()
}

// settle records the outcome of one poll and decides whether Run must end.
func (c *Connector) settle(ctx context.Context, rs *reportState, err error) error {
	now := c.opts.clock.Now()
	var resp *wolkvox.ResponseError
	errors.As(err, &resp)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		rs.backoff.Reset()
		rs.retryAt, rs.kafkaDown = time.Time{}, false
		rs.status.State = StateRunning
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, sink.ErrFenced):
		return fmt.Errorf("%w: %w", ErrFenced, err)
	case errors.Is(err, wolkvox.ErrInvalidToken):
		for _, r := range c.reports {
			r.status.State, r.status.LastError = StateFailed, c.redact(err.Error())
		}
		return fmt.Errorf("%w: check the connector's token and server: %w", ErrInvalidToken, err)
	case errors.Is(err, wolkvox.ErrQuotaExhausted):
		resetAt := c.quota.Exhausted(now)
		rs.retryAt = resetAt
		rs.status.State, rs.status.LastError = StateQuotaExhausted, c.redact(err.Error())
		c.log.Warn("Wolkvox says the daily quota is spent", "report", rs.rc.Key(), "reset_at", resetAt)
		return nil
	case errors.Is(err, wolkvox.ErrBadRequest), errors.As(err, new(*errWindowTooDense)), errors.Is(err, errPermanent),
		errors.Is(err, schemas.ErrRegistryAuth):
		rs.status.State, rs.status.LastError = StateFailed, c.redact(err.Error())
		c.log.Error("report failed and is stopped", "report", rs.rc.Key(), "class", classOf(err), "err", err)
		return nil
	default:
		d := rs.backoff.NextBackOff()
		if d == backoff.Stop {
			d = c.opts.maxBackoff
		}
		if kafkaSide(err) {
			// Reading again costs calls, but only once Kafka answers (kafkaAnswers waits
			// for it without calling), so the wait need not grow with a long outage.
			rs.kafkaDown = true
			d = min(d, kafkaRetryCap)
		}
		rs.retryAt = now.Add(d)
		text := c.redact(err.Error())
		if errors.Is(err, wolkvox.ErrCountMismatch) {
			// The window is held, not committed: an answer that contradicts itself is
			// never taken as data. It is read again until the count and the rows agree;
			// an operator who knows better can move the cursor (offsets set).
			text = "window held, answers contradict their own count: " + text
			c.log.Error("window held: Wolkvox keeps answering fewer rows than its msg states", "report", rs.rc.Key(), "window_retry_in", d, "err", err)
		} else {
			c.log.Warn("window failed; backing off", "report", rs.rc.Key(), "class", classOf(err), "retry_in", d, "err", err)
		}
		rs.status.State, rs.status.LastError = StateBackingOff, text
		if rs.status.FailingSince.IsZero() {
			rs.status.FailingSince = time.Now()
		}
		return nil
	}
}

// kafkaRetryCap bounds the wait before a window that failed on Kafka's side is read
// again, once Kafka answers.
const kafkaRetryCap = 30 * time.Second

// kafkaProbeInterval is how often a report whose last poll failed on Kafka's side asks
// Kafka whether it answers again.
const kafkaProbeInterval = 2 * time.Second

// kafkaSide reports failures of Kafka rather than of Wolkvox or the data: a transaction
// that could not be produced or committed, a count that could not be stored.
func kafkaSide(err error) bool {
	var ce *sink.CommitError
	return errors.As(err, &ce) || errors.Is(err, ErrQuotaLedger)
}

// kafkaAnswers reports whether rs may poll now: always, unless its last poll failed on
// Kafka's side; then only once Kafka answers a metadata request (which costs no call of
// the quota), else it is asked again after kafkaProbeInterval. So an outage of Kafka,
// however long, spends no calls, and the report goes on within seconds of its return
// instead of after a backoff grown through the outage.
func (c *Connector) kafkaAnswers(ctx context.Context, writer *sink.Writer, rs *reportState) bool {
	c.mu.Lock()
	down := rs.kafkaDown
	c.mu.Unlock()
	if !down {
		return true
	}
	err := c.probeKafka(ctx, writer)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		rs.retryAt = c.opts.clock.Now().Add(kafkaProbeInterval)
		rs.status.State, rs.status.LastError = StateBackingOff, "waiting for Kafka to answer: "+c.redact(err.Error())
		return false
	}
	rs.kafkaDown = false
	rs.backoff.Reset()
	return true
}

// kafkaUp reports whether Kafka answers a metadata request now.
func (c *Connector) kafkaUp(ctx context.Context, writer *sink.Writer) bool {
	return c.probeKafka(ctx, writer) == nil
}

func (c *Connector) probeKafka(ctx context.Context, writer *sink.Writer) error {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := writer.Admin().ListBrokers(pctx)
	return err
}

func classOf(err error) string {
	var resp *wolkvox.ResponseError
	if errors.As(err, &resp) {
		return string(resp.Class)
	}
	var dense *errWindowTooDense
	switch {
	case errors.As(err, &dense):
		return "window_too_dense"
	case errors.Is(err, errPermanent):
		return "internal"
	case errors.Is(err, sink.ErrFenced):
		return "fenced"
	}
	return "transient"
}

// errPermanent marks a failure that retrying cannot fix (a schema the catalog cannot
// build, for example): the report stops with it.
var errPermanent = errors.New("permanent")

// redact hides the process's secrets in text bound for the status.
func (c *Connector) redact(s string) string { return c.opts.redactor.Redact(s) }

func (c *Connector) kafkaErr(err error) error {
	if errors.Is(err, sink.ErrFenced) {
		return fmt.Errorf("%w: %w", ErrFenced, err)
	}
	return fmt.Errorf("connector %s: %w", c.cfg.Name, err)
}

// producerMemoryLimit is the size of the budget the connector's writer draws on: the
// shared one it was given, or the writer's own.
func (c *Connector) producerMemoryLimit() int64 {
	if c.opts.producerMemory != nil {
		return c.opts.producerMemory.Limit()
	}
	return sink.DefaultMaxBufferedBytes
}
