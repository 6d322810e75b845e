package simulator

import (
	"strconv"
	"unicode/utf8"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// The simulator writes JSON by hand: keys must keep their order and their exact bytes
// ("agent_anwers " with its trailing space), and values are strings, numbers or null
// exactly as decided, which encoding/json with maps would not preserve.

func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	return append(b, '"')
}

func appendCells(b []byte, cells []Cell) []byte {
	b = append(b, '{')
	for i, c := range cells {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c.Key)
		b = append(b, ':')
		switch {
		case c.Null:
			b = append(b, "null"...)
		case c.Number:
			b = append(b, c.Value...)
		default:
			b = appendString(b, c.Value)
		}
	}
	return append(b, '}')
}

// shapeData lays rows out as the report's data member and returns it with the number of
// top-level elements, after silently keeping only the first maxRows of them.
func shapeData(rep *catalog.Report, nParent int, rows []Row, maxRows int) ([]byte, int) {
	switch rep.Shape {
	case catalog.ShapeObject:
		rows = rows[:min(len(rows), maxRows)]
		b := []byte{'{'}
		for i, r := range rows {
			if i > 0 {
				b = append(b, ',')
			}
			name, rest := "", make([]Cell, 0, len(r))
			for _, c := range r {
				if c.Key == catalog.BucketKeyField {
					name = c.Value
					continue
				}
				rest = append(rest, c)
			}
			b = appendString(b, name)
			b = append(b, ':')
			b = appendCells(b, rest)
		}
		return append(b, '}'), len(rows)
	case catalog.ShapeNested:
		groups := groupNested(rows, nParent)
		groups = groups[:min(len(groups), maxRows)]
		b := []byte{'['}
		for i, g := range groups {
			if i > 0 {
				b = append(b, ',')
			}
			parent := g[0][:nParent]
			b = appendCells(b, parent)
			b = b[:len(b)-1] // reopen the parent object to add the nested array
			if len(parent) > 0 {
				b = append(b, ',')
			}
			b = appendString(b, rep.NestedField)
			b = append(b, ':', '[')
			for j, r := range g {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendCells(b, r[nParent:])
			}
			b = append(b, ']', '}')
		}
		return append(b, ']'), len(groups)
	default:
		rows = rows[:min(len(rows), maxRows)]
		b := []byte{'['}
		for i, r := range rows {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCells(b, r)
		}
		return append(b, ']'), len(rows)
	}
}

// groupNested groups rows by their parent cells, in order of first appearance.
func groupNested(rows []Row, nParent int) [][]Row {
	var groups [][]Row
	index := map[string]int{}
	for _, r := range rows {
		k := string(appendCells(nil, r[:min(nParent, len(r))]))
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return groups
}

// envelope wraps data in the API's success body. code is sent as a string or a number.
func envelope(codeAsString bool, msg string, data []byte) []byte {
	b := make([]byte, 0, len(data)+96)
	b = append(b, `{"code":`...)
	if codeAsString {
		b = append(b, `"200"`...)
	} else {
		b = append(b, "200"...)
	}
	b = append(b, `,"error":null,"msg":`...)
	b = appendString(b, msg)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// errorBody is the documented error shape {"code": 403, "error": "FORBIDDEN", "msg": "..."}.
func errorBody(status int, errText, msg string) []byte {
	b := []byte(`{"code":`)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"error":`...)
	b = appendString(b, errText)
	b = append(b, `,"msg":`...)
	b = appendString(b, msg)
	return append(b, '}')
}
