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
//	GET    /connectors                     ["name", ...]; ?expand=status&expand=info (or
//	                                       expand=status,info): {"name": {"status", "info"}}
//	GET    /connectors/{name}              name, config, tasks, type; reports, topics
//	GET    /connectors/{name}/config       the configuration as a map of strings (secrets hidden)
//	GET    /connectors/{name}/status       connector, tasks, type; quota, producer memory, per-report progress
//	GET    /connectors/{name}/tasks        [{"id": {"connector", "task"}, "config"}], one per report
//	GET    /connectors/{name}/tasks/{id}/status   id, state, worker_id, trace (while FAILED)
//	POST   /connectors/{name}/tasks/{id}/restart  204; restarts the connector (see below)
//	GET    /connectors/{name}/topics       {"name": {"topics": [...]}}, KIP-558's active topics
//	PUT    /connectors/{name}/topics/reset 202; empties the active topics
//	GET    /connector-plugins              [{"class", "type": "source", "version"}]
//	GET    /admin/loggers                  {"root": {"level", "last_modified"}}
//	GET    /admin/loggers/root             {"level", "last_modified"}
//	PUT    /admin/loggers/root             {"level": "DEBUG"} → ["root"]; ?scope=cluster → 204
//	PUT    /connectors/{name}/pause        202; reads stop after the current window
//	PUT    /connectors/{name}/resume       202; a STOPPED connector is started again
//	PUT    /connectors/{name}/stop         202 once stopped (or once StopTimeout elapsed)
//	POST   /connectors/{name}/restart      204; ?onlyFailed=true restarts only a FAILED one,
//	                                       &includeTasks=true also one with a FAILED report;
//	                                       either answers 202 with the status
//	GET    /connectors/{name}/offsets      {"offsets":[{"partition":{…},"offset":{…}}]}
//	PATCH  /connectors/{name}/offsets      same shape; "offset": null resets; STOPPED only
//	DELETE /connectors/{name}/offsets      resets every report; STOPPED only
//	GET    /healthz                        200 while the process serves
//	GET    /readyz                         200, or 503 with the reasons
//	GET    /metrics                        Prometheus text format
//
// Errors answer {"error_code": N, "message": "..."}: 400 for a malformed body, 401
// without the bearer token (when one is configured; /healthz and /readyz stay open for
// probes), 404 for an unknown connector, task, logger or path, 405 with an Allow header for a wrong
// method, 409 when offsets are changed on a connector that is not STOPPED, 500 otherwise.
//
// # Kafka Connect's entities
//
// The answers are Kafka Connect's REST entities (ServerInfo, ConnectorInfo,
// ConnectorStateInfo, TaskInfo, ConnectorOffsets, ActiveTopicsInfo, PluginInfo,
// LoggerLevel, ErrorMessage), read back with Connect's own classes in deploy/check's
// TestConnectREST, so Connect tooling (kcctl, Kafka UI, Connect clients) reads them.
// Where a worker without tasks of its own had to be mapped onto them:
//
//   - A task is a report: task N of a connector is its N-th report in the order of the
//     configuration file, and reports[N] of the status is the detail of tasks[N]. The
//     ids stay as long as that order does. The reports of a connector are read by one
//     goroutine through one transactional producer, so restarting a task restarts its
//     connector; every report goes on from its committed offsets, nothing is lost or
//     written twice.
//   - States are Connect's in connector.state and tasks[].state: BACKING_OFF and
//     QUOTA_EXHAUSTED are a running connector waiting, so RUNNING there; ours stay in
//     connector.wolkvox_state and reports[].state. trace is the last error while FAILED.
//     worker_id is the WorkerID option, or else the address the API listens on (the
//     host's name for one on every interface).
//   - The configuration is Connect's map of strings: the configuration file's names,
//     a report's under "reports.N." (its parameters under "reports.N.params."), with
//     connector.class (ConnectorClass) and tasks.max (the number of reports) added.
//     It is read-only: connectors come from the configuration file, validated as a
//     whole with secrets from the environment, so POST /connectors, PUT
//     .../config and DELETE /connectors/{name} answer 405 saying so.
//   - Active topics (KIP-558) are the topics of the reports that delivered rows since
//     the last PUT .../topics/reset or since the server was built: kept in memory, not
//     in a status topic, and counted by [Metrics] when the server has one (WithMetrics),
//     across restarts of the connector. The offsets and dead-letter topics, shared by
//     every connector, are not listed.
//   - /admin/loggers has one logger, "root", the level of the LevelVar given with the
//     LogLevel option (without it the routes answer 404): DEBUG, INFO, WARN or ERROR.
//     last_modified is when PUT last set it.
//   - Extensions, members Connect's entities do not have (a client reading with
//     Connect's classes must ignore unknown properties, or drop these): reports and
//     topics in ConnectorInfo; quota, producer_memory and reports in
//     ConnectorStateInfo; wolkvox_state, last_error and next_retry in its connector;
//     error in an offsets entry that cannot be read.
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
