package sink

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

var (
	// ErrAborted is returned by [Writer.Commit] when the transaction was aborted for a
	// reason that may pass (a broker restart, a timeout, a cancelled ctx): nothing of the
	// batch is visible, the writer is still usable, and the same batch may be committed
	// again.
	ErrAborted = errors.New("sink: transaction aborted")

	// ErrRejected is returned by [Writer.Commit] when the transaction was aborted because
	// of the batch itself (a record too large, a missing topic, no write permission):
	// nothing of it is visible and the writer is still usable, but committing the same
	// batch again fails the same way.
	ErrRejected = errors.New("sink: batch rejected")

	// ErrFenced is returned by [Writer.Open] and [Writer.Commit] when another instance
	// took over the transactional ID. The writer is closed for good; this instance must
	// stop, since the new owner resumes from the committed offsets.
	ErrFenced = errors.New("sink: producer fenced by another instance")

	// ErrOutcomeUnknown is returned by [Writer.Commit] when the broker may or may not
	// have committed the transaction and reading the offset record back could not tell.
	// The writer is closed: reopen one and reload the positions from the offsets topic,
	// which reflect exactly what was committed.
	ErrOutcomeUnknown = errors.New("sink: transaction outcome unknown")

	// ErrClosed is returned by every method after [Writer.Close], or after a fatal
	// error (then wrapped together with it).
	ErrClosed = errors.New("sink: writer closed")

	// ErrNotOpen is returned by [Writer.Commit] before [Writer.Open] succeeded.
	ErrNotOpen = errors.New("sink: writer not open")

	// ErrInvalidBatch is returned by [Writer.Commit], before any I/O, for a batch that
	// cannot be right (no offset record, a record without a topic).
	ErrInvalidBatch = errors.New("sink: invalid batch")

	// ErrTxnEnded is returned by a [Txn] used after its Commit or Abort.
	ErrTxnEnded = errors.New("sink: transaction already ended")

	// ErrInvalidTopic is matched by [*TopicNameError].
	ErrInvalidTopic = errors.New("sink: invalid topic name")

	// ErrUnknownTopic is matched by [*UnknownTopicError].
	ErrUnknownTopic = errors.New("sink: unknown topic")

	// ErrDataLoss is matched by [*DataLossError].
	ErrDataLoss = errors.New("sink: records lost")
)

// TopicNameError is a topic name (or the template that produced it) that Kafka would
// refuse.
type TopicNameError struct {
	Name   string // the name or template
	Reason string
}

func (e *TopicNameError) Error() string {
	return fmt.Sprintf("sink: invalid topic name %q: %s", e.Name, e.Reason)
}

// Is reports ErrInvalidTopic.
func (e *TopicNameError) Is(target error) bool { return target == ErrInvalidTopic }

// CommitError is the error of a failed [Writer.Commit]: which step failed and why.
// It matches exactly one of ErrAborted, ErrRejected, ErrFenced or ErrOutcomeUnknown
// (Kind), and unwraps to the cause, so errors.Is(err, kerr.MessageTooLarge) or
// errors.Is(err, context.Canceled) work too.
type CommitError struct {
	Kind error  // ErrAborted, ErrRejected, ErrFenced or ErrOutcomeUnknown
	Op   string // "begin", "produce", "commit" or "abort"
	Err  error
}

func (e *CommitError) Error() string {
	return fmt.Sprintf("%v (%s): %v", e.Kind, e.Op, e.Err)
}

// Unwrap returns the kind and the cause.
func (e *CommitError) Unwrap() []error { return []error{e.Kind, e.Err} }

// UnknownTopicError is returned by [Reader.Read] for a topic the cluster does not have
// (unless [MissingTopicsEmpty]).
type UnknownTopicError struct {
	Topic string
}

func (e *UnknownTopicError) Error() string {
	return fmt.Sprintf("sink: %s does not exist on the cluster", e.Topic)
}

// Is reports ErrUnknownTopic.
func (e *UnknownTopicError) Is(target error) bool { return target == ErrUnknownTopic }

// DataLossError reports records a [Reader] could not read: deleted before it fetched them
// (retention, DeleteRecords), or lost by the brokers (an unclean leader election, which
// kgo reports as a *kgo.ErrDataLoss). Read returns it, or with [OnDataLoss] reports it
// and goes on at Resume.
type DataLossError struct {
	Topic     string
	Partition int32
	// Offset is where the reader was: from there on, records up to Resume were not read
	// (or, when Resume is lower, were replaced on the brokers and are read again).
	Offset int64
	Resume int64
	Err    error // kerr.OffsetOutOfRange or a *kgo.ErrDataLoss
}

func (e *DataLossError) Error() string {
	if e.Resume > e.Offset && errors.Is(e.Err, kerr.OffsetOutOfRange) {
		return fmt.Sprintf("sink: %s/%d: records at offsets %d to %d were deleted before they were read (retention?); going on at %d",
			e.Topic, e.Partition, e.Offset, e.Resume-1, e.Resume)
	}
	return fmt.Sprintf("sink: %s/%d: records lost at offset %d (%v); going on at %d", e.Topic, e.Partition, e.Offset, e.Err, e.Resume)
}

// Is reports ErrDataLoss.
func (e *DataLossError) Is(target error) bool { return target == ErrDataLoss }

// Unwrap returns the cause.
func (e *DataLossError) Unwrap() error { return e.Err }
