package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// Worker runs several connectors in one process, the way a Kafka Connect worker does:
// each in its own goroutine, owned by the worker, which can pause, resume, stop and
// restart them one by one. Connectors that use the same token share one quota and one
// in-flight limiter, since Wolkvox counts and limits per token.
type Worker struct {
	opts    []Opt
	o       options
	log     *slog.Logger
	store   *offsets.Store
	mu      sync.Mutex
	entries []*entry
	runCtx  context.Context // set by Run; connectors started later run under it
	wg      sync.WaitGroup
	ended   chan struct{} // a connector's Run returned with an error (capacity 1)
}

type entry struct {
	// life serialises the lifecycle changes of this connector (start, stop, restart,
	// pause, resume, offset changes), each held from its first step to its last: a
	// restart's stop and start, or an offset change's check that the connector is
	// stopped and its write, never interleave with another change. It is taken before
	// Worker.mu, which guards the fields below and is held only briefly.
	life sync.Mutex

	cfg     Config
	quota   *Quota
	limiter *wolkvox.Limiter
	conn    *Connector // current instance; replaced on restart
	cancel  context.CancelFunc
	done    chan struct{} // closed when the current instance's Run returned
	stopped bool          // stopped through Stop, as opposed to never started
	// unassigned: in a group of workers (Assigned), another worker runs the connector.
	unassigned bool
	err        error // what the last Run returned
}

// ErrUnknownConnector: no connector of that name.
var ErrUnknownConnector = errors.New("connector: no such connector")

// ErrNotRunning: the worker's Run has not started (or has ended), so a connector
// cannot be restarted.
var ErrNotRunning = errors.New("connector: the worker is not running")

// ErrAllConnectorsFailed: with ExitWhenAllFailed, every connector failed.
var ErrAllConnectorsFailed = errors.New("connector: every connector failed")

// ErrNotStopped: offsets change only while the connector is stopped, as in Kafka Connect.
var ErrNotStopped = errors.New("connector: stop the connector before changing its offsets")

// NewWorker builds the connectors of configs with opts (Kafka, encoder, topics, clock,
// logger...) applied to each, sharing quota and limiter between connectors of a token.
func NewWorker(configs []Config, opts ...Opt) (*Worker, error) {
	o := resolve(opts)
	if o.redactor == nil {
		o.redactor = NewRedactor()
		opts = append(slices.Clone(opts), WithRedactor(o.redactor))
	}
	if o.producerMemory == nil {
		o.producerMemory = sink.NewBudget(DefaultProducerMemory)
		opts = append(slices.Clone(opts), ProducerMemory(o.producerMemory))
	}
	for _, cfg := range configs {
		o.redactor.Add(cfg.Token.Reveal())
	}
	w := &Worker{opts: opts, o: o, log: slog.New(o.redactor.Handler(o.logger.Handler())), ended: make(chan struct{}, 1)}
	store, err := w.o.dest.store("", w.o.logger)
	if err != nil {
		return nil, err
	}
	w.store = store
	type shared struct {
		quota   *Quota
		limiter *wolkvox.Limiter
	}
	var errs []error
	sharedOf := make([]shared, len(configs))
	for _, group := range TokenGroups(configs) {
		first := configs[group[0]]
		if !first.Token.IsSet() || first.DailyQuota <= 0 || first.QuotaResetHour < 0 || first.QuotaResetHour > 23 {
			continue // refused by the connector's own validation
		}
		q, err := w.o.dest.quota(first, w.log)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l, err := wolkvox.NewLimiter(max(first.MaxInFlight, 1))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, i := range group {
			sharedOf[i] = shared{quota: q, limiter: l}
		}
	}
	for i, cfg := range configs {
		if slices.ContainsFunc(w.entries, func(e *entry) bool { return e.cfg.Name == cfg.Name }) {
			errs = append(errs, &FieldError{Field: "connectors." + cfg.Name, Problem: "the name is used twice", Fix: "give every connector its own name"})
			continue
		}
		sh := sharedOf[i]
		e := &entry{cfg: cfg, quota: sh.quota, limiter: sh.limiter, unassigned: o.assigned}
		var err error
		e.conn, err = w.build(cfg, sh.quota, sh.limiter)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w.entries = append(w.entries, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return w, nil
}

// TokenGroups groups the connectors that share a Wolkvox token, by their index in
// configs, in the order each token first appears: Wolkvox counts the daily quota and
// limits calls in flight per token, so a group shares one Quota and one Limiter (those
// of its first connector's settings) and one line of the quota plan. A connector
// without a token is a group of its own.
func TokenGroups(configs []Config) [][]int {
	var groups [][]int
	at := map[string]int{}
	for i, cfg := range configs {
		token := cfg.Token.Reveal()
		if j, ok := at[token]; ok && token != "" {
			groups[j] = append(groups[j], i)
			continue
		}
		at[token] = len(groups)
		groups = append(groups, []int{i})
	}
	return groups
}

func (w *Worker) build(cfg Config, q *Quota, l *wolkvox.Limiter) (*Connector, error) {
	opts := slices.Clone(w.opts)
	var src []wolkvox.Opt
	if l != nil {
		src = append(src, wolkvox.WithLimiter(l))
	}
	opts = append(opts, SourceOpts(src...))
	if q != nil {
		opts = append(opts, SharedQuota(q))
	}
	return New(cfg, opts...)
}

// Running reports whether Run has begun and its context is not done. Only a running
// worker creates a missing offsets topic for an offset change (see ApplyOffsets).
func (w *Worker) Running() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.runningLocked()
}

func (w *Worker) runningLocked() bool { return w.runCtx != nil && w.runCtx.Err() == nil }

// Run starts every connector and returns when ctx is done and all have stopped. A
// connector that fails stays FAILED (see Status) without stopping the others; with
// ExitWhenAllFailed, Run stops and returns ErrAllConnectorsFailed (wrapping each
// connector's error) once every connector has failed.
func (w *Worker) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.mu.Lock()
	w.runCtx = ctx
	w.mu.Unlock()
	w.startAll()
	defer w.closeQuotas()
	for {
		select {
		case <-ctx.Done():
			w.wg.Wait()
			return nil
		case <-w.ended:
			if err := w.allFailed(); err != nil && w.o.exitWhenAllFailed {
				w.log.Error("every connector failed: stopping the worker", "err", err)
				cancel()
				w.wg.Wait()
				return err
			}
		}
	}
}

// startAll starts, once Run's context is set, every connector that is to run here and
// has not started: a Stop before Run keeps a connector stopped, and in a group an
// Assign since the context was set may have started it already (the member's first
// assignment can arrive while this goes through the connectors), which a second start
// would make one Connector run twice, two pollers sharing its reports' state.
func (w *Worker) startAll() {
	w.mu.Lock()
	entries := slices.Clone(w.entries)
	w.mu.Unlock()
	for _, e := range entries {
		e.life.Lock()
		w.mu.Lock()
		if !e.stopped && !e.unassigned && e.cancel == nil {
			w.startLocked(e)
		}
		w.mu.Unlock()
		e.life.Unlock()
	}
}

// closeQuotas releases the token groups' ledgers once every connector has returned.
func (w *Worker) closeQuotas() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.entries {
		if e.quota != nil {
			e.quota.Close()
		}
	}
}

// allFailed returns ErrAllConnectorsFailed with every connector's error when each one's
// last Run ended with an error, and nil otherwise.
func (w *Worker) allFailed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	errs := []error{ErrAllConnectorsFailed}
	assigned := 0
	for _, e := range w.entries {
		if e.unassigned {
			continue
		}
		assigned++
		if e.err == nil || e.stopped {
			return nil
		}
		select {
		case <-e.done:
		default:
			return nil // restarted meanwhile
		}
		errs = append(errs, fmt.Errorf("%s: %w", e.cfg.Name, e.err))
	}
	if assigned == 0 {
		return nil
	}
	return errors.Join(errs...)
}

func (w *Worker) startLocked(e *entry) {
	ctx, cancel := context.WithCancel(w.runCtx)
	e.cancel, e.done, e.stopped, e.err = cancel, make(chan struct{}), false, nil
	conn, done := e.conn, e.done
	conn.starting()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		err := conn.Run(ctx)
		if err != nil {
			w.log.Error("connector stopped with an error", "connector", conn.Name(), "err", err)
		}
		w.mu.Lock()
		if e.conn == conn {
			e.err = err
		}
		w.mu.Unlock()
		close(done)
		if err != nil {
			select {
			case w.ended <- struct{}{}:
			default: // a check is already due
			}
		}
	}()
}

func (w *Worker) find(name string) (*entry, error) {
	i := slices.IndexFunc(w.entries, func(e *entry) bool { return e.cfg.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("%w: %q", ErrUnknownConnector, name)
	}
	return w.entries[i], nil
}

// Names lists the connectors, in configuration order.
func (w *Worker) Names() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.entries {
		out = append(out, e.cfg.Name)
	}
	return out
}

// Config returns a connector's configuration, defaults applied.
func (w *Worker) Config(name string) (Config, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, err := w.find(name)
	if err != nil {
		return Config{}, err
	}
	return e.conn.Config(), nil
}

// Status returns a connector's status. A stopped connector reports STOPPED.
func (w *Worker) Status(name string) (Status, error) {
	w.mu.Lock()
	e, err := w.find(name)
	if err != nil {
		w.mu.Unlock()
		return Status{}, err
	}
	conn, stopped, unassigned, runErr := e.conn, e.stopped, e.unassigned, e.err
	w.mu.Unlock()
	st := conn.Status()
	switch {
	case unassigned:
		st.State = StateUnassigned
		for i := range st.Reports {
			st.Reports[i].State = StateUnassigned
		}
	case stopped:
		st.State = StateStopped
		for i := range st.Reports {
			st.Reports[i].State = StateStopped
		}
	}
	if runErr != nil && st.LastError == "" {
		st.LastError = w.o.redactor.Redact(runErr.Error())
	}
	return st, nil
}

// Pause stops a connector's reads after its current window; Resume lets them go on.
func (w *Worker) Pause(name string) error { return w.with(name, (*Connector).Pause) }

// Resume undoes Pause.
func (w *Worker) Resume(name string) error { return w.with(name, (*Connector).Resume) }

func (w *Worker) with(name string, fn func(*Connector)) error {
	e, err := w.lock(name)
	if err != nil {
		return err
	}
	defer e.life.Unlock()
	w.mu.Lock()
	conn, unassigned := e.conn, e.unassigned
	w.mu.Unlock()
	if unassigned {
		return fmt.Errorf("%w: %s", ErrNotAssigned, name)
	}
	fn(conn)
	return nil
}

// lock finds a connector and takes its lifecycle lock.
func (w *Worker) lock(name string) (*entry, error) {
	w.mu.Lock()
	e, err := w.find(name)
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	e.life.Lock()
	return e, nil
}

// Stop ends a connector's Run (its open transaction, if any, is aborted) and waits for
// it. Its offsets can then be changed. Stopping a stopped connector does nothing.
func (w *Worker) Stop(ctx context.Context, name string) error {
	e, err := w.lock(name)
	if err != nil {
		return err
	}
	defer e.life.Unlock()
	return w.stopLocked(ctx, e)
}

// stopLocked stops e's instance and waits for its Run to return; e.life is held.
func (w *Worker) stopLocked(ctx context.Context, e *entry) error {
	w.mu.Lock()
	e.stopped = true
	w.mu.Unlock()
	return w.haltLocked(ctx, e)
}

// haltLocked ends e's instance, if one runs, and waits for its Run to return; e.life
// is held.
func (w *Worker) haltLocked(ctx context.Context, e *entry) error {
	w.mu.Lock()
	cancel, done := e.cancel, e.done
	w.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		// The instance is still ending; the next lifecycle change waits for it again.
		return fmt.Errorf("connector %s: still stopping: %w", e.cfg.Name, ctx.Err())
	}
}

// Restart stops a connector if it runs and starts a fresh instance, which fences the
// old one and resumes from the committed offsets. The old instance has returned from
// Run before the new one starts, so there is never more than one.
func (w *Worker) Restart(ctx context.Context, name string) error {
	e, err := w.lock(name)
	if err != nil {
		return err
	}
	defer e.life.Unlock()
	if !w.Running() {
		return ErrNotRunning
	}
	w.mu.Lock()
	unassigned := e.unassigned
	w.mu.Unlock()
	if unassigned {
		return fmt.Errorf("%w: %s", ErrNotAssigned, name)
	}
	if err := w.stopLocked(ctx, e); err != nil {
		return err
	}
	return w.startFresh(e)
}

// startFresh starts a new instance of e (an instance runs once); e.life is held and
// no instance of e runs.
func (w *Worker) startFresh(e *entry) error {
	conn, err := w.build(e.cfg, e.quota, e.limiter)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	e.conn = conn
	w.startLocked(e)
	return nil
}

// ErrNotAssigned: in a group of workers, the connector runs on another worker (or
// none yet); lifecycle changes go to its owner.
var ErrNotAssigned = errors.New("connector: the connector is not assigned to this worker")

// Assign makes names the connectors this worker runs (see Assigned): the others are
// stopped first, each waited for (its open transaction aborted), then those named are
// started, unless stopped through Stop. A token group none of whose connectors stays
// releases its quota's ledger, so the worker that takes the token over resumes the
// day's count. It returns once every change is made, or with the first error; names
// unknown to the worker are an error.
func (w *Worker) Assign(ctx context.Context, names []string) error {
	w.mu.Lock()
	for _, n := range names {
		if _, err := w.find(n); err != nil {
			w.mu.Unlock()
			return err
		}
	}
	entries := slices.Clone(w.entries)
	w.mu.Unlock()
	var released []*Quota
	for _, e := range entries {
		if slices.Contains(names, e.cfg.Name) {
			continue
		}
		e.life.Lock()
		w.mu.Lock()
		was := e.unassigned
		e.unassigned = true
		w.mu.Unlock()
		err := w.haltLocked(ctx, e)
		e.life.Unlock()
		if err != nil {
			return err
		}
		if !was {
			w.log.Info("connector unassigned: another worker runs it now", "connector", e.cfg.Name)
			if e.quota != nil && !slices.Contains(released, e.quota) {
				released = append(released, e.quota)
			}
		}
	}
	for _, q := range released {
		if !w.anyAssigned(q) {
			q.Close()
		}
	}
	for _, e := range entries {
		if !slices.Contains(names, e.cfg.Name) {
			continue
		}
		if err := w.assignOne(e); err != nil {
			return err
		}
	}
	return nil
}

// anyAssigned reports whether a connector of quota q's token group runs here.
func (w *Worker) anyAssigned(q *Quota) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.ContainsFunc(w.entries, func(e *entry) bool { return e.quota == q && !e.unassigned })
}

// assignOne starts e with a fresh instance unless it already runs here (or was stopped
// through Stop).
func (w *Worker) assignOne(e *entry) error {
	e.life.Lock()
	defer e.life.Unlock()
	w.mu.Lock()
	was, stopped, running := e.unassigned, e.stopped, w.runningLocked()
	e.unassigned = false
	w.mu.Unlock()
	if !was || stopped || !running {
		return nil // already here; or stopped by an operator; or Run starts it
	}
	if err := w.startFresh(e); err != nil {
		return err
	}
	w.log.Info("connector assigned to this worker", "connector", e.cfg.Name)
	return nil
}

// Offsets returns the committed offsets of a connector's reports.
func (w *Worker) Offsets(ctx context.Context, name string) ([]offsets.Entry, error) {
	if _, err := w.Config(name); err != nil {
		return nil, err
	}
	all, err := w.store.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []offsets.Entry
	for _, e := range all {
		if e.Key.Connector == name {
			out = append(out, e)
		}
	}
	return out, nil
}

// OffsetChange sets one report's position, or resets it when Position is nil.
type OffsetChange struct {
	Key      offsets.Key
	Position *offsets.Position
}

// alterOffsets writes positions (nil resets) for a stopped connector's reports, all in
// one transaction: readers see every change or none. Without changes it only checks
// that the connector is stopped. [Worker.ApplyOffsets] is its public face.
func (w *Worker) alterOffsets(ctx context.Context, name string, changes []OffsetChange) error {
	e, err := w.lock(name)
	if err != nil {
		return err
	}
	defer e.life.Unlock()
	return w.alterLocked(ctx, e, changes)
}

// alterLocked is alterOffsets with e.life held.
func (w *Worker) alterLocked(ctx context.Context, e *entry, changes []OffsetChange) error {
	name := e.cfg.Name
	w.mu.Lock()
	stopped, running := e.stopped || e.cancel == nil, w.runningLocked()
	w.mu.Unlock()
	if !stopped {
		return ErrNotStopped
	}
	if len(changes) == 0 {
		return nil // only the check: no store, no topic, no transaction
	}
	store, err := w.o.dest.store(name, w.o.logger)
	if err != nil {
		return err
	}
	batch := make([]offsets.Change, 0, len(changes))
	for _, ch := range changes {
		if ch.Key.Connector != name {
			return fmt.Errorf("connector: offset key %s does not belong to connector %s", ch.Key, name)
		}
		batch = append(batch, offsets.Change{Key: ch.Key, Position: ch.Position})
	}
	// A running worker creates the offsets topic if its connector was stopped before it
	// could (as starting it would have). A worker that is not run (the offsets command)
	// does not: there a missing topic means a wrong topics.offsets, and positions
	// written to a new topic would be read by no one.
	if running {
		if err := store.EnsureTopic(ctx, w.o.dest.NewTopics.ReplicationFactor); err != nil {
			return err
		}
	}
	err = store.Apply(ctx, batch...)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("%w (the offsets topic %s does not exist: the worker creates it when it starts; check topics.offsets)", err, w.o.dest.OffsetsTopic)
	}
	return err
}

// Configs returns the connectors' configurations, defaults applied, in configuration
// order.
func (w *Worker) Configs() []Config { return w.configs() }

// Destination returns where the worker writes, defaults applied.
func (w *Worker) Destination() Destination { return w.o.dest }
