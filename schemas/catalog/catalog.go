// Package catalog describes every report of the Wolkvox Reports Manager API as data: its
// kind, parameters, fields and their meaning, the field that dates a row, the fields that
// identify a row, its longest window and its quirks.
//
// The catalog is read from catalog.json, embedded in the binary. The key types are
// [Report] (one entry) and [Field] (one column); [All] and [Lookup] read the catalog,
// [WriteTable] and [WriteReport] print it for people.
//
// catalog.json is generated, never edited: internal/gencatalog derives it from the
// extract of Wolkvox's public Postman collection kept in postman/ (reports.json, the 104
// requests with their field tables and example bodies; table.md, one line per report
// with its kind) and the decisions kept in overrides.json (titles, buckets, keys, time
// fields, types, docs, quirks).
// Run "go generate ./schemas/catalog" after changing either; a test fails while the
// checked-in file is out of date.
package catalog

//go:generate go run ./internal/gencatalog -reports postman/reports.json -table postman/table.md -overrides overrides.json -out catalog.json

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Kind says how a report's rows relate to time, which decides how it is polled.
type Kind string

const (
	// Detail reports return one row per interaction or event, dated by TimeField.
	Detail Kind = "detail"
	// Bucketed reports return one row per day, hour or interval (see Report.Bucket);
	// a bucket's values change while it fills.
	Bucketed Kind = "bucketed"
	// RangeAggregate reports aggregate over the whole requested range: the query window
	// is the bucket, and rows carry no time of their own.
	RangeAggregate Kind = "range"
)

// FieldType is the meaning of a field's text value, which decides its Avro type.
type FieldType string

const (
	String    FieldType = "string"    // free text, identifiers, codes
	Count     FieldType = "count"     // a whole number ("12"), Avro long
	Number    FieldType = "number"    // a decimal ("3.50", "1,234.5"), Avro double
	Percent   FieldType = "percent"   // "34.64 %", "9,336.00 %", Avro double (34.64)
	Duration  FieldType = "duration"  // "H:MM:SS" or "HH:MM:SS", Avro long seconds
	Seconds   FieldType = "seconds"   // a whole number of seconds, Avro long seconds
	Millis    FieldType = "millis"    // a whole number of milliseconds, Avro long millis
	Timestamp FieldType = "timestamp" // "YYYY-MM-DD HH:MM:SS" local time, Avro timestamp-millis
	Date      FieldType = "date"      // "YYYY-MM-DD" (or Report.TimeLayout), Avro int date
)

// Shape is how a report lays out its "data" member.
type Shape string

const (
	// ShapeArray: data is an array of flat objects (most reports).
	ShapeArray Shape = "array"
	// ShapeObject: data is an object keyed by bucket name (cdr_4); each member is one row,
	// and the member's name becomes the row's BucketKeyField.
	ShapeObject Shape = "object"
	// ShapeNested: each element of data carries an array in NestedField; one row is made
	// per nested element, with its parent's other fields (agent_5, agent_11, chat_2).
	ShapeNested Shape = "nested"
)

// BucketKeyField is the field a ShapeObject report's member name is stored under.
const BucketKeyField = "bucket"

// Field is one column of a report, named exactly as the API sends it.
type Field struct {
	Name string    `json:"name"`
	Type FieldType `json:"type"`
	Doc  string    `json:"doc,omitempty"`
}

// Param is a query parameter a report takes besides api, date_ini and date_end.
//
// Required means the API needs the parameter on every call. A required parameter with a
// Default (skill_id, campaign_id, cod_act) is always sent, with the default when the
// configuration gives none; one without a Default (agent_2's agent_id) must be
// configured. An optional parameter is sent only when configured.
type Param struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Doc      string `json:"doc,omitempty"`
	// Default is the value the connector sends when the configuration gives none
	// ("all" for skill_id and campaign_id); empty means the parameter is omitted.
	Default string `json:"default,omitempty"`
}

// Report is one report of the Reports Manager API.
type Report struct {
	API    string `json:"api"`
	Folder string `json:"folder"`
	Title  string `json:"title"`
	Kind   Kind   `json:"kind"`
	// Bucket is the size of a Bucketed report's rows: "10m", "30m", "1h" or "24h".
	Bucket string  `json:"bucket,omitempty"`
	Params []Param `json:"params,omitempty"`
	// Fields are the known columns, in the order the API sends them. For ShapeNested the
	// nested element's fields follow the parent's, and NestedField itself is not listed.
	Fields []Field `json:"fields"`
	// TimeField dates a Detail row (empty for the other kinds); TimeLayout is its Go
	// time layout, read in the operation's time zone.
	TimeField  string `json:"time_field,omitempty"`
	TimeLayout string `json:"time_layout,omitempty"`
	// KeyFields identify a row: they form its Kafka key. Empty means the row's whole
	// content identifies it.
	KeyFields []string `json:"key_fields,omitempty"`
	// MaxWindowSeconds is the longest date_ini..date_end range the API accepts.
	MaxWindowSeconds int64  `json:"max_window_seconds"`
	Shape            Shape  `json:"shape"`
	NestedField      string `json:"nested_field,omitempty"`
	// DynamicPrefixes name families of columns whose count varies (q01..qNN, opt1..optN,
	// service_level_Nseg); such columns are kept in the event's extra map. A column is
	// dynamic when its name is a prefix followed by a digit and it is not a listed field
	// (skill_1 lists service_level_10seg..30seg, which are always sent).
	DynamicPrefixes []string `json:"dynamic_prefixes,omitempty"`
	// Quirks lists what is odd about this report, for people and for the simulator.
	Quirks []string `json:"quirks,omitempty"`
}

// MaxWindow is the longest range one call may ask for.
func (r *Report) MaxWindow() time.Duration { return time.Duration(r.MaxWindowSeconds) * time.Second }

// Field returns the named field.
func (r *Report) Field(name string) (Field, bool) {
	i := slices.IndexFunc(r.Fields, func(f Field) bool { return f.Name == name })
	if i < 0 {
		return Field{}, false
	}
	return r.Fields[i], true
}

// Param returns the named parameter.
func (r *Report) Param(name string) (Param, bool) {
	i := slices.IndexFunc(r.Params, func(p Param) bool { return p.Name == name })
	if i < 0 {
		return Param{}, false
	}
	return r.Params[i], true
}

//go:embed catalog.json
var catalogJSON []byte

var load = sync.OnceValues(func() ([]Report, error) {
	var reports []Report
	if err := json.Unmarshal(catalogJSON, &reports); err != nil {
		return nil, fmt.Errorf("catalog: decoding catalog.json: %w", err)
	}
	return reports, nil
})

// All returns every report, in catalog order. The slice is shared: do not modify it.
func All() []Report {
	reports, err := load()
	if err != nil {
		panic(err) // catalog.json is embedded and tested: this is a build defect
	}
	return reports
}

// Lookup returns the report with the given api name.
func Lookup(api string) (*Report, bool) {
	reports := All()
	i := slices.IndexFunc(reports, func(r Report) bool { return r.API == api })
	if i < 0 {
		return nil, false
	}
	return &reports[i], true
}
