package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Batch is what one window delivers: it is committed in one transaction.
type Batch struct {
	// Records are the events, on the per-report topics (see EventRecord).
	Records []*kgo.Record
	// DeadLetters are the rows that could not become events (see DeadLetter).
	DeadLetters []*kgo.Record
	// Offset is the window's offset record (offsets.Record), required: it must go to
	// the writer's offsets topic, and it is what makes the window count as delivered.
	Offset *kgo.Record
}

// Len is the number of records in the batch.
func (b Batch) Len() int {
	n := len(b.Records) + len(b.DeadLetters)
	if b.Offset != nil {
		n++
	}
	return n
}

// Writer commits batches with one transactional Kafka client. Its methods are safe for
// concurrent use; commits run one at a time.
//
// Lifecycle: [NewWriter], [Writer.Open], then any number of [Writer.EnsureTopics] and
// [Writer.Commit], then [Writer.Close]. The writer starts no goroutine of its own; the
// Kafka client's goroutines end with Close, or when a fatal error closes the writer.
type Writer struct {
	cfg  cfg
	opts []kgo.Opt // connection options, shared by the read-back client
	log  *slog.Logger
	cl   *kgo.Client
	adm  *kadm.Client
	mem  *share // of cfg.budget

	// sem holds the right to run a transaction (Open, Commit, Close's abort): a
	// channel rather than a mutex so that waiting for it honours a ctx.
	sem chan struct{}
	// inTxn: a transaction was begun and not yet committed or aborted for sure; the
	// next Commit or Close aborts it first. Guarded by sem.
	inTxn  bool
	opened bool // guarded by sem

	stateMu sync.Mutex
	closed  error              // nil while usable, then what every method returns
	cancel  context.CancelFunc // cancels the Commit in flight, if any

	ensuredMu sync.Mutex
	ensured   map[string]struct{} // topics EnsureTopics created or found

	limitsMu sync.Mutex
	limits   map[string]int // RecordLimit by topic
}

// NewWriter returns a writer configured by opts. TransactionalID is required, and Seeds
// unless KafkaOpts carries kgo.SeedBrokers. It validates the options and builds the
// client but does no I/O: Open does.
func NewWriter(opts ...Opt) (*Writer, error) {
	c := defaultCfg()
	for _, o := range opts {
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.budget == nil {
		c.budget = NewBudget(int64(c.maxBufferedBytes))
	}
	log := c.logger.With("component", "sink", "transactional_id", c.txnID)
	conn := []kgo.Opt{kgo.WithLogger(KafkaLogger(log))}
	if len(c.seeds) > 0 {
		conn = append(conn, kgo.SeedBrokers(c.seeds...))
	}
	// The user's options go last so they win; they are part of conn because the
	// read-back client needs the same TLS, SASL and dialer.
	conn = append(conn, c.kafkaOpts...)

	w := &Writer{
		cfg:     c,
		mem:     &share{budget: c.budget},
		opts:    conn,
		log:     log,
		sem:     make(chan struct{}, 1),
		ensured: make(map[string]struct{}),
		limits:  make(map[string]int),
	}
	clientOpts := append([]kgo.Opt{
		kgo.TransactionalID(c.txnID),
		kgo.TransactionTimeout(c.txnTimeout),
		kgo.MaxBufferedRecords(c.maxBufferedRecords),
		kgo.MaxBufferedBytes(c.maxBufferedBytes),
		kgo.ProducerBatchCompression(c.compression...),
		kgo.ProducerBatchMaxBytesFn(func(topic string) int32 { return int32(w.batchMaxBytes(topic)) }),
	}, conn...)
	cl, err := kgo.NewClient(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("sink: kafka client: %w", err)
	}
	w.cl, w.adm = cl, kadm.NewClient(cl)
	return w, nil
}

// reserve reports whether the producer can buffer r without waiting, and if so takes
// its memory from the budget. Only the Txn in flight produces on the client, and its
// buffer only drains meanwhile, so the answer holds until r is produced.
func (w *Writer) reserve(r *kgo.Record) bool {
	return w.cl.BufferedProduceRecords() < int64(w.cfg.maxBufferedRecords) &&
		w.cl.BufferedProduceBytes()+recordBytes(r) <= int64(w.cfg.maxBufferedBytes) &&
		w.mem.tryTake(RecordMemory(r))
}

// Memory returns how many bytes of its [Budget] the writer's buffered records hold
// now, and the budget's size: a budget shared with other writers ([SharedBudget]) is
// held by all of them.
func (w *Writer) Memory() (held, limit int64) { return w.mem.held.Load(), w.cfg.budget.Limit() }

// batchMaxBytes is the producer's batch limit for topic: what one record may take at most.
func (w *Writer) batchMaxBytes(topic string) int {
	if topic == w.cfg.offsetsTopic {
		return offsetsBatchMaxBytes
	}
	return eventsBatchMaxBytes
}

// Admin returns an admin client on the writer's connection, for example for
// offsets.EnsureTopic. It stops working when the writer closes.
func (w *Writer) Admin() *kadm.Client { return w.adm }

// DeadLetterTopic returns the dead-letter topic.
func (w *Writer) DeadLetterTopic() string { return w.cfg.dlqTopic }

// OffsetsTopic returns the offsets topic.
func (w *Writer) OffsetsTopic() string { return w.cfg.offsetsTopic }

// Open claims the transactional ID (Kafka's InitProducerID): the broker bumps the
// producer epoch, which fences any previous instance with the same ID, and aborts the
// transaction that instance left open, so the offsets topic's last stable offset moves
// past it. Load the positions after Open, not before. Open is idempotent.
func (w *Writer) Open(ctx context.Context) error {
	if err := w.acquire(ctx); err != nil {
		return err
	}
	defer w.release()
	if err := w.usable(); err != nil {
		return err
	}
	if w.opened {
		return nil
	}
	id, epoch, err := w.cl.ProducerID(ctx)
	if err != nil {
		if isFatal(err) {
			return w.fail(&CommitError{Kind: ErrFenced, Op: "open", Err: err})
		}
		return fmt.Errorf("sink: open (init producer id): %w", err)
	}
	w.opened = true
	w.log.InfoContext(ctx, "writer open", "producer_id", id, "epoch", epoch)
	return nil
}

// Commit writes the batch in one transaction: begin, produce every record, commit.
// On success everything is visible to read_committed consumers; on any error nothing
// is. Before any I/O it may fail with ErrInvalidBatch, ErrNotOpen or ErrClosed; after,
// the error is a [*CommitError] that says what to do:
//
//   - ErrAborted: the transaction was aborted for a passing reason (broker errors such
//     as TRANSACTION_ABORTABLE, UNKNOWN_PRODUCER_ID or OPERATION_NOT_ATTEMPTED, a
//     timeout, ctx cancelled): retry the same batch, with backoff.
//   - ErrRejected: aborted because of the batch itself: do not resend it unchanged.
//   - ErrFenced: another instance owns the transactional ID; the writer is closed.
//   - ErrOutcomeUnknown: see below; the writer is closed.
//
// When the commit's answer is lost (a broken connection, a timeout, an unknown server
// error), the transaction may or may not have committed. franz-go's advice is to abort
// and retry, which would repeat the batch if the commit had in fact gone through.
// Commit instead aborts (which re-initialises the producer ID, so the broker finishes
// the transaction either way) and then reads the batch's offset record back under
// read_committed: if it is there, the commit happened and Commit returns nil; if not,
// it returns ErrAborted. Only if that read fails too does it give up with
// ErrOutcomeUnknown.
//
// ctx bounds producing the records; the commit and abort requests run on a context
// that ctx's cancellation does not reach (cancelling them midway would leave the
// outcome unknown), bounded by the transaction timeout instead.
func (w *Writer) Commit(ctx context.Context, b Batch) error {
	if err := w.validate(b); err != nil {
		return err
	}
	// franz-go stores the produce ctx in a record whose Context is nil and later
	// honours its cancellation; restore the callers' contexts so the same batch can be
	// committed again after this ctx is gone.
	recs := make([]*kgo.Record, 0, b.Len())
	recs = append(append(append(recs, b.Records...), b.DeadLetters...), b.Offset)
	callerCtxs := make([]context.Context, len(recs))
	for i, r := range recs {
		callerCtxs[i] = r.Context
	}
	defer func() {
		for i, r := range recs {
			r.Context = callerCtxs[i]
		}
	}()
	t, err := w.Begin(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs[:len(recs)-1] {
		if t.Produce(r) != nil {
			break // Commit reports it, after aborting
		}
	}
	return t.Commit(b.Offset)
}

// Txn is one open transaction of a [Writer]: records are produced into it as they come
// ([Txn.Produce]), and it ends with [Txn.Commit], which adds the window's offset record
// last and commits, or [Txn.Abort]. While it is open the writer runs no other
// transaction, and [Writer.Close] cancels it. A Txn is used by one goroutine.
//
// Produce never waits for the broker. The producer buffers a bounded amount (see
// [MaxBuffered] and [Budget]); a record it has no room for, and every record after it,
// waits in the transaction's spool (in memory while the budget has room, then in a
// temporary file in [SpoolDir]) until [Txn.Drain], [Txn.Flush] or [Txn.Commit] produces
// them in order, waiting for room. So memory stays bounded however many records a
// transaction has, and a caller that reads an answer into the transaction reads it at
// its own pace whatever Kafka's.
type Txn struct {
	w      *Writer
	ctx    context.Context // produces run on it: the caller's, Close's cancel, the txn timeout
	cancel context.CancelFunc
	start  time.Time
	events int
	spool  spool
	// spooled counts the records that went through the spool.
	spooled int
	promise func(*kgo.Record, error) // of every record produced (newPromise)

	mu  sync.Mutex
	err error // the first produce that failed
}

// Begin opens a transaction (aborting first one a failed abort left open). It may fail
// with ErrNotOpen or ErrClosed, or a [*CommitError] of kind ErrAborted or ErrFenced.
// ctx bounds every produce of the transaction; its end aborts it.
func (w *Writer) Begin(ctx context.Context) (*Txn, error) {
	if err := w.acquire(ctx); err != nil {
		return nil, &CommitError{Kind: ErrAborted, Op: "begin", Err: err}
	}
	// A transaction that outlives its timeout is aborted by the broker, which fences
	// the producer's epoch; ending it here a tenth of the timeout earlier turns a
	// transaction that ran too long (a broker that stopped answering, a window that
	// kept reading) into an ErrAborted the caller retries and reports, and our own
	// abort, rather than a commit that waits for ever or a fenced writer.
	tctx, cancel := context.WithTimeout(ctx, w.cfg.txnTimeout-w.cfg.txnTimeout/10)
	t := &Txn{w: w, ctx: tctx, cancel: cancel, start: time.Now(),
		spool: spool{dir: w.cfg.spoolDir, budget: w.mem}}
	t.promise = t.newPromise()
	w.stateMu.Lock()
	closed, opened := w.closed, w.opened
	if closed == nil {
		w.cancel = cancel
	}
	w.stateMu.Unlock()
	fail := func(err error) (*Txn, error) {
		t.end()
		return nil, err
	}
	switch {
	case closed != nil:
		return fail(closed)
	case !opened:
		return fail(ErrNotOpen)
	}
	if w.inTxn {
		if err := w.abort(ctx); err != nil {
			return fail(w.classifyAbortFailure("abort", err))
		}
	}
	if err := w.cl.BeginTransaction(); err != nil {
		if isFatal(err) {
			return fail(w.fail(&CommitError{Kind: ErrFenced, Op: "begin", Err: err}))
		}
		return fail(&CommitError{Kind: ErrAborted, Op: "begin", Err: err})
	}
	w.inTxn = true
	return t, nil
}

// end releases the writer for the next transaction.
func (t *Txn) end() {
	t.spool.close()
	t.cancel()
	t.w.stateMu.Lock()
	t.w.cancel = nil
	t.w.stateMu.Unlock()
	t.w.release()
	t.w = nil
}

// Produce adds r (an event or a dead letter, not the offset record) to the transaction,
// without waiting: into the producer's buffer if it has room and nothing is spooled,
// else into the spool (see [Txn]). A record that fails is reported by this or a later
// call and by Commit, which then aborts; so is a spool that cannot be written. After an
// error the caller should stop producing and call Commit or Abort. r belongs to the
// transaction until it ends: it must not be changed or produced again. Its key and
// value count against the [Budget] by capacity ([RecordMemory]): a record whose key or
// value is a small slice of a larger buffer (one read back from Kafka, say) counts the
// rest of that buffer too, unless it is sliced to its length (b[:len(b):len(b)]).
func (t *Txn) Produce(r *kgo.Record) error {
	if t.w == nil {
		return ErrTxnEnded
	}
	if r == nil || r.Topic == "" || r.Topic == t.w.cfg.offsetsTopic {
		t.setErr(fmt.Errorf("%w: an event or dead letter without a topic, or on the offsets topic", ErrInvalidBatch))
	}
	if err := t.firstErr(); err != nil {
		return err
	}
	t.events++
	if t.spool.len() > 0 || !t.w.reserve(r) {
		t.spooled++
		if err := t.spool.add(r); err != nil {
			t.setErr(err)
		}
		return t.firstErr()
	}
	t.produce(r)
	return t.firstErr()
}

// produce hands r, whose memory is taken from the budget, to the producer, waiting
// while the client's own buffer is full; the memory comes back when the broker has
// answered for r (t.promise).
func (t *Txn) produce(r *kgo.Record) { t.w.cl.Produce(t.ctx, r, t.promise) }

// newPromise is the promise of every record t produces: one function for them all, not
// a closure a record. A record is not changed while it is produced, so the memory it
// gives back is what it took.
func (t *Txn) newPromise() func(*kgo.Record, error) {
	budget := t.w.mem
	return func(r *kgo.Record, err error) {
		budget.give(RecordMemory(r))
		if err != nil {
			t.setErr(err)
		}
		recycle(r)
	}
}

// Drain produces every spooled record, in order, waiting for room in the producer's
// buffer, and returns the first failure so far. A caller streaming an answer into the
// transaction drains once the answer is read; Flush and Commit drain first.
func (t *Txn) Drain() error {
	if t.w == nil {
		return ErrTxnEnded
	}
	if err := t.firstErr(); err != nil {
		return err
	}
	if t.spool.len() > 0 {
		t.w.log.DebugContext(t.ctx, "producing the records spooled while the producer was full", "records", t.spool.len())
	}
	if err := t.spool.drain(func(r *kgo.Record, reserved bool) error {
		if !reserved {
			if err := t.w.mem.take(t.ctx, RecordMemory(r)); err != nil {
				return err
			}
		}
		t.produce(r)
		return t.firstErr()
	}); err != nil {
		t.setErr(err)
	}
	return t.firstErr()
}

// Spooled is how many records of the transaction went through the spool: zero unless
// the producer's buffer was full at some point.
func (t *Txn) Spooled() int { return t.spooled }

// Flush waits until every record produced so far (the spooled ones too) is written to
// the broker (still invisible to read_committed readers until Commit), and returns the
// first failure.
func (t *Txn) Flush() error {
	if err := t.Drain(); err != nil {
		return err
	}
	if err := t.w.cl.Flush(t.ctx); err != nil {
		t.setErr(err)
	}
	return t.firstErr()
}

func (t *Txn) setErr(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
	}
}

func (t *Txn) firstErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Commit produces off, the window's offset record, last, and commits: on success
// everything produced is visible to read_committed consumers; on any error nothing is.
// The errors are those of [Writer.Commit]. The transaction has ended when it returns.
func (t *Txn) Commit(off *kgo.Record) error {
	if t.w == nil {
		return ErrTxnEnded
	}
	w, ctx := t.w, t.ctx
	defer t.end()
	if off == nil || off.Topic != w.cfg.offsetsTopic {
		t.setErr(fmt.Errorf("%w: the offset record must go to the offsets topic %q", ErrInvalidBatch, w.cfg.offsetsTopic))
	}
	if t.Drain() == nil {
		w.cl.Produce(ctx, off, func(_ *kgo.Record, err error) {
			if err != nil {
				t.setErr(err)
			}
		})
		if err := w.cl.Flush(ctx); err != nil {
			t.setErr(err)
		}
	}
	if err := t.firstErr(); err != nil {
		return t.produceFailed(err)
	}

	endCtx, endCancel := w.endContext(ctx)
	defer endCancel()
	err := w.cl.EndTransaction(endCtx, kgo.TryCommit)
	switch {
	case err == nil:
		w.inTxn = false
		w.log.DebugContext(ctx, "transaction committed", "records", t.events, "offset_key", string(off.Key), "took", time.Since(t.start))
		return nil
	case isFatal(err):
		return w.fail(&CommitError{Kind: ErrFenced, Op: "commit", Err: err})
	case definitelyNotCommitted(err):
		if abortErr := w.abort(ctx); abortErr != nil {
			return w.classifyAbortFailure("commit", errors.Join(err, abortErr))
		}
		return &CommitError{Kind: ErrAborted, Op: "commit", Err: err}
	}
	return w.resolve(ctx, off, err)
}

// Abort ends the transaction with an abort: nothing it produced is ever visible. If a
// produce had failed, Abort returns that failure as Commit would have (a *CommitError
// saying whether to retry); an abort asked for without one returns nil. An abort that
// fails leaves the transaction to the next Begin or Close, which abort it first, or to
// the broker's transaction timeout.
func (t *Txn) Abort() error {
	if t.w == nil {
		return ErrTxnEnded
	}
	w := t.w
	defer t.end()
	if err := t.firstErr(); err != nil {
		return t.produceFailed(err)
	}
	if err := w.abort(t.ctx); err != nil {
		return w.classifyAbortFailure("abort", err)
	}
	return nil
}

// produceFailed aborts after a failed produce (unless it fenced the writer) and says
// what the failure means.
func (t *Txn) produceFailed(err error) error {
	w := t.w
	kind := classifyProduce(err)
	if errors.Is(err, ErrInvalidBatch) {
		kind = ErrRejected
	}
	if kind == ErrFenced {
		return w.fail(&CommitError{Kind: ErrFenced, Op: "produce", Err: err})
	}
	if abortErr := w.abort(t.ctx); abortErr != nil {
		return w.classifyAbortFailure("produce", errors.Join(err, abortErr))
	}
	return &CommitError{Kind: kind, Op: "produce", Err: err}
}

// resolve finds out whether a commit whose answer was lost went through.
func (w *Writer) resolve(ctx context.Context, off *kgo.Record, commitErr error) error {
	w.log.WarnContext(ctx, "commit outcome unknown; aborting and reading the offset record back", "err", commitErr)
	abortErr := w.abort(ctx)
	if abortErr != nil && isFatal(abortErr) {
		// The new owner reads the committed offsets, whatever happened here.
		return w.fail(&CommitError{Kind: ErrFenced, Op: "commit", Err: errors.Join(commitErr, abortErr)})
	}
	// Even if the abort failed, the broker ends the transaction within the transaction
	// timeout, and the read below waits for that.
	readCtx, cancel := w.endContext(ctx)
	defer cancel()
	committed, err := w.readBack(readCtx, off)
	switch {
	case err != nil:
		return w.fail(&CommitError{Kind: ErrOutcomeUnknown, Op: "commit", Err: errors.Join(commitErr, abortErr, err)})
	case committed:
		w.inTxn = false
		w.log.WarnContext(ctx, "commit outcome was unknown; the offset record is committed, so the batch is", "err", commitErr)
		return nil
	case abortErr != nil:
		return &CommitError{Kind: ErrAborted, Op: "commit", Err: errors.Join(commitErr, abortErr)}
	default:
		return &CommitError{Kind: ErrAborted, Op: "commit", Err: commitErr}
	}
}

// readBack reports whether the produced record off is visible under read_committed.
// Fetching from its offset, read_committed returns nothing until its transaction is
// over; then the first record returned is off itself if it committed, or a later one
// (at least the abort marker, kept by KeepControlRecords) if it was aborted.
func (w *Writer) readBack(ctx context.Context, off *kgo.Record) (bool, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{off.Topic: {off.Partition: kgo.NewOffset().At(off.Offset)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxPartitionBytes(offsetsBatchMaxBytes),
	}, w.opts...)...)
	if err != nil {
		return false, fmt.Errorf("read-back client: %w", err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("read back %s/%d@%d: %w", off.Topic, off.Partition, off.Offset, err)
		}
		var fetchErr error
		fs.EachError(func(t string, p int32, err error) {
			fetchErr = errors.Join(fetchErr, fmt.Errorf("read back %s/%d: %w", t, p, err))
		})
		if fetchErr != nil {
			return false, fetchErr
		}
		for _, r := range fs.Records() {
			if r.Partition != off.Partition || r.Offset < off.Offset {
				continue
			}
			return r.Offset == off.Offset && !r.Attrs.IsControl(), nil
		}
	}
}

// abort ends the open transaction with an abort, dropping anything still buffered.
func (w *Writer) abort(ctx context.Context) error {
	endCtx, cancel := w.endContext(ctx)
	defer cancel()
	err := w.cl.AbortBufferedRecords(endCtx)
	if err == nil {
		err = w.cl.EndTransaction(endCtx, kgo.TryAbort)
	}
	if err == nil {
		// After some failures franz-go "aborts" by marking the producer ID for
		// reloading and leaves the broker's transaction open until the next
		// produce, holding back read_committed consumers meanwhile. Reloading now
		// (InitProducerID) makes the broker abort it before we return.
		_, _, err = w.cl.ProducerID(endCtx)
	}
	if err == nil {
		w.inTxn = false
	}
	return err
}

func (w *Writer) classifyAbortFailure(op string, err error) error {
	if isFatal(err) {
		return w.fail(&CommitError{Kind: ErrFenced, Op: op, Err: err})
	}
	// inTxn stays set: the next Commit or Close aborts again first.
	w.log.Warn("abort failed; the next commit or close retries it", "op", op, "err", err)
	return &CommitError{Kind: ErrAborted, Op: op, Err: err}
}

// endContext is the context for requests that must not be cut off midway: ctx's values
// without its cancellation, bounded by the transaction timeout (after which the broker
// aborts on its own anyway).
func (w *Writer) endContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), w.cfg.txnTimeout+5*time.Second)
}

// Close ends the writer: it refuses new commits, cancels the one in flight (which then
// aborts its transaction), waits for it up to ctx, aborts a transaction left open by a
// failed abort, and closes the client and its goroutines. If ctx ends first the client
// is closed anyway and the broker aborts the open transaction after the transaction
// timeout, or sooner when the next instance opens. Close is idempotent; it returns nil
// after a fatal error already closed the writer.
func (w *Writer) Close(ctx context.Context) error {
	w.stateMu.Lock()
	already := w.closed != nil
	if !already {
		w.closed = ErrClosed
	}
	if w.cancel != nil {
		w.cancel()
	}
	w.stateMu.Unlock()
	if already {
		return nil
	}

	var err error
	if aerr := w.acquire(ctx); aerr != nil {
		err = fmt.Errorf("sink: close: the commit in flight did not finish: %w", aerr)
	} else {
		if w.inTxn {
			if abortErr := w.abort(ctx); abortErr != nil {
				err = fmt.Errorf("sink: close: abort open transaction: %w", abortErr)
			}
		}
		w.release()
	}
	w.cl.Close()
	w.log.InfoContext(ctx, "writer closed")
	return err
}

// fail closes the writer for good after a fatal error and returns err.
func (w *Writer) fail(err error) error {
	w.stateMu.Lock()
	if w.closed == nil {
		w.closed = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	w.stateMu.Unlock()
	w.log.Error("writer closed after a fatal error", "err", err)
	// Closing the client ends the producer without another EndTxn: the epoch is gone.
	w.cl.Close()
	return err
}

func (w *Writer) usable() error {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	return w.closed
}

func (w *Writer) acquire(ctx context.Context) error {
	// A free slot wins over a done ctx (select would pick at random), so Close with
	// an expired ctx still aborts when it can.
	select {
	case w.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case w.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) release() { <-w.sem }

func (w *Writer) validate(b Batch) error {
	if b.Offset == nil {
		return fmt.Errorf("%w: no offset record: a window is delivered only with its offset", ErrInvalidBatch)
	}
	if b.Offset.Topic != w.cfg.offsetsTopic {
		return fmt.Errorf("%w: offset record on topic %q, the offsets topic is %q", ErrInvalidBatch, b.Offset.Topic, w.cfg.offsetsTopic)
	}
	for _, set := range [][]*kgo.Record{b.Records, b.DeadLetters} {
		for i, r := range set {
			if r == nil || r.Topic == "" {
				return fmt.Errorf("%w: record %d has no topic", ErrInvalidBatch, i)
			}
		}
	}
	return nil
}

// isFatal: errors after which this instance may not use the transactional ID again.
//
// InvalidTxnState is here too: under Kafka 4's transaction protocol (KIP-890) a zombie
// that commits right after another instance took its transactional ID gets it instead of
// ProducerFenced, and its client can never begin a transaction again.
func isFatal(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) ||
		errors.Is(err, kerr.InvalidTxnState) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed) ||
		errors.Is(err, kerr.ClusterAuthorizationFailed)
}

// definitelyNotCommitted: answers to EndTxn(commit) that say it did not commit.
// OperationNotAttempted is franz-go's own "did not send it"; any non-retriable Kafka
// error other than UNKNOWN_SERVER_ERROR is a definitive broker answer. Transport
// errors, timeouts and retriable errors that outlived their retries are not.
func definitelyNotCommitted(err error) bool {
	if errors.Is(err, kerr.OperationNotAttempted) {
		return true
	}
	var ke *kerr.Error
	return errors.As(err, &ke) && !ke.Retriable && ke.Code != kerr.UnknownServerError.Code
}

// classifyProduce maps a produce failure to the CommitError kind.
func classifyProduce(err error) error {
	switch {
	case isFatal(err):
		return ErrFenced
	case errors.Is(err, kerr.MessageTooLarge),
		errors.Is(err, kerr.RecordListTooLarge),
		errors.Is(err, kerr.InvalidRecord),
		errors.Is(err, kerr.CorruptMessage),
		errors.Is(err, kerr.InvalidTopicException),
		errors.Is(err, kerr.UnknownTopicOrPartition),
		errors.Is(err, kerr.TopicAuthorizationFailed),
		errors.Is(err, kerr.PolicyViolation):
		return ErrRejected
	default:
		return ErrAborted
	}
}
