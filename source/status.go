package source

import "time"

// State is where a report stands, in Kafka Connect's vocabulary plus the two states a
// quota-bound HTTP source needs.
type State string

const (
	StateRunning        State = "RUNNING"
	StatePaused         State = "PAUSED"
	StateStopped        State = "STOPPED"
	StateBackingOff     State = "BACKING_OFF"
	StateQuotaExhausted State = "QUOTA_EXHAUSTED"
	StateFailed         State = "FAILED"
	// StateUnassigned: in a group of workers, the connector runs on another worker (or
	// is between two), as Kafka Connect says of a task no worker holds.
	StateUnassigned State = "UNASSIGNED"
)

// ReportStatus is a snapshot of one report's progress.
type ReportStatus struct {
	Report    string    `json:"report"`
	Key       string    `json:"key"`
	Topic     string    `json:"topic"`
	State     State     `json:"state"`
	LastError string    `json:"last_error,omitempty"`
	NextPoll  time.Time `json:"next_poll"`
	// Cursor is where the next read starts (before the lookback); LastSeen the time of
	// the newest row delivered.
	Cursor       time.Time `json:"cursor"`
	LastSeen     time.Time `json:"last_seen"`
	Rows         int64     `json:"rows"`          // rows delivered as events
	DeadLetters  int64     `json:"dead_letters"`  // rows sent to the dead-letter topic
	Duplicates   int64     `json:"duplicates"`    // rows an earlier window delivered, read again and recognised
	FutureRows   int64     `json:"future_rows"`   // rows dated beyond now + the tolerance: delivered, not counted in LastSeen
	Windows      int64     `json:"windows"`       // windows committed
	Calls        int64     `json:"calls"`         // calls made, retries included
	Splits       int64     `json:"splits"`        // windows bisected for hitting the row cap
	Commits      int64     `json:"commits"`       // transactions committed
	Aborts       int64     `json:"aborts"`        // transactions aborted
	UpstreamErrs int64     `json:"upstream_errs"` // failed calls
	// Activity is what the report is doing: "" between windows, "loading offsets" (at
	// start, waiting for the transactions open on the offsets topic to end), "reading"
	// (calling Wolkvox, retries included) or "committing" (the Kafka transaction). ActivitySince
	// is when it began or last made progress (an answer arrived), on the wall clock.
	// Stalled is set when an activity made no progress, or the report kept failing,
	// for longer than StallTimeout; it makes the worker not ready.
	Activity      string    `json:"activity,omitempty"`
	ActivitySince time.Time `json:"activity_since,omitzero"`
	// WaitingFor names what the activity waits for, when the connector knows: while
	// offsets load for more than a few seconds, the transactions open on the offsets
	// topic, the oldest three and how many more ("wolkvox-connect-backfill-bogota (open since 12:01:02, aborted by the broker
	// at 12:06:02 UTC unless it ends first)"), each ended by its producer, by a new
	// instance of its transactional ID, or by the broker at its timeout.
	WaitingFor string `json:"waiting_for,omitempty"`
	Stalled    bool   `json:"stalled,omitempty"`
	// FailingSince is when the report's current run of failures (failed calls,
	// aborted transactions, failed windows) began, on the wall clock; zero once a
	// window commits.
	FailingSince time.Time `json:"failing_since,omitzero"`
}

// Status is a snapshot of a connector.
//
// State is the connector's own state, except that a running connector reads
// QUOTA_EXHAUSTED while any of its reports waits for the quota (the quota is the
// token's: every report waits), and BACKING_OFF while every report that has not failed
// is backing off, or while the connector itself is retrying its start (Kafka
// unreachable, say; NextRetry says when). LastError is the connector's own error or,
// when it has none, that of the first report that has one.
type Status struct {
	Name       string    `json:"name"`
	State      State     `json:"state"`
	LastError  string    `json:"last_error,omitempty"`
	NextRetry  time.Time `json:"next_retry,omitzero"`
	QuotaUsed  int64     `json:"quota_used"`
	QuotaLimit int64     `json:"quota_limit"`
	// QuotaReserved is the count of the day kept in the offsets topic: at least
	// QuotaUsed, at most a block of calls more (see KeptIn). A restart, or another
	// worker taking the token over, resumes from it.
	QuotaReserved int64 `json:"quota_reserved"`
	// ProducerMemory is how many bytes of buffered records (in its producer and its
	// transaction's spool) the connector holds now, of ProducerMemoryLimit: the
	// worker's budget, which all its connectors share (see ProducerMemory).
	ProducerMemory      int64          `json:"producer_memory"`
	ProducerMemoryLimit int64          `json:"producer_memory_limit"`
	Reports             []ReportStatus `json:"reports"`
}
