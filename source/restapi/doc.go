// Package restapi serves a worker's REST API and its Prometheus metrics, shaped like
// Kafka Connect's so that its users' habits, scripts and dashboards carry over.
//
// The key types are [Server] (built by [New] over a [WorkerAPI], which
// *connector.Worker satisfies; [Server.Handler] for tests and embedding, [Server.Serve]
// to listen) and [Metrics] (a connector.Observer for counters and a
// prometheus.Collector that reads gauges from the worker's status on each scrape, plus
// [Metrics.KafkaHooks] for the franz-go clients). Failed requests answer [Error].
//
// # Endpoints
//
//	GET    /                               version, commit, kafka_cluster_id (when known)
//	GET    /connectors                     ["name", ...]
//	GET    /connectors/{name}              name, config (token redacted), reports, topics
//	GET    /connectors/{name}/status       connector state, quota, per-report progress
//	PUT    /connectors/{name}/pause        202; reads stop after the current window
//	PUT    /connectors/{name}/resume       202; a STOPPED connector is started again
//	PUT    /connectors/{name}/stop         202 once stopped (or once StopTimeout elapsed)
//	POST   /connectors/{name}/restart      204; ?onlyFailed=true restarts only a FAILED one
//	GET    /connectors/{name}/offsets      {"offsets":[{"partition":{…},"offset":{…}}]}
//	PATCH  /connectors/{name}/offsets      same shape; "offset": null resets; STOPPED only
//	DELETE /connectors/{name}/offsets      resets every report; STOPPED only
//	GET    /healthz                        200 while the process serves
//	GET    /readyz                         200, or 503 with the reasons
//	GET    /metrics                        Prometheus text format
//
// Errors answer {"error_code": N, "message": "..."}: 400 for a malformed body, 401
// without the bearer token (when one is configured; /healthz and /readyz stay open for
// probes), 404 for an unknown connector or path, 405 with an Allow header for a wrong
// method, 409 when offsets are changed on a connector that is not STOPPED, 500 otherwise.
//
// # Choices where Kafka Connect had nothing to copy
//
//   - Offsets are Kafka Connect's KIP-875 shape: the partition is the report's source
//     partition ({"server","report", parameters…}) and the offset is the position JSON as
//     stored in the offsets topic. A stored value that cannot be read is listed with
//     "offset": null and an "error" member. PATCH refuses a position for a partition the
//     connector does not read (a typo in a parameter would otherwise write an offset
//     nothing ever reads) and a reset of a partition that is neither read nor stored.
//   - A paused connector finishes its current window first. Resume on a STOPPED
//     connector starts a fresh instance from the committed offsets, as Connect's resume
//     does; pause on a STOPPED connector leaves it STOPPED. Restart always starts a
//     fresh instance from the committed offsets, a STOPPED connector's included.
//   - Status times are RFC 3339 in the operation's time zone; null means "not yet"
//     (no row delivered, no poll planned). lag_seconds is now minus last_seen.
//   - Metrics of calls are labelled by api rather than report: a call carries the
//     report's API name but not its parameters (see [Metrics]).
//   - /readyz is not ready while a connector or any of its reports is FAILED (a failed
//     report stays failed until someone acts), while a connector has not started yet
//     (Kafka unreachable: it retries with backoff), and while a report is stalled: a
//     read or commit without progress, or failures without a commit, for longer than
//     the connector's StallTimeout (5 minutes by default). A short BACKING_OFF and
//     QUOTA_EXHAUSTED are waits the worker recovers from on its own, and count as ready.
//   - Every action (any method but GET and HEAD) is logged at info with the remote
//     address, whether the bearer token was required, what was asked and the result;
//     reads are logged at debug.
package restapi
