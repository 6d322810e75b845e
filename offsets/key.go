package offsets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Names of the partition-map entries a [Key] always carries.
const (
	partServer = "server"
	partReport = "report"
)

// Key names one report of one operation for one connector: the Kafka Connect "source
// partition" of its offset record.
type Key struct {
	Connector string
	// Server is the operation's server number as in wv<server>.wolkvox.com ("0040").
	Server string
	// Report is the report's API name ("act_3").
	Report string
	// Params are the report's query parameters besides the window (skill_id=all): two
	// polls of the same report with different parameters are different partitions. The
	// names "server" and "report" are reserved.
	Params map[string]string
}

// Encode returns the key as Kafka Connect writes a source offset key with its internal
// JsonConverter (schemas disabled): ["<connector>",{"server":"…","report":"…",…}] with no
// whitespace. The partition map lists server, then report, then the parameters sorted by
// name, so equal keys always encode to equal bytes and compaction keeps one record per
// report. Strings are escaped the way Connect's Jackson does: only '"', '\\' and control
// characters, the latter as \b \t \n \f \r or \u00XX with upper-case hex; everything else,
// '<', '&' and non-ASCII included, is written as UTF-8.
//
// Encode fails with [ErrMalformedKey] for an empty connector or report, a reserved
// parameter name, or text that is not valid UTF-8 (Connect could not have written it).
func (k Key) Encode() ([]byte, error) {
	if k.Connector == "" || k.Report == "" {
		return nil, fmt.Errorf("%w: connector and report must not be empty (connector %q, report %q)", ErrMalformedKey, k.Connector, k.Report)
	}
	names := make([]string, 0, len(k.Params))
	for name := range k.Params {
		if name == partServer || name == partReport {
			return nil, fmt.Errorf("%w: parameter name %q is reserved", ErrMalformedKey, name)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for _, s := range append([]string{k.Connector, k.Server, k.Report}, names...) {
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("%w: %q is not valid UTF-8", ErrMalformedKey, s)
		}
	}
	for _, name := range names {
		if !utf8.ValidString(k.Params[name]) {
			return nil, fmt.Errorf("%w: parameter %q: value is not valid UTF-8", ErrMalformedKey, name)
		}
	}

	b := make([]byte, 0, 64)
	b = append(b, '[')
	b = appendJSONString(b, k.Connector)
	b = append(b, ",{"...)
	b = appendMember(b, partServer, k.Server)
	b = append(b, ',')
	b = appendMember(b, partReport, k.Report)
	for _, name := range names {
		b = append(b, ',')
		b = appendMember(b, name, k.Params[name])
	}
	return append(b, "}]"...), nil
}

// String returns the encoded key, or a description of why it cannot be encoded.
func (k Key) String() string {
	b, err := k.Encode()
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// DecodeKey reads a key written by [Key.Encode] or by any tool that writes Connect's
// shape (any member order, any whitespace). Every partition-map value must be a string,
// and server and report must be present. It fails with [ErrMalformedKey] otherwise.
func DecodeKey(b []byte) (Key, error) {
	var outer []json.RawMessage
	if err := json.Unmarshal(b, &outer); err != nil {
		return Key{}, fmt.Errorf("%w: %w", ErrMalformedKey, err)
	}
	if len(outer) != 2 {
		return Key{}, fmt.Errorf("%w: want [connector, partition], got %d elements", ErrMalformedKey, len(outer))
	}
	var k Key
	if err := json.Unmarshal(outer[0], &k.Connector); err != nil {
		return Key{}, fmt.Errorf("%w: connector: %w", ErrMalformedKey, err)
	}
	// A JSON null would decode into an empty map without error; reject it explicitly.
	if bytes.Equal(bytes.TrimSpace(outer[1]), []byte("null")) {
		return Key{}, fmt.Errorf("%w: partition is null", ErrMalformedKey)
	}
	var part map[string]string
	if err := json.Unmarshal(outer[1], &part); err != nil {
		return Key{}, fmt.Errorf("%w: partition: %w", ErrMalformedKey, err)
	}
	var okServer, okReport bool
	k.Server, okServer = part[partServer]
	k.Report, okReport = part[partReport]
	if !okServer || !okReport {
		return Key{}, fmt.Errorf("%w: partition lacks %q or %q", ErrMalformedKey, partServer, partReport)
	}
	delete(part, partServer)
	delete(part, partReport)
	if len(part) > 0 {
		k.Params = part
	}
	if k.Connector == "" || k.Report == "" {
		return Key{}, fmt.Errorf("%w: empty connector or report", ErrMalformedKey)
	}
	return k, nil
}

// canonical re-encodes raw key bytes, so a key written by another tool with other
// spacing or member order still matches the key this package writes.
func canonical(raw []byte) (Key, string, error) {
	k, err := DecodeKey(raw)
	if err != nil {
		return Key{}, "", err
	}
	b, err := k.Encode()
	if err != nil {
		return Key{}, "", err
	}
	return k, string(b), nil
}

func appendMember(b []byte, name, value string) []byte {
	b = appendJSONString(b, name)
	b = append(b, ':')
	return appendJSONString(b, value)
}

// appendJSONString escapes like Jackson's default (see Encode), not like encoding/json,
// which also escapes <, >, &, U+2028 and U+2029 and uses lower-case hex.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
