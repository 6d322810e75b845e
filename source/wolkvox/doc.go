// Package wolkvox reads reports from the Wolkvox Reports Manager API: it is where a row is
// fetched and decoded.
//
// [Client] makes the calls: it formats windows in the operation's time zone, shares one
// in-flight [Limiter] per token, retries transient failures with backoff, classifies every
// other outcome as a typed error, and decodes each response as a stream of [Row] values.
// The report catalog lives in schemas/catalog, the raw row in schemas (Row is an alias),
// and a faithful fake of the API in source/simulator.
//
// The types to know:
//   - [Client], made by [NewClient] with options ([Server] and [Token] are required);
//     [Client.Read] reads one [Request] (a report and a window) into a [Handler] and
//     returns a [Result]; [Client.TokenInfo] reads the token's daily quota.
//   - [Handler] receives rows one at a time while the body streams in, and is Reset when
//     an attempt that handed rows on fails: a 256 MB response is never held in memory.
//     What one answer may cost is bounded: [RowCap] rows (past it, [Result].Capped says
//     to split the window), [MaxBodyBytes] bytes, [MaxRowBytes] per row (a longer row
//     goes to an [OversizeHandler], unread). An answer whose msg states more records
//     than it holds fails with [ErrCountMismatch] and is retried.
//   - [ResponseError] describes a failed call; it unwraps to one of the sentinels
//     [ErrQuotaExhausted], [ErrTooManyRequests], [ErrInvalidToken], [ErrBadRequest] and
//     [ErrTransient], so callers branch with errors.Is and inspect with errors.As.
//   - [Call] reports every HTTP call, retries included, to the [OnCall] function: the
//     token's daily quota is the scarcest resource, and metrics count what it costs.
//
// The token never appears in a log line, an error or a printed Client.
package wolkvox
