package schemas

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Namespace is the Avro namespace of every report record.
const Namespace = "com.wolkvox.reports"

// Names of the fields every event carries besides the report's own. The "wv_" prefix keeps
// them apart from the API's keys (cdr_11 has its own "operation"); a raw key that maps to
// one of them anyway is disambiguated like any other collision.
const (
	FieldOperation   = "wv_operation"    // the operation's server number, e.g. "0040"
	FieldReport      = "wv_report"       // the report's api name, e.g. "diagram_13"
	FieldEventTime   = "wv_event_time"   // the row's own time, UTC; null without a time field
	FieldWindowStart = "wv_window_start" // start of the query window that returned the row
	FieldWindowEnd   = "wv_window_end"   // end of that window
	FieldReadAt      = "wv_read_at"      // when the connector read the row
	FieldRowID       = "wv_row_id"       // the row's stable identity, given by the caller
	FieldExtra       = "wv_extra"        // every key the catalog does not know, raw
)

// metaFields are the reserved names, in the order they open every record.
var metaFields = []string{FieldOperation, FieldReport, FieldEventTime, FieldWindowStart, FieldWindowEnd, FieldReadAt, FieldRowID}

// FieldMapping is one known field of a report: the raw key the API sends and the Avro
// field that carries it.
type FieldMapping struct {
	// Key is the raw key, byte for byte ("agent_anwers ").
	Key string
	// Name is the Avro field name ("agent_anwers").
	Name string
	// Type decides the Avro type and how the text is parsed.
	Type catalog.FieldType
	// Doc is the catalog's description of the field, possibly empty.
	Doc string
}

// AvroName maps a raw API key to a valid Avro name, before collisions are resolved:
//
//  1. surrounding white space is removed ("agent_anwers " → "agent_anwers");
//  2. letters are lower-cased and Spanish accents folded ("ASA" → "asa", "Número" → "numero");
//  3. every run of characters outside [a-z0-9_] becomes one "_" ("yes/no" → "yes_no");
//  4. a name that starts with a digit gets the prefix "f_" ("0_5_seg" → "f_0_5_seg");
//  5. an empty result becomes "field".
//
// Lower case keeps names usable in case-insensitive stores (SQL warehouses) downstream.
func AvroName(raw string) string {
	var b strings.Builder
	b.Grow(len(raw) + 2)
	inRun := false
	for _, r := range strings.TrimSpace(raw) {
		r = foldRune(r)
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
			inRun = false
			continue
		}
		if !inRun {
			b.WriteByte('_')
		}
		inRun = true
	}
	name := b.String()
	switch {
	case name == "":
		return "field"
	case name[0] >= '0' && name[0] <= '9':
		return "f_" + name
	}
	return name
}

// foldRune lower-cases r and strips the accents Spanish uses, so "Número" stays readable.
func foldRune(r rune) rune {
	r = unicode.ToLower(r)
	switch r {
	case 'á', 'à', 'â', 'ä', 'ã':
		return 'a'
	case 'é', 'è', 'ê', 'ë':
		return 'e'
	case 'í', 'ì', 'î', 'ï':
		return 'i'
	case 'ó', 'ò', 'ô', 'ö', 'õ':
		return 'o'
	case 'ú', 'ù', 'û', 'ü':
		return 'u'
	case 'ñ':
		return 'n'
	case 'ç':
		return 'c'
	}
	return r
}

// Fields returns the report's known fields with their Avro names, in catalog order.
//
// Names are unique within the record, reserved names included. Collisions are resolved
// deterministically: the reserved wv_ names are taken first; then every key that is
// already a valid name of its own (AvroName(key) == key) takes it; then the remaining
// keys, in byte order of the raw key, take AvroName(key) or, when that is taken, the
// first free of AvroName(key)+"_2", "_3", …. So "asa" keeps "asa" and a sibling "ASA"
// becomes "asa_2", however the catalog orders them.
//
// It fails when the catalog lists one raw key twice, because a row could not tell
// which field a value belongs to.
func Fields(rep *catalog.Report) ([]FieldMapping, error) {
	taken := make(map[string]bool, len(rep.Fields)+len(metaFields)+1)
	for _, n := range metaFields {
		taken[n] = true
	}
	taken[FieldExtra] = true

	out := make([]FieldMapping, len(rep.Fields))
	seen := make(map[string]bool, len(rep.Fields))
	var pending []int
	for i, f := range rep.Fields {
		if seen[f.Name] {
			return nil, fmt.Errorf("%w: report %s lists key %q twice", ErrCatalog, rep.API, f.Name)
		}
		seen[f.Name] = true
		out[i] = FieldMapping{Key: f.Name, Type: f.Type, Doc: f.Doc}
		if n := AvroName(f.Name); n == f.Name && !taken[n] {
			out[i].Name = n
			taken[n] = true
			continue
		}
		pending = append(pending, i)
	}
	slices.SortFunc(pending, func(a, b int) int { return cmp.Compare(out[a].Key, out[b].Key) })
	for _, i := range pending {
		base := AvroName(out[i].Key)
		name := base
		for n := 2; taken[name]; n++ {
			name = base + "_" + strconv.Itoa(n)
		}
		out[i].Name = name
		taken[name] = true
	}
	return out, nil
}
