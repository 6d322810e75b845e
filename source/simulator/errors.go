package simulator

import "errors"

var (
	// ErrInvalidConfig is returned (wrapped) by New when an option is out of range, and by
	// the control API when a posted fault plan is.
	ErrInvalidConfig = errors.New("simulator: invalid configuration")
	// ErrUnknownReport is returned (wrapped) by Truth for a report the server does not serve.
	ErrUnknownReport = errors.New("simulator: unknown report")
	// ErrBadQuery is returned (wrapped) by Truth for an empty or inverted range, a missing
	// required parameter or a bucket size that does not divide a day.
	ErrBadQuery = errors.New("simulator: bad truth query")
	// ErrClosed is returned by Start after Close, and by a second Start.
	ErrClosed = errors.New("simulator: server closed or already started")
)
