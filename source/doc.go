// Package source is the polling source, as Kafka Connect means it: it runs each Wolkvox
// operation end to end, exactly once. Per report it plans the next window, reads it
// through the Wolkvox client (source/wolkvox), bisecting windows that hit the API's row
// cap, recognises rows already delivered, converts and encodes the new ones (schemas),
// and streams them, their dead letters and the report's offset into one Kafka
// transaction (sink, offsets) that commits the window.
//
// The key types are [Connector] (one operation, built by [New] and driven by Run), its
// [Config] and [ReportConfig], [Destination] (the Kafka side: cluster, topics,
// transactional IDs, passed in with [WriteTo]), [Worker] (several connectors in one
// process, with pause, resume, stop and restart, as a Kafka Connect worker, and offset
// administration: [Worker.ListPositions], [Worker.PlanOffsets] returning an
// [OffsetPlan] that says what a change does, [Worker.ApplyOffsets]; with [Assigned], one
// of a group of workers that runs what [Worker.Assign] gives it, see package cluster),
// [Quota] (the daily call budget of a token, its count kept in a [Ledger] so that it
// survives restarts and moves) and [Redactor] (the secrets hidden from logs and status).
// [Backfill] turns a connector into a one-off re-read of a past range.
//
// Where a row goes, file by file: window.go plans the window; poll.go reads it (the
// client fetches and decodes it), bisecting and reading again as needed; stream.go takes
// each row as it is decoded into the window's open transaction and commits it;
// identity.go recognises rows already delivered; schemas converts and encodes each row;
// sink writes the transaction;
// offsets remembers where each report stands. quota.go paces the token's calls,
// worker.go runs connectors side by side, admin.go changes their positions, status.go
// says what each is doing.
//
// Beside it: source/config (the configuration file: types, strict loading, secrets,
// validation, the quota plan), source/wolkvox (the HTTP client of the Reports Manager
// API), source/simulator (a faithful fake of that API), source/restapi (the REST API and
// the Prometheus metrics) and source/connectortest (ground-truth checks for tests).
package source
