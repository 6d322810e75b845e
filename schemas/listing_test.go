package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSummaries(t *testing.T) {
	set, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	rows := set.Summaries()
	if len(rows) != set.Len() || len(rows) == 0 {
		t.Fatalf("%d summaries for %d schemas", len(rows), set.Len())
	}
	for i, r := range rows {
		sc, ok := set.Lookup(r.Report)
		if !ok || r.Record != sc.Name || r.Fingerprint != fmt.Sprintf("%016x", sc.Fingerprint) || len(r.Fingerprint) != 16 || r.Versions != len(sc.Versions) {
			t.Errorf("summary %+v does not describe the schema of %q", r, r.Report)
		}
		if i > 0 && rows[i-1].Report >= r.Report {
			t.Errorf("summaries not sorted by report: %s before %s", rows[i-1].Report, r.Report)
		}
	}

	var b bytes.Buffer
	if err := set.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 1+len(rows) || !strings.HasPrefix(lines[0], "REPORT ") {
		t.Fatalf("want a header and %d lines:\n%s", len(rows), b.String())
	}
	at := strings.Index(lines[0], "FINGERPRINT")
	for i, r := range rows {
		if got := strings.Fields(lines[i+1]); len(got) != 4 || got[0] != r.Report || got[1] != r.Record || lines[i+1][at:at+16] != r.Fingerprint {
			t.Errorf("line %q does not show %+v in the header's columns", lines[i+1], r)
		}
	}
}

func TestSchemaVersion(t *testing.T) {
	sc, ok := loadFixture(t, "evolved").Lookup("diagram_13")
	if !ok {
		t.Fatal("no diagram_13 in the fixture")
	}
	for _, n := range []int{1, 2} {
		if v, ok := sc.Version(n); !ok || v.Number != n || v.Text == "" {
			t.Errorf("Version(%d) = %d, %v", n, v.Number, ok)
		}
	}
	for _, n := range []int{0, 3, -1} {
		if _, ok := sc.Version(n); ok {
			t.Errorf("Version(%d) found a version the fixture does not keep", n)
		}
	}
}

func TestWriteCheck(t *testing.T) {
	tests := []struct {
		fixture string
		out     string // written when the check passes
		is      error  // in the error when it fails
		text    string // the error's start
	}{
		{fixture: "evolved", out: "ok: 1 schemas, 2 kept versions, every schema reads all its versions (BACKWARD)\n"},
		{fixture: "newfield", is: ErrIncompatible, text: "1 problem(s):\nschemas: report diagram_13 v1"},
		{fixture: "typechange", is: ErrIncompatible, text: "1 problem(s):\n"},
		{fixture: "stale", is: ErrStaleHistory, text: "1 problem(s):\nreport diagram_13"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			var b bytes.Buffer
			err := loadFixture(t, tt.fixture).WriteCheck(&b)
			if b.String() != tt.out {
				t.Errorf("wrote %q, want %q", b.String(), tt.out)
			}
			switch {
			case tt.is == nil && err != nil:
				t.Fatalf("WriteCheck() = %v, want nil", err)
			case tt.is != nil && (!errors.Is(err, tt.is) || !strings.HasPrefix(err.Error(), tt.text)):
				t.Fatalf("WriteCheck() = %v, want %v starting %q", err, tt.is, tt.text)
			}
		})
	}
}

// TestSchemaShow: the current text, a kept version, the canonical form, and a version
// the schema does not have.
func TestSchemaShow(t *testing.T) {
	set, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := set.Lookup("diagram_13")
	if !ok || len(sc.Versions) == 0 {
		t.Fatal("diagram_13 has no schema with versions")
	}
	cur, err := sc.Show(0, false)
	if err != nil || cur != sc.Text {
		t.Errorf("Show(0, false) = %q, %v; want the .avsc", cur, err)
	}
	first, err := sc.Show(1, true)
	if err != nil || first != sc.Versions[0].Canonical+"\n" {
		t.Errorf("Show(1, true) = %q, %v; want version 1's canonical form", first, err)
	}
	if _, err := sc.Show(len(sc.Versions)+1, false); !errors.Is(err, ErrNoVersion) {
		t.Errorf("a version it does not have: %v, want ErrNoVersion", err)
	}
}
