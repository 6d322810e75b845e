package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// TestProgressLine checks the bar: the seeding phase shows its count, the cursor is in
// the operation's zone with its offset, and counts have their plural.
func TestProgressLine(t *testing.T) {
	loc := bogotaLoc()
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	to := from.Add(10 * time.Hour)
	tests := []struct {
		name string
		r    source.ReportStatus
		bp   source.BackfillProgress
		want []string
	}{
		{"seeding", source.ReportStatus{Key: "diagram_13", Topic: "t.diagram_13"}, source.BackfillProgress{Seeding: true, Seeded: 1},
			[]string{"reading what t.diagram_13 holds first: 1 event so far"}},
		{"seeding many", source.ReportStatus{Key: "diagram_13", Topic: "t.diagram_13"}, source.BackfillProgress{Seeding: true, Seeded: 12000},
			[]string{"12000 events so far"}},
		{"half way, one call", source.ReportStatus{Key: "diagram_13", Cursor: from.Add(5 * time.Hour).UTC(), Rows: 1, Calls: 1, State: source.StateRunning},
			source.BackfillProgress{}, []string{" 50% diagram_13 up to 2026-11-01 05:00 -05:00, 1 row, 1 call, RUNNING"}},
		{"done", source.ReportStatus{Key: "diagram_13", Cursor: to, Rows: 7, Calls: 3, State: source.StateStopped},
			source.BackfillProgress{Seeded: 4}, []string{"100%", "7 rows, 3 calls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := progress{from: from, to: to, loc: loc}
			line := p.line(source.Status{Reports: []source.ReportStatus{tt.r}}, tt.bp)
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("bar %q lacks %q", line, w)
				}
			}
		})
	}
}

// TestBackfillFlags: backfill serves no REST API, so it takes no --rest-address, and
// its range is bounded like a start in the file.
func TestBackfillFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no --rest-address", []string{"--rest-address", "127.0.0.1:1"}, "unknown flag: --rest-address"},
		{"from 1900", []string{"--from", "1900-01-01", "--to", "2026-01-01"}, "--from: 1900-01-01 is before 2000-01-01"},
		{"to 9999", []string{"--from", "2026-01-01", "--to", "9999-01-01"}, "--to: 9999-01-01 is more than a year after now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"backfill", "--config", configdata + "minimal.good.yaml", "--report", "diagram_13"}, tt.args...)
			code, out, errOut := runCLI(t, testEnv, args...)
			checkCLI(t, code, out, errOut, 2, nil, []string{tt.want})
		})
	}
}
