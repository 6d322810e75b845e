package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wolkvox-connect/wolkvox-connect/source/catalog"
)

// refDecode is the first refDecoder, built on encoding/json's Decoder.Token. It is kept as
// the reference the hand-written scanner of decode.go is fuzzed against
// (FuzzDecodeMatchesReference) and measured against (BenchmarkDecode60k).
func refDecode(r io.Reader, emit func(Row) error) (envelope, error) {
	d := &refDecoder{dec: json.NewDecoder(r), emit: emit, hint: 16}
	d.dec.UseNumber() // keeps a number's literal text: "12.50" stays "12.50"
	err := d.body()
	return d.env, err
}

type refDecoder struct {
	dec  *json.Decoder
	emit func(Row) error
	env  envelope
	hint int // capacity for the next row: the last row's length
}

// refErrShape is a well-formed body that is not shaped like an API response.
func refErrShape(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// token reads the next token, turning a syntax error or an early end into errMalformed.
func (d *refDecoder) token() (json.Token, error) {
	t, err := d.dec.Token()
	if err == nil {
		return t, nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return nil, fmt.Errorf("reading body: %w", err)
}

func (d *refDecoder) body() error {
	t, err := d.token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return refErrShape("body is not a JSON object")
	}
	for d.dec.More() {
		k, err := d.token()
		if err != nil {
			return err
		}
		switch k.(string) {
		case "code":
			text, null, err := d.valueText()
			if err != nil {
				return err
			}
			d.env.code, d.env.hasCode = strings.TrimSpace(text), !null
		case "error":
			text, _, err := d.valueText()
			if err != nil {
				return err
			}
			d.env.errorText = text
		case "msg":
			text, _, err := d.valueText()
			if err != nil {
				return err
			}
			d.env.msg = text
		case "data":
			d.env.hasData = true
			if err := d.data(); err != nil {
				return err
			}
		default:
			if _, _, err := d.valueText(); err != nil {
				return err
			}
		}
	}
	if _, err := d.token(); err != nil { // the closing brace
		return err
	}
	// Anything after the object, a PHP notice say, makes the body suspect as a whole.
	if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return d.tokenErr(err)
		}
		return refErrShape("data after the top-level object")
	}
	return nil
}

func (d *refDecoder) tokenErr(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	return fmt.Errorf("reading body: %w", err)
}

func (d *refDecoder) data() error {
	t, err := d.token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('['):
		for d.dec.More() {
			t, err := d.token()
			if err != nil {
				return err
			}
			if t != json.Delim('{') {
				return refErrShape("an element of data is not an object")
			}
			if err := d.object(nil, "", nil); err != nil {
				return err
			}
		}
		_, err := d.token()
		return err
	case json.Delim('{'):
		return d.objectData()
	}
	return nil // a scalar data: no rows
}

// objectData reads a data object, whose first member decides its shape.
func (d *refDecoder) objectData() error {
	if !d.dec.More() {
		_, err := d.token()
		return err
	}
	k, err := d.token()
	if err != nil {
		return err
	}
	v, err := d.token()
	if err != nil {
		return err
	}
	if v != json.Delim('{') {
		// A single record sent as an object: its first member is already read.
		return d.object(nil, k.(string), v)
	}
	for {
		bucket := []Cell{{Key: catalog.BucketKeyField, Value: k.(string)}}
		if err := d.object(bucket, "", nil); err != nil {
			return err
		}
		if !d.dec.More() {
			break
		}
		if k, err = d.token(); err != nil {
			return err
		}
		if v, err = d.token(); err != nil {
			return err
		}
		if v != json.Delim('{') {
			return refErrShape("data member %q is not an object", k)
		}
	}
	_, err = d.token()
	return err
}

// object reads one row object whose opening brace is consumed, through its closing
// brace, and emits its rows. prefix comes first in every row. When firstVal is not nil,
// the first member (firstKey: firstVal) was read already.
func (d *refDecoder) object(prefix []Cell, firstKey string, firstVal json.Token) error {
	cells := make([]Cell, 0, max(d.hint, len(prefix)))
	cells = append(cells, prefix...)
	var (
		nested     [][]Cell
		nestedSeen bool
	)
	member := func(key string, v json.Token) error {
		if v != json.Delim('[') {
			c, err := d.cell(key, v)
			if err == nil {
				cells = append(cells, c)
			}
			return err
		}
		first, err := d.token()
		if err != nil {
			return err
		}
		switch {
		case first == json.Delim(']'):
			return nil // an empty nested field: dropped, see decode
		case first == json.Delim('{') && !nestedSeen:
			nestedSeen = true
			nested, err = d.nestedElements()
			return err
		}
		text, err := d.arrayText(first)
		if err == nil {
			cells = append(cells, Cell{Key: key, Value: text})
		}
		return err
	}
	if firstVal != nil {
		if err := member(firstKey, firstVal); err != nil {
			return err
		}
	}
	for d.dec.More() {
		k, err := d.token()
		if err != nil {
			return err
		}
		v, err := d.token()
		if err != nil {
			return err
		}
		if err := member(k.(string), v); err != nil {
			return err
		}
	}
	if _, err := d.token(); err != nil {
		return err
	}
	if len(nested) == 0 {
		return d.row(cells)
	}
	for _, elem := range nested {
		row := make(Row, 0, len(cells)+len(elem))
		row = append(append(row, cells...), elem...)
		if err := d.row(row); err != nil {
			return err
		}
	}
	return nil
}

func (d *refDecoder) row(r Row) error {
	d.hint = len(r)
	if err := d.emit(r); err != nil {
		return &handlerError{err: err}
	}
	d.env.rows++
	return nil
}

// nestedElements reads an array of objects whose '[' and first '{' are consumed.
func (d *refDecoder) nestedElements() ([][]Cell, error) {
	var elems [][]Cell
	for {
		var elem []Cell
		for d.dec.More() {
			k, err := d.token()
			if err != nil {
				return nil, err
			}
			v, err := d.token()
			if err != nil {
				return nil, err
			}
			c, err := d.cell(k.(string), v)
			if err != nil {
				return nil, err
			}
			elem = append(elem, c)
		}
		if _, err := d.token(); err != nil { // '}'
			return nil, err
		}
		elems = append(elems, elem)
		if !d.dec.More() {
			break
		}
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		if t != json.Delim('{') {
			return nil, refErrShape("an array of objects holds a non-object")
		}
	}
	_, err := d.token() // ']'
	return elems, err
}

// cell makes the cell of one member whose value starts with token v.
func (d *refDecoder) cell(key string, v json.Token) (Cell, error) {
	switch v := v.(type) {
	case string:
		return Cell{Key: key, Value: v}, nil
	case nil:
		return Cell{Key: key, Null: true}, nil
	case json.Delim:
		b, err := d.appendValue(nil, v)
		return Cell{Key: key, Value: string(b)}, err
	}
	return Cell{Key: key, Value: refScalarText(v)}, nil
}

// valueText reads one value of any kind as text: a string's contents, a scalar's literal,
// a compound value's compact JSON.
func (d *refDecoder) valueText() (text string, null bool, err error) {
	t, err := d.token()
	if err != nil {
		return "", false, err
	}
	switch t := t.(type) {
	case nil:
		return "", true, nil
	case string:
		return t, false, nil
	case json.Delim:
		b, err := d.appendValue(nil, t)
		return string(b), false, err
	}
	return refScalarText(t), false, nil
}

// arrayText returns the JSON text of an array whose '[' and first element token are read.
func (d *refDecoder) arrayText(first json.Token) (string, error) {
	b, err := d.appendValue([]byte{'['}, first)
	if err != nil {
		return "", err
	}
	for d.dec.More() {
		t, err := d.token()
		if err != nil {
			return "", err
		}
		if b, err = d.appendValue(append(b, ','), t); err != nil {
			return "", err
		}
	}
	if _, err := d.token(); err != nil {
		return "", err
	}
	return string(append(b, ']')), nil
}

// appendValue appends the compact JSON text of the value starting with token t.
func (d *refDecoder) appendValue(b []byte, t json.Token) ([]byte, error) {
	switch t := t.(type) {
	case string:
		q, _ := json.Marshal(t) // a string always marshals
		return append(b, q...), nil
	case nil:
		return append(b, "null"...), nil
	case json.Delim:
		b = append(b, byte(t))
		first := true
		for d.dec.More() {
			if !first {
				b = append(b, ',')
			}
			first = false
			v, err := d.token()
			if err != nil {
				return nil, err
			}
			if t == json.Delim('{') {
				q, _ := json.Marshal(v.(string))
				b = append(append(b, q...), ':')
				if v, err = d.token(); err != nil {
					return nil, err
				}
			}
			if b, err = d.appendValue(b, v); err != nil {
				return nil, err
			}
		}
		end, err := d.token()
		if err != nil {
			return nil, err
		}
		return append(b, byte(end.(json.Delim))), nil
	}
	return append(b, refScalarText(t)...), nil
}

// refScalarText is the literal text of a number or boolean token.
func refScalarText(t json.Token) string {
	switch t := t.(type) {
	case json.Number:
		return string(t)
	case bool:
		if t {
			return "true"
		}
		return "false"
	}
	return fmt.Sprint(t)
}
