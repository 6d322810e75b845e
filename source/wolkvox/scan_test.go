package wolkvox

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// walk reads one top-level JSON value through next, noting every token and, before each
// token inside a container, what more says. It returns those steps, whether the body was
// exactly one well-formed value (end reports whether nothing follows it), and the error
// that stopped it.
func walk(next func() (token, error), more func() bool, end func() error) (steps []string, err error) {
	depth := 0
	for {
		if depth > 0 {
			steps = append(steps, fmt.Sprint("more=", more()))
		}
		t, err := next()
		if err != nil {
			return steps, err
		}
		steps = append(steps, fmt.Sprintf("%c %q", t.kind, t.text))
		switch t.kind {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		if depth == 0 {
			return steps, end()
		}
	}
}

// trimMore drops a final More answer from steps.
func trimMore(steps []string) []string {
	if n := len(steps); n > 0 && strings.HasPrefix(steps[n-1], "more=") {
		return steps[:n-1]
	}
	return steps
}

// jsonToken turns a token of encoding/json's Decoder (with UseNumber) into a scanner token.
func jsonToken(t json.Token) token {
	switch v := t.(type) {
	case json.Delim:
		return token{kind: byte(v)}
	case string:
		return token{kind: kindString, text: v}
	case json.Number:
		return token{kind: kindNumber, text: string(v)}
	case bool:
		return token{kind: kindBool, text: fmt.Sprint(v)}
	case nil:
		return token{kind: kindNull, text: "null"}
	}
	panic(fmt.Sprintf("unexpected token %T", t))
}

// FuzzScannerMatchesEncodingJSON holds the scanner to what its doc promises: the
// semantics of encoding/json's Decoder.Token and More. On any input both accept or both
// reject the body as one JSON value; on what they accept they yield the same tokens and
// the same More answers; on what they reject, one's steps are a prefix of the other's (a
// scanner may notice an error one token earlier or later, as it looks ahead less), and the
// scanner's error wraps errMalformed. The decoder's own rules (shapes, nesting, the
// envelope) are built on these tokens and tested in decode_test.go.
func FuzzScannerMatchesEncodingJSON(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			f.Add(fixture(f, e.Name()))
		}
	}
	for _, s := range []string{
		`{"code":-0.5e+3,"data":[{"a":"\ud83d\ude00\ud800x\u00e9\/","b":1E5,"c":[true,false,null,{}]}]}`,
		"{\"data\":[{\"a\":\"\xff\xfe ok\"}],\"code\":200}",
		`{"code":200,"data":{"k":{"v":"<&>"}}}`,
		`{"code":01}`, `{"code":1.}`, `{"code":-}`, `{"code":tru}`, `{"code":nul`, `{"a":"\x"}`,
		`{} {}`, `{} x`, `[1x]`, `"s"`, `12`, `{"a" 1}`, `[1,]`, `{"a":1,}`, ``, `   `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newScanner(bytes.NewReader(body))
		got, gotErr := walk(s.next, s.more, s.finish)
		// Read in pieces, the scanner must say the same: refills land inside strings,
		// numbers and literals, and before a word that readString takes eight bytes at
		// a time.
		for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(body)), iotest.HalfReader(bytes.NewReader(body))} {
			s := newScanner(r)
			steps, err := walk(s.next, s.more, s.finish)
			if !slices.Equal(steps, got) || fmt.Sprint(err) != fmt.Sprint(gotErr) {
				t.Fatalf("read in pieces: %q, %v\nread whole: %q, %v", steps, err, got, gotErr)
			}
		}

		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber() // keeps a number's literal text, as the scanner does
		want, wantErr := walk(func() (token, error) {
			t, err := dec.Token()
			if err != nil {
				return token{}, err
			}
			return jsonToken(t), nil
		}, dec.More, func() error {
			if _, err := dec.Token(); err != io.EOF {
				return fmt.Errorf("data after the top-level value (%v)", err)
			}
			return nil
		})

		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("scanner err %v, encoding/json err %v\nscanner %q\nencoding/json %q", gotErr, wantErr, got, want)
		}
		if gotErr != nil {
			if !errors.Is(gotErr, errMalformed) {
				t.Fatalf("scanner err %v does not wrap errMalformed", gotErr)
			}
			// Just before an error the two may disagree about More (encoding/json
			// consumes a key's colon later), which decides nothing: the next token fails.
			got, want = trimMore(got), trimMore(want)
			if n := min(len(got), len(want)); !slices.Equal(got[:n], want[:n]) {
				t.Fatalf("before the error:\nscanner %q\nencoding/json %q", got, want)
			}
			return
		}
		if !slices.Equal(got, want) {
			t.Fatalf("scanner %q\nencoding/json %q", got, want)
		}
	})
}

// TestStringSpecials checks the eight-byte test against the byte-by-byte rule, for
// every byte value at every place in a word of plain bytes, alone and with another byte
// above it: the lowest mark must be the first special byte, and no plain word marked.
func TestStringSpecials(t *testing.T) {
	special := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	first := func(word []byte) int {
		m := stringSpecials(binary.LittleEndian.Uint64(word))
		if m == 0 {
			return -1
		}
		return bits.TrailingZeros64(m) / 8
	}
	for c := range 256 {
		for at := range 8 {
			for _, fill := range []byte{'a', ' ', '~', '!', '#', '[', ']'} {
				word := bytes.Repeat([]byte{fill}, 8)
				word[at] = byte(c)
				want := -1
				if special(byte(c)) {
					want = at
				}
				if got := first(word); got != want {
					t.Fatalf("first special of %q: %d, want %d", word, got, want)
				}
				for above := at + 1; above < 8 && fill == 'a'; above++ {
					for d := range 256 {
						word[above] = byte(d)
						want := -1
						switch {
						case special(byte(c)):
							want = at
						case special(byte(d)):
							want = above
						}
						if got := first(word); got != want {
							t.Fatalf("first special of %q: %d, want %d", word, got, want)
						}
					}
					word[above] = fill
				}
			}
		}
	}
}
