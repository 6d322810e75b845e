package schemas

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CanonicalForm returns the Avro Parsing Canonical Form of a schema, as the
// specification defines it (and Java's SchemaNormalization computes it): full names,
// only the attributes that matter for parsing, in a fixed order, no white space, and
// primitives in their simple form, logical types included ({"type":"long",
// "logicalType":"timestamp-millis"} is "long").
//
// It is computed here rather than taken from a library because goavro writes
// {"type":"long"} for a logical type and hamba/avro keeps the logicalType, so each gives
// a different fingerprint from the one Java consumers of single-object encoding expect.
func CanonicalForm(schema string) (string, error) {
	var raw any
	if err := json.Unmarshal([]byte(schema), &raw); err != nil {
		return "", fmt.Errorf("%w: schema is not JSON: %w", ErrCatalog, err)
	}
	var b strings.Builder
	if err := canonical(&b, raw, "", map[string]bool{}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrCatalog, err)
	}
	return b.String(), nil
}

func canonical(b *strings.Builder, raw any, ns string, defined map[string]bool) error {
	switch v := raw.(type) {
	case string:
		if slices.Contains(primitives, v) {
			b.WriteString(strconv.Quote(v))
		} else {
			b.WriteString(strconv.Quote(fullName(v, ns)))
		}
		return nil
	case []any:
		b.WriteByte('[')
		for i, branch := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := canonical(b, branch, ns, defined); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case map[string]any:
		t, ok := v["type"].(string)
		if !ok {
			return canonical(b, v["type"], ns, defined)
		}
		switch t {
		case "record", "error", "enum", "fixed":
			name, _ := v["name"].(string)
			if name == "" {
				return fmt.Errorf("%s without a name", t)
			}
			space := ns
			if s, ok := v["namespace"].(string); ok {
				space = s
			}
			full := fullName(name, space)
			if defined[full] {
				b.WriteString(strconv.Quote(full))
				return nil
			}
			defined[full] = true
			if i := strings.LastIndex(full, "."); i >= 0 {
				space = full[:i]
			} else {
				space = ""
			}
			fmt.Fprintf(b, `{"name":%s,"type":%s`, strconv.Quote(full), strconv.Quote(t))
			switch t {
			case "enum":
				b.WriteString(`,"symbols":[`)
				syms, _ := v["symbols"].([]any)
				for i, s := range syms {
					if i > 0 {
						b.WriteByte(',')
					}
					str, _ := s.(string)
					b.WriteString(strconv.Quote(str))
				}
				b.WriteByte(']')
			case "fixed":
				size, _ := v["size"].(float64)
				b.WriteString(`,"size":` + strconv.FormatInt(int64(size), 10))
			default:
				b.WriteString(`,"fields":[`)
				fields, _ := v["fields"].([]any)
				for i, f := range fields {
					fm, ok := f.(map[string]any)
					if !ok {
						return fmt.Errorf("record %s: field is not an object", full)
					}
					if i > 0 {
						b.WriteByte(',')
					}
					fname, _ := fm["name"].(string)
					b.WriteString(`{"name":` + strconv.Quote(fname) + `,"type":`)
					if err := canonical(b, fm["type"], space, defined); err != nil {
						return err
					}
					b.WriteByte('}')
				}
				b.WriteByte(']')
			}
			b.WriteByte('}')
			return nil
		case "array":
			b.WriteString(`{"type":"array","items":`)
			if err := canonical(b, v["items"], ns, defined); err != nil {
				return err
			}
			b.WriteByte('}')
			return nil
		case "map":
			b.WriteString(`{"type":"map","values":`)
			if err := canonical(b, v["values"], ns, defined); err != nil {
				return err
			}
			b.WriteByte('}')
			return nil
		}
		return canonical(b, t, ns, defined) // a primitive, logical or not, or a named reference
	}
	return fmt.Errorf("unexpected schema element %T", raw)
}

// rabinEmpty is the CRC-64-AVRO fingerprint of the empty string, the specification's
// EMPTY constant.
const rabinEmpty = 0xc15d213aa4d7a795

var rabinTable = func() (t [256]uint64) {
	for i := range t {
		fp := uint64(i)
		for range 8 {
			fp = (fp >> 1) ^ (rabinEmpty & -(fp & 1))
		}
		t[i] = fp
	}
	return t
}()

// fingerprint is the CRC-64-AVRO (Rabin) fingerprint of a canonical form.
func fingerprint(canonical string) uint64 {
	fp := uint64(rabinEmpty)
	for i := 0; i < len(canonical); i++ {
		fp = (fp >> 8) ^ rabinTable[byte(fp)^canonical[i]]
	}
	return fp
}

var primitives = []string{"null", "boolean", "int", "long", "float", "double", "bytes", "string"}

// fullName qualifies a name with a namespace, unless it is already a full name.
func fullName(name, namespace string) string {
	if strings.Contains(name, ".") || namespace == "" {
		return name
	}
	return namespace + "." + name
}
