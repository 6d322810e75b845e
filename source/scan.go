package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// token is one JSON token. kind is the delimiter itself ('{', '}', '[', ']') or one of
// the kinds below; text is a string's unescaped contents, or the literal text of a
// number, true, false or null. Keys are strings.
type token struct {
	kind byte
	text string
}

const (
	kindString = 's'
	kindNumber = 'n'
	kindBool   = 'b'
	kindNull   = '0'
)

// maxDepth bounds nesting, as encoding/json does, so that hostile input cannot exhaust
// the stack of the recursive decoder.
const maxDepth = 10000

// scanner is a streaming JSON tokenizer with the semantics of encoding/json's
// Decoder.Token and More, syntax checks included, written for speed: it returns tokens
// by value, allocates only the strings it returns, and reads through a buffer that
// grows only to hold the longest single token.
type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	readErr  error  // sticky: the reader's error, io.EOF included
	stack    []byte // open containers, '{' or '['
	state    scanState
	scratch  []byte // for unescaping strings
	// keys interns object keys: a report repeats the same few dozen in every row, so
	// each is allocated once per body rather than once per row.
	keys map[string]string
}

// maxInterned bounds keys, so that a body of ever-new keys cannot grow it without end.
const maxInterned = 4096

type scanState uint8

const (
	stTop         scanState = iota // before the top-level value
	stTopDone                      // after it: only whitespace may follow
	stArrayFirst                   // after '[': a value or ']'
	stArrayElem                    // after ',' in an array: a value
	stArrayNext                    // after an element: ',' or ']'
	stObjectFirst                  // after '{': a key or '}'
	stObjectKey                    // after ',' in an object: a key
	stObjectValue                  // after a key and its colon: a value
	stObjectNext                   // after a member: ',' or '}'
)

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, 32<<10)}
}

// syntaxError reports malformed JSON; it wraps errMalformed.
func (s *scanner) syntaxError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// fill reads more input, keeping buf[keep:end]; it returns how far that part moved
// towards the start. At the end of input it returns io.EOF; a read failure is returned
// wrapped.
func (s *scanner) fill(keep int) (shift int, err error) {
	if s.readErr != nil {
		return 0, s.readErrWrapped()
	}
	if keep > 0 {
		copy(s.buf, s.buf[keep:s.end])
		s.end -= keep
		s.pos -= keep
		shift = keep
	}
	if s.end == len(s.buf) {
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	for {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.readErr = err
			if n > 0 {
				return shift, nil
			}
			return shift, s.readErrWrapped()
		}
		if n > 0 {
			return shift, nil
		}
	}
}

func (s *scanner) readErrWrapped() error {
	if errors.Is(s.readErr, io.EOF) {
		return io.EOF
	}
	return fmt.Errorf("reading body: %w", s.readErr)
}

// peek skips whitespace and returns the next byte without consuming it.
func (s *scanner) peek() (byte, error) {
	for {
		for s.pos < s.end {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return c, nil
			}
		}
		if _, err := s.fill(s.pos); err != nil {
			return 0, err
		}
	}
}

// more reports whether the current array or object has another element, as
// json.Decoder.More does.
func (s *scanner) more() bool {
	c, err := s.peek()
	return err == nil && c != ']' && c != '}'
}

// finish checks that nothing but whitespace follows the top-level value.
func (s *scanner) finish() error {
	_, err := s.peek()
	switch {
	case err == io.EOF:
		return nil
	case err != nil:
		return err
	}
	return s.syntaxError("data after the top-level value")
}

// eofErr turns the end of input in the middle of the document into errMalformed.
func (s *scanner) eofErr(err error) error {
	if err == io.EOF {
		return fmt.Errorf("%w: %w", errMalformed, io.ErrUnexpectedEOF)
	}
	return err
}

// next returns the next token, consuming the commas and colons around it.
func (s *scanner) next() (token, error) {
	for {
		c, err := s.peek()
		if err != nil {
			return token{}, s.eofErr(err)
		}
		switch s.state {
		case stTopDone:
			return token{}, s.syntaxError("data after the top-level value")
		case stArrayNext:
			switch c {
			case ',':
				s.pos++
				s.state = stArrayElem
				continue
			case ']':
				s.pos++
				s.pop()
				return token{kind: ']'}, nil
			}
			return token{}, s.syntaxError("invalid character %q after an array element", c)
		case stObjectNext:
			switch c {
			case ',':
				s.pos++
				s.state = stObjectKey
				continue
			case '}':
				s.pos++
				s.pop()
				return token{kind: '}'}, nil
			}
			return token{}, s.syntaxError("invalid character %q after an object member", c)
		case stObjectFirst, stObjectKey:
			if c == '}' && s.state == stObjectFirst {
				s.pos++
				s.pop()
				return token{kind: '}'}, nil
			}
			if c != '"' {
				return token{}, s.syntaxError("invalid character %q looking for an object key", c)
			}
			key, err := s.key()
			if err != nil {
				return token{}, err
			}
			c, err := s.peek()
			if err != nil {
				return token{}, s.eofErr(err)
			}
			if c != ':' {
				return token{}, s.syntaxError("invalid character %q after an object key", c)
			}
			s.pos++
			s.state = stObjectValue
			return token{kind: kindString, text: key}, nil
		case stArrayFirst:
			if c == ']' {
				s.pos++
				s.pop()
				return token{kind: ']'}, nil
			}
		}
		return s.value(c)
	}
}

// value reads a value starting with c, or opens a container.
func (s *scanner) value(c byte) (token, error) {
	switch c {
	case '{', '[':
		if len(s.stack) >= maxDepth {
			return token{}, s.syntaxError("nested too deeply")
		}
		s.pos++
		s.stack = append(s.stack, c)
		if c == '{' {
			s.state = stObjectFirst
		} else {
			s.state = stArrayFirst
		}
		return token{kind: c}, nil
	case '"':
		text, err := s.str()
		if err != nil {
			return token{}, err
		}
		s.afterValue()
		return token{kind: kindString, text: text}, nil
	case 't':
		return s.literal("true", kindBool)
	case 'f':
		return s.literal("false", kindBool)
	case 'n':
		return s.literal("null", kindNull)
	}
	if c == '-' || c >= '0' && c <= '9' {
		return s.number()
	}
	return token{}, s.syntaxError("invalid character %q looking for a value", c)
}

func (s *scanner) pop() {
	s.stack = s.stack[:len(s.stack)-1]
	s.afterValue()
}

func (s *scanner) afterValue() {
	switch {
	case len(s.stack) == 0:
		s.state = stTopDone
	case s.stack[len(s.stack)-1] == '[':
		s.state = stArrayNext
	default:
		s.state = stObjectNext
	}
}

// need makes sure n bytes from pos are buffered; it returns false at the end of input.
func (s *scanner) need(n int) (bool, error) {
	for s.end-s.pos < n {
		if _, err := s.fill(s.pos); err != nil {
			if err == io.EOF {
				return false, nil
			}
			return false, err
		}
	}
	return true, nil
}

func (s *scanner) literal(lit string, kind byte) (token, error) {
	ok, err := s.need(len(lit))
	if err != nil {
		return token{}, err
	}
	if !ok {
		// Whatever is left must still be a prefix of lit to be a mere early end.
		if string(s.buf[s.pos:s.end]) == lit[:s.end-s.pos] {
			return token{}, s.eofErr(io.EOF)
		}
		return token{}, s.syntaxError("invalid literal")
	}
	if string(s.buf[s.pos:s.pos+len(lit)]) != lit {
		return token{}, s.syntaxError("invalid literal")
	}
	s.pos += len(lit)
	s.afterValue()
	return token{kind: kind, text: lit}, nil
}

// number reads a number, checking JSON's grammar, and returns its literal text.
func (s *scanner) number() (token, error) {
	i := s.pos
	// at returns the byte at i, refilling as needed; 0 at the end of input.
	at := func() (byte, error) {
		for i >= s.end {
			shift, err := s.fill(s.pos)
			i -= shift
			if err == io.EOF {
				return 0, nil
			}
			if err != nil {
				return 0, err
			}
		}
		return s.buf[i], nil
	}
	digits := func() (int, error) {
		n := 0
		for {
			c, err := at()
			if err != nil || c < '0' || c > '9' {
				return n, err
			}
			i++
			n++
		}
	}
	c, err := at()
	if err != nil {
		return token{}, err
	}
	if c == '-' {
		i++
	}
	if c, err = at(); err != nil {
		return token{}, err
	}
	switch {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		if _, err := digits(); err != nil {
			return token{}, err
		}
	case c == 0:
		return token{}, s.eofErr(io.EOF)
	default:
		return token{}, s.syntaxError("invalid character %q in a number", c)
	}
	if c, err = at(); err != nil {
		return token{}, err
	}
	if c == '.' {
		i++
		n, err := digits()
		if err != nil {
			return token{}, err
		}
		if n == 0 {
			return token{}, s.numberEnd(at)
		}
		if c, err = at(); err != nil {
			return token{}, err
		}
	}
	if c == 'e' || c == 'E' {
		i++
		if c, err = at(); err != nil {
			return token{}, err
		}
		if c == '+' || c == '-' {
			i++
		}
		n, err := digits()
		if err != nil {
			return token{}, err
		}
		if n == 0 {
			return token{}, s.numberEnd(at)
		}
	}
	text := string(s.buf[s.pos:i])
	s.pos = i
	s.afterValue()
	return token{kind: kindNumber, text: text}, nil
}

// numberEnd is the error for a number missing its digits: an early end or a bad byte.
func (s *scanner) numberEnd(at func() (byte, error)) error {
	c, err := at()
	switch {
	case err != nil:
		return err
	case c == 0:
		return s.eofErr(io.EOF)
	}
	return s.syntaxError("invalid character %q in a number", c)
}

// key reads an object key, interned.
func (s *scanner) key() (string, error) {
	return s.readString(true)
}

// str reads a string whose opening quote is at pos and returns its contents.
func (s *scanner) str() (string, error) {
	return s.readString(false)
}

func (s *scanner) readString(intern bool) (string, error) {
	i := s.pos + 1
	escaped, ascii := false, true
	for {
		for ; i < s.end; i++ {
			switch c := s.buf[i]; {
			case c == '"':
				raw := s.buf[s.pos+1 : i]
				s.pos = i + 1
				if !escaped && (ascii || utf8.Valid(raw)) {
					if !intern {
						return string(raw), nil
					}
					if k, ok := s.keys[string(raw)]; ok { // no allocation: the compiler sees the lookup
						return k, nil
					}
					k := string(raw)
					if len(s.keys) < maxInterned {
						if s.keys == nil {
							s.keys = make(map[string]string)
						}
						s.keys[k] = k
					}
					return k, nil
				}
				return s.unquote(raw)
			case c == '\\':
				escaped = true
				i++ // the escaped byte cannot end the string
			case c < 0x20:
				return "", s.syntaxError("control character %#x in a string", c)
			case c >= utf8.RuneSelf:
				ascii = false
			}
		}
		shift, err := s.fill(s.pos)
		i -= shift
		if err != nil {
			return "", s.eofErr(err)
		}
	}
}

// unquote decodes a string's escapes as encoding/json does: a lone surrogate or an
// invalid UTF-8 byte becomes U+FFFD.
func (s *scanner) unquote(raw []byte) (string, error) {
	b := s.scratch[:0]
	for r := 0; r < len(raw); {
		c := raw[r]
		switch {
		case c == '\\':
			if r+1 >= len(raw) {
				return "", s.syntaxError("bad escape")
			}
			switch e := raw[r+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				r += 2
			case 'b':
				b, r = append(b, '\b'), r+2
			case 'f':
				b, r = append(b, '\f'), r+2
			case 'n':
				b, r = append(b, '\n'), r+2
			case 'r':
				b, r = append(b, '\r'), r+2
			case 't':
				b, r = append(b, '\t'), r+2
			case 'u':
				rr := getu4(raw[r:])
				if rr < 0 {
					return "", s.syntaxError("bad \\u escape")
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					if rr1 := getu4(raw[r:]); rr1 >= 0 {
						if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
							b, r = utf8.AppendRune(b, dec), r+6
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
			default:
				return "", s.syntaxError("bad escape \\%c", e)
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(raw[r:])
			b = utf8.AppendRune(b, rr) // RuneError for an invalid byte, as encoding/json does
			r += size
		}
	}
	s.scratch = b
	return string(b), nil
}

// getu4 decodes \uXXXX at the start of b, or returns -1.
func getu4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// appendQuoted appends s as a JSON string, escaped as encoding/json escapes it.
func appendQuoted(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
