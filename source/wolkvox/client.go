package wolkvox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// MaxRows is the most records the API returns for one call. It says nothing when it cuts
// a result, so a result of MaxRows rows or more must be read again in smaller windows.
const MaxRows = 60000

// dateLayout is how the API wants date_ini and date_end: YYYYmmddHHiiss.
const dateLayout = "20060102150405"

// Client calls the Wolkvox Reports Manager API for one operation (server and token).
// It is safe for concurrent use; its calls queue on its Limiter. It starts no goroutine.
type Client struct {
	cfg *cfg // a pointer, so that printing a Client never shows the token
}

// NewClient returns a Client. Server and Token are required; every other option has a
// default. The options are checked before any I/O; an error wraps ErrInvalidOption and
// names each option at fault.
func NewClient(opts ...Opt) (*Client, error) {
	c := defaultCfg()
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Client{cfg: &c}, nil
}

// String describes the client without its token.
func (c *Client) String() string {
	return fmt.Sprintf("wolkvox.Client{server: %s, base: %s, location: %s}", c.cfg.server, c.cfg.baseURL, c.cfg.location)
}

// GoString is String, so that %#v does not print the token either.
func (c *Client) GoString() string { return c.String() }

// Location returns the time zone windows are formatted in.
func (c *Client) Location() *time.Location { return c.cfg.location }

// CloseIdleConnections closes the HTTP client's idle keep-alive connections and the
// goroutines serving them. The Client remains usable.
func (c *Client) CloseIdleConnections() { c.cfg.httpClient.CloseIdleConnections() }

// Request is one window of one report.
type Request struct {
	Report     string            // api name, e.g. "act_3"
	Start, End time.Time         // the window; formatted in the client's Location, to the second
	Params     map[string]string // the report's own parameters, e.g. cod_act, skill_id
}

// Result is what Read did.
type Result struct {
	// Rows counts the rows handed on by the successful call: to Handler.Row, and to
	// OversizeHandler.Oversize (those are counted in Oversize too).
	Rows  int
	Calls int // HTTP calls made, retries included: each one cost the token a call
	// NoData: the API said the window holds no rows (HTTP 404 or "Validate dates
	// entered").
	NoData bool
	// Capped means the window must be split: the rows handed on are genuine rows of
	// the window, but maybe not all of them. It is set when the body held more than
	// RowCap rows (Read then stops reading after handing on RowCap+1 rows, so Rows is
	// RowCap+1), when it held exactly RowCap rows (the API cuts silently at its cap), and
	// when msg states a count above RowCap (see Stated), whatever data holds.
	Capped bool
	// Stated is the count of records msg states ("1172 records were found"), -1 when
	// msg states none (see StatedCount for what is read as a count). A 200 answer with
	// fewer rows than Stated, not Capped, is never a Result: it fails with
	// ErrCountMismatch and is retried. More rows than Stated are accepted (nested reports
	// count their parents): compare and log as needed.
	Stated int
	// Oversize counts, of Rows, the rows longer than MaxRowBytes handed to
	// OversizeHandler.Oversize.
	Oversize int
}

// Handler receives a window's rows. If an attempt fails after some rows were handed on,
// Reset is called before Read goes on (to retry, or to return): the handler discards
// every row it got since the start of the Read or the last Reset. A handler that cannot
// take its rows back returns an error from Reset: Read then stops, without retrying,
// and returns it wrapped (with the attempt's failure). A Row's cells are the
// handler's only until Row returns: the next row is built in the same slice, which
// saves an allocation a row, so a handler that keeps a row keeps a copy (its strings
// may be kept as they are). Row is called while the HTTP response is being read, so a
// slow handler holds the token's Limiter slot and counts against CallTimeout.
type Handler interface {
	Row(Row) error
	Reset() error
}

// OversizeHandler is a Handler that also takes rows longer than MaxRowBytes. Such a
// row is never decoded nor held in memory: Read skips its text and calls Oversize with
// its start and size, then goes on with the next row. An oversize row counts as a row
// (for Result.Rows, RowCap and Reset). An error from Oversize stops the read as one from
// Row does. Without Oversize, an oversize row fails the attempt with ErrRowTooLarge.
type OversizeHandler interface {
	Handler
	Oversize(OversizeRow) error
}

// OversizeRow is a row longer than MaxRowBytes.
type OversizeRow struct {
	// Prefix is the start of the row's JSON text, at most its first 64 KiB, as sent
	// (the row's opening brace first). It belongs to the handler.
	Prefix []byte
	// Bytes is the length of the row's whole JSON text.
	Bytes int64
}

// Call describes one HTTP call; OnCall receives one after every call.
type Call struct {
	Report     string // api name, "token_info" for TokenInfo
	Start, End time.Time
	Attempt    int // 1 for the first call of a Read, 2 for its first retry...
	Status     int // HTTP status, 0 when no response arrived
	Class      Class
	Rows       int // rows handed on during the call (discarded again unless Class is ClassOK)
	Stated     int // the count of records a 200 body's msg states, -1 for none (see Result.Stated)
	Duration   time.Duration
	Err        error // nil for ClassOK and ClassNoData
}

// outcome is one call's result.
type outcome struct {
	sent       bool // an HTTP request went out (it cost a call)
	class      Class
	status     int
	rows       int
	oversize   int  // of rows, oversize ones
	capped     bool // see Result.Capped
	hasStated  bool // stated is msg's count
	stated     int
	retryAfter time.Duration
	err        error // *ResponseError, *handlerError or a context error
}

// statedCount is Call.Stated of an outcome.
func (o outcome) statedCount() int {
	if !o.hasStated {
		return -1
	}
	return o.stated
}

// Read reads one window: it calls the API through the Limiter, streams the body's rows
// into h, and classifies the outcome.
//
//   - Success: Result.Rows rows were handed on, nil error. Result.Capped says the
//     window holds more rows than one call returns: split it.
//   - No rows (HTTP 404, or msg "Validate dates entered" without rows): Result.NoData, nil.
//   - A 200 body that contradicts itself (msg states more rows than data holds, see
//     Result.Stated), runs past MaxBodyBytes, or holds a row over MaxRowBytes that the
//     handler does not take (see OversizeHandler): transient, with the causes
//     ErrCountMismatch, ErrBodyTooLarge and ErrRowTooLarge.
//   - ErrTransient and ErrTooManyRequests: retried with exponential backoff with jitter
//     (see Backoff), waiting at least the server's Retry-After up to RetryAfterCap;
//     returned, wrapped, when the backoff gives up.
//   - ErrQuotaExhausted, ErrInvalidToken, ErrBadRequest: returned at once, wrapped, as
//     a *ResponseError.
//   - An error from h.Row stops the read and is returned wrapped, without a Reset: the
//     handler knows what it accepted.
//   - ctx ending stops the read, also during a backoff wait; the error wraps ctx's.
//   - An error from the BeforeRetry hook stops the read before the retry is sent and is
//     returned wrapped (with the last failure).
//
// A 200 response whose body code is not 200 is classified as if that code were the
// HTTP status, so a 403 TOKEN LIMIT EXCEEDED sent with status 200 still stops at once;
// a code nothing recognises is transient. Rows the body carried before such a code are
// Reset: an error is never taken for data.
func (c *Client) Read(ctx context.Context, req Request, h Handler) (Result, error) {
	res := Result{Stated: -1}
	u, err := c.reportURL(req)
	if err != nil {
		return res, err
	}
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.cfg.backoffInit),
		backoff.WithMaxInterval(c.cfg.backoffMax),
		backoff.WithMaxElapsedTime(c.cfg.backoffTotal),
	)
	began := time.Now()
	for attempt := 1; ; attempt++ {
		callStart := time.Now()
		out := c.do(ctx, req.Report, u, func(resp *http.Response) outcome {
			return c.readReport(req.Report, u, resp, h)
		})
		if out.sent {
			res.Calls++
			c.report(req, attempt, out, time.Since(callStart))
		}
		if out.rows > 0 && out.class != ClassOK && out.class != ClassHandler {
			if err := h.Reset(); err != nil {
				return res, fmt.Errorf("source: %s %s: %w, after %w", req.Report, c.window(req), err, out.err)
			}
		}
		switch out.class {
		case ClassOK:
			res.Rows, res.Oversize, res.Capped, res.Stated = out.rows, out.oversize, out.capped, out.statedCount()
			return res, nil
		case ClassNoData:
			res.NoData = true
			return res, nil
		case ClassTransient, ClassTooManyRequests:
		default: // permanent, canceled, handler
			return res, fmt.Errorf("source: %s %s: %w", req.Report, c.window(req), out.err)
		}
		wait := b.NextBackOff()
		if wait == backoff.Stop {
			return res, fmt.Errorf("source: %s %s: giving up after %d calls in %v: %w",
				req.Report, c.window(req), res.Calls, time.Since(began).Round(time.Millisecond), out.err)
		}
		if c.cfg.retryAfterCap > 0 && out.retryAfter > wait {
			wait = min(out.retryAfter, c.cfg.retryAfterCap)
		}
		c.cfg.logger.WarnContext(ctx, "retrying wolkvox call", "report", req.Report, "attempt", attempt,
			"class", out.class, "status", out.status, "wait", wait, "err", out.err)
		if err := c.cfg.sleep(ctx, wait); err != nil {
			return res, fmt.Errorf("source: %s %s: stopped while waiting to retry: %w; last failure: %w",
				req.Report, c.window(req), err, out.err)
		}
		if err := c.cfg.beforeRetry(ctx); err != nil {
			return res, fmt.Errorf("source: %s %s: not retried: %w; last failure: %w",
				req.Report, c.window(req), err, out.err)
		}
	}
}

// report tells OnCall and the debug log about one call.
func (c *Client) report(req Request, attempt int, out outcome, d time.Duration) {
	call := Call{Report: req.Report, Start: req.Start, End: req.End, Attempt: attempt, Status: out.status,
		Class: out.class, Rows: out.rows, Stated: out.statedCount(), Duration: d}
	if out.class != ClassOK && out.class != ClassNoData {
		call.Err = out.err
	}
	c.cfg.onCall(call)
	c.cfg.logger.Debug("wolkvox call", "report", req.Report, "attempt", attempt, "status", out.status,
		"class", out.class, "rows", out.rows, "duration", d)
}

func (c *Client) window(req Request) string {
	return req.Start.In(c.cfg.location).Format(dateLayout) + ".." + req.End.In(c.cfg.location).Format(dateLayout)
}

// reportURL checks req and returns the URL to call. Errors wrap ErrBadRequest.
func (c *Client) reportURL(req Request) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("source: %w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	switch {
	case req.Report == "" || strings.Trim(req.Report, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "":
		return bad("report name %q: want letters, digits and underscores", req.Report)
	case req.Start.IsZero() || req.End.IsZero():
		return bad("%s: the window needs a start and an end", req.Report)
	case req.End.Before(req.Start):
		// Both ends are inclusive, whole seconds: Start == End is one second.
		return bad("%s: window end %v is before its start %v", req.Report, req.End, req.Start)
	}
	q := url.Values{}
	for k, v := range req.Params {
		switch k {
		case "api", "date_ini", "date_end":
			return bad("%s: parameter %q is set by the client", req.Report, k)
		}
		q.Set(k, v)
	}
	q.Set("api", req.Report)
	q.Set("date_ini", req.Start.In(c.cfg.location).Format(dateLayout))
	q.Set("date_end", req.End.In(c.cfg.location).Format(dateLayout))
	return c.cfg.baseURL + "/api/v2/reports_manager.php?" + q.Encode(), nil
}

// do sends one GET holding a Limiter slot and the call timeout, and hands the response
// to read. The slot is held until read has consumed the body.
func (c *Client) do(ctx context.Context, report, u string, read func(*http.Response) outcome) outcome {
	if err := c.cfg.limiter.acquire(ctx); err != nil {
		return outcome{class: ClassCanceled, err: err}
	}
	defer c.cfg.limiter.release()
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodGet, u, nil)
	if err != nil {
		return outcome{class: ClassBadRequest, err: c.responseError(report, u, ClassBadRequest, err)}
	}
	// Set directly, not through Header.Set, to send the names byte for byte as documented.
	req.Header["wolkvox-token"] = []string{c.cfg.token.value}
	req.Header["wolkvox_server"] = []string{c.cfg.server}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "wolkvox-connect")
	resp, err := c.cfg.httpClient.Do(req)
	if err != nil {
		out := outcome{sent: true, class: ClassTransient}
		if ctx.Err() != nil {
			out.class, out.err = ClassCanceled, context.Cause(ctx)
			return out
		}
		if callCtx.Err() != nil {
			err = fmt.Errorf("no answer within CallTimeout %v: %w", c.cfg.callTimeout, err)
		}
		out.err = c.responseError(report, u, ClassTransient, c.redactErr(err))
		return out
	}
	defer resp.Body.Close()
	out := read(resp)
	out.sent, out.status = true, resp.StatusCode
	// A body cut short because the caller gave up is not the server's failure.
	if out.class == ClassTransient && ctx.Err() != nil {
		out.class, out.err = ClassCanceled, context.Cause(ctx)
	}
	return out
}

// readReport reads a report's response into h.
func (c *Client) readReport(report, u string, resp *http.Response, h Handler) outcome {
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if resp.StatusCode != http.StatusOK {
		// Error bodies are small; a large one is an error all the same, so read only its start.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		env, _ := decode(bytes.NewReader(body), func(Row) error { return nil })
		class := classify(resp.StatusCode, env)
		out := outcome{class: class, retryAfter: retryAfter}
		if class != ClassNoData {
			out.err = c.bodyError(report, u, resp.StatusCode, env, body, retryAfter, class, nil)
		}
		return out
	}
	head := &prefix{max: maxErrorBody}
	lim := limits{rowCap: c.cfg.rowCap, maxRowBytes: c.cfg.maxRowBytes}
	if oh, ok := h.(OversizeHandler); ok {
		lim.oversize = oh.Oversize
	}
	body := &bodyLimit{r: resp.Body, left: c.cfg.maxBodyBytes}
	env, err := decodeLimits(io.TeeReader(body, head), lim, h.Row)
	capped := errors.Is(err, errCapped) // the code was seen; it decides below
	if capped {
		err = nil
	}
	out := outcome{rows: env.rows, oversize: env.oversize, retryAfter: retryAfter}
	var herr *handlerError
	switch {
	case errors.As(err, &herr):
		out.class, out.err = ClassHandler, herr
		return out
	case err != nil:
		out.class = ClassTransient
	case !env.hasCode:
		out.class, err = ClassTransient, fmt.Errorf("%w: no code", errMalformed)
	case env.code == "200":
		out.class = ClassOK
		out.stated, out.hasStated = StatedCount(env.msg)
		out.capped = capped || env.rows >= c.cfg.rowCap || out.hasStated && out.stated > c.cfg.rowCap
		switch {
		case env.rows == 0 && isNoDataMsg(env.msg):
			out.class = ClassNoData
			return out
		case out.capped || !out.hasStated || env.rows >= out.stated:
			return out
		}
		out.class, err = ClassTransient, fmt.Errorf("%w: msg states %d records, data holds %d rows", ErrCountMismatch, out.stated, env.rows)
	default:
		status, convErr := strconv.Atoi(env.code)
		if convErr != nil || status == http.StatusOK {
			status = 0 // "200.0" and the like: not a code anything recognises
		}
		out.class = classify(status, env)
		if out.class == ClassNoData {
			return out
		}
	}
	out.err = c.bodyError(report, u, resp.StatusCode, env, head.b, retryAfter, out.class, err)
	return out
}

// classify maps an error status (HTTP, or a body's code) and the body's msg to a Class.
// All the documented 403s share one status, so they are told apart by msg; an
// unrecognised 403 is maintenance or something new, hence transient.
func classify(status int, env envelope) Class {
	msg := strings.ToUpper(env.msg)
	switch {
	case status == http.StatusNotFound || isNoDataMsg(env.msg):
		return ClassNoData
	case status == http.StatusUnauthorized:
		return ClassInvalidToken
	case status == http.StatusBadRequest:
		return ClassBadRequest
	case status == http.StatusTooManyRequests:
		return ClassTooManyRequests
	case status != http.StatusForbidden:
		return ClassTransient
	case strings.Contains(msg, "TOKEN LIMIT EXCEEDED"):
		return ClassQuotaExhausted
	case strings.Contains(msg, "SIMULTANEOUS"):
		return ClassTooManyRequests
	case strings.Contains(msg, "VALIDATE TOKEN"), strings.Contains(msg, "ENTER THE WOLKVOX-TOKEN"):
		return ClassInvalidToken
	}
	return ClassTransient
}

// statedRE is what StatedCount reads as a count.
var statedRE = regexp.MustCompile(`(?i)^\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\s+records?\b`)

// StatedCount reads the count of records a 200 answer's msg states, and whether it
// states one. The live API's msg varies ("1172 records were found", "x records were are
// found", leading spaces, "Information found for the current month"), so a count is
// read only when msg clearly states one: optional leading white space, then a whole
// number, either plain digits ("1172") or digits grouped by commas in threes ("1,172"),
// then white space and the word "record" or "records" (any case) ending there or
// followed by a non-word character. Anything else states no count. A number too large
// for an int reads as math.MaxInt: it clearly states more than any cap.
func StatedCount(msg string) (int, bool) {
	m := statedRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if err != nil { // only ErrRange can happen: the digits matched
		return math.MaxInt, true
	}
	return n, true
}

// isNoDataMsg reports the msg the API sends for a window without rows.
func isNoDataMsg(msg string) bool {
	return strings.EqualFold(strings.TrimSpace(msg), "Validate dates entered")
}

func (c *Client) responseError(report, u string, class Class, cause error) *ResponseError {
	return &ResponseError{Report: report, URL: redactURL(u), Class: class, Cause: cause}
}

func (c *Client) bodyError(report, u string, status int, env envelope, body []byte, retryAfter time.Duration, class Class, cause error) *ResponseError {
	e := c.responseError(report, u, class, c.redactErr(cause))
	e.StatusCode, e.RetryAfter = status, retryAfter
	e.Code, e.ErrorText, e.Msg = c.redact(env.code), c.redact(env.errorText), c.redact(env.msg)
	e.Body = []byte(c.redact(string(body)))
	return e
}

// redact removes the token from text that came from the server, which may echo it.
func (c *Client) redact(s string) string {
	if c.cfg.token.value == "" || !strings.Contains(s, c.cfg.token.value) {
		return s
	}
	return strings.ReplaceAll(s, c.cfg.token.value, "[REDACTED]")
}

// redactErr hides the token in an error's text while keeping its chain for errors.Is.
func (c *Client) redactErr(err error) error {
	if err == nil || !strings.Contains(err.Error(), c.cfg.token.value) {
		return err
	}
	return &redactedError{text: c.redact(err.Error()), err: err}
}

type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redactURL drops user info from a URL for errors and logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User = nil
	return p.String()
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// bodyLimit reads at most left bytes of r; past them it fails with ErrBodyTooLarge
// unless r ends exactly there.
type bodyLimit struct {
	r    io.Reader
	left int64
	n    int64 // bytes read
}

func (b *bodyLimit) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		var probe [1]byte
		n, err := io.ReadAtLeast(b.r, probe[:], 1)
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, b.n)
		}
		return 0, err
	}
	p = p[:min(int64(len(p)), b.left)]
	n, err := b.r.Read(p)
	b.left -= int64(n)
	b.n += int64(n)
	return n, err
}

// prefix keeps the first max bytes written to it.
type prefix struct {
	b   []byte
	max int
}

func (p *prefix) Write(b []byte) (int, error) {
	if room := p.max - len(p.b); room > 0 {
		p.b = append(p.b, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

// TokenInfo is the token's daily quota, from information.php?api=token_info.
type TokenInfo struct {
	Limit     int64 // calls allowed per day (token_limit)
	UsedToday int64 // calls made today (token_use_today), this one included
}

// Remaining returns the calls left today.
func (t TokenInfo) Remaining() int64 { return max(t.Limit-t.UsedToday, 0) }

// TokenInfo asks the API for the token's quota. It costs one call, proves that server
// and token are right, and is made once, without retries, so that a probe never spends
// more than one call. A 404 means the server has no such endpoint: ErrBadRequest.
func (c *Client) TokenInfo(ctx context.Context) (TokenInfo, error) {
	const report = "token_info"
	u := c.cfg.baseURL + "/api/v2/information.php?api=token_info"
	var info TokenInfo
	began := time.Now()
	out := c.do(ctx, report, u, func(resp *http.Response) outcome {
		var err error
		info, err = c.readTokenInfo(u, resp)
		if err == nil {
			return outcome{class: ClassOK}
		}
		var re *ResponseError
		if errors.As(err, &re) {
			return outcome{class: re.Class, err: err}
		}
		return outcome{class: ClassTransient, err: err}
	})
	if out.sent {
		c.report(Request{Report: report}, 1, out, time.Since(began))
	}
	if out.class != ClassOK {
		return TokenInfo{}, fmt.Errorf("source: token_info: %w", out.err)
	}
	return info, nil
}

func (c *Client) readTokenInfo(u string, resp *http.Response) (TokenInfo, error) {
	const report = "token_info"
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	env, decErr := decode(bytes.NewReader(body), func(Row) error { return nil })
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	fail := func(class Class, cause error) (TokenInfo, error) {
		return TokenInfo{}, c.bodyError(report, u, resp.StatusCode, env, body, retryAfter, class, cause)
	}
	status := resp.StatusCode
	if status == http.StatusOK && env.hasCode && env.code != "200" {
		status, _ = strconv.Atoi(env.code)
	}
	switch class := classify(status, env); {
	case status == http.StatusNotFound:
		return fail(ClassBadRequest, nil)
	case status != http.StatusOK && class == ClassNoData:
		return fail(ClassTransient, nil) // "Validate dates entered" means nothing here
	case status != http.StatusOK:
		return fail(class, nil)
	case readErr != nil:
		return fail(ClassTransient, fmt.Errorf("reading body: %w", readErr))
	case decErr != nil:
		return fail(ClassTransient, decErr)
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return fail(ClassTransient, fmt.Errorf("%w: %w", errMalformed, err))
	}
	limit, okLimit := findInt(doc, "token_limit")
	used, okUsed := findInt(doc, "token_use_today")
	if !okLimit || !okUsed {
		return fail(ClassTransient, fmt.Errorf("%w: no token_limit and token_use_today", errMalformed))
	}
	return TokenInfo{Limit: limit, UsedToday: used}, nil
}

// findInt looks for key anywhere in a decoded JSON document, since the shape of
// token_info's body is not documented, and reads its value as a whole number, sent as a
// number or as a string ("3,000" included).
func findInt(doc any, key string) (int64, bool) {
	switch v := doc.(type) {
	case map[string]any:
		if raw, ok := v[key]; ok {
			s := strings.ReplaceAll(strings.TrimSpace(fmt.Sprint(raw)), ",", "")
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, true
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
				return int64(f), true
			}
		}
		for _, child := range v {
			if n, ok := findInt(child, key); ok {
				return n, true
			}
		}
	case []any:
		for _, child := range v {
			if n, ok := findInt(child, key); ok {
				return n, true
			}
		}
	}
	return 0, false
}
