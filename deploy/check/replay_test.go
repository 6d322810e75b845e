package check

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// TestReplayOCFJava holds the Avro object container files of `wolkvox-connect replay
// --format ocf` to Java Avro (testdata/replayocf): for reports that together have every
// field type and every kind, a topic on the real broker gets rows as the connector
// writes them (keyed by row, with its headers; an edited row, a row outside the range,
// JSON nulls, placeholders, a missing key, wv_extra); the built binary replays each
// report into a file; Java's DataFileReader, given no schema, reads each file with the
// schema it embeds, and
//
//   - that schema's parsingFingerprint64 is the report's current schema's;
//   - the file's wolkvox.* metadata names the topic, the report and the range;
//   - it holds exactly the latest version of each row in the range, and every field
//     Java reads equals, in type and value, the native event the Go side wrote
//     (timestamps as Java Instants, dates as LocalDates, doubles bit for bit).
func TestReplayOCFJava(t *testing.T) {
	requireTool(t, "java", "the Java check of replay's OCF files")
	requireTool(t, "mvn", "the Java check of replay's OCF files (its classpath comes from Maven Central)")
	seeds := []string{testKafka(t)}
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	set, err := schemas.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := schemas.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	from := time.Date(2024, 3, 1, 0, 0, 0, 0, loc)
	to := time.Date(2024, 4, 1, 0, 0, 0, 0, loc)
	inRange := time.Date(2024, 3, 5, 19, 0, 0, 0, time.UTC)
	outside := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	prefix := fmt.Sprintf("replayocf-%d", time.Now().UnixNano())
	dir := t.TempDir()
	var conv schemas.Converter
	reports := coveringReports()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "kafka: {brokers: [%q]}\ntopics: {template: \"%s.{report}\"}\nconnectors:\n  - {name: bogota, server: \"0040\", token: never-used, daily_quota: 100000, time_zone: America/Bogota, reports: [", seeds[0], prefix)
	for i, rep := range reports {
		if i > 0 {
			cfg.WriteString(", ")
		}
		fmt.Fprintf(&cfg, "{api: %s}", rep.API)
	}
	cfg.WriteString("]}\n")
	config := filepath.Join(dir, "worker.yaml")
	writeLines(t, config, []string{cfg.String()})
	connect, _ := builtBinaries(t)

	type file struct {
		report, topic, path string
		fingerprint         uint64
		want                map[string]map[string]any // by wv_row_id: the typed event
	}
	var files []file
	for _, rep := range reports {
		sc, _ := set.Lookup(rep.API)
		var schema any
		if err := json.Unmarshal([]byte(sc.Text), &schema); err != nil {
			t.Fatal(err)
		}
		topic := prefix + "." + rep.API
		if _, err := adm.CreateTopic(ctx, 3, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
		f := file{report: rep.API, topic: topic, path: filepath.Join(dir, rep.API+".avro"), fingerprint: sc.Fingerprint, want: map[string]map[string]any{}}
		// Key a is edited (variant 0, then 1), b written once, c lies outside the range.
		for _, w := range []struct {
			key     string
			variant int
			at      time.Time
		}{{"a", 0, inRange}, {"b", 1, inRange}, {"c", 0, outside}, {"a", 1, inRange}} {
			row := sampleRow(&rep, w.variant, loc)
			if w.at.Equal(outside) {
				row = moveRow(&rep, row, outside.In(loc))
			}
			rowID := rep.API + "-" + w.key
			meta := schemas.Meta{Server: "0040", Report: rep.API, RowID: rowID, Location: loc,
				WindowStart: w.at, WindowEnd: w.at.Add(5 * time.Minute), ReadAt: w.at.Add(5*time.Minute + 2345*time.Millisecond)}
			native, err := conv.Convert(&rep, row, meta)
			if err != nil {
				t.Fatalf("%s %s: %v", rep.API, w.key, err)
			}
			value, err := enc.Encode(ctx, topic, &rep, native, nil)
			if err != nil {
				t.Fatal(err)
			}
			// The record as the connector's sink makes it (sink.EventRecord).
			r := &kgo.Record{Topic: topic, Key: []byte(rowID), Value: value, Headers: []kgo.RecordHeader{
				{Key: "wolkvox.report", Value: []byte(rep.API)},
				{Key: "wolkvox.window.start", Value: []byte(meta.WindowStart.Format(time.RFC3339))},
				{Key: "wolkvox.window.end", Value: []byte(meta.WindowEnd.Format(time.RFC3339))},
			}}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
			typed, err := typedNative(schema, native)
			if err != nil {
				t.Fatal(err)
			}
			if w.at.Equal(inRange) {
				f.want[rowID] = typed.(map[string]any) // a later version replaces an earlier
			}
		}
		cmd := exec.CommandContext(ctx, connect, "replay", "--config", config, "--report", rep.API,
			"--from", "2024-03-01", "--to", "2024-04-01", "--format", "ocf", "--output", f.path)
		cmd.Env = append(os.Environ(), "WOLKVOX_CONNECT_CONFIG=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil {
			t.Fatalf("replay %s: %v\n%s", rep.API, err, stderr.String())
		}
		// Two rows in the range (a's latest, b), c outside it.
		if !strings.Contains(string(stdout), ": 2 rows (") || !strings.Contains(string(stdout), "left out: 1 row outside the range") {
			t.Errorf("replay %s does not count 2 rows written and 1 left out: %s", rep.API, stdout)
		}
		files = append(files, f)
	}

	var rows []string
	for i, f := range files {
		rows = append(rows, fmt.Sprintf("f%d\t%s", i, f.path))
	}
	list := filepath.Join(dir, "files.tsv")
	writeLines(t, list, rows)
	out := replayOCFJava(t, list)
	for i, f := range files {
		id := fmt.Sprintf("f%d", i)
		if msg, ok := out.errors[id]; ok {
			t.Errorf("Java: %s: %s", f.report, msg)
			continue
		}
		if want := fmt.Sprintf("%016x", f.fingerprint); out.fp[id] != want {
			t.Errorf("%s: the file's schema has Java fingerprint %s, the report's current schema %s", f.report, out.fp[id], want)
		}
		wantMeta := map[string]string{
			"wolkvox.topic": f.topic, "wolkvox.report": f.report,
			"wolkvox.replay.from": from.UTC().Format(time.RFC3339), "wolkvox.replay.to": to.UTC().Format(time.RFC3339),
		}
		if !reflect.DeepEqual(out.meta[id], wantMeta) {
			t.Errorf("%s: metadata %v, want %v", f.report, out.meta[id], wantMeta)
		}
		got := map[string]map[string]any{}
		for _, rec := range out.records[id] {
			idv, _ := rec[schemas.FieldRowID].(map[string]any)
			rowID, _ := idv["string"].(string)
			if _, dup := got[rowID]; dup {
				t.Errorf("%s: row %s is in the file twice", f.report, rowID)
			}
			got[rowID] = rec
		}
		if !slices.Equal(sortedKeys(got), sortedKeys(f.want)) {
			t.Errorf("%s: Java read rows %v, want %v", f.report, sortedKeys(got), sortedKeys(f.want))
		}
		fields := 0
		for rowID, want := range f.want {
			g := got[rowID]
			if len(g) != len(want) {
				t.Errorf("%s %s: Java read %d fields, the Go side wrote %d", f.report, rowID, len(g), len(want))
			}
			for name, w := range want {
				fields++
				if !reflect.DeepEqual(g[name], w) {
					t.Errorf("%s %s: field %s: Java read %s, the Go side wrote %s", f.report, rowID, name, mustJSON(t, g[name]), mustJSON(t, w))
				}
			}
		}
		t.Logf("%s: %d rows, %d fields compared", f.report, len(got), fields)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// coveringReports picks, in catalog order, the reports that add a field type or a kind
// not yet covered: together they have every field type and kind of the catalog. Reports
// with a required parameter are passed over (their configuration needs a value).
func coveringReports() []catalog.Report {
	types := map[catalog.FieldType]bool{}
	kinds := map[catalog.Kind]bool{}
	var out []catalog.Report
	for _, rep := range catalog.All() {
		if slices.ContainsFunc(rep.Params, func(p catalog.Param) bool { return p.Required }) {
			continue
		}
		adds := !kinds[rep.Kind]
		for _, f := range rep.Fields {
			adds = adds || !types[f.Type]
		}
		if !adds {
			continue
		}
		kinds[rep.Kind] = true
		for _, f := range rep.Fields {
			types[f.Type] = true
		}
		out = append(out, rep)
	}
	return out
}

// moveRow gives row rep's time field at t (detail reports; the others are placed by
// their window).
func moveRow(rep *catalog.Report, row schemas.Row, t time.Time) schemas.Row {
	row = slices.Clone(row)
	for i, c := range row {
		if c.Key == rep.TimeField {
			layout := rep.TimeLayout
			if layout == "" {
				layout = time.DateTime
			}
			row[i] = schemas.Cell{Key: c.Key, Value: t.Format(layout)}
		}
	}
	return row
}

// javaOCF is what ReplayOcfCheck.java printed, by file id.
type javaOCF struct {
	fp, errors map[string]string
	meta       map[string]map[string]string
	records    map[string][]map[string]any
	count      map[string]string
}

// replayOCFJava runs ReplayOcfCheck.java on the files list.
func replayOCFJava(t *testing.T, list string) javaOCF {
	t.Helper()
	pom := "deploy/check/testdata/replayocf/pom.xml"
	libs, fresh := cacheDir(t, "java-avro-replayocf", pom)
	if fresh {
		run(t, 5*time.Minute, nil, "mvn", "-B", "-q", "-f", pom,
			"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+libs)
		markComplete(t, libs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", "-cp", filepath.Join(libs, "*"), filepath.Join(repoRoot, "deploy/check/testdata/replayocf/ReplayOcfCheck.java"), list)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("java ReplayOcfCheck.java: %v\n%s", err, tail(stderr.String(), 40))
	}
	out := javaOCF{fp: map[string]string{}, errors: map[string]string{}, meta: map[string]map[string]string{}, records: map[string][]map[string]any{}, count: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		kind, id, value, ok := cut3(sc.Text())
		switch {
		case !ok:
			t.Fatalf("ReplayOcfCheck printed %q", sc.Text())
		case kind == "fp":
			out.fp[id] = value
		case kind == "error":
			out.errors[id] = value
		case kind == "count":
			out.count[id] = value
		case kind == "meta":
			m := map[string]string{}
			if err := json.Unmarshal([]byte(value), &m); err != nil {
				t.Fatalf("meta %q: %v", value, err)
			}
			out.meta[id] = m
		case kind == "record":
			var rec map[string]any
			if err := json.Unmarshal([]byte(value), &rec); err != nil {
				t.Fatalf("record %q: %v", value, err)
			}
			out.records[id] = append(out.records[id], rec)
		default:
			t.Fatalf("ReplayOcfCheck printed %q", sc.Text())
		}
	}
	for id, n := range out.count {
		if n != fmt.Sprint(len(out.records[id])) {
			t.Errorf("%s: Java counted %s records and printed %d", id, n, len(out.records[id]))
		}
	}
	return out
}
