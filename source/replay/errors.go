package replay

import (
	"errors"
	"fmt"
)

var (
	// ErrTopicChanged is matched by the error of a replay whose topic lost, between
	// its two passes, a latest version the first pass found (retention, a deletion,
	// the topic recreated): run it again.
	ErrTopicChanged = errors.New("replay: the topic changed under the replay")
	// ErrDecode is matched by [*DecodeError].
	ErrDecode = errors.New("replay: an event does not decode")
	// ErrOutput is matched by [*OutputError].
	ErrOutput = errors.New("replay: writing the output failed")
)

// DecodeError is a latest version that cannot be decoded, so its event time is not
// known: the replay stops rather than guess whether it is in the range.
type DecodeError struct {
	Topic     string
	Partition int32
	Offset    int64
	Reason    string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("replay: %s/%d@%d does not decode: %s", e.Topic, e.Partition, e.Offset, e.Reason)
}

// Is reports ErrDecode.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }

// OutputError is a failure of the output: a file that cannot be written, a record
// the target topic refuses, a transaction that does not commit.
type OutputError struct {
	Output string // "json", "ocf" or "topic <name>"
	Err    error
}

func (e *OutputError) Error() string { return fmt.Sprintf("replay: output %s: %v", e.Output, e.Err) }

// Unwrap returns the cause.
func (e *OutputError) Unwrap() error { return e.Err }

// Is reports ErrOutput.
func (e *OutputError) Is(target error) bool { return target == ErrOutput }
