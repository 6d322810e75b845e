package wolkvox

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Class is what one call to the API came to. Every HTTP call is reported with its Class
// (see [Call]); the failing classes map one to one onto the sentinels below.
type Class string

const (
	// ClassOK: code 200 and a readable body; its rows were handed on.
	ClassOK Class = "ok"
	// ClassNoData: HTTP 404 or msg "Validate dates entered": the window holds no rows.
	ClassNoData Class = "no_data"
	// ClassQuotaExhausted: 403 TOKEN LIMIT EXCEEDED ([ErrQuotaExhausted]).
	ClassQuotaExhausted Class = "quota_exhausted"
	// ClassTooManyRequests: 403 EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS, or 429
	// ([ErrTooManyRequests]).
	ClassTooManyRequests Class = "too_many_requests"
	// ClassInvalidToken: 401, or 403 PLEASE VALIDATE TOKEN ([ErrInvalidToken]).
	ClassInvalidToken Class = "invalid_token"
	// ClassBadRequest: 400 ([ErrBadRequest]).
	ClassBadRequest Class = "bad_request"
	// ClassTransient: anything else that went wrong ([ErrTransient]).
	ClassTransient Class = "transient"
	// ClassCanceled: the caller's context ended during the call.
	ClassCanceled Class = "canceled"
	// ClassHandler: the Handler refused a row; the call was abandoned.
	ClassHandler Class = "handler"
)

// Sentinel returns the error sentinel of a failing class, nil for the others.
func (c Class) Sentinel() error {
	switch c {
	case ClassQuotaExhausted:
		return ErrQuotaExhausted
	case ClassTooManyRequests:
		return ErrTooManyRequests
	case ClassInvalidToken:
		return ErrInvalidToken
	case ClassBadRequest:
		return ErrBadRequest
	case ClassTransient:
		return ErrTransient
	}
	return nil
}

var (
	// ErrQuotaExhausted is returned by Client.Read and Client.TokenInfo, wrapped in a
	// *ResponseError, when the API answers 403 TOKEN LIMIT EXCEEDED: the token's daily
	// calls are spent. It is never retried, since every retry would cost a call the
	// token no longer has: the caller pauses until the quota resets.
	ErrQuotaExhausted = errors.New("daily call quota of the token exhausted")

	// ErrTooManyRequests is the class of 403 EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS
	// PER TOKEN (and of a 429). Client.Read retries it with backoff and returns it,
	// wrapped, only when the retries are exhausted; it means another process uses the
	// same token, since the client's own Limiter keeps its calls under the limit.
	ErrTooManyRequests = errors.New("too many simultaneous requests with this token")

	// ErrInvalidToken is returned by Client.Read and Client.TokenInfo for a 401 or a 403
	// PLEASE VALIDATE TOKEN: the configured token is wrong, expired or malformed. It is
	// permanent. Neither this error nor any other ever contains the token.
	ErrInvalidToken = errors.New("the wolkvox token was rejected: check the configured token and server")

	// ErrBadRequest is returned by Client.Read for a 400 (the report does not exist or
	// a required parameter is missing) and, before any call, for a Request that cannot be
	// sent. It is a configuration error and permanent.
	ErrBadRequest = errors.New("bad request: check the report name and its parameters")

	// ErrTransient is the class of every failure a retry may cure: an unrecognised 403
	// (maintenance), 5xx and other unexpected statuses, timeouts, connection errors,
	// bodies that end early or are not JSON, a code other than 200 in a 200 body, and
	// the causes ErrBodyTooLarge, ErrRowTooLarge and ErrCountMismatch. Client.Read
	// retries these and returns one, wrapped, only when the backoff's elapsed-time
	// budget is spent.
	ErrTransient = errors.New("transient failure")

	// ErrBodyTooLarge is the cause of a transient *ResponseError from Client.Read when a
	// 200 body runs past MaxBodyBytes: the client stops reading it, Resets the handler
	// and retries with backoff. The API documents 256 MB as its largest answer, so it
	// means a broken or endless answer.
	ErrBodyTooLarge = errors.New("response body larger than MaxBodyBytes")

	// ErrRowTooLarge is the cause of a transient *ResponseError from Client.Read when one
	// row's JSON text (or a single value outside the rows, such as msg) is longer than
	// MaxRowBytes and the Handler is no OversizeHandler. The rest of such a row is
	// skipped, never held in memory.
	ErrRowTooLarge = errors.New("row larger than MaxRowBytes")

	// ErrCountMismatch is the cause of a transient *ResponseError from Client.Read when a
	// 200 answer's msg states a count of records (see Result.Stated) and data holds fewer
	// rows, none of them past the RowCap: the answer contradicts itself ("4017 records
	// were found" with "data": []), so its rows are Reset and it is retried with backoff.
	// When the backoff gives up, the error Read returns still wraps it.
	ErrCountMismatch = errors.New("fewer rows than the answer's msg states")

	// ErrInvalidOption is returned by NewClient and NewLimiter when an option's value is
	// unusable; the message names the option.
	ErrInvalidOption = errors.New("invalid option")
)

// maxErrorBody is how much of a response body a ResponseError keeps: enough to show
// an error page, never a whole report.
const maxErrorBody = 4 << 10

// ResponseError is one failed call to the API: a response that was an error, or no
// usable response at all (StatusCode 0: the connection failed or timed out). It unwraps
// to its Class's sentinel and to Cause, so errors.Is(err, ErrTransient) and
// errors.Is(err, context.DeadlineExceeded) both work.
type ResponseError struct {
	Report string // the api name, "token_info" for Client.TokenInfo
	// URL is the request URL without user info. The token travels in a header, so the
	// URL carries no secret.
	URL        string
	StatusCode int    // HTTP status; 0 when no response arrived
	Code       string // the body's "code" as text, empty when absent or unreadable
	ErrorText  string // the body's "error"
	Msg        string // the body's "msg"
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Body is the start of the response body, at most 4 KiB, token redacted.
	Body  []byte
	Class Class
	// Cause is the underlying failure when there is one (a connection error, a
	// timeout, a malformed body).
	Cause error
}

func (e *ResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wolkvox %s: ", e.Report)
	if e.StatusCode == 0 {
		fmt.Fprintf(&b, "GET %s: no response", e.URL)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if e.Code != "" && e.Code != fmt.Sprint(e.StatusCode) {
			fmt.Fprintf(&b, " (code %s)", e.Code)
		}
	}
	if e.ErrorText != "" {
		fmt.Fprintf(&b, " %s", e.ErrorText)
	}
	if e.Msg != "" {
		fmt.Fprintf(&b, ": %q", e.Msg)
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, ": %v", e.Cause)
	}
	if s := e.Class.Sentinel(); s != nil {
		fmt.Fprintf(&b, " (%v)", s)
	}
	return b.String()
}

// Unwrap returns the class sentinel and the cause, for errors.Is and errors.As.
func (e *ResponseError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if s := e.Class.Sentinel(); s != nil {
		errs = append(errs, s)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// errMalformed is the cause of a ResponseError for a body that is not the JSON the API
// sends: not JSON at all, cut short, or without a code.
var errMalformed = errors.New("malformed response body")

// handlerError marks an error returned by Handler.Row, so Read can tell it from a
// failure of the body and return it without retrying.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return "handler: " + e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

// OptionError is one option NewClient refuses: which option (the Opt's name, "Token",
// "Server", "BaseURL"...) and what is wrong with its value, so that a configuration
// loader can name its own field. errors.Is(err, ErrInvalidOption) holds.
type OptionError struct {
	Option, Problem string
}

func (e *OptionError) Error() string {
	return "source: " + ErrInvalidOption.Error() + " " + e.Option + ": " + e.Problem
}

func (e *OptionError) Is(target error) bool { return target == ErrInvalidOption }
