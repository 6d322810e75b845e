// Package replay reads reports back from their Kafka topics, never from Wolkvox: the
// latest version of each row whose event time lies in a range, written as JSON lines,
// as an Avro object container file, or into another topic in one transaction.
//
// The key types are [Replayer] (built by [New] with a [Report] list, the range and an
// [Output], driven by [Replayer.Run]), the outputs [JSONLines], [OCF] and [ToTopic],
// [Progress] (what a running replay has done, for a progress bar) and [Counts] (what it
// did).
//
// # Latest version
//
// The connector keys every event with its row's identity and produces it with the
// default (murmur2) partitioner, so all versions of a row are on one partition, in the
// order they were committed: the latest is the one with the highest offset. Only if
// the topic's partitions were added to later can one key sit on two partitions; then
// the version read in the later window (the wolkvox.window.end header) wins.
// A tombstone as the latest version deletes the row. Keyless records are
// not deduplicated.
//
// # Two passes, bounded memory
//
// A replay reads each report's topic twice, read_committed. The first pass records,
// per key, where its latest version is, without decoding; the second reads the topic
// again and emits only those records, decoded, whose event time (wv_event_time, or
// wv_window_start for rows without a time) lies in [from, to). Records committed
// after the first pass began are ignored: the replay is a snapshot of the topic as of
// then. Memory is bounded by the number of distinct keys of one topic: each takes a
// 16-byte digest of the key (SHA-256, truncated) and its 24-byte position, 50 to 100
// bytes with the map's overhead (measured with Go 1.26: 101 bytes a key at one
// million keys, 67 at three million, as the map grows by doubling), so one million
// rows take at most about 100 MB and ten million about 1 GB; records themselves are
// streamed (the output's buffers are bounded: the producer's buffered records, the
// OCF block).
//
// # Crash behaviour
//
// [ToTopic] writes the whole replay in one Kafka transaction under a stable
// transactional ID: read_committed consumers see all of it or none. A crash, a kill or
// an error mid-replay leaves an open transaction that the broker aborts when the
// transaction timeout passes, or at once when the replay is run again (its producer
// fences the old one): running it again starts over and writes each row once. The
// whole replay must fit in the transaction timeout ([TransactionTimeout], at most the
// broker's transaction.max.timeout.ms). JSON lines and OCF files written by a run that
// fails are incomplete; [Replayer.Run] says so with its error.
package replay
