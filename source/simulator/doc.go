// Package simulator is a faithful, deterministic fake of the Wolkvox Reports Manager
// API, for tests and demos of the connector. Everything it serves and every rule it
// enforces follows the project's API notes, quirks included; the reports and their
// fields come from the catalog package.
//
// The types to know: [Server] (New, Handler, Start, URL, Close, Truth, Stats), [Opt]
// (its options), [VirtualClock] (time that tests move), [Faults] (what to break) and
// [TruthRow] (what a complete consumer must have).
//
// # Data
//
// Each report has underlying events: per unix minute, a count drawn around the report's
// rate (RowsPerMinute; full from 08:00 to 18:00 local time, lower outside, unless
// FlatRate), plus any Burst. Every event and every value is a hash of (seed, report,
// minute, index): nothing is stored, any window can be answered, and the same window
// reads the same bytes until its data change. Values follow the catalog's field types
// and names: dotted conn_ids whose third part is the interaction's Unix epoch, local
// "YYYY-MM-DD HH:MM:SS" times (agent_8's YYYYMMDD dates and skill_4's integer hours as
// the catalog's quirks say), "H:MM:SS" durations with and without a padded hour,
// "34.64 %" and now and then "9,336.00 %", "-" and "--" placeholders, q01..qNN,
// opt1..opt12 and service_level_Nseg columns, typo and trailing-space keys as
// catalogued, cdr_4's data as an object, agent_5/agent_11/chat_2 nested. Fields the
// catalog types "string" but whose names say otherwise (inbound, aht, occupancy…) get
// values of that kind. Every value is a JSON string unless Lenient is set.
//
// Detail rows: one per event, dated by the report's time field. A window [date_ini,
// date_end] includes both ends, as SQL BETWEEN would, so adjacent windows sharing a
// second both return its rows. Rows are sorted by time. Several rows may share an
// interaction when the report's key says so (diagram_13: conn_id + second_event +
// cod_opc_menu; chat_2's conversation). Within a minute, an event whose key repeats an
// earlier one's is dropped, so keys identify rows; keys that name neither the time nor
// an interaction id could still repeat across minutes.
//
// Late rows: a row becomes visible at its time plus up to 20 s, or, for a LateRows
// fraction (default 10%), between 1 minute and the late delay (default 15 minutes).
// Edits: for detail reports with key fields and editable fields (typification,
// result, status, comments, feeling, last_update…), an Edits fraction (default 5%) of
// rows change after they appear, once or twice, each up to the edit delay (default 30
// minutes) after the previous version; an edited row's typification is empty until its
// first edit; last_update takes the edit's time. Filters by cod_act therefore pick a
// row up only once it is typified.
//
// Aggregates: computed as the API's SQL would, over the events in the window that are
// visible now, grouped by the report's key fields (agent, skill, channel…) and, for
// bucketed reports, by bucket (aligned to local midnight). A window read after it is
// settled (its end plus the late delay) never changes; a bucket still filling does.
//
// Parameters: skill_id, campaign_id (campaing_id in campaign_9), agent_id and
// customer_id keep matching rows unless empty or "all"; cod_act is required where the
// catalog says so but, its effect being undocumented, is ignored; services_time=N adds
// service_level_Nseg to skill_1 (service_level_0seg = "0 %" without it, or for 10, 20,
// 30).
//
// # Rules
//
// Checks run in this order; the HTTP status always equals the body's code:
//
//   - During a maintenance window (Faults.Maintenance): 403 with an HTML page, free.
//   - No wolkvox-token header: 401 UNAUTHORIZED "PLEASE ENTER THE WOLKVOX-TOKEN", free.
//   - Unknown token, or a wolkvox_server header naming another server than the token's:
//     403 FORBIDDEN "PLEASE VALIDATE TOKEN", free.
//   - Quota spent for the day (DailyQuota, reset at QuotaResetHour local time): 403
//     FORBIDDEN "TOKEN LIMIT EXCEEDED", free. From here on every call costs 1,
//     information.php?api=token_info included.
//   - Two calls of the token already in flight: 403 FORBIDDEN "EXCEEDS THE LIMIT OF
//     SIMULTANEOUS REQUESTS PER TOKEN (2)" (it costs: the server counted it).
//   - Injected fault, if the plan draws one (see Faults); latency applies first.
//   - api unknown to the catalog or missing: 400 BAD REQUEST "THE API YOU WANT TO
//     CONSULT DOES NOT EXIST". A catalog report left out by Reports answers 404
//     "Validate dates entered", as the live API does for a report a server lacks.
//   - date_ini, date_end or a required parameter missing: 400 BAD REQUEST "SOME
//     PARAMETERS ARE REQUIRED".
//   - A date that is not fourteen digits naming a real local time, date_end before
//     date_ini, or a range longer than the report's maximum (31 days; skill_5 24 hours;
//     the limit itself is allowed): 404 NOT FOUND "Validate dates entered". The live
//     answer to an over-long range was never captured; this one is what a client must
//     already handle for a bad window.
//   - No rows: 404 NOT FOUND "Validate dates entered".
//   - Otherwise 200 with {"code","error":null,"msg","data"}; code is "200" or 200 and msg
//     one of "N records were found", "N records were are found", "  N records were
//     found" or, for range reports, "Information found for the current month", fixed per
//     window. At most 60,000 top-level elements of data are returned (the earliest),
//     silently.
//
// information.php also answers api=agents, skills and campaigns with the simulated
// operation's dimension tables; token_info's data is an object {"token_limit",
// "token_use_today"} (after counting the call itself).
//
// # Ground truth
//
// [Server.Truth] returns what a complete and exact consumer holds: each detail row's
// versions with their identity (the key fields' values, JSON-encoded), when each
// appeared and when it was superseded; for aggregates, one row per group of each
// closed bucket that has settled, with its final values and the bucket start in its
// identity. Range reports use the connector's fixed bucket (TruthQuery.Bucket, default
// 1 h); bucketed reports their own. Truth ignores truncation.
//
// # Control API
//
// Served by Handler next to the API, without token or quota:
//
//	GET  /_sim/stats     counters per token (calls, by status, quota, in flight) as JSON
//	GET  /_sim/faults    the fault plan
//	POST /_sim/faults    replace it: {"status_503":0.1,"retry_after":2000000000,
//	                     "maintenance":[{"from":"…","to":"…"}]} (durations in ns)
//	GET  /_sim/clock     {"now","local","speed","virtual"}
//	POST /_sim/clock     {"set":"2026-03-10T15:00:00-05:00","advance":"5m","speed":60}
//	                     (409 unless the clock is a VirtualClock)
//	GET  /_sim/truth     ?api=&from=&to=[&as_of=][&bucket=1h][&params] (dates
//	                     YYYYmmddHHiiss, local): Truth as JSON
//
// Calls hung by a fault hold their in-flight slot until the client gives up or Close
// runs; Close waits for every goroutine the server started.
package simulator
