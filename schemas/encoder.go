package schemas

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// HeaderKey is the record header that names an event's schema (see SchemaHeader).
const HeaderKey = "wolkvox.schema"

// Encoder writes events in one of two wire formats, chosen at construction:
//
//   - with a registry (Registry or RegistryURLs): the Confluent wire format, magic byte
//     0, the 4-byte big-endian schema ID, then the Avro binary body. The schema is
//     registered under the subject "<topic>-value" on first use (or, with
//     RequirePreRegistered, looked up), and the ID is cached: one registry round trip
//     per topic per RegistryRefresh interval (a minute by default), even when many
//     goroutines encode at once, so that a registry that lost its schemas gets them
//     registered again;
//   - without: Avro single-object encoding, C3 01, the 8-byte little-endian
//     CRC-64-AVRO fingerprint of the schema, then the body. No network is involved.
//
// It is safe for concurrent use and owns no goroutine.
type Encoder struct {
	cfg cfg

	mu     sync.Mutex
	topics map[string]*topicID
}

// topicID is one topic's registry lookup; ready is closed when id, err and at are set.
type topicID struct {
	report string
	ready  chan struct{}
	id     int
	err    error
	at     time.Time // when the registry gave id (or, after a failed refresh, was last asked)
}

// NewEncoder returns an Encoder; see the Opt functions for the choices.
func NewEncoder(opts ...Opt) (*Encoder, error) {
	c, err := build("schemas.encoder", opts)
	if err != nil {
		return nil, err
	}
	return &Encoder{cfg: c, topics: map[string]*topicID{}}, nil
}

// UsesRegistry reports whether the Encoder writes the Confluent wire format.
func (e *Encoder) UsesRegistry() bool { return e.cfg.client != nil }

// Encode appends the encoded event to dst and returns the extended slice; on error it
// returns dst unchanged. native is what Converter.Convert returned for rep. topic names
// the registry subject, and is not used without a registry.
func (e *Encoder) Encode(ctx context.Context, topic string, rep *catalog.Report, native map[string]any, dst []byte) ([]byte, error) {
	s, ok := e.cfg.set.Lookup(rep.API)
	if !ok {
		return dst, fmt.Errorf("%w: %s", ErrUnknownReport, rep.API)
	}
	out, err := e.head(ctx, topic, s, dst)
	if err != nil {
		return dst, err
	}
	out, err = s.compiled.codec().BinaryFromNative(out, native)
	if err != nil {
		return dst, fmt.Errorf("%w: report %s: %w", ErrEncode, rep.API, err)
	}
	s.lastSize.Store(int64(len(out) - len(dst)))
	return out, nil
}

// head appends to dst the wire format's header of an event of s, with room for the
// event (see reserve).
func (e *Encoder) head(ctx context.Context, topic string, s *Schema, dst []byte) ([]byte, error) {
	if e.cfg.client == nil {
		// The header is written here, not by goavro's SingleFromNative, because goavro's
		// fingerprint departs from the specification for logical types (see CanonicalForm).
		return binary.LittleEndian.AppendUint64(append(e.reserve(dst, s), 0xC3, 0x01), s.Fingerprint), nil
	}
	id, err := e.schemaID(ctx, topic, s)
	if err != nil {
		return dst, err
	}
	out, _ := (&sr.ConfluentHeader{}).AppendEncode(e.reserve(dst, s), id, nil) // never fails
	return out, nil
}

// reserve returns dst with room for an event of s the size of the last one, and an
// eighth more: exactly that room when dst lacks it, not the doubling of append, since
// a recycled buffer (sink.NewEvent) keeps its capacity from event to event.
func (e *Encoder) reserve(dst []byte, s *Schema) []byte {
	n := s.lastSize.Load()
	need := int(n + n/8)
	if cap(dst)-len(dst) >= need {
		return dst
	}
	grown := make([]byte, len(dst), len(dst)+need)
	copy(grown, dst)
	return grown
}

// SchemaHeader returns the header the sink puts on every event of rep written to topic,
// so that a consumer can tell the schema without decoding: key HeaderKey, value
// "name=<full record name>&fingerprint=<16 hex digits>" and, with a registry,
// "&id=<schema ID>" (registering the schema if needed, like Encode).
func (e *Encoder) SchemaHeader(ctx context.Context, topic string, rep *catalog.Report) (kgo.RecordHeader, error) {
	s, ok := e.cfg.set.Lookup(rep.API)
	if !ok {
		return kgo.RecordHeader{}, fmt.Errorf("%w: %s", ErrUnknownReport, rep.API)
	}
	v := "name=" + s.Name + "&fingerprint=" + fmt.Sprintf("%016x", s.Fingerprint)
	if e.cfg.client != nil {
		id, err := e.schemaID(ctx, topic, s)
		if err != nil {
			return kgo.RecordHeader{}, err
		}
		v += "&id=" + strconv.Itoa(id)
	}
	return kgo.RecordHeader{Key: HeaderKey, Value: []byte(v)}, nil
}

// schemaID returns the registry ID of s under topic's subject, asking the registry
// once per topic and again once the refresh interval has passed (RegistryRefresh).
// Concurrent callers wait for the one request in flight; a failed first request is
// forgotten so that the next call tries again.
func (e *Encoder) schemaID(ctx context.Context, topic string, s *Schema) (int, error) {
	e.mu.Lock()
	t, ok := e.topics[topic]
	var prev *topicID
	if ok {
		if t.report != s.Report {
			e.mu.Unlock()
			return 0, fmt.Errorf("%w: topic %q carries %s, not %s", ErrTopicReport, topic, t.report, s.Report)
		}
		select {
		case <-t.ready:
			if t.err != nil || e.cfg.refresh <= 0 || time.Since(t.at) < e.cfg.refresh {
				e.mu.Unlock()
				return t.id, t.err
			}
			prev = t // due: this caller asks again, the others wait for it
		default:
			e.mu.Unlock()
			select {
			case <-t.ready:
				return t.id, t.err
			case <-ctx.Done():
				return 0, fmt.Errorf("schemas: waiting for the registry lookup of topic %q: %w", topic, ctx.Err())
			}
		}
	}
	t = &topicID{report: s.Report, ready: make(chan struct{})}
	e.topics[topic] = t
	e.mu.Unlock()

	t.id, t.err = e.register(ctx, topic, s)
	t.at = time.Now()
	switch {
	case prev == nil && t.err == nil && e.cfg.preRegistered:
		e.cfg.logger.Debug("found pre-registered schema", "subject", topic+"-value", "report", s.Report, "id", t.id)
	case prev == nil && t.err == nil:
		e.cfg.logger.Info("registered schema", "subject", topic+"-value", "report", s.Report, "id", t.id)
	case prev == nil:
	case t.err == nil && t.id == prev.id:
		e.cfg.logger.Debug("the registry confirmed the schema ID", "subject", topic+"-value", "report", s.Report, "id", t.id)
	case t.err == nil:
		e.cfg.logger.Warn("the schema registry gave the subject another schema ID: it lost its schemas (restarted with in-memory storage?) "+
			"and they were registered again; events written with the previous ID no longer resolve there, or resolve to another schema",
			"subject", topic+"-value", "report", s.Report, "id", t.id, "previous_id", prev.id, "previous_since", prev.at)
	case t.err != nil && !errors.Is(t.err, ErrNotRegistered) && !errors.Is(t.err, ErrRegistryAuth) && ctx.Err() == nil:
		// The registry cannot be asked now: the ID it gave stays in use until the next
		// interval, as it would without a refresh.
		e.cfg.logger.Warn("could not confirm the schema ID with the registry; using the one it gave before", "subject", topic+"-value",
			"report", s.Report, "id", prev.id, "retry_in", e.cfg.refresh, "err", t.err)
		t.id, t.err = prev.id, nil
	}
	if t.err != nil {
		e.mu.Lock()
		if e.topics[topic] == t {
			delete(e.topics, topic)
		}
		e.mu.Unlock()
	}
	close(t.ready)
	return t.id, t.err
}

func (e *Encoder) register(ctx context.Context, topic string, s *Schema) (int, error) {
	subject := topic + "-value"
	schema := sr.Schema{Schema: s.Text, Type: sr.TypeAvro}
	if e.cfg.preRegistered {
		ss, err := e.cfg.client.LookupSchema(ctx, subject, schema)
		if err != nil {
			var re *sr.ResponseError
			if errors.As(err, &re) && !authStatus(re.StatusCode) && (re.ErrorCode == sr.ErrSubjectNotFound.Code || re.ErrorCode == sr.ErrSchemaNotFound.Code) {
				return 0, fmt.Errorf("%w: subject %q does not hold the schema of %s (%s, fingerprint %016x): register it "+
					"(wolkvox-connect schemas show %s prints it; POST it to /subjects/%s/versions) or let the connector register it by turning off RequirePreRegistered: %w",
					ErrNotRegistered, subject, s.Report, s.Name, s.Fingerprint, s.Report, subject, err)
			}
			return 0, registryError(err, fmt.Sprintf("looking up subject %q", subject))
		}
		return ss.ID, nil
	}
	id, err := e.cfg.client.RegisterSchema(ctx, subject, schema, -1, -1)
	if err != nil {
		return 0, registryError(err, fmt.Sprintf("registering %s under subject %q", s.Name, subject))
	}
	return id, nil
}
