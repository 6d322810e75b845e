// Package offsets stores how far each report has been delivered, in a compacted Kafka
// topic laid out the way Kafka Connect lays out source offsets, so the usual tooling
// (kcat, KIP-875 mental models, tombstone resets) keeps working.
//
// A record's key is a [Key] (connector, server, report and report parameters) encoded as
// Connect's JSON array ["<connector>",{partition map}]; its value is a [Position]: the
// newest row time delivered, where the next window starts, the identities of the rows
// already delivered inside the lookback (so overlapping re-reads are deduplicated) and a
// small map for other cursors. A null value (tombstone) resets the report.
//
// Positions are written by the sink in the same transaction as the events they describe
// ([Record]); [Store] reads them back under read_committed (Load, where a connector
// resumes, to the high watermark, waiting for the transactions open there; List, what
// operators see, to the last stable offset), names those transactions
// ([OpenTransaction]), and sets or resets a position with a transactional write.
// [EnsureTopic] creates the topic compacted and refuses one that is not.
//
// The same topic keeps each token's call count of the day: a [QuotaUsage] under
// [QuotaKey] (not Connect's key shape, so Connect's tools and [Store] pass it by),
// written by a [Ledger] under a transactional ID of the token's own.
package offsets
