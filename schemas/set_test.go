package schemas

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/linkedin/goavro/v2"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// seedReports are the user's five reference reports; the catalog must hold them.
var seedReports = []string{"diagram_13", "act_3", "diagram_4", "diagram_1_3", "chat_3"}

func embeddedSet(t testing.TB) *Set {
	t.Helper()
	s, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hambaParse(t testing.TB, text string) avro.Schema {
	t.Helper()
	// A fresh cache per schema: versions of one record share its name.
	s, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("hamba/avro rejects the schema: %v", err)
	}
	return s
}

// TestGeneratedUpToDate fails when schemas/avro no longer matches the catalog.
func TestGeneratedUpToDate(t *testing.T) {
	const fix = "run: go generate ./schemas"
	set := embeddedSet(t)
	reports := catalog.All()
	if set.Len() != len(reports) {
		t.Errorf("%d embedded schemas for %d catalog reports; %s", set.Len(), len(reports), fix)
	}
	for i := range reports {
		rep := &reports[i]
		want, err := Generate(rep)
		if err != nil {
			t.Errorf("Generate(%s): %v", rep.API, err)
			continue
		}
		got, ok := set.Lookup(rep.API)
		if !ok {
			t.Errorf("no schema for %s; %s", rep.API, fix)
			continue
		}
		if !bytes.Equal([]byte(got.Text), want) {
			t.Errorf("schema of %s is stale; %s", rep.API, fix)
		}
	}
	for _, api := range seedReports {
		if _, ok := set.Lookup(api); !ok {
			t.Errorf("seed report %s has no schema", api)
		}
	}
}

// TestEveryVersionCompiles compiles every current and historic schema with hamba/avro
// (goavro compiled them in Load) and checks our canonical form and fingerprint against
// both libraries: they agree once their known departures for logical types (goavro
// writes {"type":"long"}, hamba keeps the logicalType) are undone.
func TestEveryVersionCompiles(t *testing.T) {
	set := embeddedSet(t)
	simplify := strings.NewReplacer(
		`{"type":"long"}`, `"long"`, `{"type":"int"}`, `"int"`,
		`{"type":"long","logicalType":"timestamp-millis"}`, `"long"`, `{"type":"int","logicalType":"date"}`, `"int"`,
	)
	for _, sc := range set.All() {
		h := hambaParse(t, sc.Text)
		if got := simplify.Replace(h.String()); got != sc.Canonical {
			t.Errorf("%s: canonical form\n ours  %s\n hamba %s", sc.Report, sc.Canonical, got)
		}
		codec := sc.compiled.codec()
		if got := simplify.Replace(codec.CanonicalSchema()); got != sc.Canonical {
			t.Errorf("%s: canonical form\n ours   %s\n goavro %s", sc.Report, sc.Canonical, got)
		}
		if fingerprint(codec.CanonicalSchema()) != codec.Rabin {
			t.Errorf("%s: our CRC-64-AVRO of goavro's canonical form differs from goavro's", sc.Report)
		}
		if sc.Fingerprint != fingerprint(sc.Canonical) {
			t.Errorf("%s: Fingerprint is not the fingerprint of Canonical", sc.Report)
		}
		if sc.Name != Namespace+"."+RecordName(sc.Report) {
			t.Errorf("%s: record name %s", sc.Report, sc.Name)
		}
		for _, v := range sc.Versions {
			hambaParse(t, v.Text)
		}
	}
}

func TestCanonicalFormPlainSchemas(t *testing.T) {
	// Without logical types all three implementations must agree exactly.
	for _, s := range []string{
		`"string"`,
		`{"type":"int"}`,
		`["null",{"type":"map","values":["null","string"]}]`,
		`{"type":"record","name":"R","namespace":"a.b","doc":"x","fields":[{"name":"f","type":{"type":"enum","name":"E","symbols":["A","B"]},"doc":"y"},{"name":"g","type":"E"},{"name":"h","type":{"type":"fixed","name":"c.F","size":16}}]}`,
	} {
		got, err := CanonicalForm(s)
		if err != nil {
			t.Fatal(err)
		}
		codec, err := goavro.NewCodec(s)
		if err != nil {
			t.Fatal(err)
		}
		if got != codec.CanonicalSchema() {
			t.Errorf("CanonicalForm(%s)\n = %s\n goavro %s", s, got, codec.CanonicalSchema())
		}
		h := hambaParse(t, s)
		fp, err := h.FingerprintUsing(avro.CRC64Avro)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fp, binary.BigEndian.AppendUint64(nil, fingerprint(got))) || codec.Rabin != fingerprint(got) {
			t.Errorf("fingerprint of %s: ours %016x, goavro %016x, hamba % x", s, fingerprint(got), codec.Rabin, fp)
		}
	}
	// A recursive reference is written as a full name. goavro is left out here: it
	// writes the short name or the full one from run to run.
	recursive := `{"type":"record","name":"R","namespace":"a.b","fields":[{"name":"l","type":{"type":"array","items":"R"}}]}`
	got, err := CanonicalForm(recursive)
	if err != nil {
		t.Fatal(err)
	}
	if h := hambaParse(t, recursive).String(); got != h || !strings.Contains(got, `"items":"a.b.R"`) {
		t.Errorf("CanonicalForm(recursive) = %s, hamba %s", got, h)
	}
	if _, err := CanonicalForm("{"); !errors.Is(err, ErrCatalog) {
		t.Errorf("CanonicalForm of broken JSON: %v, want ErrCatalog", err)
	}
}

// TestEmbeddedHistoryCompatible is the evolution gate: every report's schema reads data
// written with each of its kept versions, and the history ends with it.
func TestEmbeddedHistoryCompatible(t *testing.T) {
	set := embeddedSet(t)
	if err := set.Check(); err != nil {
		t.Fatal(err)
	}
	// The same pairs through hamba/avro's independent implementation.
	for _, sc := range set.All() {
		for _, v := range sc.Versions {
			if err := avro.NewSchemaCompatibility().Compatible(hambaParse(t, sc.Text), hambaParse(t, v.Text)); err != nil {
				t.Errorf("%s v%d: hamba says incompatible: %v", sc.Report, v.Number, err)
			}
		}
	}
}

func loadFixture(t *testing.T, name string) *Set {
	t.Helper()
	s, err := Load(os.DirFS(filepath.Join("testdata", "compat", name)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckFixtures(t *testing.T) {
	tests := []struct {
		fixture      string
		incompatible bool
		stale        bool
		path         string
	}{
		{fixture: "evolved"},
		{fixture: "newfield", incompatible: true, path: "Diagram13.queue_position"},
		{fixture: "typechange", incompatible: true, path: "Diagram13.second_event"},
		{fixture: "stale", stale: true},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			err := loadFixture(t, tt.fixture).Check()
			var ie *IncompatibleError
			if got := errors.As(err, &ie); got != tt.incompatible {
				t.Fatalf("Check() = %v; incompatible=%v, want %v", err, got, tt.incompatible)
			}
			if tt.incompatible && (ie.Path != tt.path || ie.Report != "diagram_13" || ie.Version != 1 || !errors.Is(err, ErrIncompatible)) {
				t.Errorf("IncompatibleError = %+v, want report diagram_13 v1 at %s", ie, tt.path)
			}
			if got := errors.Is(err, ErrStaleHistory); got != tt.stale {
				t.Errorf("Check() = %v; stale=%v, want %v", err, got, tt.stale)
			}
		})
	}
}

// TestCompatibleAgreesWithHamba runs the checker on hand-made pairs and on the fixture
// pairs, and compares each verdict with hamba/avro's: Compatible wraps hamba's
// SchemaCompatibility, and its parsing and wording must not change a verdict.
func TestCompatibleAgreesWithHamba(t *testing.T) {
	rec := func(fields string) string {
		return `{"type":"record","name":"R","namespace":"n","fields":[` + fields + `]}`
	}
	tests := []struct {
		name           string
		reader, writer string
		want           bool
	}{
		{"identical", rec(`{"name":"a","type":"long"}`), rec(`{"name":"a","type":"long"}`), true},
		{"int to long", rec(`{"name":"a","type":"long"}`), rec(`{"name":"a","type":"int"}`), true},
		{"long to double", rec(`{"name":"a","type":"double"}`), rec(`{"name":"a","type":"long"}`), true},
		{"long to int", rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"long"}`), false},
		{"long to string", rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":"long"}`), false},
		{"string to bytes", rec(`{"name":"a","type":"bytes"}`), rec(`{"name":"a","type":"string"}`), true},
		{"field removed", rec(`{"name":"a","type":"long"}`), rec(`{"name":"a","type":"long"},{"name":"b","type":"string"}`), true},
		{"field added with default", rec(`{"name":"a","type":"long"},{"name":"b","type":["null","string"],"default":null}`), rec(`{"name":"a","type":"long"}`), true},
		{"field added without default", rec(`{"name":"a","type":"long"},{"name":"b","type":"string"}`), rec(`{"name":"a","type":"long"}`), false},
		{"field renamed with alias", rec(`{"name":"b","aliases":["a"],"type":"long"}`), rec(`{"name":"a","type":"long"}`), true},
		{"nullable widened", rec(`{"name":"a","type":["null","long"]}`), rec(`{"name":"a","type":"long"}`), true},
		{"nullable narrowed", rec(`{"name":"a","type":"long"}`), rec(`{"name":"a","type":["null","long"]}`), false},
		{"union branch added", rec(`{"name":"a","type":["null","long","string"]}`), rec(`{"name":"a","type":["null","long"]}`), true},
		{"union branch removed", rec(`{"name":"a","type":["null","long"]}`), rec(`{"name":"a","type":["null","long","string"]}`), false},
		{"map values promoted", rec(`{"name":"m","type":{"type":"map","values":"double"}}`), rec(`{"name":"m","type":{"type":"map","values":"int"}}`), true},
		{"array items changed", rec(`{"name":"l","type":{"type":"array","items":"string"}}`), rec(`{"name":"l","type":{"type":"array","items":"long"}}`), false},
		{"enum symbol removed", rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}`), rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`), false},
		{"enum symbol added", rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}`), rec(`{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}`), true},
		{"fixed resized", rec(`{"name":"f","type":{"type":"fixed","name":"F","size":4}}`), rec(`{"name":"f","type":{"type":"fixed","name":"F","size":8}}`), false},
		{"logical type ignored", rec(`{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}`), rec(`{"name":"t","type":"long"}`), true},
		{"record renamed", `{"type":"record","name":"S","fields":[]}`, `{"type":"record","name":"R","fields":[]}`, false},
		{"recursive", rec(`{"name":"next","type":["null","R"],"default":null}`), rec(`{"name":"next","type":["null","n.R"],"default":null}`), true},
	}
	for _, name := range []string{"newfield", "typechange", "evolved"} {
		s := loadFixture(t, name)
		sc, _ := s.Lookup("diagram_13")
		tests = append(tests, struct {
			name           string
			reader, writer string
			want           bool
		}{"fixture " + name, sc.Text, sc.Versions[0].Text, name == "evolved"})
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
			herr := avro.NewSchemaCompatibility().Compatible(hambaParse(t, tt.reader), hambaParse(t, tt.writer))
			if (herr == nil) != (err == nil) {
				t.Errorf("disagreement with hamba/avro: ours %v, hamba %v", err, herr)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(Dir, "chat_3.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"not JSON", map[string]string{"chat_3.avsc": "{"}},
		{"wrong report", map[string]string{"chat_5.avsc": string(good)}},
		{"does not compile", map[string]string{"chat_3.avsc": strings.Replace(string(good), `"long"`, `"lung"`, 1)}},
		{"history gap", map[string]string{"chat_3.avsc": string(good), "history/chat_3.v2.avsc": string(good)}},
		{"history misnamed", map[string]string{"chat_3.avsc": string(good), "history/chat_3.avsc": string(good)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tt.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Load(os.DirFS(dir)); !errors.Is(err, ErrCatalog) {
				t.Errorf("Load = %v, want ErrCatalog", err)
			}
		})
	}
}

func TestSetAllSorted(t *testing.T) {
	all := embeddedSet(t).All()
	if !slices.IsSortedFunc(all, func(a, b *Schema) int { return strings.Compare(a.Report, b.Report) }) {
		t.Error("All is not sorted by report")
	}
}

// TestLoadCompilesOnFirstUse: Load checks every schema but keeps none compiled; the
// first event of a report compiles its schema alone, and decoding it compiles nothing
// more (a worker streaming a few reports holds their codecs, not the catalog's).
func TestLoadCompilesOnFirstUse(t *testing.T) {
	set, err := Load(os.DirFS(Dir))
	if err != nil {
		t.Fatal(err)
	}
	built := func() []string {
		var out []string
		for _, sc := range set.All() {
			if sc.compiled.whole != nil {
				out = append(out, sc.Report)
			}
			for _, v := range sc.Versions {
				if v.compiled == sc.compiled {
					continue // the current version, kept once (checked below)
				}
				if v.compiled.whole != nil {
					out = append(out, fmt.Sprintf("%s.v%d", sc.Report, v.Number))
				}
			}
		}
		return out
	}
	if got := built(); len(got) != 0 {
		t.Fatalf("compiled at Load: %v", got)
	}
	if sc, _ := set.Lookup("diagram_13"); sc.Versions[len(sc.Versions)-1].compiled != sc.compiled {
		t.Error("diagram_13's last version, the current schema, is kept twice")
	}

	rep := lookup(t, "diagram_13")
	enc, err := NewEncoder(WithSchemas(set))
	if err != nil {
		t.Fatal(err)
	}
	// Connectors share a Set: the first events of a report, encoded at once, compile
	// its schema once, whichever comes first (-race checks the rest).
	encoded := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range encoded {
		wg.Go(func() {
			var (
				c Converter
				n Native
			)
			row, _, _, _ := testRow(rep, 0)
			if err := c.Fill(&n, rep, row, testMeta(rep, "row-1")); err != nil {
				t.Error(err)
				return
			}
			b, err := enc.EncodeNative(context.Background(), "any", rep, &n, nil)
			encoded[i] = b
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	b := encoded[0]
	if got := built(); !slices.Equal(got, []string{"diagram_13"}) {
		t.Errorf("compiled after one diagram_13 event: %v, want only diagram_13", got)
	}
	if sc, _ := set.Lookup("diagram_13"); sc.compiled.fields == nil {
		t.Error("diagram_13's fields were not compiled: EncodeNative fell back to the record codec")
	}
	dec, err := NewDecoder(WithSchemas(set))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := dec.Decode(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range encoded {
		// Compared decoded: goavro writes wv_extra's keys in map order.
		if other, err := dec.Decode(context.Background(), e); err != nil || !reflect.DeepEqual(other.Native, ev.Native) {
			t.Fatalf("event %d decodes apart from event 0: %v", i, err)
		}
	}
	if sc, _ := set.Lookup("diagram_13"); ev.Schema != sc.Text || ev.Report != "diagram_13" {
		t.Errorf("decoded %s with schema %.40q", ev.Report, ev.Schema)
	}
	if got := built(); !slices.Equal(got, []string{"diagram_13"}) {
		t.Errorf("compiled after decoding it: %v, want only diagram_13", got)
	}
}
