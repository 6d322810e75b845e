package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Compatible reports whether data written with the writer schema can be read with the
// reader schema under Avro schema resolution: whether reader is BACKWARD compatible with
// writer. It returns nil, an *IncompatibleError naming the first problem found, or an
// error wrapping ErrCatalog when a schema does not parse.
//
// The rules are the Avro specification's: same primitive or a promotion (int → long,
// float, double; long → float, double; float → double; string ↔ bytes); records, enums
// and fixed matched by name or alias; every reader field either present in the writer
// (by name or alias) with a readable type, or given a default; enums keep the writer's
// symbols or have a default; every writer union branch readable by the reader. Logical
// types are ignored, as the specification says for resolution.
func Compatible(reader, writer string) error {
	r, err := parseAvro(reader)
	if err != nil {
		return fmt.Errorf("%w: reader schema: %w", ErrCatalog, err)
	}
	w, err := parseAvro(writer)
	if err != nil {
		return fmt.Errorf("%w: writer schema: %w", ErrCatalog, err)
	}
	c := checker{seen: map[[2]*avroNode]bool{}}
	return c.compat(r, w, r.label())
}

// Check verifies that every report's current schema can read data written with each of
// its kept versions, and that the history ends with the current schema. It returns nil or
// the errors.Join of every problem (*IncompatibleError, ErrStaleHistory, ErrCatalog).
// A report removed from the catalog keeps its history and is not checked.
func (s *Set) Check() error {
	var errs []error
	for _, sc := range s.All() {
		if len(sc.Versions) == 0 || sc.Versions[len(sc.Versions)-1].Canonical != sc.Canonical {
			errs = append(errs, fmt.Errorf("report %s: %w", sc.Report, ErrStaleHistory))
		}
		for _, v := range sc.Versions {
			err := Compatible(sc.Text, v.Text)
			var ie *IncompatibleError
			if errors.As(err, &ie) {
				ie.Report, ie.Version = sc.Report, v.Number
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// avroNode is a parsed schema, reduced to what resolution looks at.
type avroNode struct {
	kind     string // a primitive, "record", "enum", "array", "map", "fixed" or "union"
	name     string // full name of a named type
	aliases  []string
	fields   []avroNodeField
	symbols  []string
	enumDef  bool
	items    *avroNode // array
	values   *avroNode // map
	size     int       // fixed
	branches []*avroNode
}

type avroNodeField struct {
	name       string
	aliases    []string
	typ        *avroNode
	hasDefault bool
}

func (n *avroNode) label() string {
	if n.name != "" {
		return n.name[strings.LastIndex(n.name, ".")+1:]
	}
	return n.kind
}

var primitives = []string{"null", "boolean", "int", "long", "float", "double", "bytes", "string"}

func parseAvro(text string) (*avroNode, error) {
	var raw any
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, err
	}
	p := parser{named: map[string]*avroNode{}}
	return p.parse(raw, "")
}

type parser struct{ named map[string]*avroNode }

func fullName(name, namespace string) string {
	if strings.Contains(name, ".") || namespace == "" {
		return name
	}
	return namespace + "." + name
}

func (p *parser) parse(raw any, ns string) (*avroNode, error) {
	switch v := raw.(type) {
	case string:
		if slices.Contains(primitives, v) {
			return &avroNode{kind: v}, nil
		}
		if n, ok := p.named[fullName(v, ns)]; ok {
			return n, nil
		}
		if n, ok := p.named[v]; ok {
			return n, nil
		}
		return nil, fmt.Errorf("unknown type %q", v)
	case []any:
		u := &avroNode{kind: "union"}
		for _, b := range v {
			bn, err := p.parse(b, ns)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, bn)
		}
		return u, nil
	case map[string]any:
		return p.parseObject(v, ns)
	}
	return nil, fmt.Errorf("unexpected schema element %T", raw)
}

func (p *parser) parseObject(m map[string]any, ns string) (*avroNode, error) {
	t, ok := m["type"].(string)
	if !ok {
		return p.parse(m["type"], ns) // {"type": {...}} or {"type": [...]}
	}
	named := func(kind string) (*avroNode, string, error) {
		name, _ := m["name"].(string)
		if name == "" {
			return nil, "", fmt.Errorf("%s without a name", kind)
		}
		space := ns
		if s, ok := m["namespace"].(string); ok {
			space = s
		}
		full := fullName(name, space)
		n := &avroNode{kind: kind, name: full, aliases: aliasList(m["aliases"], space)}
		p.named[full] = n
		if i := strings.LastIndex(full, "."); i >= 0 {
			space = full[:i]
		}
		return n, space, nil
	}
	switch t {
	case "record", "error":
		n, space, err := named("record")
		if err != nil {
			return nil, err
		}
		fields, _ := m["fields"].([]any)
		for _, f := range fields {
			fm, ok := f.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("record %s: field is not an object", n.name)
			}
			fname, _ := fm["name"].(string)
			ft, err := p.parse(fm["type"], space)
			if err != nil {
				return nil, fmt.Errorf("record %s field %s: %w", n.name, fname, err)
			}
			_, hasDefault := fm["default"]
			n.fields = append(n.fields, avroNodeField{name: fname, aliases: aliasList(fm["aliases"], ""), typ: ft, hasDefault: hasDefault})
		}
		return n, nil
	case "enum":
		n, _, err := named("enum")
		if err != nil {
			return nil, err
		}
		syms, _ := m["symbols"].([]any)
		for _, s := range syms {
			if str, ok := s.(string); ok {
				n.symbols = append(n.symbols, str)
			}
		}
		_, n.enumDef = m["default"]
		return n, nil
	case "fixed":
		n, _, err := named("fixed")
		if err != nil {
			return nil, err
		}
		size, _ := m["size"].(float64)
		n.size = int(size)
		return n, nil
	case "array":
		items, err := p.parse(m["items"], ns)
		if err != nil {
			return nil, err
		}
		return &avroNode{kind: "array", items: items}, nil
	case "map":
		values, err := p.parse(m["values"], ns)
		if err != nil {
			return nil, err
		}
		return &avroNode{kind: "map", values: values}, nil
	}
	return p.parse(t, ns) // a primitive with a logicalType, or a named reference
}

func aliasList(raw any, ns string) []string {
	list, _ := raw.([]any)
	var out []string
	for _, a := range list {
		if s, ok := a.(string); ok {
			out = append(out, fullName(s, ns))
		}
	}
	return out
}

type checker struct{ seen map[[2]*avroNode]bool }

// promotions lists, per writer primitive, the reader primitives that can read it.
var promotions = map[string][]string{
	"int":    {"long", "float", "double"},
	"long":   {"float", "double"},
	"float":  {"double"},
	"string": {"bytes"},
	"bytes":  {"string"},
}

func (c *checker) compat(r, w *avroNode, path string) error {
	pair := [2]*avroNode{r, w}
	if c.seen[pair] {
		return nil // recursive type: already being checked further up
	}
	c.seen[pair] = true
	defer delete(c.seen, pair)

	fail := func(format string, args ...any) error {
		return &IncompatibleError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	if w.kind == "union" {
		for _, wb := range w.branches {
			if err := c.compat(r, wb, path); err != nil {
				return err
			}
		}
		return nil
	}
	if r.kind == "union" {
		for _, rb := range r.branches {
			if c.compat(rb, w, path) == nil {
				return nil
			}
		}
		names := make([]string, len(r.branches))
		for i, rb := range r.branches {
			names[i] = describe(rb)
		}
		return fail("the writer's %s cannot be read as any of the reader's %s", describe(w), strings.Join(names, " | "))
	}
	if r.kind != w.kind {
		if slices.Contains(promotions[w.kind], r.kind) {
			return nil
		}
		return fail("type changed from %s to %s", describe(w), describe(r))
	}
	switch r.kind {
	case "record":
		if !sameName(r, w) {
			return fail("record name changed from %s to %s", w.name, r.name)
		}
		for _, rf := range r.fields {
			wf, ok := findField(w, rf)
			if !ok {
				if !rf.hasDefault {
					return &IncompatibleError{Path: path + "." + rf.name, Reason: "field added without a default"}
				}
				continue
			}
			if err := c.compat(rf.typ, wf.typ, path+"."+rf.name); err != nil {
				return err
			}
		}
	case "enum":
		if !sameName(r, w) {
			return fail("enum name changed from %s to %s", w.name, r.name)
		}
		if !r.enumDef {
			for _, s := range w.symbols {
				if !slices.Contains(r.symbols, s) {
					return fail("enum symbol %s removed and no default given", s)
				}
			}
		}
	case "fixed":
		if !sameName(r, w) || r.size != w.size {
			return fail("fixed %s(%d) changed to %s(%d)", w.name, w.size, r.name, r.size)
		}
	case "array":
		return c.compat(r.items, w.items, path+"[]")
	case "map":
		return c.compat(r.values, w.values, path+"{}")
	}
	return nil
}

func describe(n *avroNode) string {
	if n.name != "" {
		return n.kind + " " + n.name
	}
	return n.kind
}

// sameName matches named types by full name, unqualified name (as the specification
// allows) or a reader alias.
func sameName(r, w *avroNode) bool {
	short := func(s string) string { return s[strings.LastIndex(s, ".")+1:] }
	return r.name == w.name || short(r.name) == short(w.name) || slices.Contains(r.aliases, w.name)
}

func findField(w *avroNode, rf avroNodeField) (avroNodeField, bool) {
	for _, wf := range w.fields {
		if wf.name == rf.name || slices.Contains(rf.aliases, wf.name) {
			return wf, true
		}
	}
	return avroNodeField{}, false
}
