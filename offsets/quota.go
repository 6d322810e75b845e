package offsets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
)

// TokenHash names a Wolkvox token without revealing it: the first 16 bytes of its
// SHA-256, in hex. Tokens are long random secrets, so the hash cannot be reversed by
// guessing; it is what the offsets topic, transactional IDs and group metadata carry
// instead of the token.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

// QuotaKey is the offsets-topic key of a token's day count, {"quota":"<TokenHash>"}. It
// is not Kafka Connect's [connector, partition] shape, so Connect's tools, [Store.Load]
// and [Store.List] pass it by as a foreign key, and compaction keeps one per token.
func QuotaKey(tokenHash string) []byte {
	return []byte(`{"quota":"` + tokenHash + `"}`)
}

// QuotaUsage is how many calls of a token's quota day have been reserved: spent, or
// about to be. A worker reserves calls before it makes them, so the stored count is
// never below the calls made, whoever made them and however they stopped.
type QuotaUsage struct {
	Period   time.Time // the start of the quota day
	Reserved int64
}

// quotaVersion is the format of a QuotaUsage value; a newer one is refused, not guessed.
const quotaVersion = 1

type wireQuota struct {
	Version  int    `json:"v"`
	Period   string `json:"period"`
	Reserved int64  `json:"reserved"`
}

// Marshal encodes u as JSON: {"v":1,"period":"<RFC 3339>","reserved":N}.
func (u QuotaUsage) Marshal() ([]byte, error) {
	if u.Reserved < 0 {
		return nil, fmt.Errorf("%w: negative quota count %d", ErrMalformedPosition, u.Reserved)
	}
	return json.Marshal(wireQuota{Version: quotaVersion, Period: u.Period.Format(time.RFC3339), Reserved: u.Reserved})
}

// Unmarshal decodes what Marshal wrote; a newer version fails with a *VersionError.
func (u *QuotaUsage) Unmarshal(b []byte) error {
	var w wireQuota
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("%w: quota count: %w", ErrMalformedPosition, err)
	}
	if w.Version != quotaVersion {
		return &VersionError{Version: w.Version}
	}
	period, err := time.Parse(time.RFC3339, w.Period)
	if err != nil || w.Reserved < 0 {
		return fmt.Errorf("%w: quota count: period %q, reserved %d", ErrMalformedPosition, w.Period, w.Reserved)
	}
	*u = QuotaUsage{Period: period, Reserved: w.Reserved}
	return nil
}

// Ledger keeps one token's [QuotaUsage] in the offsets topic, written in transactions
// under a transactional ID of the token's own. [Ledger.Claim] fences whoever wrote
// with that ID before (a previous instance, a worker the group has moved the token
// away from) and reads the latest count; each [Ledger.Reserve] then commits a new one,
// and fails with sink.ErrFenced once another Ledger has claimed the token. So two
// workers never both go on counting the same day: the one fenced learns it at its next
// reservation, before its next call.
//
// A Ledger holds one Kafka client from Claim to Close; its methods are serialised.
type Ledger struct {
	store *Store
	key   []byte
	txnID string

	mu sync.Mutex
	cl *kgo.Client // nil until Claim, and after a fencing
}

// ledgerTxnTimeout bounds a reservation's transaction: it holds one record, and while
// it is open it holds the topic's last stable offset back for every reader.
const ledgerTxnTimeout = 15 * time.Second

// NewLedger returns the ledger of the token whose [TokenHash] is tokenHash, writing
// with transactionalID through s's topic and clients. It does no I/O.
func NewLedger(s *Store, tokenHash, transactionalID string) (*Ledger, error) {
	if tokenHash == "" || transactionalID == "" {
		return nil, errors.New("offsets: a ledger needs a token hash and a transactional ID")
	}
	return &Ledger{store: s, key: QuotaKey(tokenHash), txnID: transactionalID}, nil
}

// Claim makes this Ledger the token's one writer, fencing any other, and returns the
// count stored last (zero without one). It reads the topic to its high watermark under
// read_committed, so it also waits for open transactions of other writers that began
// before it (each bounded by its timeout): the latest committed count is never missed.
func (l *Ledger) Claim(ctx context.Context) (QuotaUsage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeLocked()
	cl, err := kgo.NewClient(l.store.clientOpts(
		kgo.TransactionalID(l.txnID),
		kgo.TransactionTimeout(ledgerTxnTimeout),
	)...)
	if err != nil {
		return QuotaUsage{}, fmt.Errorf("offsets: ledger client: %w", err)
	}
	// InitProducerID fences the ID's previous holder and completes its transaction, so
	// nothing of it can be committed after the read below.
	if _, _, err := cl.ProducerID(ctx); err != nil {
		cl.Close()
		return QuotaUsage{}, fmt.Errorf("offsets: claim quota ledger %q: %w", l.txnID, err)
	}
	var (
		last  QuotaUsage
		bad   error
		found bool
	)
	opts := l.store.clientOpts(kgo.FetchMaxPartitionBytes(TopicMaxMessageBytes))
	r, err := sink.NewReader([]string{l.store.topic}, sink.ReaderKafkaOpts(opts...), sink.MissingTopicsEmpty(), sink.ToHighWatermark())
	if err == nil {
		err = r.Read(ctx, func(rec *kgo.Record) bool {
			if !bytes.Equal(rec.Key, l.key) {
				return true
			}
			var u QuotaUsage
			if rec.Value == nil {
				last, found, bad = QuotaUsage{}, false, nil
				return true
			}
			if uerr := u.Unmarshal(rec.Value); uerr != nil {
				bad = &CorruptError{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: string(l.key), Err: uerr}
				return true
			}
			last, found, bad = u, true, nil
			return true
		})
	}
	if err == nil {
		err = bad
	}
	if err != nil {
		cl.Close()
		return QuotaUsage{}, fmt.Errorf("offsets: read quota ledger: %w", err)
	}
	l.cl = cl
	l.store.cfg.logger.DebugContext(ctx, "quota ledger claimed", "transactional_id", l.txnID, "found", found,
		"period", last.Period, "reserved", last.Reserved)
	return last, nil
}

// Reserve stores u as the token's count, in a transaction of its own, and returns once
// it is committed. It fails with sink.ErrFenced when another Ledger has claimed the
// token since this one's Claim, and before any Claim; after any failure, claim again
// to go on.
func (l *Ledger) Reserve(ctx context.Context, u QuotaUsage) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cl == nil {
		return fmt.Errorf("offsets: quota ledger %q not claimed: %w", l.txnID, sink.ErrFenced)
	}
	value, err := u.Marshal()
	if err != nil {
		return err
	}
	if err := l.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("offsets: quota ledger: begin: %w", err)
	}
	rec := &kgo.Record{Topic: l.store.topic, Key: l.key, Value: value}
	produceErr := l.cl.ProduceSync(ctx, rec).FirstErr()
	// Never cancel EndTransaction midway: the outcome would be unknown.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ledgerTxnTimeout)
	defer cancel()
	commit := kgo.TryCommit
	if produceErr != nil {
		commit = kgo.TryAbort
		if err := l.cl.AbortBufferedRecords(endCtx); err != nil {
			produceErr = errors.Join(produceErr, err)
		}
	}
	endErr := l.cl.EndTransaction(endCtx, commit)
	if err := errors.Join(produceErr, endErr); err != nil {
		// Whatever state the client is left in (a transaction it could not end), the next
		// reservation starts over with a Claim, which reads what was stored.
		l.closeLocked()
		if fenced(err) {
			return fmt.Errorf("offsets: quota ledger %q claimed by another worker: %w: %w", l.txnID, sink.ErrFenced, err)
		}
		return fmt.Errorf("offsets: quota ledger: reserve %d calls: %w", u.Reserved, err)
	}
	return nil
}

// fenced reports the errors by which Kafka says another producer holds the ID now.
func fenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.InvalidProducerIDMapping)
}

// Close releases the client; a later Claim opens a new one.
func (l *Ledger) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeLocked()
}

func (l *Ledger) closeLocked() {
	if l.cl != nil {
		l.cl.Close()
		l.cl = nil
	}
}
