package offsets

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformedKey is returned by [DecodeKey] for bytes that are not a Connect source
	// offset key, and by [Key.Encode] for a key that cannot be encoded.
	ErrMalformedKey = errors.New("offsets: malformed key")

	// ErrMalformedPosition is returned by [Position.Unmarshal] for bytes that are not a
	// position of a known version, and by [Position.Marshal] for a position it cannot write.
	ErrMalformedPosition = errors.New("offsets: malformed position")

	// ErrUnsupportedVersion is matched by [*VersionError]: a position written by a newer
	// (or unknown) release. It is never guessed at, because misreading a position would
	// lose or repeat records.
	ErrUnsupportedVersion = errors.New("offsets: unsupported position version")

	// ErrTooLarge is returned by [Position.Marshal] when the encoded position exceeds
	// [MaxPositionBytes].
	ErrTooLarge = errors.New("offsets: position too large")

	// ErrNotCompacted is matched by [*NotCompactedError], returned by [EnsureTopic] for an
	// existing topic whose cleanup.policy does not include compact.
	ErrNotCompacted = errors.New("offsets: topic is not compacted")

	// ErrCorrupt is matched by [*CorruptError], returned by [Store.Load] when a record of
	// the wanted connector holds a value that is not a position.
	ErrCorrupt = errors.New("offsets: corrupt offset record")

	// ErrNoTransactionalID is returned by [Store.Apply] (and Set, Reset) on a store made
	// without [TransactionalID]: the ID a change must fence is the connector's, whose
	// rule this package does not own.
	ErrNoTransactionalID = errors.New("offsets: writing positions needs the TransactionalID option")
)

// VersionError is a position whose version this release does not read.
type VersionError struct {
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("offsets: position version %d is not supported (this release reads version %d); upgrade wolkvox-connect or reset the position", e.Version, CurrentVersion)
}

// Is reports ErrUnsupportedVersion, so callers need not know the concrete type.
func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

// NotCompactedError names a topic that exists without compaction, and the fix.
type NotCompactedError struct {
	Topic  string
	Policy string // the topic's cleanup.policy as the broker reports it
}

func (e *NotCompactedError) Error() string {
	return fmt.Sprintf("offsets: topic %q has cleanup.policy=%q; offsets must be compacted or old positions are deleted by retention: "+
		"run kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact, or choose another offsets topic",
		e.Topic, e.Policy, e.Topic)
}

// Is reports ErrNotCompacted.
func (e *NotCompactedError) Is(target error) bool { return target == ErrNotCompacted }

// CorruptError is an offset record that cannot be read, with where it is.
type CorruptError struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Err       error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("offsets: record %s/%d@%d (key %s): %v; fix it with 'wolkvox-connect offsets set' or reset it",
		e.Topic, e.Partition, e.Offset, e.Key, e.Err)
}

// Is reports ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the decoding error.
func (e *CorruptError) Unwrap() error { return e.Err }
