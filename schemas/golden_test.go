package schemas

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden/encode.txt (only when a schema change is meant to change the bytes)")

// goldenPath holds one line per case: its name, a tab, and either the SHA-256 of the
// single-object encoding, or "error: " and the ConversionError's text and cause, or for
// a report without a schema "native: " and the converted value.
var goldenPath = filepath.Join("testdata", "golden", "encode.txt")

// goldenCases are the rows TestEncodeGolden pins: four variants of a realistic row of
// every catalog report, with at most one unknown key (goavro writes a map's entries in
// Go's random map order, so two or more would not encode the same way twice), and bad
// and bad values for every field of two reports with one field of each type.
func goldenCases() []goldenCase {
	var cases []goldenCase
	reports := catalog.All()
	for i := range reports {
		rep := &reports[i]
		for variant := range 4 {
			row, _, _, _ := testRow(rep, variant)
			extra := "q01"
			if variant%2 == 1 {
				extra = "opt1"
			}
			row = deleteKey(deleteKey(deleteKey(row, "new column"), "service_level_45seg"), map[string]string{"q01": "opt1", "opt1": "q01"}[extra])
			cases = append(cases, goldenCase{fmt.Sprintf("%s/%d", rep.API, variant), rep, row})
		}
	}
	timed := allTypes()
	untimed := allTypes() // its timestamp and date fields have no layout of their own
	untimed.API, untimed.TimeField, untimed.TimeLayout = "test_untimed", "", ""
	for _, text := range []string{"12", "1,234", "-7", "+7", "007", "12.00", "12a", "1,2", "1,2345", "12.5", "1e3", "1e999", "+",
		"9223372036854775808", "34.64 %", "9,336.00 %", "0:00:07", "125:00:00", "1:60:00", "1:02", "-1:02:03",
		"2024-03-05 14:07:09", "2024-02-29 23:59:59", "2024-02-30 10:00:00", "2024-13-01", "2024-03-05 24:00:00",
		"2024-03-05T14:07:09", "2024-03-05 14:07:09.5", "2024-03-05 14:07", "2024-3-5 14:07:09", " 2024-03-05 14:07:09 ",
		"2024-03-05", "1969-12-31", "0000-01-01 00:00:00", "99999-01-01 00:00:00", "x %", "٣", "\xff"} {
		for _, rep := range []*catalog.Report{timed, untimed} {
			for _, f := range rep.Fields {
				cases = append(cases, goldenCase{fmt.Sprintf("%s/%s=%q", rep.API, f.Name, text), rep, Row{{Key: f.Name, Value: text}}})
			}
		}
	}
	return cases
}

type goldenCase struct {
	name string
	rep  *catalog.Report
	row  Row
}

// outcome is what a case's line holds after its name.
func (g goldenCase) outcome(t *testing.T, c *Converter, enc *Encoder) string {
	native, err := c.Convert(g.rep, g.row, testMeta(g.rep, g.name))
	if err != nil {
		return fmt.Sprintf("error: %v: %v", err, err.(*ConversionError).Err)
	}
	if _, ok := enc.cfg.set.Lookup(g.rep.API); !ok {
		return fmt.Sprintf("native: %#v", native) // fmt sorts map keys
	}
	b, err := enc.Encode(context.Background(), "", g.rep, native, nil)
	if err != nil {
		t.Fatalf("%s: Encode: %v", g.name, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestEncodeGolden pins the encoded bytes of many rows, and the errors of bad ones:
// making conversion or encoding faster must not change a single byte or dead letter.
func TestEncodeGolden(t *testing.T) {
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	var c Converter
	cases := goldenCases()
	if *updateGolden {
		var b strings.Builder
		for _, g := range cases {
			fmt.Fprintf(&b, "%s\t%s\n", g.name, g.outcome(t, &c, enc))
		}
		if err := os.WriteFile(goldenPath, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, outcome, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("%s: malformed line %q", goldenPath, sc.Text())
		}
		want[name] = outcome
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(cases) {
		t.Errorf("%s holds %d cases, the test makes %d", goldenPath, len(want), len(cases))
	}
	for _, g := range cases {
		if got := g.outcome(t, &c, enc); got != want[g.name] {
			t.Errorf("%s: got %s, want %s", g.name, got, want[g.name])
		}
	}
}
