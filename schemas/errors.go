package schemas

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/twmb/franz-go/pkg/sr"
)

// Sentinel errors. Each is returned wrapped, so test for them with errors.Is.
var (
	// ErrUnknownReport is returned by the Encoder, the Decoder and Set.Lookup callers when
	// a report, record name or fingerprint has no schema in the Set in use.
	ErrUnknownReport = errors.New("schemas: no schema for report")

	// ErrInvalidMeta is returned by Converter.Convert when the Meta it is given cannot
	// describe an event (no time zone, a Report that disagrees with the catalog entry).
	// It is the caller's bug, not the row's: such rows must not go to the dead-letter topic.
	ErrInvalidMeta = errors.New("schemas: invalid event metadata")

	// ErrNotRegistered is returned by the Encoder when RequirePreRegistered is set and the
	// topic's subject does not hold the report's schema.
	ErrNotRegistered = errors.New("schemas: schema not registered")

	// ErrRegistry is returned by the Encoder and Decoder when the schema registry could not
	// be reached or refused a request; the registry's own error is wrapped too. Refused
	// credentials are ErrRegistryAuth as well.
	ErrRegistry = errors.New("schemas: schema registry")

	// ErrRegistryAuth is returned by the Encoder and Decoder, together with ErrRegistry,
	// when the schema registry answers 401 or 403: it refused the configured
	// credentials. It is permanent: retrying with the same credentials cannot succeed.
	// Its text gives the status, method and URL (without user info) but never the
	// registry's answer, which may echo the credentials; the *sr.ResponseError is still
	// reachable with errors.As.
	ErrRegistryAuth = errors.New("schemas: the schema registry refused the credentials (HTTP 401/403): check registry username/password")

	// ErrTopicReport is returned by the Encoder when one topic is used for two reports: a
	// subject holds one record type, so that would mix schemas on a topic.
	ErrTopicReport = errors.New("schemas: topic already carries another report")

	// ErrWireFormat is returned by the Decoder for bytes that are neither Confluent framed
	// (magic 0) nor Avro single-object encoded (C3 01), or whose body does not decode.
	ErrWireFormat = errors.New("schemas: unrecognised wire format")

	// ErrCatalog is returned when a catalog entry cannot be turned into a schema, for
	// instance because it lists one raw key twice.
	ErrCatalog = errors.New("schemas: unusable catalog entry")

	// ErrStaleHistory is returned by Set.Check when a report's current schema is not the
	// last version kept under avro/history: go generate was not run after a change.
	ErrStaleHistory = errors.New("schemas: history does not end with the current schema (run go generate ./schemas)")

	// ErrEncode is returned by the Encoder when a native value does not fit the report's
	// schema; values made by Converter.Convert always fit.
	ErrEncode = errors.New("schemas: value does not fit the schema")

	// ErrIncompatible is wrapped by every *IncompatibleError.
	ErrIncompatible = errors.New("schemas: schema change is not backward compatible")
)

// ConversionError reports a row value that does not fit its field's type: a count of
// "abc", an impossible date, a duration of "1:75:00". The pipeline sends such a row, whole
// and untouched in Row, to the dead-letter topic; nothing is silently turned into null.
type ConversionError struct {
	// Report is the report's api name.
	Report string
	// Field is the raw key of the offending cell, as the API sent it.
	Field string
	// Value is the offending text.
	Value string
	// Reason says what was expected.
	Reason string
	// Row is the whole row as received, a copy of its own (a decoder reuses the row it
	// hands on).
	Row Row
	// Err is the underlying parse error, when there is one.
	Err error
}

func (e *ConversionError) Error() string {
	return fmt.Sprintf("schemas: report %s: field %q: value %q: %s", e.Report, e.Field, e.Value, e.Reason)
}

// Unwrap returns the underlying parse error, if any.
func (e *ConversionError) Unwrap() error { return e.Err }

// IncompatibleError says why a schema cannot read data written with an older version of
// it (Avro schema resolution, BACKWARD compatibility).
type IncompatibleError struct {
	// Report is the report's api name ("" when two bare schemas were compared).
	Report string
	// Version is the older version that can no longer be read (0 when unknown).
	Version int
	// Path locates the problem inside the schema, e.g. "Diagram13.cod_opc_menu".
	Path string
	// Reason says what changed.
	Reason string
}

func (e *IncompatibleError) Error() string {
	where := e.Path
	if e.Report != "" {
		where = fmt.Sprintf("report %s v%d: %s", e.Report, e.Version, e.Path)
	}
	return fmt.Sprintf("schemas: %s: %s", where, e.Reason)
}

// Unwrap makes errors.Is(err, ErrIncompatible) true.
func (e *IncompatibleError) Unwrap() error { return ErrIncompatible }

// registryAuthError is a 401 or 403 from the registry. Its text leaves out the
// registry's answer (sr.ResponseError's text is the body, which may echo the
// Authorization header), and it unwraps to ErrRegistryAuth, ErrRegistry and the cause.
type registryAuthError struct {
	what   string // what was being done, e.g. `registering X under subject "t-value"`
	method string
	url    string // without user info nor query
	status int
	cause  error
}

func (e *registryAuthError) Error() string {
	return fmt.Sprintf("%v: %s: %s %s answered HTTP %d", ErrRegistryAuth, e.what, e.method, e.url, e.status)
}

// Unwrap returns ErrRegistryAuth, ErrRegistry and the *sr.ResponseError.
func (e *registryAuthError) Unwrap() []error { return []error{ErrRegistryAuth, ErrRegistry, e.cause} }

// registryError wraps a failed registry call in ErrRegistry; a 401 or 403 becomes a
// *registryAuthError. what says what was being done.
func registryError(err error, what string) error {
	var re *sr.ResponseError
	if errors.As(err, &re) && authStatus(re.StatusCode) {
		return &registryAuthError{what: what, method: re.Method, url: urlWithoutSecrets(re.URL), status: re.StatusCode, cause: err}
	}
	return fmt.Errorf("%w: %s: %w", ErrRegistry, what, err)
}

// authStatus reports the statuses of refused credentials.
func authStatus(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// urlWithoutSecrets drops user info, query and fragment from a URL.
func urlWithoutSecrets(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
