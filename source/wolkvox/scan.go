package wolkvox

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// token is one JSON token. kind is the delimiter itself ('{', '}', '[', ']') or one of
// the kinds below; text is a string's unescaped contents, or the literal text of a
// number, true, false or null (empty for a string or number read into the scanner's
// arena). Keys are strings.
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
// grows only to hold the longest single token, or, while a row is open (beginRow), the
// row's whole text.
//
// Every buffer is bounded, whatever the input: buf holds at most maxValue+1 bytes (a
// longer token, or a longer row, fails with a *tooLargeError, and skipRow then skips the
// rest of the row without holding it); scratch never exceeds one string; stack holds at
// most maxDepth bytes; keys at most maxInterned keys of at most maxInternedLen bytes. The
// arena is the decoder's, bounded by the row.
type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	base     int64  // the body offset of buf[0]
	readErr  error  // sticky: the reader's error, io.EOF included
	stack    []byte // open containers, '{' or '['
	state    scanState
	scratch  []byte // for unescaping strings
	// arena, when set, receives the contents of the next string or number value instead
	// of a string allocated for it: the decoder gathers a row's values there and makes
	// one string of them all.
	arena *[]byte
	// keys interns object keys: a report repeats the same few dozen in every row, so
	// each is allocated once per body rather than once per row. recentKeys holds
	// interned keys by keySlot, so that most are found by one comparison instead of
	// hashing them for the map.
	keys       map[string]string
	recentKeys [64]string

	// maxValue bounds the text of one row, or of one token outside rows.
	maxValue int
	// rowStart is the index in buf of the open row's '{', -1 when no row is open; buf
	// keeps the row's text from there. rowDepth is len(stack) inside the row.
	rowStart, rowDepth int
	// done is the last row closed that turned out longer than maxValue, if any; the
	// decoder reads it through skipRow.
	done *OversizeRow
}

// maxInterned bounds keys, so that a body of ever-new keys cannot grow it without end;
// keys longer than maxInternedLen are not interned at all.
const (
	maxInterned    = 4096
	maxInternedLen = 256
)

// oversizePrefix is how much of an oversize row's text OversizeRow.Prefix keeps.
const oversizePrefix = 64 << 10

// initialBuf is the scanner's first buffer size.
const initialBuf = 32 << 10

// tooLargeError is a row, or a token outside rows, longer than the scanner's maxValue.
// It wraps ErrRowTooLarge.
type tooLargeError struct {
	inRow bool
	max   int
}

func (e *tooLargeError) Error() string {
	if e.inRow {
		return fmt.Sprintf("%v: a row is longer than %d bytes (MaxRowBytes)", ErrRowTooLarge, e.max)
	}
	return fmt.Sprintf("%v: a value outside data's rows is longer than %d bytes (MaxRowBytes)", ErrRowTooLarge, e.max)
}

func (e *tooLargeError) Unwrap() error { return ErrRowTooLarge }

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

// newScanner returns a scanner of r whose rows and tokens may be DefaultMaxRowBytes long.
func newScanner(r io.Reader) *scanner { return newScannerMax(r, DefaultMaxRowBytes) }

// newScannerMax returns a scanner of r whose rows and tokens may be maxValue bytes long.
func newScannerMax(r io.Reader, maxValue int) *scanner {
	return &scanner{r: r, buf: make([]byte, initialBuf), maxValue: max(maxValue, 1), rowStart: -1}
}

// syntaxError reports malformed JSON; it wraps errMalformed.
func (s *scanner) syntaxError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// fill reads more input, keeping buf[keep:end] (and the open row's text); it returns
// how far that part moved towards the start. At the end of input it returns io.EOF; a
// read failure is returned wrapped. When what it must keep is already longer than
// maxValue it reads nothing and returns a *tooLargeError, again at every call until
// skipRow or the end of the row's token: the condition is the scanner's state.
func (s *scanner) fill(keep int) (shift int, err error) {
	inRow := s.rowStart >= 0
	if inRow {
		keep = min(keep, s.rowStart)
	}
	if s.end-keep > s.maxValue {
		return 0, &tooLargeError{inRow: inRow, max: s.maxValue}
	}
	if s.readErr != nil {
		return 0, s.readErrWrapped()
	}
	if keep > 0 {
		copy(s.buf, s.buf[keep:s.end])
		s.end -= keep
		s.pos -= keep
		s.base += int64(keep)
		shift = keep
		if inRow {
			s.rowStart -= keep
		}
	}
	if s.end == len(s.buf) {
		// Never beyond what one value may need: end <= maxValue here, so there is room.
		grown := make([]byte, min(2*len(s.buf), max(s.maxValue+1, initialBuf)))
		copy(grown, s.buf[:s.end])
		s.buf = grown
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
	if s.rowStart >= 0 && len(s.stack) < s.rowDepth {
		s.endRow()
	}
	s.afterValue()
}

// tooLong checks the length of a value's text outside rows, where no row bounds it.
func (s *scanner) tooLong(n int) error {
	if s.rowStart < 0 && n > s.maxValue {
		return &tooLargeError{max: s.maxValue}
	}
	return nil
}

// beginRow marks the '{' just returned by next as the start of a row: until the row's
// closing brace, buf keeps the row's text, and a row longer than maxValue fails with a
// *tooLargeError (at once if it outgrows the buffer, or when it closes).
func (s *scanner) beginRow() {
	s.rowStart, s.rowDepth = s.pos-1, len(s.stack)
	s.done = nil
}

// endRow closes the open row, at its closing brace (consumed), recording it when it was
// longer than maxValue.
func (s *scanner) endRow() {
	if n := s.pos - s.rowStart; n > s.maxValue {
		s.done = &OversizeRow{Prefix: bytes.Clone(s.buf[s.rowStart : s.rowStart+min(n, oversizePrefix)]), Bytes: int64(n)}
	}
	s.rowStart = -1
}

// cancelRow forgets the open row without closing it (a data object that turned out to
// hold rows rather than be one).
func (s *scanner) cancelRow() { s.rowStart = -1 }

// skipRow is called after a *tooLargeError of a row: it returns the row's size and the
// start of its text, and leaves the scanner after the row's closing brace, as if the row
// had been read. The rest of a row still open is skipped without being held: only its
// strings and brackets are followed, its syntax is not checked. The body ending first
// is an early end (errMalformed).
func (s *scanner) skipRow() (OversizeRow, error) {
	if s.done != nil {
		o := *s.done
		s.done = nil
		return o, nil
	}
	if s.rowStart < 0 {
		return OversizeRow{}, errors.New("skipRow without an open row") // a decoder bug
	}
	start := s.base + int64(s.rowStart)
	var o OversizeRow
	// keep adds buf[from:to] to the prefix, up to its size.
	keep := func(from, to int) {
		if room := oversizePrefix - len(o.Prefix); room > 0 {
			o.Prefix = append(o.Prefix, s.buf[from:min(to, from+room)]...)
		}
	}
	i := s.rowStart
	s.rowStart = -1
	depth, inString, escaped := 0, false, false
	for {
		from := i
		for ; i < s.end; i++ {
			c := s.buf[i]
			switch {
			case escaped:
				escaped = false
			case inString:
				// Jump to the next quote or backslash: a long string is what makes a
				// row oversize, and IndexByte is much faster than this loop.
				j := quoteOrBackslash(s.buf[i:s.end])
				if j < 0 {
					i = s.end - 1
					continue
				}
				i += j
				if s.buf[i] == '\\' {
					escaped = true
				} else {
					inString = false
				}
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				if depth--; depth == 0 {
					keep(from, i+1)
					s.pos = i + 1
					o.Bytes = s.base + int64(s.pos) - start
					s.stack = s.stack[:s.rowDepth-1]
					s.afterValue()
					return o, nil
				}
			}
		}
		keep(from, s.end)
		s.pos = s.end
		if _, err := s.fill(s.end); err != nil {
			return OversizeRow{}, s.eofErr(err)
		}
		i = s.pos
	}
}

// quoteOrBackslash returns the index of the first '"' or '\\' in b, or -1.
func quoteOrBackslash(b []byte) int {
	q := bytes.IndexByte(b, '"')
	if q >= 0 {
		b = b[:q]
	}
	if k := bytes.IndexByte(b, '\\'); k >= 0 {
		return k
	}
	return q
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
	if err := s.tooLong(i - s.pos); err != nil {
		return token{}, err
	}
	var text string
	if s.arena != nil {
		*s.arena = append(*s.arena, s.buf[s.pos:i]...)
	} else {
		text = string(s.buf[s.pos:i])
	}
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

// keySlot is a key's place in scanner.recentKeys: cheap to compute, and different for
// most of one report's keys.
func keySlot(raw []byte) int {
	if len(raw) == 0 {
		return 0
	}
	return (len(raw)*7 + int(raw[0])*3 + int(raw[len(raw)-1]) + int(raw[len(raw)/2])*5) % 64
}

// stringSpecials marks the bytes of x (eight, little-endian) that readString must look
// at: a quote, a backslash, a control character or a byte of a non-ASCII character,
// each by its high bit. A byte above a marked one may be marked too (a borrow carries
// up), never one below: the lowest mark is the first such byte, exactly.
func stringSpecials(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zeroIn := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	return zeroIn(x^('"'*ones)) | zeroIn(x^('\\'*ones)) | (x-0x20*ones)&^x&highs | x&highs
}

// str reads a string whose opening quote is at pos and returns its contents.
func (s *scanner) str() (string, error) {
	return s.readString(false)
}

func (s *scanner) readString(intern bool) (string, error) {
	end, plain, err := s.stringEnd()
	if err != nil {
		return "", err
	}
	if err := s.tooLong(end + 1 - s.pos); err != nil {
		return "", err
	}
	raw := s.buf[s.pos+1 : end]
	s.pos = end + 1
	if !intern && s.arena != nil {
		if plain {
			*s.arena = append(*s.arena, raw...)
			return "", nil
		}
		*s.arena, err = s.unquote(*s.arena, raw)
		return "", err
	}
	if plain {
		if !intern {
			return string(raw), nil
		}
		return s.intern(raw), nil
	}
	b, err := s.unquote(s.scratch[:0], raw)
	if err != nil {
		return "", err
	}
	s.scratch = b
	return string(b), nil
}

// stringEnd finds the closing quote of the string whose opening quote is at pos,
// reading more input as needed (which may move the string in buf): end is its index,
// and plain reports contents to take as they are (no escape, valid UTF-8).
func (s *scanner) stringEnd() (end int, plain bool, err error) {
	if end, ok := plainString(s.buf[:s.end], s.pos+1); ok {
		return end, true, nil
	}
	i := s.pos + 1
	escaped, ascii := false, true
	for {
		for i = nextSpecial(s.buf[:s.end], i); i < s.end; i = nextSpecial(s.buf[:s.end], i) {
			switch c := s.buf[i]; {
			case c == '"':
				return i, !escaped && (ascii || utf8.Valid(s.buf[s.pos+1:i])), nil
			case c == '\\':
				escaped = true
				i++ // the escaped byte cannot end the string
			case c < 0x20:
				return 0, false, s.syntaxError("control character %#x in a string", c)
			case c >= utf8.RuneSelf:
				ascii = false
			}
			i++
		}
		shift, err := s.fill(s.pos)
		i -= shift
		if err != nil {
			return 0, false, s.eofErr(err)
		}
	}
}

// plainString returns the index in buf of the quote that closes a string whose contents
// start at buf[i], when they end within buf and are to be taken as they are: no escape,
// no control character, valid UTF-8. ok is false otherwise (stringEnd then reads the
// string the long way).
func plainString(buf []byte, i int) (end int, ok bool) {
	from, ascii := i, true
	for i = nextSpecial(buf, i); i < len(buf); i = nextSpecial(buf, i+1) {
		switch c := buf[i]; {
		case c == '"':
			return i, ascii || utf8.Valid(buf[from:i])
		case c == '\\' || c < 0x20:
			return 0, false
		}
		ascii = false // a byte of a non-ASCII character
	}
	return 0, false
}

// nextSpecial returns the index of the first byte of buf from i on that a string's
// reader must look at (see stringSpecials), or len(buf) (i, when i is past it). It reads
// eight bytes at a time, so most strings take one or two words.
func nextSpecial(buf []byte, i int) int {
	for ; i+8 <= len(buf); i += 8 {
		if m := stringSpecials(binary.LittleEndian.Uint64(buf[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(buf); i++ {
		if c := buf[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// intern returns raw, a plain key, as a string: the one kept for it (see keys).
func (s *scanner) intern(raw []byte) string {
	slot := keySlot(raw)
	if k := s.recentKeys[slot]; k == string(raw) { // no allocation: a comparison
		return k
	}
	if k, ok := s.keys[string(raw)]; ok { // no allocation: the compiler sees the lookup
		s.recentKeys[slot] = k
		return k
	}
	k := string(raw)
	if len(s.keys) < maxInterned && len(k) <= maxInternedLen {
		if s.keys == nil {
			s.keys = make(map[string]string)
		}
		s.keys[k] = k
		s.recentKeys[slot] = k
	}
	return k
}

// plainMember reads the next member of the open row's object when it is the common
// kind, wholly buffered: a plain key (see plainString) and a plain string or null, with
// no whitespace around them; the string's contents go to values. It is the decoder's
// quick way through a row: ok is false, and nothing read, for anything else (another
// value, an escape, whitespace, the end of the buffer, the object's end), which next
// then reads the long way.
func (s *scanner) plainMember(values *[]byte) (key string, null, ok bool) {
	if s.rowStart < 0 {
		return "", false, false // outside a row nothing bounds a value's length (tooLong)
	}
	buf, i := s.buf[:s.end], s.pos
	switch s.state {
	case stObjectNext:
		if i >= len(buf) || buf[i] != ',' {
			return "", false, false
		}
		i++
	case stObjectFirst, stObjectKey:
	default:
		return "", false, false
	}
	if i >= len(buf) || buf[i] != '"' {
		return "", false, false
	}
	keyEnd, ok := plainString(buf, i+1)
	if !ok || keyEnd+2 >= len(buf) || buf[keyEnd+1] != ':' {
		return "", false, false
	}
	v := keyEnd + 2
	switch buf[v] {
	case '"':
		end, ok := plainString(buf, v+1)
		if !ok {
			return "", false, false
		}
		*values = append(*values, buf[v+1:end]...)
		s.pos = end + 1
	case 'n':
		if v+4 > len(buf) || string(buf[v:v+4]) != "null" {
			return "", false, false
		}
		s.pos, null = v+4, true
	default:
		return "", false, false
	}
	s.state = stObjectNext
	return s.intern(buf[i+1 : keyEnd]), null, true
}

// unquote appends raw to b with its escapes decoded as encoding/json decodes them: a
// lone surrogate or an invalid UTF-8 byte becomes U+FFFD.
func (s *scanner) unquote(b, raw []byte) ([]byte, error) {
	for r := 0; r < len(raw); {
		c := raw[r]
		switch {
		case c == '\\':
			if r+1 >= len(raw) {
				return b, s.syntaxError("bad escape")
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
					return b, s.syntaxError("bad \\u escape")
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
				return b, s.syntaxError("bad escape \\%c", e)
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
	return b, nil
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
