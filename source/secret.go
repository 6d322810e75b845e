package source

import (
	"encoding/json"
	"log/slog"
	"strconv"
)

// Secret is a token or a password: the Wolkvox tokens, the SASL and registry passwords,
// the REST bearer token. Every way of printing it (String, GoString, JSON,
// YAML, text, slog) shows "[REDACTED]", or nothing when unset; Reveal returns the value.
// The value sits behind a pointer, so even fmt's reflection over unexported fields
// shows an address, never the text.
type Secret struct{ p *string }

// NewSecret holds s as a Secret; "" is an unset one.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{p: &s}
}

// Reveal returns the secret's value, "" when unset.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s.p != nil }

// String is "[REDACTED]", or "" when unset; GoString, the marshalers and LogValue
// show the same.
func (s Secret) String() string {
	if s.p == nil {
		return ""
	}
	return Redacted
}

func (s Secret) GoString() string             { return "source.Secret(" + strconv.Quote(s.String()) + ")" }
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
func (s Secret) MarshalYAML() (any, error)    { return s.String(), nil }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(s.String()) }
