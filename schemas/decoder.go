package schemas

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// Event is one decoded event.
type Event struct {
	// Report is the api name the schema names ("wolkvox.report"); empty for a registry
	// schema that is not one of ours.
	Report string
	// Name is the record's full name, e.g. "com.wolkvox.reports.Diagram13".
	Name string
	// Schema is the writer's schema text.
	Schema string
	// SchemaID is the registry ID (Confluent format), 0 for single-object encoding.
	SchemaID int
	// Fingerprint is the CRC-64-AVRO fingerprint of the writer's schema.
	Fingerprint uint64
	// Native is the event in goavro's native form: unions as one-key maps, timestamps as
	// time.Time in UTC, dates as time.Time at midnight UTC.
	Native map[string]any
}

// Values returns the event with union wrappers removed ({"long": 12} becomes 12,
// wv_extra's values likewise), the plain form for printing and comparisons.
func (ev *Event) Values() map[string]any {
	out := make(map[string]any, len(ev.Native))
	for k, v := range ev.Native {
		if k == FieldExtra {
			if m, ok := v.(map[string]any); ok {
				plain := make(map[string]any, len(m))
				for ek, ev := range m {
					plain[ek] = unwrapUnion(ev)
				}
				out[k] = plain
				continue
			}
		}
		out[k] = unwrapUnion(v)
	}
	return out
}

func unwrapUnion(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for _, inner := range m {
			return inner
		}
	}
	return v
}

// Decoder reads events in either wire format, telling them apart by their first bytes.
// Single-object events are matched by fingerprint against the Set's current and past
// schemas; Confluent events need a registry (Registry or RegistryURLs), from which each
// schema ID is fetched once and cached. Events are decoded with the writer's schema, so
// an old event comes back in its old shape. It is safe for concurrent use and owns no
// goroutine.
type Decoder struct {
	cfg cfg

	mu   sync.Mutex
	byID map[int]*registered
}

type registered struct {
	report, name, text string
	fingerprint        uint64 // CRC-64-AVRO of the Parsing Canonical Form, as in Schema
	codec              *goavro.Codec
}

// NewDecoder returns a Decoder; it accepts the same options as NewEncoder.
func NewDecoder(opts ...Opt) (*Decoder, error) {
	c, err := build("schemas.decoder", opts)
	if err != nil {
		return nil, err
	}
	return &Decoder{cfg: c, byID: map[int]*registered{}}, nil
}

// Decode decodes one event. Bytes in neither format, or whose body does not match its
// schema, give ErrWireFormat; an unknown fingerprint ErrUnknownReport; a registry
// failure ErrRegistry (and ErrRegistryAuth when the registry refuses the credentials).
func (d *Decoder) Decode(ctx context.Context, b []byte) (*Event, error) {
	switch {
	case len(b) >= 10 && b[0] == 0xC3 && b[1] == 0x01:
		fp := binary.LittleEndian.Uint64(b[2:10])
		f, ok := d.cfg.set.byFP(fp)
		if !ok {
			return nil, fmt.Errorf("%w: fingerprint %016x", ErrUnknownReport, fp)
		}
		native, err := decodeBody(f.compiled.codec(), b[10:])
		if err != nil {
			return nil, err
		}
		return &Event{Report: f.report, Name: f.name, Schema: f.compiled.text, Fingerprint: fp, Native: native}, nil
	case len(b) >= 5 && b[0] == 0:
		id, body, err := (&sr.ConfluentHeader{}).DecodeID(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWireFormat, err)
		}
		r, err := d.schemaByID(ctx, id)
		if err != nil {
			return nil, err
		}
		native, err := decodeBody(r.codec, body)
		if err != nil {
			return nil, err
		}
		return &Event{Report: r.report, Name: r.name, Schema: r.text, SchemaID: id, Fingerprint: r.fingerprint, Native: native}, nil
	}
	return nil, fmt.Errorf("%w: %d bytes starting % x", ErrWireFormat, len(b), b[:min(len(b), 4)])
}

func decodeBody(codec *goavro.Codec, body []byte) (map[string]any, error) {
	v, rest, err := codec.NativeFromBinary(body)
	if err != nil {
		return nil, fmt.Errorf("%w: body: %w", ErrWireFormat, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: %d bytes left after the record", ErrWireFormat, len(rest))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the schema is not a record", ErrWireFormat)
	}
	return m, nil
}

// schemaByID returns the codec of a registry ID, fetching it on first use. Two
// goroutines missing the cache at once may both fetch; the result is the same.
func (d *Decoder) schemaByID(ctx context.Context, id int) (*registered, error) {
	d.mu.Lock()
	r, ok := d.byID[id]
	d.mu.Unlock()
	if ok {
		return r, nil
	}
	if d.cfg.client == nil {
		return nil, fmt.Errorf("%w: event uses registry schema ID %d but no registry is configured", ErrRegistry, id)
	}
	s, err := d.cfg.client.SchemaByID(ctx, id)
	if err != nil {
		return nil, registryError(err, fmt.Sprintf("fetching schema ID %d", id))
	}
	codec, err := goavro.NewCodec(s.Schema)
	if err != nil {
		return nil, fmt.Errorf("%w: schema ID %d does not compile: %w", ErrWireFormat, id, err)
	}
	// Not codec.Rabin: goavro's fingerprint departs from the specification for logical
	// types (see CanonicalForm), and Event.Fingerprint must match Schema.Fingerprint.
	canon, err := CanonicalForm(s.Schema)
	if err != nil {
		return nil, fmt.Errorf("%w: schema ID %d: %w", ErrWireFormat, id, err)
	}
	var head struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		Report    string `json:"wolkvox.report"`
	}
	_ = json.Unmarshal([]byte(s.Schema), &head) // it compiled, so it is JSON; a bare primitive leaves head empty
	r = &registered{report: head.Report, name: fullName(head.Name, head.Namespace), text: s.Schema, fingerprint: fingerprint(canon), codec: codec}
	d.cfg.logger.Debug("fetched schema", "id", id, "name", r.name)
	d.mu.Lock()
	d.byID[id] = r
	d.mu.Unlock()
	return r, nil
}
