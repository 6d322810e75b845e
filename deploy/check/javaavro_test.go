package check

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// TestJavaAvro holds what the Go side writes to the reference implementation, Java Avro
// (testdata/javaavro: the same org.apache.avro:avro as the README's Java consumer), in
// one JVM run:
//
//   - fingerprints: every .avsc in the repository (current, history, test data) parses
//     with Java, and SchemaNormalization.parsingFingerprint64 equals the fingerprint the Go
//     side computes for it; for each of the catalog's reports it also equals the
//     fingerprint in the header of a single-object event schemas.Encoder wrote;
//   - events: single-object events the Encoder wrote for two rows of every report (one
//     full, one with JSON nulls, placeholders and a missing key; both with wv_extra
//     members) decode with Java's BinaryMessageDecoder, knowing only the report's current
//     schema, and every field equals, in type and value, the native event the Encoder was
//     given (timestamps as Java Instants, dates as LocalDates, doubles bit for bit);
//   - compat: Java's SchemaCompatibility gives schemas.Compatible's verdict on every
//     ordered pair of a report's versions (history and current), in schemas/avro and in
//     the compatibility test data.
func TestJavaAvro(t *testing.T) {
	requireTool(t, "java", "the Java Avro check")
	requireTool(t, "mvn", "the Java Avro check (its classpath comes from Maven Central)")
	dir := t.TempDir()

	files := avscFiles(t)
	fps := goFingerprints(t, files)
	var schemaRows []string
	for i, f := range files {
		schemaRows = append(schemaRows, fmt.Sprintf("s%d\t%s", i, f))
	}
	events := encodeEvents(t, filepath.Join(dir, "events"))
	var eventRows []string
	for i, e := range events {
		eventRows = append(eventRows, fmt.Sprintf("e%d\t%s\t%s", i, e.avsc, e.path))
	}
	pairs := versionPairs(t, files)
	var pairRows []string
	for i, p := range pairs {
		pairRows = append(pairRows, fmt.Sprintf("p%d\t%s\t%s", i, p.reader, p.writer))
	}
	writeLines(t, filepath.Join(dir, "schemas.tsv"), schemaRows)
	writeLines(t, filepath.Join(dir, "events.tsv"), eventRows)
	writeLines(t, filepath.Join(dir, "pairs.tsv"), pairRows)

	out := javaAvro(t, dir)
	for id, msg := range out["error"] {
		t.Errorf("Java: %s: %s", describeID(id, files, events, pairs), msg)
	}

	t.Run("fingerprints", func(t *testing.T) {
		fpOf := map[string]string{} // .avsc path → Java's fingerprint
		for i, f := range files {
			java, ok := out["fp"][fmt.Sprintf("s%d", i)]
			if !ok {
				t.Errorf("%s: Java printed no fingerprint", rel(f))
				continue
			}
			fpOf[f] = java
			if want := fmt.Sprintf("%016x", fps[f]); java != want {
				t.Errorf("%s: Java's parsingFingerprint64 is %s, the Go side's %s", rel(f), java, want)
			}
		}
		// The fingerprint each report's events carry on the wire, read from an event.
		carried := map[string]bool{}
		for _, e := range events {
			if carried[e.report] {
				continue
			}
			carried[e.report] = true
			wire := fmt.Sprintf("%016x", e.fingerprint)
			if java := fpOf[e.avsc]; java != wire {
				t.Errorf("%s: events carry fingerprint %s, Java's parsingFingerprint64 of %s is %s", e.report, wire, rel(e.avsc), java)
			}
		}
		if n := len(catalog.All()); len(carried) != n {
			t.Errorf("events of %d reports checked, the catalog has %d", len(carried), n)
		}
		t.Logf("%d schema files, the events of %d reports", len(files), len(carried))
	})

	t.Run("events", func(t *testing.T) {
		for i, e := range events {
			java, ok := out["event"][fmt.Sprintf("e%d", i)]
			if !ok {
				t.Errorf("%s: Java decoded nothing", e.label)
				continue
			}
			var decoded map[string]any
			if err := json.Unmarshal([]byte(java), &decoded); err != nil {
				t.Fatalf("%s: Java's answer %q: %v", e.label, java, err)
			}
			if len(decoded) != len(e.want) {
				t.Errorf("%s: Java decoded %d fields, the Go side wrote %d", e.label, len(decoded), len(e.want))
			}
			for name, want := range e.want {
				if got := decoded[name]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s: field %s: Java read %s, the Go side wrote %s", e.label, name, mustJSON(t, got), mustJSON(t, want))
				}
			}
		}
		t.Logf("%d events", len(events))
	})

	t.Run("compat", func(t *testing.T) {
		verdicts := map[string]int{}
		for i, p := range pairs {
			java, ok := out["compat"][fmt.Sprintf("p%d", i)]
			if !ok {
				t.Errorf("reader %s, writer %s: Java gave no verdict", rel(p.reader), rel(p.writer))
				continue
			}
			ours := "COMPATIBLE"
			if err := schemas.Compatible(p.readerText, p.writerText); err != nil {
				var inc *schemas.IncompatibleError
				if !errors.As(err, &inc) {
					t.Fatalf("reader %s, writer %s: %v", rel(p.reader), rel(p.writer), err)
				}
				ours = "INCOMPATIBLE"
			}
			verdicts[ours]++
			if java != ours {
				t.Errorf("reader %s, writer %s: Java says %s, schemas.Compatible %s", rel(p.reader), rel(p.writer), java, ours)
			}
		}
		// Both verdicts must occur, or the agreement proves little.
		if verdicts["COMPATIBLE"] == 0 || verdicts["INCOMPATIBLE"] == 0 {
			t.Errorf("verdicts %v: want both kinds among the pairs", verdicts)
		}
		t.Logf("%d pairs: %v", len(pairs), verdicts)
	})
}

// javaAvro runs AvroCheck.java on dir once and returns its lines by kind and id.
func javaAvro(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	pom := "deploy/check/testdata/javaavro/pom.xml"
	libs, fresh := cacheDir(t, "java-avro", pom)
	if fresh {
		run(t, 5*time.Minute, nil, "mvn", "-B", "-q", "-f", pom,
			"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+libs)
		markComplete(t, libs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", "-cp", filepath.Join(libs, "*"), filepath.Join(repoRoot, "deploy/check/testdata/javaavro/AvroCheck.java"), dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("java AvroCheck.java: %v\n%s", err, tail(stderr.String(), 40))
	}
	out := map[string]map[string]string{"fp": {}, "event": {}, "compat": {}, "error": {}}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		kind, id, value, ok := cut3(sc.Text())
		if !ok || out[kind] == nil {
			t.Fatalf("AvroCheck printed %q", sc.Text())
		}
		if _, dup := out[kind][id]; dup {
			t.Fatalf("AvroCheck printed %s %s twice", kind, id)
		}
		out[kind][id] = value
	}
	return out
}

func cut3(line string) (a, b, c string, ok bool) {
	a, rest, ok1 := strings.Cut(line, "\t")
	b, c, ok2 := strings.Cut(rest, "\t")
	return a, b, c, ok1 && ok2
}

// avscFiles lists every .avsc file of the repository, sorted.
func avscFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".avsc") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no .avsc file in the repository")
	}
	return files
}

// treeOf is the schema tree (laid out as schemas.Load reads it) a .avsc belongs to.
func treeOf(file string) string {
	dir := filepath.Dir(file)
	if filepath.Base(dir) == "history" {
		return filepath.Dir(dir)
	}
	return dir
}

// loadTrees loads each tree the files belong to with schemas.Load.
func loadTrees(t *testing.T, files []string) map[string]*schemas.Set {
	t.Helper()
	sets := map[string]*schemas.Set{}
	for _, f := range files {
		tree := treeOf(f)
		if sets[tree] != nil {
			continue
		}
		set, err := schemas.Load(os.DirFS(tree))
		if err != nil {
			t.Fatalf("%s: %v", rel(tree), err)
		}
		sets[tree] = set
	}
	return sets
}

// schemaOf finds the Go side's schema of a file: the report's current schema for
// <api>.avsc, the version for history/<api>.v<N>.avsc.
func schemaOf(sets map[string]*schemas.Set, file string) (api string, version int, sc *schemas.Schema, err error) {
	base := strings.TrimSuffix(filepath.Base(file), ".avsc")
	if filepath.Base(filepath.Dir(file)) == "history" {
		i := strings.LastIndex(base, ".v")
		if i < 0 {
			return "", 0, nil, fmt.Errorf("history file not named <api>.v<N>.avsc")
		}
		if version, err = strconv.Atoi(base[i+2:]); err != nil {
			return "", 0, nil, err
		}
		base = base[:i]
	}
	sc, ok := sets[treeOf(file)].Lookup(base)
	if !ok {
		return "", 0, nil, fmt.Errorf("schemas.Load has no current schema %s", base)
	}
	return base, version, sc, nil
}

// goFingerprints is the Go side's fingerprint of every file, as schemas.Load computes it
// (the one the Encoder writes and the Decoder looks events up by).
func goFingerprints(t *testing.T, files []string) map[string]uint64 {
	t.Helper()
	sets := loadTrees(t, files)
	fps := map[string]uint64{}
	for _, f := range files {
		_, n, sc, err := schemaOf(sets, f)
		if err != nil {
			t.Fatalf("%s: %v", rel(f), err)
		}
		if n == 0 {
			fps[f] = sc.Fingerprint
			continue
		}
		v, ok := sc.Version(n)
		if !ok {
			t.Fatalf("%s: schemas.Load has no version %d", rel(f), n)
		}
		fps[f] = v.Fingerprint
	}
	return fps
}

type versionPair struct {
	reader, writer         string
	readerText, writerText string
}

// versionPairs is every ordered pair of two files of one report in one tree.
func versionPairs(t *testing.T, files []string) []versionPair {
	t.Helper()
	sets := loadTrees(t, files)
	lineage := map[string][]string{} // tree + report → its files
	var keys []string
	for _, f := range files {
		api, _, _, err := schemaOf(sets, f)
		if err != nil {
			t.Fatalf("%s: %v", rel(f), err)
		}
		k := treeOf(f) + "\x00" + api
		if lineage[k] == nil {
			keys = append(keys, k)
		}
		lineage[k] = append(lineage[k], f)
	}
	var pairs []versionPair
	for _, k := range keys {
		fs := lineage[k]
		for _, r := range fs {
			for _, w := range fs {
				if r != w {
					pairs = append(pairs, versionPair{reader: r, writer: w, readerText: string(mustRead(t, r)), writerText: string(mustRead(t, w))})
				}
			}
		}
	}
	return pairs
}

type encodedEvent struct {
	label, report string
	avsc, path    string
	fingerprint   uint64         // from the event's single-object header
	want          map[string]any // the native event, in AvroCheck's typed JSON
}

// encodeEvents converts two rows of every report and encodes them with schemas.Encoder
// (single-object encoding), each into a file of dir.
func encodeEvents(t *testing.T, dir string) []encodedEvent {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := schemas.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	set, err := schemas.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var conv schemas.Converter
	var events []encodedEvent
	for _, rep := range catalog.All() {
		sc, ok := set.Lookup(rep.API)
		if !ok {
			t.Fatalf("%s: no schema", rep.API)
		}
		var schema any
		if err := json.Unmarshal([]byte(sc.Text), &schema); err != nil {
			t.Fatal(err)
		}
		for variant := range 2 {
			label := fmt.Sprintf("%s row %d", rep.API, variant)
			meta := schemas.Meta{
				Server: "0040", Report: rep.API, RowID: fmt.Sprintf("%s-%d", rep.API, variant), Location: loc,
				WindowStart: time.Date(2024, 3, 5, 19, 0, 0, 0, time.UTC), WindowEnd: time.Date(2024, 3, 5, 19, 5, 0, 0, time.UTC),
				ReadAt: time.Date(2024, 3, 5, 19, 5, 2, 345e6, time.UTC),
			}
			native, err := conv.Convert(&rep, sampleRow(&rep, variant, loc), meta)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			want, err := typedNative(schema, native)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			b, err := enc.Encode(context.Background(), "", &rep, native, nil)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			if len(b) < 10 || b[0] != 0xC3 || b[1] != 0x01 {
				t.Fatalf("%s: not a single-object event: % x", label, b[:min(len(b), 10)])
			}
			path := filepath.Join(dir, fmt.Sprintf("%s.%d.bin", rep.API, variant))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			events = append(events, encodedEvent{
				label: label, report: rep.API, path: path,
				avsc:        filepath.Join(repoRoot, "schemas", schemas.Dir, rep.API+".avsc"),
				fingerprint: binary.LittleEndian.Uint64(b[2:10]),
				want:        want.(map[string]any),
			})
		}
	}
	return events
}

// sampleRow is a row of rep as the API sends it: every known field with a realistic
// text of its type (longs beyond a double's precision, negative and fractional
// numbers, non-ASCII text), the time field in the report's layout, and unknown keys for
// wv_extra. Variant 1 also has JSON nulls, placeholders in typed fields, and lacks a
// known key.
func sampleRow(rep *catalog.Report, variant int, loc *time.Location) schemas.Row {
	texts := map[catalog.FieldType][]string{
		catalog.String:    {"Andrés Pérez <ap@x.co>", "-", "línea\tcon\ttabs \"y\" comillas", ""},
		catalog.Count:     {"9007199254740993", "1,234", "0", "-7"},
		catalog.Duration:  {"1:02:03", "125:00:00", "00:00:07"},
		catalog.Seconds:   {"45", "3,600"},
		catalog.Millis:    {"1500", "0"},
		catalog.Percent:   {"34.64 %", "9,336.00 %", "0.10 %"},
		catalog.Number:    {"3.50", "1,234.5", "-0.1"},
		catalog.Timestamp: {"2024-03-05 14:07:09", "1969-12-31 23:59:59"},
		catalog.Date:      {"2024-03-05", "1969-12-31"},
	}
	var row schemas.Row
	for i, f := range rep.Fields {
		ss := texts[f.Type]
		text := ss[(variant+i)%len(ss)]
		if f.Name == rep.TimeField {
			layout := rep.TimeLayout
			if layout == "" {
				layout = time.DateTime
				if f.Type == catalog.Date {
					layout = time.DateOnly
				}
			}
			text = time.Date(2024, 3, 5, 14, 7, 9, 0, loc).Format(layout)
		}
		switch {
		case variant == 1 && i%3 == 0:
			row = append(row, schemas.Cell{Key: f.Name, Null: true})
		case variant == 1 && i%3 == 1 && f.Type != catalog.String && f.Name != rep.TimeField:
			row = append(row, schemas.Cell{Key: f.Name, Value: "-"})
		case variant == 1 && i == len(rep.Fields)-1 && i > 2:
			// a known key the row lacks
		default:
			row = append(row, schemas.Cell{Key: f.Name, Value: text})
		}
	}
	row = append(row,
		schemas.Cell{Key: "q01", Value: "5"},
		schemas.Cell{Key: "new column", Value: "x\ny ñ"},
		schemas.Cell{Key: fmt.Sprintf("opt%d", variant+1), Null: true},
	)
	return row
}

// typedNative is a goavro native value of schema (an .avsc as decoded JSON) in
// AvroCheck's typed JSON; see typed in AvroCheck.java.
func typedNative(schema, v any) (any, error) {
	switch s := schema.(type) {
	case string:
		return typedPrimitive(s, "", v)
	case []any:
		if v == nil {
			if slices.Contains(s, any("null")) {
				return nil, nil
			}
			return nil, fmt.Errorf("null for the union %v", s)
		}
		w, ok := v.(map[string]any)
		if !ok || len(w) != 1 {
			return nil, fmt.Errorf("union %v holds %#v, not a one-branch wrapper", s, v)
		}
		for name, val := range w {
			for _, b := range s {
				if branchName(b) == name {
					return typedNative(b, val)
				}
			}
			return nil, fmt.Errorf("union %v has no branch %q", s, name)
		}
	case map[string]any:
		switch s["type"] {
		case "record":
			rec, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("record %v holds %T", s["name"], v)
			}
			fields, _ := s["fields"].([]any)
			if len(rec) != len(fields) {
				return nil, fmt.Errorf("record %v: %d native members, %d fields", s["name"], len(rec), len(fields))
			}
			out := map[string]any{}
			for _, f := range fields {
				fm := f.(map[string]any)
				name := fm["name"].(string)
				fv, ok := rec[name]
				if !ok {
					return nil, fmt.Errorf("field %s is not in the native event", name)
				}
				tv, err := typedNative(fm["type"], fv)
				if err != nil {
					return nil, fmt.Errorf("field %s: %w", name, err)
				}
				out[name] = tv
			}
			return out, nil
		case "map":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("map holds %T", v)
			}
			out := map[string]any{}
			for k, mv := range m {
				tv, err := typedNative(s["values"], mv)
				if err != nil {
					return nil, fmt.Errorf("map member %q: %w", k, err)
				}
				out[k] = tv
			}
			return out, nil
		}
		t, _ := s["type"].(string)
		lt, _ := s["logicalType"].(string)
		return typedPrimitive(t, lt, v)
	}
	return nil, fmt.Errorf("unexpected schema %v", schema)
}

func typedPrimitive(t, logical string, v any) (any, error) {
	leaf := func(k, s string) any { return map[string]any{k: s} }
	bad := func() (any, error) { return nil, fmt.Errorf("%s %s holds %T %v", t, logical, v, v) }
	switch {
	case t == "null" && v == nil:
		return nil, nil
	case t == "string":
		if s, ok := v.(string); ok {
			return leaf("string", s), nil
		}
	case t == "boolean":
		if b, ok := v.(bool); ok {
			return map[string]any{"boolean": b}, nil
		}
	case t == "double":
		if f, ok := v.(float64); ok {
			return leaf("double", fmt.Sprintf("%016x", math.Float64bits(f))), nil
		}
	case t == "long" && logical == "timestamp-millis":
		switch x := v.(type) {
		case int64:
			return leaf("timestamp-millis", strconv.FormatInt(x, 10)), nil
		case time.Time:
			return leaf("timestamp-millis", strconv.FormatInt(x.UnixMilli(), 10)), nil
		}
	case t == "long" && logical == "":
		if x, ok := v.(int64); ok {
			return leaf("long", strconv.FormatInt(x, 10)), nil
		}
	case t == "int" && logical == "date":
		switch x := v.(type) {
		case int32:
			return leaf("date", strconv.FormatInt(int64(x), 10)), nil
		case time.Time:
			return leaf("date", strconv.FormatInt(x.Unix()/86400, 10)), nil
		}
	case t == "int" && logical == "":
		if x, ok := v.(int32); ok {
			return leaf("int", strconv.FormatInt(int64(x), 10)), nil
		}
	}
	return bad()
}

// branchName is goavro's name of a union branch: the type, "long.timestamp-millis" for
// a logical type.
func branchName(b any) string {
	switch s := b.(type) {
	case string:
		return s
	case map[string]any:
		t, _ := s["type"].(string)
		if lt, ok := s["logicalType"].(string); ok {
			return t + "." + lt
		}
		if n, ok := s["name"].(string); ok {
			return n
		}
		return t
	}
	return ""
}

func describeID(id string, files []string, events []encodedEvent, pairs []versionPair) string {
	n, err := strconv.Atoi(id[1:])
	if err != nil {
		return id
	}
	switch {
	case id[0] == 's' && n < len(files):
		return rel(files[n])
	case id[0] == 'e' && n < len(events):
		return events[n].label
	case id[0] == 'p' && n < len(pairs):
		return "reader " + rel(pairs[n].reader) + ", writer " + rel(pairs[n].writer)
	}
	return id
}

func rel(path string) string {
	if r, err := filepath.Rel(repoRoot, path); err == nil {
		return r
	}
	return path
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
