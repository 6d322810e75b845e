package schemas

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hamba/avro/v2"
)

// Compatible reports whether data written with the writer schema can be read with the
// reader schema under Avro schema resolution: whether reader is BACKWARD compatible with
// writer. It returns nil, an *IncompatibleError naming the first problem found, or an
// error wrapping ErrCatalog when a schema does not parse.
//
// The verdict is hamba/avro's SchemaCompatibility. TestCompatibleSpecTable holds it to
// the Avro specification's resolution rules on the cases these schemas can meet; the one
// known difference (compatDivergences: a reader union holding two records of one short
// name) cannot occur in generated schemas. Compatible only adds a Path and a Reason.
func Compatible(reader, writer string) error {
	r, err := parseHamba(reader)
	if err != nil {
		return fmt.Errorf("%w: reader schema: %w", ErrCatalog, err)
	}
	w, err := parseHamba(writer)
	if err != nil {
		return fmt.Errorf("%w: writer schema: %w", ErrCatalog, err)
	}
	// One SchemaCompatibility per call, never shared: it caches verdicts by Parsing
	// Canonical Form, which leaves out defaults and aliases, so a reused one would give a
	// schema the verdict of another that differs only there (see
	// TestCompatibleCallsIndependent). Within one pair of schemas every named type is
	// defined once, so the cache is sound.
	sc := avro.NewSchemaCompatibility()
	err = sc.Compatible(r, w)
	if err == nil {
		return nil
	}
	return locate(sc, r, w, label(r), err, map[string]bool{})
}

// parseHamba parses a schema with a cache of its own: hamba's default cache is global,
// where versions of one record would meet and a name could resolve to another schema's.
func parseHamba(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

// locate words a failed check: it follows the reader's fields (by name or alias, as
// hamba matches them), map values, array items and writer union branches down to the
// first pair that fails on its own, so that Path names the field. The verdict is
// already made; when nothing narrower fails, hamba's own message is the Reason.
// onPath holds the records being walked, which stops recursive types.
func locate(sc *avro.SchemaCompatibility, r, w avro.Schema, path string, cause error, onPath map[string]bool) *IncompatibleError {
	r, w = deref(r), deref(w)
	if wu, ok := w.(*avro.UnionSchema); ok {
		for _, wb := range wu.Types() {
			if err := sc.Compatible(r, wb); err != nil {
				return locate(sc, r, wb, path, err, onPath)
			}
		}
	}
	fail := func(format string, args ...any) *IncompatibleError {
		return &IncompatibleError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	switch rt := r.(type) {
	case *avro.UnionSchema:
		// The branch of the writer's type (and short name) is the one meant to read it.
		for _, rb := range rt.Types() {
			if sameKind(rb, w) {
				if err := sc.Compatible(rb, w); err != nil {
					return locate(sc, rb, w, path, err, onPath)
				}
			}
		}
		names := make([]string, len(rt.Types()))
		for i, rb := range rt.Types() {
			names[i] = describe(rb)
		}
		return fail("the writer's %s cannot be read as any of the reader's %s", describe(w), strings.Join(names, " | "))
	case *avro.RecordSchema:
		wt, ok := w.(*avro.RecordSchema)
		if !ok || onPath[rt.FullName()] {
			break
		}
		onPath[rt.FullName()] = true
		defer delete(onPath, rt.FullName())
		for _, rf := range rt.Fields() {
			fieldPath := path + "." + rf.Name()
			wf := writerField(wt, rf)
			if wf == nil {
				if !rf.HasDefault() {
					return &IncompatibleError{Path: fieldPath, Reason: "field added without a default"}
				}
				continue
			}
			if err := sc.Compatible(rf.Type(), wf.Type()); err != nil {
				return locate(sc, rf.Type(), wf.Type(), fieldPath, err, onPath)
			}
		}
	case *avro.MapSchema:
		if wt, ok := w.(*avro.MapSchema); ok {
			return locate(sc, rt.Values(), wt.Values(), path+"{}", cause, onPath)
		}
	case *avro.ArraySchema:
		if wt, ok := w.(*avro.ArraySchema); ok {
			return locate(sc, rt.Items(), wt.Items(), path+"[]", cause, onPath)
		}
	}
	if r.Type() != w.Type() {
		return fail("type changed from %s to %s", describe(w), describe(r))
	}
	return fail("%s", strings.Join(strings.Fields(cause.Error()), " "))
}

// writerField finds the writer's field a reader field reads: same name, or a reader alias.
func writerField(w *avro.RecordSchema, rf *avro.Field) *avro.Field {
	for _, wf := range w.Fields() {
		if wf.Name() == rf.Name() {
			return wf
		}
		for _, a := range rf.Aliases() {
			if wf.Name() == a {
				return wf
			}
		}
	}
	return nil
}

// sameKind reports whether two schemas have one type and, when named, one short name.
func sameKind(a, b avro.Schema) bool {
	a, b = deref(a), deref(b)
	an, aNamed := a.(avro.NamedSchema)
	bn, bNamed := b.(avro.NamedSchema)
	return a.Type() == b.Type() && (!aNamed || !bNamed || an.Name() == bn.Name())
}

func deref(s avro.Schema) avro.Schema {
	if ref, ok := s.(*avro.RefSchema); ok {
		return ref.Schema()
	}
	return s
}

// label is the short name of a named schema, or its type: the start of every Path.
func label(s avro.Schema) string {
	if n, ok := deref(s).(avro.NamedSchema); ok {
		return n.Name()
	}
	return string(s.Type())
}

// describe is a schema's type, with the full name of a named one.
func describe(s avro.Schema) string {
	s = deref(s)
	if n, ok := s.(avro.NamedSchema); ok {
		return string(s.Type()) + " " + n.FullName()
	}
	return string(s.Type())
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
