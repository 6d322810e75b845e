package sink

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

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
	e := &eventRecord{}
	h.fill(e, topic, key, value, extra)
	return &e.rec
}

func (h EventHeaders) fill(e *eventRecord, topic string, key, value []byte, extra kgo.RecordHeader) {
	e.rec.Topic, e.rec.Key, e.rec.Value = topic, key, value
	hs := e.headers[:0]
	if len(h)+1 > len(e.headers) {
		hs = make([]kgo.RecordHeader, 0, len(h)+1)
	}
	hs = append(hs, h...)
	if extra.Key != "" {
		hs = append(hs, extra)
	}
	e.rec.Headers = hs
}

// Event is an event record being built from a recycled one ([NewEvent]).
type Event struct{ e *eventRecord }

// NewEvent returns an event to build with [EventHeaders.Event]. Events are recycled:
// the transaction that produces one ([Txn.Produce]) takes it back once the broker has
// answered for it, or once it is spooled to a file, so a window's events reuse the
// memory of those before them (their records, keys and values) rather than leave it
// all to the garbage collector. An event must not be read once it is produced.
func NewEvent() Event { return Event{e: freeEvents.get()} }

// Key and Value are the room for the event's key and value: empty, with the capacity
// of an earlier event's.
func (ev Event) Key() []byte { return ev.e.rec.Key[:0] }

// Value: see Key.
func (ev Event) Value() []byte { return ev.e.rec.Value[:0] }

// Event makes ev the event of key and value (appended to ev.Key() and ev.Value(), or
// any others) with h's headers, then extra unless its Key is empty.
func (h EventHeaders) Event(ev Event, topic string, key, value []byte, extra kgo.RecordHeader) *kgo.Record {
	h.fill(ev.e, topic, key, value, extra)
	ev.e.rec.Context = (*recyclable)(ev.e)
	return &ev.e.rec
}

// recyclable is an eventRecord from NewEvent as its record's Context, which is how
// recycle finds the eventRecord of a record (the producer only asks a record's
// Context whether it is done). As a context it is context.Background: never done, no
// values.
type recyclable eventRecord

func (*recyclable) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*recyclable) Done() <-chan struct{}       { return nil }
func (*recyclable) Err() error                  { return nil }
func (*recyclable) Value(any) any               { return nil }

// freeEvents are the events taken back, for NewEvent to reuse: a list of at most
// maxFreeEventBytes rather than a sync.Pool, whose memory is bounded only by what was
// taken back before the last two collections. Acknowledgements come a batch at a
// time, so what one brings back is reused by the events built next; what does not fit
// is left to the collector. The list is shared by the writers of a process.
var freeEvents eventList

// maxFreeEventBytes bounds the memory freeEvents keeps: some 3,000 of the simulator's
// diagram_13 events, or some 60 of the widest events recycled (16 KiB of key and value).
const maxFreeEventBytes = 2 << 20

type eventList struct {
	mu    sync.Mutex
	free  []*eventRecord
	bytes int
}

// eventBytes is the memory an event taken back keeps.
func eventBytes(e *eventRecord) int {
	return int(unsafe.Sizeof(*e)) + cap(e.rec.Key) + cap(e.rec.Value)
}

func (l *eventList) get() *eventRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.free)
	if n == 0 {
		return new(eventRecord)
	}
	e := l.free[n-1]
	l.free[n-1] = nil
	l.free = l.free[:n-1]
	l.bytes -= eventBytes(e)
	return e
}

func (l *eventList) put(e *eventRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := eventBytes(e); l.bytes+b <= maxFreeEventBytes {
		l.free = append(l.free, e)
		l.bytes += b
	}
}

// recycle takes back r if it came from NewEvent, once nothing refers to it any more
// (the broker answered for it, or it was spooled to a file). Its key and value keep
// their room for the next event, unless they grew past maxRecycledBytes: a rare wide
// event must not make every pooled one hold as much.
func recycle(r *kgo.Record) {
	rc, ok := r.Context.(*recyclable)
	if !ok || &rc.rec != r {
		return
	}
	key, value := r.Key[:0], r.Value[:0]
	if cap(key) > maxRecycledBytes {
		key = nil
	}
	if cap(value) > maxRecycledBytes {
		value = nil
	}
	e := (*eventRecord)(rc)
	*e = eventRecord{rec: kgo.Record{Key: key, Value: value}}
	freeEvents.put(e)
}

// maxRecycledBytes bounds the key or value room a recycled event keeps.
const maxRecycledBytes = 16 << 10

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
