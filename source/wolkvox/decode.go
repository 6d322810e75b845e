package wolkvox

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// envelope is what a body says besides its rows.
type envelope struct {
	code      string // "code" as text ("200" whether sent as a string or a number)
	hasCode   bool
	errorText string // "error" as text; empty for null
	msg       string // "msg" as text; a non-string msg is kept as its JSON text
	hasData   bool
	rows      int // rows handed on, oversize rows included
	oversize  int // of rows, those handed to the oversize function
}

// decode streams one response body into emit, one row at a time, and returns the
// envelope. It never holds more than one row (or, for a nested report, one parent and
// its nested elements) in memory, so a 256 MB body costs what one row costs. It reads
// with a hand-written JSON scanner (scan.go): on a 60,000-row body, encoding/json's
// Decoder.Token, which it replaced, takes 6 to 9 times as long and allocates 16 times as
// often (BenchmarkDecode60k/tokens); FuzzScannerMatchesEncodingJSON holds the two to
// the same tokens.
//
// The members of the top-level object may come in any order: rows are handed on as
// "data" is read, even when "code" has not been seen yet. The caller decides from the
// envelope whether they were data after all (see Client.Read, which Resets them).
//
// How "data" becomes rows, detected from the body itself rather than from the catalog,
// which may not know a report (yet):
//   - an array: each element, an object, is a row. A member whose value is an array of
//     objects is the nested field (agent_5 status_x_hour, agent_11 agents, chat_2
//     conversation): one row per nested element, made of the parent's other members
//     (those after the array too) followed by the element's. Only the first such array of
//     a parent is expanded; any other array or object value is kept as its JSON text. An
//     empty array is dropped: it is a nested field without elements, so the parent alone
//     is the row.
//   - an object whose first member is an object: one row per member (cdr_4), the member
//     name first under catalog.BucketKeyField, then the member's fields.
//   - an object whose first member is not an object: a single row, as if it came alone
//     in an array.
//   - null, a string, a number or a boolean: no rows.
//
// Values: strings as they are, numbers and booleans as their literal text, null as a
// Null cell. Keys are kept byte for byte.
//
// The error is a *handlerError when emit failed, wraps errMalformed when the body is not
// one well-formed JSON object (including one cut short), and wraps the reader's error
// when reading failed.
func decode(r io.Reader, emit func(Row) error) (envelope, error) {
	return decodeLimits(r, limits{maxRowBytes: DefaultMaxRowBytes}, emit)
}

// limits bound what decodeLimits reads.
type limits struct {
	// rowCap, when positive, stops the body once rowCap+1 rows were handed on:
	// decodeLimits returns errCapped. If "code" has not been seen by then, the body is
	// read on without handing rows on, so that the code still decides what the rows were.
	rowCap int
	// maxRowBytes bounds the JSON text of one row (a top-level element of data), and of
	// any single value outside the rows.
	maxRowBytes int
	// oversize receives each row longer than maxRowBytes, instead of it failing the body
	// with ErrRowTooLarge. Such a row counts as a row.
	oversize func(OversizeRow) error
}

// errCapped stops decodeLimits at its row cap.
var errCapped = errors.New("row cap reached")

// decodeLimits is decode within lim. Beyond decode's errors, it returns errCapped at
// the cap, and an error wrapping ErrRowTooLarge for a row (without lim.oversize) or a
// value too long.
func decodeLimits(r io.Reader, lim limits, emit func(Row) error) (envelope, error) {
	d := &decoder{lex: newScannerMax(r, lim.maxRowBytes), emit: emit, lim: lim}
	err := d.body()
	return d.env, err
}

type decoder struct {
	lex     *scanner
	emit    func(Row) error
	env     envelope
	lim     limits
	discard bool // past the cap with no code seen: rows are read, not handed on
	// values gathers the texts of the open row's string and number values, which
	// become one string when the row is complete: one allocation for all of a row's
	// values rather than one each. spans and nestedSpans locate each cell's text in it,
	// for the row's own cells and for its nested elements' cells in order.
	values      []byte
	spans       []span
	nestedSpans []span
	// cells and nestedRow are the slices rows are built in, reused from row to row: a
	// Row is the handler's only while it is handed on (see Handler).
	cells, nestedRow []Cell
}

// span is a cell's text in decoder.values; a cell whose Value is set already (null, a
// boolean, a compound value's JSON, the bucket key) has none.
type span struct {
	start, end int
	ok         bool
}

// errShape is a well-formed body that is not shaped like an API response.
func errShape(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

func (d *decoder) token() (token, error) { return d.lex.next() }

// valueToken reads a member's value: a string's or number's text goes to d.values, and
// the span it took is returned.
func (d *decoder) valueToken() (token, span, error) {
	start := len(d.values)
	d.lex.arena = &d.values
	t, err := d.lex.next()
	d.lex.arena = nil
	if t.kind == kindString || t.kind == kindNumber {
		return t, span{start: start, end: len(d.values), ok: true}, err
	}
	return t, span{}, err
}

func (d *decoder) body() error {
	t, err := d.token()
	if err != nil {
		return err
	}
	if t.kind != '{' {
		return errShape("body is not a JSON object")
	}
	for d.lex.more() {
		k, err := d.token()
		if err != nil {
			return err
		}
		switch k.text {
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
	return d.lex.finish()
}

func (d *decoder) data() error {
	t, err := d.token()
	if err != nil {
		return err
	}
	switch t.kind {
	case '[':
		for d.lex.more() {
			t, err := d.token()
			if err != nil {
				return err
			}
			if t.kind != '{' {
				return errShape("an element of data is not an object")
			}
			d.lex.beginRow()
			if err := d.rowObject(nil, token{}, token{}, span{}); err != nil {
				return err
			}
		}
		_, err := d.token()
		return err
	case '{':
		return d.objectData()
	}
	return nil // a scalar data: no rows
}

// objectData reads a data object, whose first member decides its shape.
func (d *decoder) objectData() error {
	if !d.lex.more() {
		_, err := d.token()
		return err
	}
	d.lex.beginRow() // the data object may be the row itself
	d.startRow()
	k, err := d.token()
	if err != nil {
		return d.rowFailed(err)
	}
	v, sp, err := d.valueToken()
	if err != nil {
		return d.rowFailed(err)
	}
	if v.kind != '{' {
		// A single record sent as an object: its first member is already read.
		return d.rowObject(nil, k, v, sp)
	}
	d.lex.cancelRow()
	for {
		d.lex.beginRow()
		bucket := []Cell{{Key: catalog.BucketKeyField, Value: k.text}}
		if err := d.rowObject(bucket, token{}, token{}, span{}); err != nil {
			return err
		}
		if !d.lex.more() {
			break
		}
		if k, err = d.token(); err != nil {
			return err
		}
		if v, err = d.token(); err != nil {
			return err
		}
		if v.kind != '{' {
			return errShape("data member %q is not an object", k.text)
		}
	}
	_, err = d.token()
	return err
}

// rowObject is object for a row, begun with beginRow: a row over maxRowBytes goes to
// lim.oversize or fails the body.
func (d *decoder) rowObject(prefix []Cell, firstKey, firstVal token, firstSpan span) error {
	return d.rowFailed(d.object(prefix, firstKey, firstVal, firstSpan))
}

// rowFailed handles an error of a row being read: an oversize row is skipped and handed
// to lim.oversize; any other error is returned.
func (d *decoder) rowFailed(err error) error {
	if err == nil {
		return nil // before errors.As, whose target would otherwise escape for every row
	}
	var tl *tooLargeError
	if !errors.As(err, &tl) || !tl.inRow {
		return err
	}
	o, err := d.lex.skipRow()
	if err != nil {
		return err
	}
	if d.discard {
		return nil
	}
	if d.lim.oversize == nil {
		return fmt.Errorf("%w: row %d is %d bytes long, over MaxRowBytes %d", ErrRowTooLarge, d.env.rows+1, o.Bytes, d.lim.maxRowBytes)
	}
	if err := d.lim.oversize(o); err != nil {
		return &handlerError{err: err}
	}
	d.env.oversize++
	return d.counted()
}

// counted counts one more row handed on and applies the cap.
func (d *decoder) counted() error {
	d.env.rows++
	if d.lim.rowCap > 0 && d.env.rows > d.lim.rowCap {
		if d.env.hasCode {
			return errCapped
		}
		d.discard = true
	}
	return nil
}

// startRow forgets the values of the previous row, or of one that failed.
func (d *decoder) startRow() {
	d.values, d.spans, d.nestedSpans = d.values[:0], d.spans[:0], d.nestedSpans[:0]
}

// object reads one row object whose opening brace is consumed, through its closing
// brace, and emits its rows. prefix comes first in every row. When firstVal is set
// (kind not 0), the first member (firstKey: firstVal, its text at firstSpan) was read
// already, and startRow was called before it.
func (d *decoder) object(prefix []Cell, firstKey, firstVal token, firstSpan span) error {
	if firstVal.kind == 0 {
		d.startRow()
	}
	d.cells = append(d.cells[:0], prefix...)
	for range prefix {
		d.spans = append(d.spans, span{})
	}
	var (
		nested     [][]Cell
		nestedSeen bool
	)
	member := func(key string, v token, sp span) error {
		if v.kind != '[' {
			c, err := d.cell(key, v)
			if err == nil {
				d.cells = append(d.cells, c)
				d.spans = append(d.spans, sp)
			}
			return err
		}
		first, err := d.token()
		if err != nil {
			return err
		}
		switch {
		case first.kind == ']':
			return nil // an empty nested field: dropped, see decode
		case first.kind == '{' && !nestedSeen:
			nestedSeen = true
			nested, err = d.nestedElements()
			return err
		}
		text, err := d.arrayText(first)
		if err == nil {
			d.cells = append(d.cells, Cell{Key: key, Value: text})
			d.spans = append(d.spans, span{})
		}
		return err
	}
	if firstVal.kind != 0 {
		if err := member(firstKey.text, firstVal, firstSpan); err != nil {
			return err
		}
	}
	for {
		start := len(d.values)
		if key, null, ok := d.lex.plainMember(&d.values); ok {
			sp := span{start: start, end: len(d.values), ok: !null}
			d.cells = append(d.cells, Cell{Key: key, Null: null})
			d.spans = append(d.spans, sp)
			continue
		}
		if !d.lex.more() {
			break
		}
		k, err := d.token()
		if err != nil {
			return err
		}
		v, sp, err := d.valueToken()
		if err != nil {
			return err
		}
		if err := member(k.text, v, sp); err != nil {
			return err
		}
	}
	if _, err := d.token(); err != nil {
		return err
	}
	if d.lex.done != nil { // the row closed, longer than allowed: it is not handed on
		return &tooLargeError{inRow: true, max: d.lex.maxValue}
	}
	d.fillValues(d.cells, nested)
	if len(nested) == 0 {
		return d.row(d.cells)
	}
	for _, elem := range nested {
		d.nestedRow = append(append(d.nestedRow[:0], d.cells...), elem...)
		if err := d.row(d.nestedRow); err != nil {
			return err
		}
	}
	return nil
}

// fillValues sets the Value of every cell of the row that has a span, from one string
// of the row's values.
func (d *decoder) fillValues(cells []Cell, nested [][]Cell) {
	if len(d.values) == 0 {
		return // no text, or only empty ones: the Values are "" already
	}
	values := string(d.values)
	for i, sp := range d.spans {
		if sp.ok {
			cells[i].Value = values[sp.start:sp.end]
		}
	}
	k := 0
	for _, elem := range nested {
		for i := range elem {
			if sp := d.nestedSpans[k]; sp.ok {
				elem[i].Value = values[sp.start:sp.end]
			}
			k++
		}
	}
}

func (d *decoder) row(r Row) error {
	if d.discard {
		return nil
	}
	if err := d.emit(r); err != nil {
		return &handlerError{err: err}
	}
	return d.counted()
}

// nestedElements reads an array of objects whose '[' and first '{' are consumed.
func (d *decoder) nestedElements() ([][]Cell, error) {
	var elems [][]Cell
	for {
		var elem []Cell
		for d.lex.more() {
			k, err := d.token()
			if err != nil {
				return nil, err
			}
			v, sp, err := d.valueToken()
			if err != nil {
				return nil, err
			}
			c, err := d.cell(k.text, v)
			if err != nil {
				return nil, err
			}
			elem = append(elem, c)
			d.nestedSpans = append(d.nestedSpans, sp)
		}
		if _, err := d.token(); err != nil { // '}'
			return nil, err
		}
		elems = append(elems, elem)
		if !d.lex.more() {
			break
		}
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		if t.kind != '{' {
			return nil, errShape("an array of objects holds a non-object")
		}
	}
	_, err := d.token() // ']'
	return elems, err
}

// cell makes the cell of one member whose value starts with token v; a string's or
// number's Value is left to fillValues.
func (d *decoder) cell(key string, v token) (Cell, error) {
	switch v.kind {
	case kindNull:
		return Cell{Key: key, Null: true}, nil
	case '{', '[':
		b, err := d.appendValue(nil, v)
		return Cell{Key: key, Value: string(b)}, err
	}
	return Cell{Key: key, Value: v.text}, nil
}

// valueText reads one value of any kind as text: a string's contents, a scalar's literal,
// a compound value's compact JSON.
func (d *decoder) valueText() (text string, null bool, err error) {
	t, err := d.token()
	if err != nil {
		return "", false, err
	}
	switch t.kind {
	case kindNull:
		return "", true, nil
	case '{', '[':
		b, err := d.appendValue(nil, t)
		return string(b), false, err
	}
	return t.text, false, nil
}

// arrayText returns the JSON text of an array whose '[' and first element token are read.
func (d *decoder) arrayText(first token) (string, error) {
	b, err := d.appendValue([]byte{'['}, first)
	if err != nil {
		return "", err
	}
	for d.lex.more() {
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
func (d *decoder) appendValue(b []byte, t token) ([]byte, error) {
	switch t.kind {
	case kindString:
		return appendQuoted(b, t.text), nil
	case '{', '[':
		b = append(b, t.kind)
		first := true
		for d.lex.more() {
			if !first {
				b = append(b, ',')
			}
			first = false
			v, err := d.token()
			if err != nil {
				return nil, err
			}
			if t.kind == '{' {
				b = append(appendQuoted(b, v.text), ':')
				if v, err = d.token(); err != nil {
					return nil, err
				}
			}
			if b, err = d.appendValue(b, v); err != nil {
				return nil, err
			}
			if err := d.lex.tooLong(len(b)); err != nil { // a row bounds it in a row
				return nil, err
			}
		}
		end, err := d.token()
		if err != nil {
			return nil, err
		}
		return append(b, end.kind), nil
	}
	return append(b, t.text...), nil
}
