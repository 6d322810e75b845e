package gen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// body is what an example response tells about a report's rows.
type body struct {
	shape bodyShape
	// keys are the row's keys in the order sent: for an array, the union over its
	// elements in first-seen order; for an object, the keys of its members.
	keys []string
	// nested is the member holding an array of objects (ShapeNested), with its keys.
	nested     string
	nestedKeys []string
	// buckets are the member names of an object-shaped data (cdr_4).
	buckets []string
	// samples holds the first non-blank value seen per key.
	samples map[string]string
	code    string
	msg     string
}

// bodyShape is the layout of data, mapped to catalog.Shape in gen.go.
type bodyShape int

const (
	shapeArray bodyShape = iota
	shapeObject
	shapeNested
)

// parseBody reads an example body with a token decoder, because key order matters and
// encoding/json maps do not keep it.
func parseBody(raw []byte) (*body, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	b := &body{samples: map[string]string{}}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	sawData := false
	for dec.More() {
		k, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		switch k {
		case "data":
			sawData = true
			if err := b.readData(dec); err != nil {
				return nil, fmt.Errorf("data: %w", err)
			}
		case "code", "msg":
			v, err := scalar(dec)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if k == "code" {
				b.code = v
			} else {
				b.msg = v
			}
		default:
			if _, err := scalar(dec); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	if !sawData {
		return nil, errors.New("no data member")
	}
	return b, nil
}

func (b *body) readData(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('['):
		b.shape = shapeArray
		for dec.More() {
			if err := expectDelim(dec, '{'); err != nil {
				return err
			}
			if err := b.readRow(dec, true); err != nil {
				return err
			}
		}
		return expectDelim(dec, ']')
	case json.Delim('{'):
		b.shape = shapeObject
		for dec.More() {
			name, err := stringToken(dec)
			if err != nil {
				return err
			}
			b.buckets = append(b.buckets, name)
			if err := expectDelim(dec, '{'); err != nil {
				return err
			}
			if err := b.readRow(dec, false); err != nil {
				return fmt.Errorf("member %q: %w", name, err)
			}
		}
		return expectDelim(dec, '}')
	default:
		return fmt.Errorf("data is %v, want an array or an object", t)
	}
}

// readRow reads one object whose '{' was consumed, up to and including its '}'.
func (b *body) readRow(dec *json.Decoder, allowNested bool) error {
	for dec.More() {
		k, err := stringToken(dec)
		if err != nil {
			return err
		}
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if t == json.Delim('[') {
			if !allowNested {
				return fmt.Errorf("%q: nested array inside an object member", k)
			}
			if b.nested != "" && b.nested != k {
				return fmt.Errorf("two nested arrays, %q and %q", b.nested, k)
			}
			b.nested = k
			b.shape = shapeNested
			for dec.More() {
				if err := expectDelim(dec, '{'); err != nil {
					return err
				}
				keys, err := b.readFlat(dec)
				if err != nil {
					return fmt.Errorf("%q: %w", k, err)
				}
				b.nestedKeys = union(b.nestedKeys, keys)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return err
			}
			b.keys = union(b.keys, []string{k})
			continue
		}
		if err := b.sample(k, t); err != nil {
			return err
		}
		b.keys = union(b.keys, []string{k})
	}
	return expectDelim(dec, '}')
}

// readFlat reads a flat object whose '{' was consumed.
func (b *body) readFlat(dec *json.Decoder) ([]string, error) {
	var keys []string
	for dec.More() {
		k, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if err := b.sample(k, t); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, expectDelim(dec, '}')
}

func (b *body) sample(k string, t json.Token) error {
	var v string
	switch x := t.(type) {
	case string:
		v = x
	case json.Number:
		v = x.String()
	case nil, bool:
	default:
		return fmt.Errorf("%q: value %v is not a scalar", k, t)
	}
	if _, ok := b.samples[k]; !ok && !blank(v) {
		b.samples[k] = v
	}
	return nil
}

func blank(v string) bool { return len(bytes.TrimSpace([]byte(v))) == 0 }

func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("want %q, got end of input", d)
		}
		return err
	}
	if t != d {
		return fmt.Errorf("want %q, got %v", d, t)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("want a key, got %v", t)
	}
	return s, nil
}

func scalar(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch x := t.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case nil, bool:
		return "", nil
	default:
		return "", fmt.Errorf("value %v is not a scalar", t)
	}
}
