package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Custom attributes the generated schemas carry. Avro ignores attributes it does not
// define, so they cost nothing on the wire and keep the raw API key next to its field.
const (
	attrReport = "wolkvox.report" // on the record: the api name
	attrKind   = "wolkvox.kind"   // on the record: detail, bucketed or range
	attrKey    = "wolkvox.key"    // on a report field: the raw key as the API sends it
	attrType   = "wolkvox.type"   // on a report field: the catalog FieldType
)

// RecordName is the Avro record name of a report: its api name with the first letter
// upper-cased and the first underscore removed, so "diagram_13" is "Diagram13" and
// "diagram_1_3" is "Diagram1_3" (the remaining underscores keep the two apart).
func RecordName(api string) string {
	name := strings.Replace(api, "_", "", 1)
	if name == "" {
		return name
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// Avro types of the generated schemas.
var (
	avroTimestamp = logicalType{"long", "timestamp-millis"}
	avroDate      = logicalType{"int", "date"}
)

// logicalType and mapType are structs, not maps, so that "type" is written first.
type logicalType struct {
	Type        string `json:"type"`
	LogicalType string `json:"logicalType"`
}

type mapType struct {
	Type   string `json:"type"`
	Values any    `json:"values"`
}

// typeInfo is how one catalog FieldType is carried in Avro.
type typeInfo struct {
	avro any // the non-null branch of the field's union
	// branch is the name goavro gives that branch in native unions.
	branch string
	doc    string
}

var fieldTypes = map[catalog.FieldType]typeInfo{
	catalog.String:    {"string", "string", "Text exactly as sent (placeholders such as \"-\" included); null only when the API sends null or leaves the key out."},
	catalog.Count:     {"long", "long", "Whole number."},
	catalog.Number:    {"double", "double", "Decimal number; thousands separators removed."},
	catalog.Percent:   {"double", "double", "Percentage as written by the API: \"34.64 %\" is 34.64, not 0.3464."},
	catalog.Duration:  {"long", "long", "Duration sent as H:MM:SS (hours unpadded), in whole seconds."},
	catalog.Seconds:   {"long", "long", "Whole seconds."},
	catalog.Millis:    {"long", "long", "Whole milliseconds."},
	catalog.Timestamp: {avroTimestamp, "long.timestamp-millis", "Instant in UTC; the API sends it as the operation's local time without offset."},
	catalog.Date:      {avroDate, "int.date", "Calendar date."},
}

const typedNullDoc = " Null when the API sends null, \"\", \"-\" or \"--\", or leaves the key out."

// avroField and avroRecord give the generated JSON a fixed key order, so generation is
// byte-for-byte reproducible.
type avroField struct {
	Name    string          `json:"name"`
	Type    any             `json:"type"`
	Default json.RawMessage `json:"default,omitempty"`
	Doc     string          `json:"doc"`
	Key     string          `json:"wolkvox.key,omitempty"`
	FType   string          `json:"wolkvox.type,omitempty"`
}

type avroRecord struct {
	Type      string      `json:"type"`
	Name      string      `json:"name"`
	Namespace string      `json:"namespace"`
	Doc       string      `json:"doc"`
	Report    string      `json:"wolkvox.report"`
	Kind      string      `json:"wolkvox.kind"`
	Fields    []avroField `json:"fields"`
}

// Generate returns the Avro schema of a report, as the .avsc text the generator writes:
// the event fields (wv_operation … wv_row_id), then the report's known fields in catalog
// order under the names Fields gives, each a nullable union defaulting to null, then
// wv_extra, a map of every key the catalog does not know to its raw text (null for a
// JSON null). Output is indented JSON ending in a newline, stable for a given catalog.
func Generate(rep *catalog.Report) ([]byte, error) {
	mappings, err := Fields(rep)
	if err != nil {
		return nil, err
	}
	rec := avroRecord{
		Type:      "record",
		Name:      RecordName(rep.API),
		Namespace: Namespace,
		Doc:       recordDoc(rep),
		Report:    rep.API,
		Kind:      string(rep.Kind),
	}
	null := json.RawMessage("null")
	timeDoc := "Null: this report has no time of its own per row."
	if rep.TimeField != "" {
		timeDoc = fmt.Sprintf("The row's %q read in the operation's time zone, as an instant in UTC; null when that value is missing.", rep.TimeField)
	}
	rec.Fields = append(rec.Fields,
		avroField{Name: FieldOperation, Type: "string", Doc: "Server number of the Wolkvox operation the row was read from (the NNNN of wvNNNN.wolkvox.com)."},
		avroField{Name: FieldReport, Type: "string", Doc: "Api name of the report, e.g. " + rep.API + "."},
		avroField{Name: FieldEventTime, Type: []any{"null", avroTimestamp}, Default: null, Doc: "When the row happened. " + timeDoc},
		avroField{Name: FieldWindowStart, Type: avroTimestamp, Doc: "Start (inclusive) of the query window whose answer held the row, UTC."},
		avroField{Name: FieldWindowEnd, Type: avroTimestamp, Doc: "End of the query window whose answer held the row, UTC."},
		avroField{Name: FieldReadAt, Type: avroTimestamp, Doc: "When the connector received the row, UTC."},
		avroField{Name: FieldRowID, Type: "string", Doc: "Stable identity of the row: the same row read again carries the same id."},
	)
	for _, m := range mappings {
		ti, ok := fieldTypes[m.Type]
		if !ok {
			return nil, fmt.Errorf("%w: report %s field %q has unknown type %q", ErrCatalog, rep.API, m.Key, m.Type)
		}
		doc := strings.TrimSpace(m.Doc)
		if doc != "" && !strings.HasSuffix(doc, ".") {
			doc += "."
		}
		if m.Name != m.Key {
			doc += fmt.Sprintf(" Sent by the API under the key %q.", m.Key)
		}
		doc += " " + ti.doc
		if m.Type != catalog.String {
			doc += typedNullDoc
		}
		rec.Fields = append(rec.Fields, avroField{
			Name: m.Name, Type: []any{"null", ti.avro}, Default: null,
			Doc: strings.TrimSpace(doc), Key: m.Key, FType: string(m.Type),
		})
	}
	rec.Fields = append(rec.Fields, avroField{
		Name:    FieldExtra,
		Type:    mapType{"map", []string{"null", "string"}},
		Default: json.RawMessage("{}"),
		Doc:     "Every key of the row the catalog does not know (new columns, survey answers q01..qNN, opt1..optN, service_level_Nseg), with its raw text; null for a JSON null. Nothing the API sends is dropped.",
	})

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rec); err != nil {
		return nil, fmt.Errorf("schemas: encoding schema of %s: %w", rep.API, err)
	}
	return buf.Bytes(), nil
}

func recordDoc(rep *catalog.Report) string {
	var b strings.Builder
	title := strings.TrimSpace(rep.Title)
	if title == "" {
		title = "Report " + rep.API
	}
	fmt.Fprintf(&b, "%s (Wolkvox Reports Manager api=%s).", strings.TrimSuffix(title, "."), rep.API)
	switch rep.Kind {
	case catalog.Detail:
		if rep.TimeField != "" {
			fmt.Fprintf(&b, " One event per interaction or event the report lists, dated by %q.", rep.TimeField)
		} else {
			b.WriteString(" One event per interaction or event the report lists.")
		}
	case catalog.Bucketed:
		bucket := rep.Bucket
		if bucket == "" {
			bucket = "time"
		}
		fmt.Fprintf(&b, " One event per %s bucket row; a bucket is sent again, under the same row id, while its values change.", bucket)
	case catalog.RangeAggregate:
		b.WriteString(" One event per row of an aggregate over the whole query window, wv_window_start to wv_window_end.")
	}
	b.WriteString(" Keys the catalog does not know are kept in wv_extra.")
	return b.String()
}
