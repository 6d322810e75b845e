// Package sink writes a window of a report to Kafka in one transaction: its events on
// the per-report topic, its dead letters, and the offset record that says the window
// was delivered. Either all of them become visible to read_committed consumers or none
// does, so a crash at any instant neither loses nor repeats a row.
//
// [Writer] owns one transactional client with a stable transactional ID per connector:
// [Writer.Open] fences any previous instance; [Writer.Begin] opens a [Txn] that records
// stream into as they come (never waiting for the broker: what the producer's bounded
// buffer cannot hold waits in the transaction's spool, memory then a temporary file) and
// that [Txn.Commit] ends with the offset record. A [Budget] bounds the memory of the
// buffered records of every writer that shares it ([SharedBudget]), a worker's
// connectors together; [Writer.Commit] writes a whole [Batch]
// that way. The errors in errors.go say what the caller should do next (retry, fix the
// records, or stop because another instance took over). [TopicName], [EventRecord] and
// [DeadLetter] build the topics and records; [NewEvent] builds an event in the memory of
// one already produced, which its transaction takes back once the broker has it;
// [Writer.CheckSize] (or a topic's [SizeLimit], kept for many records) refuses a record
// its topic could never take, before it fails a transaction.
//
// [Reader] reads topics back as read_committed consumers see them: from the start or the
// end, up to the last stable offset or on with [Follow], reporting records lost under
// it ([DataLossError]). [ReadCommitted] is its common case, used by the offsets store, a
// backfill and the demo; tail follows a topic with it.
package sink
