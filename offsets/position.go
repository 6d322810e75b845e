package offsets

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// CurrentVersion is the position format this release writes, and the only one it reads.
const CurrentVersion = 1

// Size bounds. A position is one Kafka record, and Kafka refuses records larger than the
// topic's max.message.bytes, so the offsets topic is created with TopicMaxMessageBytes
// and positions are kept below MaxPositionBytes, which leaves room for the key and the
// batch framing. A seen row costs 17 bytes before base64 (typically 23 after): about
// 690,000 rows fit, eleven times the API's 60,000-row window.
const (
	TopicMaxMessageBytes = 16 << 20
	MaxPositionBytes     = TopicMaxMessageBytes - 64<<10
)

// Seen is one row already delivered inside the lookback: the hash of its identity
// fields, the hash of its content (a changed row with the same identity is a new
// version and is delivered again), and its row time in Unix seconds.
type Seen struct {
	ID, Version uint64
	Time        int64
}

func compareSeen(a, b Seen) int {
	if c := cmp.Compare(a.Time, b.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return cmp.Compare(a.Version, b.Version)
}

// Position is how far one report has been delivered: the value of its offset record.
//
// The JSON form is {"version":1,"last_seen":"…","window_end":"…","seen_count":N,
// "seen":"<base64>","extra":{…}}; times are RFC 3339 in UTC and zero times are left
// out. seen packs the rows sorted by (Time, ID, Version), each as the time (a signed
// varint for the first row, an unsigned varint delta after it), then ID and Version as
// 8 big-endian bytes each. Members this version does not know are ignored, so a later
// release can add optional members without a version bump; anything that changes the
// meaning of a member bumps the version, which older releases refuse.
type Position struct {
	// Version is the format version; zero means CurrentVersion when marshalling.
	Version int
	// LastSeen is the row time of the newest row delivered.
	LastSeen time.Time
	// WindowEnd is where the last completed window ended: the next read starts there,
	// minus the lookback.
	WindowEnd time.Time
	// Seen are the rows delivered inside the lookback. Marshal sorts them and drops
	// exact duplicates; the caller bounds them by pruning rows older than the lookback.
	Seen []Seen
	// Extra holds cursors that fit no field above (bucket cursors of aggregate
	// reports, for example), by name.
	Extra map[string]string
}

type wirePosition struct {
	Version   json.Number       `json:"version"`
	LastSeen  string            `json:"last_seen,omitempty"`
	WindowEnd string            `json:"window_end,omitempty"`
	SeenCount int               `json:"seen_count,omitempty"`
	Seen      string            `json:"seen,omitempty"`
	Extra     map[string]string `json:"extra,omitempty"`
}

// Marshal returns the JSON value of the position's offset record. It fails with
// [ErrMalformedPosition] for a version other than CurrentVersion (or zero) or a time
// RFC 3339 cannot write, and with [ErrTooLarge] beyond MaxPositionBytes.
func (p Position) Marshal() ([]byte, error) {
	if p.Version != 0 && p.Version != CurrentVersion {
		return nil, fmt.Errorf("%w: cannot write version %d", ErrMalformedPosition, p.Version)
	}
	lastSeen, err := formatTime(p.LastSeen)
	if err != nil {
		return nil, fmt.Errorf("%w: last_seen: %w", ErrMalformedPosition, err)
	}
	windowEnd, err := formatTime(p.WindowEnd)
	if err != nil {
		return nil, fmt.Errorf("%w: window_end: %w", ErrMalformedPosition, err)
	}
	var extra []byte
	if len(p.Extra) > 0 {
		if extra, err = json.Marshal(p.Extra); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedPosition, err)
		}
	}
	var packed []byte
	var count int
	if len(p.Seen) > 0 {
		packed, count = packSeen(p.Seen)
	}
	// The wire form's JSON, written into one buffer of the right size: a catch-up
	// window's position holds 60,000 rows, and encoding/json (a base64 string, then a
	// growing buffer that copies it) allocated 8.1 MB at every such commit where this
	// allocates 2.7 MB, half of it the value returned (BenchmarkMarshal60k). It is
	// byte for byte what json.Marshal writes for wirePosition
	// (TestPositionMarshalIsItsJSON): the times and the base64 need no escaping.
	b := make([]byte, 0, 128+len(extra)+base64.StdEncoding.EncodedLen(len(packed)))
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, CurrentVersion, 10)
	if lastSeen != "" {
		b = append(append(append(b, `,"last_seen":"`...), lastSeen...), '"')
	}
	if windowEnd != "" {
		b = append(append(append(b, `,"window_end":"`...), windowEnd...), '"')
	}
	if count > 0 {
		b = strconv.AppendInt(append(b, `,"seen_count":`...), int64(count), 10)
		b = append(base64.StdEncoding.AppendEncode(append(b, `,"seen":"`...), packed), '"')
	}
	if extra != nil {
		b = append(append(b, `,"extra":`...), extra...)
	}
	b = append(b, '}')
	if len(b) > MaxPositionBytes {
		return nil, fmt.Errorf("%w: %d bytes for %d seen rows, limit %d: shorten the lookback", ErrTooLarge, len(b), len(p.Seen), MaxPositionBytes)
	}
	return b, nil
}

// Unmarshal reads a position written by Marshal. It fails with a [*VersionError]
// (errors.Is ErrUnsupportedVersion) for another version and with ErrMalformedPosition
// for anything else it cannot read; p is left unchanged on error.
func (p *Position) Unmarshal(b []byte) error {
	// The version is read on its own first: a newer version may change the other
	// members' types, and must be reported as a version, not as a type error.
	var head struct {
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedPosition, err)
	}
	if head.Version == nil {
		return fmt.Errorf("%w: no version", ErrMalformedPosition)
	}
	v, err := strconv.Atoi(string(bytes.TrimSpace(head.Version)))
	if err != nil {
		return fmt.Errorf("%w: version %s is not an integer", ErrMalformedPosition, head.Version)
	}
	if v != CurrentVersion {
		return &VersionError{Version: v}
	}

	var w wirePosition
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedPosition, err)
	}
	out := Position{Version: v, Extra: w.Extra}
	if out.LastSeen, err = parseTime(w.LastSeen); err != nil {
		return fmt.Errorf("%w: last_seen: %w", ErrMalformedPosition, err)
	}
	if out.WindowEnd, err = parseTime(w.WindowEnd); err != nil {
		return fmt.Errorf("%w: window_end: %w", ErrMalformedPosition, err)
	}
	packed, err := base64.StdEncoding.Strict().DecodeString(w.Seen)
	if err != nil {
		return fmt.Errorf("%w: seen: %w", ErrMalformedPosition, err)
	}
	if out.Seen, err = unpackSeen(packed, w.SeenCount); err != nil {
		return fmt.Errorf("%w: seen: %w", ErrMalformedPosition, err)
	}
	*p = out
	return nil
}

// Record returns the offset record for key on topic: its value is pos marshalled, or
// nil (a tombstone, which resets the report) when pos is nil.
func Record(topic string, key Key, pos *Position) (*kgo.Record, error) {
	k, err := key.Encode()
	if err != nil {
		return nil, err
	}
	r := &kgo.Record{Topic: topic, Key: k}
	if pos != nil {
		if r.Value, err = pos.Marshal(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func formatTime(t time.Time) (string, error) {
	if t.IsZero() {
		return "", nil
	}
	b, err := t.UTC().MarshalText() // RFC 3339; fails outside years 0-9999
	return string(b), err
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

const seenFixed = 16 // ID and Version

// packSeen packs seen in order (time, ID, version), dropping exact duplicates. It
// sorts the rows' indices, 4 bytes a row, rather than a copy of the rows (24), and
// leaves seen as it was.
func packSeen(seen []Seen) ([]byte, int) {
	order := make([]int32, len(seen)) // MaxPositionBytes holds far fewer than 2^31 rows
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return compareSeen(seen[a], seen[b]) })
	b := make([]byte, 0, len(seen)*(seenFixed+2)+8)
	n := 0
	var prev Seen
	for _, i := range order {
		e := seen[i]
		switch {
		case n == 0:
			b = binary.AppendVarint(b, e.Time)
		case e == prev:
			continue
		default:
			// Sorted, so the delta is non-negative; as uint64 it cannot overflow.
			b = binary.AppendUvarint(b, uint64(e.Time)-uint64(prev.Time))
		}
		b = binary.BigEndian.AppendUint64(b, e.ID)
		b = binary.BigEndian.AppendUint64(b, e.Version)
		prev = e
		n++
	}
	return b, n
}

// unpackSeen is packSeen's inverse. It insists on the canonical form (strictly
// ascending, count matching) so that every readable position re-encodes to itself.
func unpackSeen(b []byte, count int) ([]Seen, error) {
	if count < 0 || count > len(b)/(seenFixed+1) {
		return nil, fmt.Errorf("seen_count %d impossible for %d bytes", count, len(b))
	}
	if count == 0 {
		if len(b) != 0 {
			return nil, fmt.Errorf("%d bytes but seen_count 0", len(b))
		}
		return nil, nil
	}
	out := make([]Seen, 0, count)
	for len(b) > 0 {
		var e Seen
		if len(out) == 0 {
			t, n := binary.Varint(b)
			if n <= 0 {
				return nil, fmt.Errorf("row 0: bad time")
			}
			e.Time, b = t, b[n:]
		} else {
			d, n := binary.Uvarint(b)
			prev := out[len(out)-1].Time
			// In uint64 the bound cannot overflow, even for a negative prev.
			if n <= 0 || d > uint64(math.MaxInt64)-uint64(prev) {
				return nil, fmt.Errorf("row %d: bad time delta", len(out))
			}
			e.Time, b = prev+int64(d), b[n:]
		}
		if len(b) < seenFixed {
			return nil, fmt.Errorf("row %d: truncated", len(out))
		}
		e.ID = binary.BigEndian.Uint64(b)
		e.Version = binary.BigEndian.Uint64(b[8:])
		b = b[seenFixed:]
		if len(out) > 0 && compareSeen(out[len(out)-1], e) >= 0 {
			return nil, fmt.Errorf("row %d: not in ascending order", len(out))
		}
		out = append(out, e)
	}
	if len(out) != count {
		return nil, fmt.Errorf("%d rows but seen_count %d", len(out), count)
	}
	return out, nil
}
