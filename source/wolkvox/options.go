package wolkvox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Opt configures a Client. Options are made by the functions of this package only.
type Opt interface{ apply(*cfg) }

type clientOpt struct{ fn func(*cfg) }

func (o clientOpt) apply(c *cfg) { o.fn(c) }

// secret holds the token. The client keeps it behind a pointer so that printing a
// Client or its configuration with %v or %+v shows an address, never the token.
type secret struct{ value string }

type cfg struct {
	server        string
	token         *secret
	baseURL       string // empty: https://wv{server}.wolkvox.com
	location      *time.Location
	locationSet   bool // Location was given, maybe nil
	httpClient    *http.Client
	callTimeout   time.Duration
	limiter       *Limiter
	backoffInit   time.Duration
	backoffMax    time.Duration
	backoffTotal  time.Duration
	retryAfterCap time.Duration
	logger        *slog.Logger
	onCall        func(Call)
	beforeRetry   func(context.Context) error
	rowCap        int
	maxBodyBytes  int64
	maxRowBytes   int

	// sleep waits between attempts; tests replace it to observe the waits.
	sleep func(ctx context.Context, d time.Duration) error
}

// Defaults, each documented on its option.
const (
	DefaultCallTimeout    = 90 * time.Second
	DefaultBackoffInitial = time.Second
	DefaultBackoffMax     = 2 * time.Minute
	DefaultBackoffTotal   = 10 * time.Minute
	DefaultRetryAfterCap  = 5 * time.Minute
	// DefaultMaxBodyBytes is twice the 256 MB the API documents as its largest answer.
	DefaultMaxBodyBytes int64 = 512 << 20
	DefaultMaxRowBytes        = 16 << 20
)

func defaultCfg() cfg {
	return cfg{
		callTimeout:   DefaultCallTimeout,
		backoffInit:   DefaultBackoffInitial,
		backoffMax:    DefaultBackoffMax,
		backoffTotal:  DefaultBackoffTotal,
		retryAfterCap: DefaultRetryAfterCap,
		rowCap:        MaxRows,
		maxBodyBytes:  DefaultMaxBodyBytes,
		maxRowBytes:   DefaultMaxRowBytes,
		sleep:         sleepCtx,
	}
}

// Server sets the operation's server number, the digits of wv{server}.wolkvox.com
// ("0040"). Required: it names the default host and is sent in the wolkvox_server header.
func Server(server string) Opt { return clientOpt{func(c *cfg) { c.server = server }} }

// Token sets the wolkvox-token. Required. The client never logs it, never puts it in an
// error, and redacts it from any response body it keeps.
func Token(token string) Opt { return clientOpt{func(c *cfg) { c.token = &secret{token} }} }

// BaseURL replaces the default base, https://wv{server}.wolkvox.com, with another
// scheme://host[:port][/path] (a simulator, a proxy, a test server). Paths such as
// /api/v2/reports_manager.php are appended to it.
func BaseURL(base string) Opt { return clientOpt{func(c *cfg) { c.baseURL = base }} }

// Location sets the operation's time zone, in which windows are formatted for the API.
// The default is America/Bogota, the zone of the operations seen so far; when the
// system has no zone database it falls back to a fixed UTC-5, which is what Bogota has
// kept since 1993.
func Location(loc *time.Location) Opt {
	return clientOpt{func(c *cfg) { c.location, c.locationSet = loc, true }}
}

// HTTPClient sets the HTTP client, for proxies, TLS settings or tests. The default is a
// client of its own with a clone of http.DefaultTransport. Its Timeout, if any, applies
// on top of CallTimeout. The client uses a copy of it that follows no redirect.
func HTTPClient(hc *http.Client) Opt { return clientOpt{func(c *cfg) { c.httpClient = hc }} }

// CallTimeout bounds one HTTP call, its body read to the end included, overriding the
// default of 90s: above the API's own 60 s limit, so the server gives up first.
func CallTimeout(d time.Duration) Opt { return clientOpt{func(c *cfg) { c.callTimeout = d }} }

// WithLimiter sets the Limiter of calls in flight. Clients sharing a token must share one
// Limiter. The default is a new Limiter(1) per Client.
func WithLimiter(l *Limiter) Opt { return clientOpt{func(c *cfg) { c.limiter = l }} }

// Backoff sets the exponential backoff between retries of a transient failure: the first
// wait, the longest wait, and the total time after which Read gives up (0: never, until
// its context ends). Waits are jittered by ±50%. The defaults are 1s, 2m and 10m.
func Backoff(initial, max, maxElapsed time.Duration) Opt {
	return clientOpt{func(c *cfg) { c.backoffInit, c.backoffMax, c.backoffTotal = initial, max, maxElapsed }}
}

// RetryAfterCap bounds how long a server's Retry-After may hold a retry back, overriding
// the default of 5m, so that a wrong header cannot stall the connector. 0 ignores
// Retry-After.
func RetryAfterCap(d time.Duration) Opt { return clientOpt{func(c *cfg) { c.retryAfterCap = d }} }

// Logger sets the logger; the client adds component=source. The default discards logs.
func Logger(l *slog.Logger) Opt { return clientOpt{func(c *cfg) { c.logger = l }} }

// OnCall sets a function called after every HTTP call, retries included, from the
// goroutine that called Read or TokenInfo: it feeds metrics. It must not block. The
// default does nothing.
func OnCall(fn func(Call)) Opt { return clientOpt{func(c *cfg) { c.onCall = fn }} }

// BeforeRetry sets a function called before every retry is sent (after its backoff
// wait), from the goroutine that called Read: a retry costs the token a call like any
// other, so the caller can take it from its budget first, or refuse it by returning an
// error, which Read returns wrapped without sending the retry. The default allows every
// retry.
func BeforeRetry(fn func(ctx context.Context) error) Opt {
	return clientOpt{func(c *cfg) { c.beforeRetry = fn }}
}

// RowCap sets the most rows the API returns for one call, overriding the default of
// MaxRows (60,000), and so when Read reports Result.Capped: Read stops reading a body
// once it has handed on n+1 rows, and calls a result of n rows, or one whose msg states
// more than n, capped too (the API cuts silently at its cap). Set it only to match a
// server whose cap differs.
func RowCap(n int) Opt { return clientOpt{func(c *cfg) { c.rowCap = n }} }

// MaxBodyBytes bounds a 200 response body, overriding the default of 512 MiB
// (DefaultMaxBodyBytes), twice the 256 MB the API documents as its largest answer. A
// longer body is not read further: the attempt fails as transient with ErrBodyTooLarge
// (its rows Reset) and is retried with backoff.
func MaxBodyBytes(n int64) Opt { return clientOpt{func(c *cfg) { c.maxBodyBytes = n }} }

// MaxRowBytes bounds the JSON text of one row, a top-level element of data (for nested
// reports the parent with its nested elements), overriding the default of 16 MiB
// (DefaultMaxRowBytes). The decoder's memory stays a small multiple of it whatever the
// body holds. A longer row is skipped without being held and goes to the Handler's
// Oversize method when it is an OversizeHandler; otherwise the attempt fails as
// transient with ErrRowTooLarge. A single value outside the rows (msg, say) longer than
// n fails the attempt the same way.
func MaxRowBytes(n int) Opt { return clientOpt{func(c *cfg) { c.maxRowBytes = n }} }

// validate checks the configuration and fills in the defaults that need the others.
func (c *cfg) validate() error {
	var errs []error
	bad := func(opt, format string, args ...any) {
		errs = append(errs, &OptionError{Option: opt, Problem: fmt.Sprintf(format, args...)})
	}
	switch {
	case c.server == "":
		bad("Server", "required: the digits of wv{server}.wolkvox.com, e.g. \"0040\"")
	case strings.Trim(c.server, "0123456789") != "" || len(c.server) > 8:
		bad("Server", "%q is not a server number: want digits, e.g. \"0040\"", c.server)
	}
	switch {
	case c.token == nil || c.token.value == "":
		bad("Token", "required")
	case strings.ContainsFunc(c.token.value, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		// Never quote the token: say what is wrong with it, not what it is.
		bad("Token", "contains whitespace or control characters (%d characters long)", len(c.token.value))
	}
	if c.baseURL == "" && c.server != "" {
		c.baseURL = "https://wv" + c.server + ".wolkvox.com"
	} else if c.baseURL != "" {
		u, err := url.Parse(c.baseURL)
		switch {
		case err != nil:
			bad("BaseURL", "%v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			bad("BaseURL", "scheme %q: want http or https", u.Scheme)
		case u.Host == "":
			bad("BaseURL", "no host in %q", u.Redacted())
		case u.RawQuery != "" || u.Fragment != "":
			bad("BaseURL", "%q has a query or fragment", u.Redacted())
		default:
			c.baseURL = strings.TrimRight(c.baseURL, "/")
		}
	}
	if c.location == nil && c.locationSet {
		bad("Location", "nil")
	} else if c.location == nil {
		if loc, err := time.LoadLocation("America/Bogota"); err == nil {
			c.location = loc
		} else {
			c.location = time.FixedZone("America/Bogota", -5*60*60)
		}
	}
	if c.httpClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ReadBufferSize = readBufferSize
		c.httpClient = &http.Client{Transport: t}
	} else {
		hc := *c.httpClient // a copy: the caller's client keeps its own redirect policy
		c.httpClient = &hc
	}
	// Never follow a redirect: net/http would send the token header to wherever it
	// points. The API does not redirect, so a 3xx is a transient failure.
	c.httpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.callTimeout <= 0 {
		bad("CallTimeout", "%v: must be positive", c.callTimeout)
	}
	if c.limiter == nil {
		c.limiter = &Limiter{slots: make(chan struct{}, 1)}
	} else if c.limiter.slots == nil {
		bad("WithLimiter", "not made by NewLimiter")
	}
	switch {
	case c.backoffInit <= 0:
		bad("Backoff", "initial %v: must be positive", c.backoffInit)
	case c.backoffMax < c.backoffInit:
		bad("Backoff", "max %v is below initial %v", c.backoffMax, c.backoffInit)
	case c.backoffTotal < 0:
		bad("Backoff", "maxElapsed %v: must not be negative", c.backoffTotal)
	}
	if c.retryAfterCap < 0 {
		bad("RetryAfterCap", "%v: must not be negative", c.retryAfterCap)
	}
	if c.rowCap <= 0 {
		bad("RowCap", "%d: must be positive", c.rowCap)
	}
	if c.maxBodyBytes <= 0 {
		bad("MaxBodyBytes", "%d: must be positive", c.maxBodyBytes)
	}
	if c.maxRowBytes <= 0 {
		bad("MaxRowBytes", "%d: must be positive", c.maxRowBytes)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.logger = c.logger.With("component", "source")
	if c.beforeRetry == nil {
		c.beforeRetry = func(context.Context) error { return nil }
	}
	if c.onCall == nil {
		c.onCall = func(Call) {}
	}
	return errors.Join(errs...)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// readBufferSize is the default client's read buffer, net/http's 4 KiB raised: an
// answer of 60,000 rows is tens of MB, and a server that sends it in small chunks
// (PHP's output buffer, a proxy) would otherwise cost a read call per chunk.
const readBufferSize = 64 << 10
