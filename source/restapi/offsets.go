package restapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// offsetsView is Kafka Connect's KIP-875 body, for GET and PATCH alike.
type offsetsView struct {
	Offsets []offsetView `json:"offsets"`
}

type offsetView struct {
	// Partition is the report's source partition: server, report and its parameters.
	Partition map[string]string `json:"partition"`
	// Offset is the position JSON as stored; null when unreadable (see Error).
	Offset json.RawMessage `json:"offset"`
	// Error says why a stored value could not be read.
	Error string `json:"error,omitempty"`
}

func partition(k offsets.Key) map[string]string {
	p := maps.Clone(k.Params)
	if p == nil {
		p = map[string]string{}
	}
	p["server"], p["report"] = k.Server, k.Report
	return p
}

func partitionJSON(k offsets.Key) string {
	b, _ := json.Marshal(partition(k)) // a map of strings always marshals
	return string(b)
}

// viewOffsets lists entries sorted by their encoded key, so answers are stable.
func viewOffsets(entries []offsets.Entry) (offsetsView, error) {
	type keyed struct {
		enc string
		v   offsetView
	}
	list := make([]keyed, 0, len(entries))
	for _, e := range entries {
		enc, err := e.Key.Encode()
		if err != nil {
			return offsetsView{}, fmt.Errorf("listing offsets: %w", err)
		}
		v := offsetView{Partition: partition(e.Key), Offset: json.RawMessage("null")}
		if e.Err != nil {
			v.Error = e.Err.Error()
		} else if b, err := e.Position.Marshal(); err != nil {
			v.Error = err.Error()
		} else {
			v.Offset = b
		}
		list = append(list, keyed{string(enc), v})
	}
	slices.SortFunc(list, func(a, b keyed) int { return bytes.Compare([]byte(a.enc), []byte(b.enc)) })
	out := offsetsView{Offsets: make([]offsetView, 0, len(list))}
	for _, k := range list {
		out.Offsets = append(out.Offsets, k.v)
	}
	return out, nil
}

// parseOffsets reads a PATCH body for the named connector: {"offsets": [{"partition":
// {...}, "offset": {...} or null}]}. Unknown members, a missing partition or offset, a
// partition given twice and anything offsets.DecodeKey or Position.Unmarshal refuse are
// answered 400 with the index of the entry; the *Error wraps the offsets package's
// error, so errors.Is(err, offsets.ErrMalformedPosition) holds where it applies.
func parseOffsets(name string, body []byte) ([]source.OffsetChange, error) {
	bad := func(cause error, format string, args ...any) error {
		return errorf(http.StatusBadRequest, cause, fmt.Sprintf(format, args...))
	}
	var req struct {
		Offsets []struct {
			Partition json.RawMessage `json:"partition"`
			Offset    json.RawMessage `json:"offset"`
		} `json:"offsets"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, bad(err, "the body is not {\"offsets\": [{\"partition\": {...}, \"offset\": {...} or null}]}: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad(err, "the body has data after its JSON object")
	}
	if len(req.Offsets) == 0 {
		return nil, bad(nil, "\"offsets\" is missing or empty: give at least one {\"partition\": {...}, \"offset\": {...} or null}")
	}
	nameJSON, err := json.Marshal(name)
	if err != nil {
		return nil, fmt.Errorf("encoding the connector name: %w", err)
	}
	seen := map[string]int{}
	changes := make([]source.OffsetChange, 0, len(req.Offsets))
	for i, o := range req.Offsets {
		if len(o.Partition) == 0 {
			return nil, bad(nil, "offsets[%d]: \"partition\" is missing", i)
		}
		// The partition is read as the second half of a Kafka Connect offset key, so it
		// obeys exactly the rules of keys in the offsets topic.
		raw := slices.Concat([]byte("["), nameJSON, []byte(","), o.Partition, []byte("]"))
		key, err := offsets.DecodeKey(raw)
		if err != nil {
			return nil, bad(err, "offsets[%d].partition: %v (want {\"server\": \"...\", \"report\": \"...\", parameter: \"value\"...}, every value a string)", i, err)
		}
		// The name went through JSON, which replaces invalid UTF-8: set it as given, so
		// Encode refuses such a name rather than a lookalike being written.
		key.Connector = name
		enc, err := key.Encode()
		if err != nil {
			return nil, bad(err, "offsets[%d].partition: %v", i, err)
		}
		if j, dup := seen[string(enc)]; dup {
			return nil, bad(nil, "offsets[%d].partition is the same as offsets[%d].partition", i, j)
		}
		seen[string(enc)] = i
		ch := source.OffsetChange{Key: key}
		switch {
		case len(o.Offset) == 0:
			return nil, bad(nil, "offsets[%d]: \"offset\" is missing (null resets the report)", i)
		case string(bytes.TrimSpace(o.Offset)) != "null":
			var pos offsets.Position
			if err := pos.Unmarshal(o.Offset); err != nil {
				return nil, bad(err, "offsets[%d].offset: %v (give the offset as GET returned it, \"version\" included)", i, err)
			}
			ch.Position = &pos
		}
		changes = append(changes, ch)
	}
	return changes, nil
}
