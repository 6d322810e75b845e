package source

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces a secret in text.
const Redacted = "[REDACTED]"

// minSecret is the shortest secret a Redactor hides: a shorter one would blank ordinary
// words out of every message, and is no secret anyway.
const minSecret = 4

// Redactor removes secrets from text that came from elsewhere: upstream servers and
// proxies echo what they were sent (a Wolkvox token in a URL, a registry's
// Authorization header in an error page, a SASL failure quoting its input), and that
// text reaches logs, the status' last_error and the REST API. One Redactor holds every
// secret of a worker; [Redactor.Handler] applies it to every log record, and the
// connectors apply it to every error they keep. It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a secret containing another goes whole
}

// NewRedactor returns a Redactor hiding secrets (see Add).
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add hides each secret, as it is and URL-escaped (as it appears in a query or a form).
// Secrets shorter than four bytes are ignored.
func (r *Redactor) Add(secrets ...string) {
	var forms []string
	for _, s := range secrets {
		forms = append(forms, s, url.QueryEscape(s), url.PathEscape(s))
	}
	r.add(forms...)
}

// AddBasicAuth hides a password and the Basic credentials made of it (base64 of
// "user:password", as an Authorization header carries them).
func (r *Redactor) AddBasicAuth(user, password string) {
	if password == "" {
		return
	}
	r.Add(password)
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	r.add(basic, strings.TrimRight(basic, "="), base64.URLEncoding.EncodeToString([]byte(user+":"+password)))
}

func (r *Redactor) add(forms ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range forms {
		if len(f) >= minSecret && !slices.Contains(r.secrets, f) {
			r.secrets = append(r.secrets, f)
		}
	}
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

// Redact returns s with every secret replaced by [Redacted]. A nil Redactor returns s.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, secret := range r.secrets {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	return s
}

// Handler wraps h so that every record's message and attributes are redacted: strings,
// errors and Stringers are turned into their redacted text (an error attribute keeps
// only its text, which is all a handler prints of it), groups are walked.
func (r *Redactor) Handler(h slog.Handler) slog.Handler { return &redactingHandler{next: h, r: r} }

// Error returns err with every secret r knows hidden from its text, for an error
// printed outside the logger (a command's last words), which may quote an upstream's
// answer; errors.Is and errors.As still see its chain. Nil stays nil.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	if text := r.Redact(err.Error()); text != err.Error() {
		return &redactedError{err: err, text: text}
	}
	return err
}

// redactedError is an error whose text had secrets in it: Error is the redacted text.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

type redactingHandler struct {
	next slog.Handler
	r    *Redactor
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &redactingHandler{next: h.next.WithAttrs(red), r: h.r}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name), r: h.r}
}

func (h *redactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Redact(v.String()))
	case slog.KindGroup:
		group := v.Group()
		red := make([]any, len(group))
		for i, g := range group {
			red[i] = h.attr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.r.Redact(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, h.r.Redact(x.String()))
		case []byte:
			return slog.String(a.Key, h.r.Redact(string(x)))
		default:
			// Anything else keeps its shape unless its text holds a secret.
			text := fmt.Sprintf("%+v", x)
			if red := h.r.Redact(text); red != text {
				return slog.String(a.Key, red)
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
