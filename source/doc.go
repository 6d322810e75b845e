// Package source reads reports from the Wolkvox Reports Manager API.
//
// [Client] makes the calls: it formats windows in the operation's time zone, shares one
// in-flight limiter per token, retries transient failures with backoff, classifies every
// other outcome as a typed error, and decodes each response as a stream of [Row] values.
// The report catalog lives in the catalog subpackage and a faithful fake of the API in
// the simulator subpackage.
package source
