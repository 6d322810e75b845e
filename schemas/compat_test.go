package schemas

import (
	"errors"
	"testing"
)

// compatRec is a top-level record shaped like the generated report schemas.
func compatRec(fields string) string {
	return `{"type":"record","name":"R","namespace":"com.wolkvox.reports","fields":[` + fields + `]}`
}

// compatCase is one BACKWARD-compatibility question: can the reader (the new schema)
// read data written with the writer (the old one)?
type compatCase struct {
	name           string
	reader, writer string
	// want is the verdict of the Avro 1.11.1 specification's schema-resolution rules
	// (https://avro.apache.org/docs/1.11.1/specification/#schema-resolution), worked out
	// from the rule quoted in the row's comment, not taken from any implementation.
	want bool
}

// compatCases covers what the generated schemas use (flat records of strings, longs and
// ["null", T] unions defaulting to null, timestamp-millis and date, the wv_extra map)
// and the evolutions the catalog could make to them, plus the rest of the resolution
// rules (enums, fixed, aliases, names, nested and recursive records).
var compatCases = []compatCase{
	{"identical", compatRec(`{"name":"a","type":"long"}`), compatRec(`{"name":"a","type":"long"}`), true},
	// Docs and custom attributes are not part of resolution.
	{"doc and custom attributes changed",
		compatRec(`{"name":"a","type":"long","doc":"new","wolkvox.key":"A2"}`),
		compatRec(`{"name":"a","type":"long","doc":"old","wolkvox.key":"A"}`), true},

	// Records: "fields are matched by name"; a reader field missing from the writer takes
	// its default, and without one "an error is signalled"; a writer field missing from
	// the reader "is ignored".
	{"field added with default null",
		compatRec(`{"name":"a","type":"long"},{"name":"b","type":["null","string"],"default":null}`),
		compatRec(`{"name":"a","type":"long"}`), true},
	{"field added with a non-null default",
		compatRec(`{"name":"a","type":"long"},{"name":"b","type":"long","default":0}`),
		compatRec(`{"name":"a","type":"long"}`), true},
	{"field added without default",
		compatRec(`{"name":"a","type":"long"},{"name":"b","type":"string"}`),
		compatRec(`{"name":"a","type":"long"}`), false},
	// A nullable type is not a default: only a "default" attribute is.
	{"nullable field added without default",
		compatRec(`{"name":"a","type":"long"},{"name":"b","type":["null","string"]}`),
		compatRec(`{"name":"a","type":"long"}`), false},
	{"field removed",
		compatRec(`{"name":"a","type":"long"}`),
		compatRec(`{"name":"a","type":"long"},{"name":"b","type":"string"}`), true},
	{"nullable field removed",
		compatRec(`{"name":"a","type":"long"}`),
		compatRec(`{"name":"a","type":"long"},{"name":"b","type":["null","string"],"default":null}`), true},
	{"fields reordered",
		compatRec(`{"name":"b","type":"string"},{"name":"a","type":"long"}`),
		compatRec(`{"name":"a","type":"long"},{"name":"b","type":"string"}`), true},
	{"field default changed",
		compatRec(`{"name":"a","type":"long","default":1}`),
		compatRec(`{"name":"a","type":"long","default":0}`), true},
	{"field type changed, reader has a default",
		compatRec(`{"name":"a","type":"string","default":""}`),
		compatRec(`{"name":"a","type":"long"}`), false},

	// Aliases: the writer's schema is rewritten with the reader's aliases.
	{"field renamed without alias",
		compatRec(`{"name":"b","type":"long"}`), compatRec(`{"name":"a","type":"long"}`), false},
	{"field renamed without alias, new one has a default",
		compatRec(`{"name":"b","type":"long","default":0}`), compatRec(`{"name":"a","type":"long"}`), true},
	{"field renamed with alias",
		compatRec(`{"name":"b","aliases":["a"],"type":"long"}`), compatRec(`{"name":"a","type":"long"}`), true},
	{"field renamed with alias and promoted",
		compatRec(`{"name":"b","aliases":["a"],"type":["null","double"],"default":null}`),
		compatRec(`{"name":"a","type":"long"}`), true},
	{"field alias names no writer field",
		compatRec(`{"name":"b","aliases":["c"],"type":"long"}`), compatRec(`{"name":"a","type":"long"}`), false},

	// Nullable unions. Writer union: every branch the writer may have selected must
	// resolve; reader union: the writer's schema must match one of its branches.
	{"made nullable",
		compatRec(`{"name":"a","type":["null","long"],"default":null}`), compatRec(`{"name":"a","type":"long"}`), true},
	{"made non-nullable",
		compatRec(`{"name":"a","type":"long"}`), compatRec(`{"name":"a","type":["null","long"],"default":null}`), false},
	{"nullable type changed",
		compatRec(`{"name":"a","type":["null","string"],"default":null}`),
		compatRec(`{"name":"a","type":["null","long"],"default":null}`), false},
	{"nullable promoted int to long",
		compatRec(`{"name":"a","type":["null","long"],"default":null}`),
		compatRec(`{"name":"a","type":["null","int"],"default":null}`), true},
	{"promoted into a nullable union",
		compatRec(`{"name":"a","type":["null","double"],"default":null}`), compatRec(`{"name":"a","type":"long"}`), true},
	{"union branch added",
		compatRec(`{"name":"a","type":["null","long","string"],"default":null}`),
		compatRec(`{"name":"a","type":["null","long"],"default":null}`), true},
	{"union branch removed",
		compatRec(`{"name":"a","type":["null","long"],"default":null}`),
		compatRec(`{"name":"a","type":["null","long","string"],"default":null}`), false},
	{"union branches reordered",
		compatRec(`{"name":"a","type":["null","string"],"default":null}`),
		compatRec(`{"name":"a","type":["string","null"]}`), true},
	{"null no longer accepted",
		compatRec(`{"name":"a","type":"string"}`), compatRec(`{"name":"a","type":"null"}`), false},

	// Promotions: "int is promotable to long, float, or double; long to float or double;
	// float to double; string to bytes; bytes to string". Nothing else.
	{"int to long", compatRec(`{"name":"a","type":"long"}`), compatRec(`{"name":"a","type":"int"}`), true},
	{"int to float", compatRec(`{"name":"a","type":"float"}`), compatRec(`{"name":"a","type":"int"}`), true},
	{"int to double", compatRec(`{"name":"a","type":"double"}`), compatRec(`{"name":"a","type":"int"}`), true},
	{"long to float", compatRec(`{"name":"a","type":"float"}`), compatRec(`{"name":"a","type":"long"}`), true},
	{"long to double", compatRec(`{"name":"a","type":"double"}`), compatRec(`{"name":"a","type":"long"}`), true},
	{"float to double", compatRec(`{"name":"a","type":"double"}`), compatRec(`{"name":"a","type":"float"}`), true},
	{"string to bytes", compatRec(`{"name":"a","type":"bytes"}`), compatRec(`{"name":"a","type":"string"}`), true},
	{"bytes to string", compatRec(`{"name":"a","type":"string"}`), compatRec(`{"name":"a","type":"bytes"}`), true},
	{"long to int", compatRec(`{"name":"a","type":"int"}`), compatRec(`{"name":"a","type":"long"}`), false},
	{"double to long", compatRec(`{"name":"a","type":"long"}`), compatRec(`{"name":"a","type":"double"}`), false},
	{"double to float", compatRec(`{"name":"a","type":"float"}`), compatRec(`{"name":"a","type":"double"}`), false},
	{"long to string", compatRec(`{"name":"a","type":"string"}`), compatRec(`{"name":"a","type":"long"}`), false},
	{"string to long", compatRec(`{"name":"a","type":"long"}`), compatRec(`{"name":"a","type":"string"}`), false},
	{"boolean to int", compatRec(`{"name":"a","type":"int"}`), compatRec(`{"name":"a","type":"boolean"}`), false},
	{"top-level int to long", `"long"`, `"int"`, true},

	// Logical types are serialized as their underlying type, and resolution only looks
	// at types: a logical type added, dropped or changed is resolved by its underlying
	// type. (That a date read as timestamp-millis means something else is not a question
	// resolution asks; the catalog tests guard meanings.)
	{"timestamp-millis added to long",
		compatRec(`{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}`),
		compatRec(`{"name":"t","type":"long"}`), true},
	{"timestamp-millis dropped from long",
		compatRec(`{"name":"t","type":"long"}`),
		compatRec(`{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}`), true},
	{"nullable timestamp-millis to timestamp-micros",
		compatRec(`{"name":"t","type":["null",{"type":"long","logicalType":"timestamp-micros"}],"default":null}`),
		compatRec(`{"name":"t","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null}`), true},
	{"nullable date to nullable timestamp-millis (int to long)",
		compatRec(`{"name":"d","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null}`),
		compatRec(`{"name":"d","type":["null",{"type":"int","logicalType":"date"}],"default":null}`), true},
	{"timestamp-millis to date (long to int)",
		compatRec(`{"name":"d","type":{"type":"int","logicalType":"date"}}`),
		compatRec(`{"name":"d","type":{"type":"long","logicalType":"timestamp-millis"}}`), false},
	{"nullable date to string",
		compatRec(`{"name":"d","type":["null","string"],"default":null}`),
		compatRec(`{"name":"d","type":["null",{"type":"int","logicalType":"date"}],"default":null}`), false},

	// Maps: "resolved recursively" on the value schemas.
	{"wv_extra unchanged",
		compatRec(`{"name":"wv_extra","type":{"type":"map","values":["null","string"]},"default":{}}`),
		compatRec(`{"name":"wv_extra","type":{"type":"map","values":["null","string"]},"default":{}}`), true},
	{"wv_extra added with default",
		compatRec(`{"name":"a","type":"long"},{"name":"wv_extra","type":{"type":"map","values":["null","string"]},"default":{}}`),
		compatRec(`{"name":"a","type":"long"}`), true},
	{"wv_extra added without default",
		compatRec(`{"name":"a","type":"long"},{"name":"wv_extra","type":{"type":"map","values":["null","string"]}}`),
		compatRec(`{"name":"a","type":"long"}`), false},
	{"map values made nullable",
		compatRec(`{"name":"m","type":{"type":"map","values":["null","string"]}}`),
		compatRec(`{"name":"m","type":{"type":"map","values":"string"}}`), true},
	{"map values made non-nullable",
		compatRec(`{"name":"m","type":{"type":"map","values":"string"}}`),
		compatRec(`{"name":"m","type":{"type":"map","values":["null","string"]}}`), false},
	{"map values promoted",
		compatRec(`{"name":"m","type":{"type":"map","values":"double"}}`),
		compatRec(`{"name":"m","type":{"type":"map","values":"int"}}`), true},
	{"map values changed",
		compatRec(`{"name":"m","type":{"type":"map","values":"long"}}`),
		compatRec(`{"name":"m","type":{"type":"map","values":"string"}}`), false},
	{"map to array",
		compatRec(`{"name":"m","type":{"type":"array","items":"string"}}`),
		compatRec(`{"name":"m","type":{"type":"map","values":"string"}}`), false},
	{"array items promoted",
		compatRec(`{"name":"l","type":{"type":"array","items":"long"}}`),
		compatRec(`{"name":"l","type":{"type":"array","items":"int"}}`), true},
	{"array items changed",
		compatRec(`{"name":"l","type":{"type":"array","items":"string"}}`),
		compatRec(`{"name":"l","type":{"type":"array","items":"long"}}`), false},

	// Enums (none generated today): names match unqualified; a writer symbol the reader
	// lacks is an error unless the reader's enum has a default.
	{"enum symbol added",
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`),
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}`), true},
	{"enum symbols reordered",
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["B","A"]}}`),
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`), true},
	{"enum symbol removed",
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}`),
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`), false},
	{"enum symbol removed, reader has an enum default",
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","U"],"default":"U"}}`),
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`), true},
	{"enum renamed",
		compatRec(`{"name":"e","type":{"type":"enum","name":"F","symbols":["A"]}}`),
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}`), false},
	{"enum renamed with alias",
		compatRec(`{"name":"e","type":{"type":"enum","name":"F","aliases":["E"],"symbols":["A"]}}`),
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}`), true},
	{"enum namespace changed",
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","namespace":"x","symbols":["A"]}}`),
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","namespace":"y","symbols":["A"]}}`), true},
	{"fixed unchanged",
		compatRec(`{"name":"f","type":{"type":"fixed","name":"F","size":4}}`),
		compatRec(`{"name":"f","type":{"type":"fixed","name":"F","size":4}}`), true},
	{"fixed resized",
		compatRec(`{"name":"f","type":{"type":"fixed","name":"F","size":4}}`),
		compatRec(`{"name":"f","type":{"type":"fixed","name":"F","size":8}}`), false},
	{"fixed renamed",
		compatRec(`{"name":"f","type":{"type":"fixed","name":"G","size":4}}`),
		compatRec(`{"name":"f","type":{"type":"fixed","name":"F","size":4}}`), false},

	// Names: "records with the same (unqualified) name"; a reader alias (a full name,
	// qualified by the reader's namespace when written short) matches the writer's
	// full name.
	{"record renamed",
		`{"type":"record","name":"S","namespace":"n","fields":[]}`,
		`{"type":"record","name":"R","namespace":"n","fields":[]}`, false},
	{"record renamed with short alias",
		`{"type":"record","name":"S","namespace":"n","aliases":["R"],"fields":[]}`,
		`{"type":"record","name":"R","namespace":"n","fields":[]}`, true},
	{"record renamed with full alias across namespaces",
		`{"type":"record","name":"S","namespace":"new","aliases":["old.R"],"fields":[]}`,
		`{"type":"record","name":"R","namespace":"old","fields":[]}`, true},
	{"record namespace changed",
		`{"type":"record","name":"R","namespace":"com.wolkvox.v2","fields":[{"name":"a","type":"long"}]}`,
		`{"type":"record","name":"R","namespace":"com.wolkvox.reports","fields":[{"name":"a","type":"long"}]}`, true},
	{"full name instead of name and namespace",
		`{"type":"record","name":"com.wolkvox.reports.R","fields":[{"name":"a","type":"long"}]}`,
		compatRec(`{"name":"a","type":"long"}`), true},
	{"named reference resolved in the enclosing namespace",
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},{"name":"f","type":"E"}`),
		compatRec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}},{"name":"f","type":"com.wolkvox.reports.E"}`), true},

	// Nested records: "resolved recursively".
	{"nested record field added with default",
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"long"},{"name":"y","type":["null","string"],"default":null}]}}`),
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}}`), true},
	{"nested record field added without default",
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"long"},{"name":"y","type":"string"}]}}`),
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}}`), false},
	{"nested record field promoted",
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}}`),
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"int"}]}}`), true},
	{"nested record renamed",
		compatRec(`{"name":"n","type":{"type":"record","name":"Out","fields":[{"name":"x","type":"long"}]}}`),
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}}`), false},
	{"nested record made nullable",
		compatRec(`{"name":"n","type":["null",{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}],"default":null}`),
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}}`), true},
	{"nested record reused by name, field changed",
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"string"}]}},{"name":"m","type":"In"}`),
		compatRec(`{"name":"n","type":{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}},{"name":"m","type":"In"}`), false},
	{"nested record inside map values",
		compatRec(`{"name":"m","type":{"type":"map","values":{"type":"record","name":"In","fields":[{"name":"x","type":"double"}]}}}`),
		compatRec(`{"name":"m","type":{"type":"map","values":{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}}}`), true},
	{"recursive record",
		compatRec(`{"name":"v","type":"long"},{"name":"next","type":["null","R"],"default":null}`),
		compatRec(`{"name":"v","type":"int"},{"name":"next","type":["null","com.wolkvox.reports.R"],"default":null}`), true},
	{"recursive record, field changed",
		compatRec(`{"name":"v","type":"string"},{"name":"next","type":["null","R"],"default":null}`),
		compatRec(`{"name":"v","type":"long"},{"name":"next","type":["null","R"],"default":null}`), false},
}

// compatDivergences are rows where hamba/avro (and the hand-written checker it replaced)
// answer !want: the test asserts that, so that a change in hamba shows up.
var compatDivergences = []compatCase{
	// "The first schema in the reader's union that matches the writer's schema is
	// recursively resolved against it": records match by unqualified name, so a.X is
	// chosen, and its field y has neither a writer field nor a default. hamba (like
	// Java's SchemaCompatibility) accepts any branch that resolves, b.X here. No
	// generated schema puts two records of one short name in a union.
	{"reader union, first matching record does not resolve",
		compatRec(`{"name":"f","type":["null",{"type":"record","name":"X","namespace":"a","fields":[{"name":"y","type":"long"}]},{"type":"record","name":"X","namespace":"b","fields":[{"name":"x","type":"long"}]}],"default":null}`),
		compatRec(`{"name":"f","type":{"type":"record","name":"X","namespace":"w","fields":[{"name":"x","type":"long"}]}}`), false},
}

// TestCompatibleSpecTable checks Compatible against the specification's verdict on every
// row of compatCases, and against the opposite verdict on every row of compatDivergences.
// Before Compatible became a wrapper over hamba/avro, the table ran against both the
// hand-written checker and hamba: both agreed with every verdict.
func TestCompatibleSpecTable(t *testing.T) {
	var tests []compatCase
	tests = append(tests, compatCases...)
	for _, tt := range compatDivergences {
		tt.name, tt.want = "divergence/"+tt.name, !tt.want
		tests = append(tests, tt)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Compatible(tt.reader, tt.writer)
			var ie *IncompatibleError
			if err != nil && !errors.As(err, &ie) {
				t.Fatalf("Compatible: %v (not an *IncompatibleError)", err)
			}
			if got := err == nil; got != tt.want {
				t.Errorf("Compatible = %v, want compatible=%v", err, tt.want)
			}
		})
	}
}

// TestCompatibleLocates checks where an *IncompatibleError points: the reader field,
// map value, array item or writer union branch that fails on its own.
func TestCompatibleLocates(t *testing.T) {
	inner := func(fields string) string {
		return `{"name":"n","type":{"type":"record","name":"In","fields":[` + fields + `]}}`
	}
	tests := []struct {
		name           string
		reader, writer string
		path           string
	}{
		{"top-level field", compatRec(`{"name":"a","type":"long"},{"name":"b","type":"string"}`), compatRec(`{"name":"a","type":"long"}`), "R.b"},
		{"field found by alias", compatRec(`{"name":"b","aliases":["a"],"type":"int"}`), compatRec(`{"name":"a","type":"long"}`), "R.b"},
		{"nested record field", compatRec(inner(`{"name":"x","type":"long"},{"name":"y","type":"string"}`)), compatRec(inner(`{"name":"x","type":"long"}`)), "R.n.y"},
		{"nullable nested record field", compatRec(`{"name":"n","type":["null",{"type":"record","name":"In","fields":[{"name":"x","type":"string"}]}],"default":null}`),
			compatRec(inner(`{"name":"x","type":"long"}`)), "R.n.x"},
		{"map values", compatRec(`{"name":"m","type":{"type":"map","values":"long"}}`), compatRec(`{"name":"m","type":{"type":"map","values":"string"}}`), "R.m{}"},
		{"array items", compatRec(`{"name":"l","type":{"type":"array","items":"long"}}`), compatRec(`{"name":"l","type":{"type":"array","items":"string"}}`), "R.l[]"},
		{"recursive record", compatRec(`{"name":"next","type":["null","R"],"default":null},{"name":"v","type":"string"}`),
			compatRec(`{"name":"next","type":["null","R"],"default":null},{"name":"v","type":"long"}`), "R.v"},
		{"record renamed", `{"type":"record","name":"S","fields":[]}`, `{"type":"record","name":"R","fields":[]}`, "S"},
		{"top-level primitive", `"int"`, `"long"`, "int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Compatible(tt.reader, tt.writer)
			var ie *IncompatibleError
			if !errors.As(err, &ie) || !errors.Is(err, ErrIncompatible) {
				t.Fatalf("Compatible = %v, want an *IncompatibleError", err)
			}
			if ie.Path != tt.path || ie.Reason == "" {
				t.Errorf("IncompatibleError = %+v, want Path %s and a Reason", ie, tt.path)
			}
		})
	}
}

// TestCompatibleCallsIndependent guards against sharing hamba/avro's state between calls:
// a SchemaCompatibility caches by Parsing Canonical Form, which has no defaults nor
// aliases, and the default schema cache would let one schema's names resolve in another.
func TestCompatibleCallsIndependent(t *testing.T) {
	writer := compatRec(`{"name":"a","type":"long"}`)
	tests := []struct {
		name    string
		reader  string
		writer  string
		compat  bool
		catalog bool
	}{
		{"added with default", compatRec(`{"name":"a","type":"long"},{"name":"b","type":"string","default":""}`), writer, true, false},
		{"same without default", compatRec(`{"name":"a","type":"long"},{"name":"b","type":"string"}`), writer, false, false},
		{"renamed with alias", compatRec(`{"name":"b","aliases":["a"],"type":"long"}`), writer, true, false},
		{"same without alias", compatRec(`{"name":"b","type":"long"}`), writer, false, false},
		{"defines n.In", compatRec(`{"name":"n","type":{"type":"record","name":"In","namespace":"n","fields":[]},"default":{}}`), writer, true, false},
		{"uses n.In undefined", compatRec(`{"name":"n","type":"n.In","default":{}}`), writer, false, true},
		{"reader not JSON", "{", writer, false, true},
		{"writer not JSON", writer, "{", false, true},
	}
	for _, tt := range tests { // in order, not in parallel: each row follows the one before
		err := Compatible(tt.reader, tt.writer)
		if got := err == nil; got != tt.compat {
			t.Errorf("%s: Compatible = %v, want compatible=%v", tt.name, err, tt.compat)
		}
		if got := errors.Is(err, ErrCatalog); got != tt.catalog {
			t.Errorf("%s: Compatible = %v, want ErrCatalog=%v", tt.name, err, tt.catalog)
		}
	}
}
