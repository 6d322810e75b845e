package sink

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Header names on event and dead-letter records.
const (
	HeaderConnector   = "wolkvox.connector"
	HeaderReport      = "wolkvox.report"
	HeaderWindowStart = "wolkvox.window.start" // RFC 3339, UTC
	HeaderWindowEnd   = "wolkvox.window.end"   // RFC 3339, UTC
	HeaderSchema      = "wolkvox.schema"       // schema ID or fingerprint of the value
	HeaderError       = "wolkvox.error"        // dead letters: the error message
	HeaderErrorClass  = "wolkvox.error.class"  // dead letters: see ErrorClass
)

// EventRecord returns the record of one event: value is the encoded row, key its
// identity, and the headers carry the report, the window it was read in and the
// schema header (a schema ID or fingerprint, left out when empty).
func EventRecord(topic string, key, value []byte, report string, windowStart, windowEnd time.Time, schemaHeader string) *kgo.Record {
	return NewEventHeaders(report, windowStart, windowEnd, schemaHeader).Record(topic, key, value, kgo.RecordHeader{})
}

// EventHeaders are the headers every event of one answer carries (see EventRecord),
// built once for all of them: the events share their bytes, which nothing changes.
type EventHeaders []kgo.RecordHeader

// NewEventHeaders builds the headers of report's events read in the window
// windowStart..windowEnd, with the schema header (left out when empty).
func NewEventHeaders(report string, windowStart, windowEnd time.Time, schemaHeader string) EventHeaders {
	h := EventHeaders{
		{Key: HeaderReport, Value: []byte(report)},
		{Key: HeaderWindowStart, Value: rfc3339(windowStart)},
		{Key: HeaderWindowEnd, Value: rfc3339(windowEnd)},
	}
	if schemaHeader != "" {
		h = append(h, kgo.RecordHeader{Key: HeaderSchema, Value: []byte(schemaHeader)})
	}
	return h
}

// eventRecord is a record with room for its headers, allocated together.
type eventRecord struct {
	rec     kgo.Record
	headers [5]kgo.RecordHeader
}

// Record returns the event record of key and value with h's headers, then extra
// unless its Key is empty: one allocation for the record and its headers.
func (h EventHeaders) Record(topic string, key, value []byte, extra kgo.RecordHeader) *kgo.Record {
	e := &eventRecord{rec: kgo.Record{Topic: topic, Key: key, Value: value}}
	hs := e.headers[:0]
	if len(h)+1 > len(e.headers) {
		hs = make([]kgo.RecordHeader, 0, len(h)+1)
	}
	hs = append(hs, h...)
	if extra.Key != "" {
		hs = append(hs, extra)
	}
	e.rec.Headers = hs
	return &e.rec
}

// DeadLetter returns the dead-letter record of a row that could not become an event:
// the value is the row as JSON exactly as received (raw), the key "connector/report"
// (so one report's dead letters stay in order on one partition), and the headers say
// why (the error and its [ErrorClass]), for which connector and report, and in which
// window.
func DeadLetter(topic string, raw []byte, reason error, connector, report string, windowStart, windowEnd time.Time) *kgo.Record {
	msg := "<nil>"
	if reason != nil {
		msg = reason.Error()
	}
	return &kgo.Record{
		Topic: topic,
		Key:   []byte(connector + "/" + report),
		Value: raw,
		Headers: []kgo.RecordHeader{
			{Key: HeaderError, Value: []byte(msg)},
			{Key: HeaderErrorClass, Value: []byte(ErrorClass(reason))},
			{Key: HeaderConnector, Value: []byte(connector)},
			{Key: HeaderReport, Value: []byte(report)},
			{Key: HeaderWindowStart, Value: rfc3339(windowStart)},
			{Key: HeaderWindowEnd, Value: rfc3339(windowEnd)},
		},
	}
}

// ErrorClass names the kind of err for the dead-letter header, so dead letters can be
// counted and filtered by cause: the Class() of the first error in the chain that has
// one (a package can name its failures that way); otherwise the Go type of the first
// error that is not an fmt.Errorf wrapper ("*strconv.NumError"), or the text of a
// sentinel made by errors.New ("schemas: value out of range"), whose type says nothing.
// A nil error is "".
func ErrorClass(err error) string {
	if err == nil {
		return ""
	}
	var c interface{ Class() string }
	if errors.As(err, &c) {
		return c.Class()
	}
	for {
		typ := fmt.Sprintf("%T", err)
		switch typ {
		case "*fmt.wrapError":
			err = errors.Unwrap(err)
			continue
		case "*errors.errorString":
			return err.Error()
		}
		return typ
	}
}

func rfc3339(t time.Time) []byte {
	return t.UTC().AppendFormat(nil, time.RFC3339)
}
