package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
)

// Output is where a replay writes: [JSONLines], [OCF] or [ToTopic]. A Run begins it,
// writes the rows and ends it; an Output serves one Run.
type Output interface {
	// check refuses reports the output cannot take.
	check(reports []Report) error
	begin(ctx context.Context, c *cfg, reports []Report) error
	// write writes one row: rec as read, dr decoded (dr.Value is set).
	write(ctx context.Context, rec *kgo.Record, dr *schemas.Record) error
	// end ends the output, committing what was written when commit is true.
	end(ctx context.Context, commit bool) error
}

// JSONLines writes each row to w as one JSON line, the form tail prints
// ([schemas.Record]): {"topic","partition","offset","key","headers","value"}. It takes
// one report or several, one after the other.
func JSONLines(w io.Writer) Output {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonLines{enc: enc}
}

type jsonLines struct{ enc *json.Encoder }

func (j *jsonLines) check([]Report) error                        { return nil }
func (j *jsonLines) begin(context.Context, *cfg, []Report) error { return nil }
func (j *jsonLines) end(context.Context, bool) error             { return nil }
func (j *jsonLines) write(_ context.Context, _ *kgo.Record, dr *schemas.Record) error {
	if err := j.enc.Encode(dr); err != nil {
		return &OutputError{Output: "json", Err: err}
	}
	return nil
}

// ocfBlock is how many rows an OCF block holds: the rows wait in memory until then.
const ocfBlock = 1000

// OCF writes the rows of one report to w as an Avro object container file (goavro's
// writer, deflate-compressed), with the report's current schema embedded: an event
// written with an older version of it (none exists today) is written in the current
// one, the fields it added taking their defaults (null); one that does not fit fails
// the replay with an [*OutputError]. The file's metadata also holds the topic
// (wolkvox.topic), the report (wolkvox.report) and the range (wolkvox.replay.from,
// wolkvox.replay.to, RFC 3339). A file holds one schema, so OCF takes exactly one
// report. The caller owns w (buffering, closing).
func OCF(w io.Writer) Output { return &ocf{w: w} }

type ocf struct {
	w       io.Writer
	ocf     *goavro.OCFWriter
	pending []any
}

func (o *ocf) check(reports []Report) error {
	if len(reports) != 1 {
		return fmt.Errorf("replay: an OCF file holds one report's rows (one schema), not %d reports", len(reports))
	}
	return nil
}

func (o *ocf) begin(_ context.Context, c *cfg, reports []Report) error {
	sc, ok := c.set.Lookup(reports[0].API)
	if !ok {
		return fmt.Errorf("replay: no schema for report %q", reports[0].API)
	}
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{
		W: o.w, Schema: sc.Text, CompressionName: goavro.CompressionDeflateLabel,
		MetaData: map[string][]byte{
			"wolkvox.topic":       []byte(reports[0].Topic),
			"wolkvox.report":      []byte(reports[0].Key),
			"wolkvox.replay.from": []byte(c.from.UTC().Format(time.RFC3339)),
			"wolkvox.replay.to":   []byte(c.to.UTC().Format(time.RFC3339)),
		},
	})
	if err != nil {
		return &OutputError{Output: "ocf", Err: err}
	}
	o.ocf = w
	return nil
}

func (o *ocf) write(_ context.Context, _ *kgo.Record, dr *schemas.Record) error {
	o.pending = append(o.pending, dr.Value.Native)
	if len(o.pending) >= ocfBlock {
		return o.flush()
	}
	return nil
}

func (o *ocf) flush() error {
	if len(o.pending) == 0 {
		return nil
	}
	err := o.ocf.Append(o.pending)
	clear(o.pending)
	o.pending = o.pending[:0]
	if err != nil {
		return &OutputError{Output: "ocf", Err: err}
	}
	return nil
}

func (o *ocf) end(_ context.Context, commit bool) error {
	if !commit || o.ocf == nil {
		return nil
	}
	return o.flush()
}

// TopicOpt configures [ToTopic].
type TopicOpt interface{ applyTopic(*topicOut) }

type topicOptFunc func(*topicOut)

func (f topicOptFunc) applyTopic(t *topicOut) { f(t) }

// TransactionalID is the producer's transactional ID, overriding the default of
// "wolkvox-connect-replay-<topic>". Replays into one topic must share it, so that a
// replay run again fences and aborts one that crashed.
func TransactionalID(id string) TopicOpt {
	return topicOptFunc(func(t *topicOut) { t.txnID = id })
}

// TransactionTimeout bounds the replay's one transaction, overriding the default of
// 15 minutes (the broker's default transaction.max.timeout.ms, which caps it): a
// replay still running then is aborted by the broker.
func TransactionTimeout(d time.Duration) TopicOpt {
	return topicOptFunc(func(t *topicOut) { t.timeout = d })
}

// DefaultTransactionTimeout is the default of [TransactionTimeout].
const DefaultTransactionTimeout = 15 * time.Minute

// ToTopic copies the rows of one report into topic (key, value and headers as they
// are) in one transaction, committed once every row is produced: read_committed
// consumers see the whole replay or nothing (see the package doc for a crash). The
// topic is created with the broker's defaults when missing. It must not be the
// report's own topic.
func ToTopic(topic string, opts ...TopicOpt) Output {
	t := &topicOut{topic: topic, txnID: "wolkvox-connect-replay-" + topic, timeout: DefaultTransactionTimeout}
	for _, o := range opts {
		o.applyTopic(t)
	}
	return t
}

type topicOut struct {
	topic, txnID string
	timeout      time.Duration
	cl           *kgo.Client

	mu  sync.Mutex
	err error // the first failed produce
}

func (t *topicOut) name() string { return "topic " + t.topic }

func (t *topicOut) check(reports []Report) error {
	var errs []error
	if len(reports) != 1 {
		errs = append(errs, fmt.Errorf("replay: a topic output takes one report's rows, not %d reports", len(reports)))
	}
	if slices.ContainsFunc(reports, func(r Report) bool { return r.Topic == t.topic }) {
		errs = append(errs, fmt.Errorf("replay: %s is the report's own topic; replay into another", t.topic))
	}
	if t.txnID == "" {
		errs = append(errs, errors.New("replay: empty transactional ID"))
	}
	if t.timeout <= 0 {
		errs = append(errs, errors.New("replay: the transaction timeout must be positive"))
	}
	return errors.Join(errs...)
}

func (t *topicOut) begin(ctx context.Context, c *cfg, _ []Report) error {
	cl, err := kgo.NewClient(append(slices.Clone(c.kafkaOpts),
		kgo.TransactionalID(t.txnID), kgo.TransactionTimeout(t.timeout),
		kgo.DefaultProduceTopic(t.topic))...)
	if err != nil {
		return &OutputError{Output: t.name(), Err: err}
	}
	t.cl = cl
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, -1, -1, nil, t.topic)
	if err == nil {
		err = resp.Err
	}
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
	case err != nil:
		cl.Close()
		return &OutputError{Output: t.name(), Err: fmt.Errorf("creating the topic: %w", err)}
	default:
		c.log.InfoContext(ctx, "replay: topic created", "topic", t.topic, "partitions", resp.NumPartitions)
	}
	// BeginTransaction initializes the producer ID first: that fences a replay that
	// crashed under the same transactional ID and aborts its transaction.
	if err := cl.BeginTransaction(); err != nil {
		cl.Close()
		return &OutputError{Output: t.name(), Err: err}
	}
	return nil
}

func (t *topicOut) write(ctx context.Context, rec *kgo.Record, _ *schemas.Record) error {
	t.mu.Lock()
	err := t.err
	t.mu.Unlock()
	if err != nil {
		return &OutputError{Output: t.name(), Err: err}
	}
	out := &kgo.Record{Topic: t.topic, Key: rec.Key, Value: rec.Value, Headers: slices.Clone(rec.Headers)}
	// Produce blocks while the producer's buffer is full: memory stays bounded.
	t.cl.Produce(ctx, out, func(_ *kgo.Record, err error) {
		if err != nil {
			t.setErr(err)
		}
	})
	return nil
}

func (t *topicOut) end(ctx context.Context, commit bool) error {
	if t.cl == nil {
		return nil
	}
	defer t.cl.Close()
	if commit {
		if err := t.cl.Flush(ctx); err != nil {
			commit = false
			t.setErr(err)
		}
	}
	t.mu.Lock()
	perr := t.err
	t.mu.Unlock()
	commit = commit && perr == nil
	if !commit {
		// Nothing of it becomes visible; the records still buffered are dropped.
		_ = t.cl.AbortBufferedRecords(context.WithoutCancel(ctx))
	}
	// An abort still reaches the broker when ctx is done (Ctrl-C), so the transaction
	// does not stay open until its timeout.
	ectx := ctx
	if !commit {
		ectx = context.WithoutCancel(ctx)
	}
	err := t.cl.EndTransaction(ectx, kgo.TransactionEndTry(commit))
	switch {
	case perr != nil:
		return &OutputError{Output: t.name(), Err: perr}
	case err != nil:
		return &OutputError{Output: t.name(), Err: fmt.Errorf("ending the transaction: %w", err)}
	}
	return nil
}

// setErr keeps the first failure of the output; promises call it from the client's
// goroutine.
func (t *topicOut) setErr(err error) {
	t.mu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.mu.Unlock()
}
