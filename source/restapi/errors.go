package restapi

import (
	"errors"
	"net/http"
	"strconv"
)

// ErrConfig is wrapped by every error [New] and [NewMetrics] return for an invalid
// option.
var ErrConfig = errors.New("restapi: invalid configuration")

// ErrUnknownTask is wrapped by the 404 [Error] of a task route naming a task the
// connector does not have (a task is a report: see the package documentation).
var ErrUnknownTask = errors.New("restapi: no such task")

// ErrUnknownLogger is wrapped by the 404 [Error] of /admin/loggers/{logger} for a
// logger other than "root", and of every /admin/loggers route when the server was
// built without the LogLevel option.
var ErrUnknownLogger = errors.New("restapi: no such logger")

// Error is a failed request, answered as Kafka Connect does: the HTTP status in
// error_code and a human-readable message. Handlers return it; errors.As finds it, and
// Err keeps the cause for errors.Is.
type Error struct {
	Code    int    `json:"error_code"`
	Message string `json:"message"`
	Err     error  `json:"-"`
}

func (e *Error) Error() string {
	if e.Message == "" {
		return strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
	}
	return strconv.Itoa(e.Code) + " " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(code int, cause error, message string) *Error {
	return &Error{Code: code, Message: message, Err: cause}
}
