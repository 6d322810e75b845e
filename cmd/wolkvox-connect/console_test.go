package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// TestConsole checks what reaches the terminal: on a terminal a log line lifts the
// status line off and puts it back; elsewhere the status is a line of its own.
func TestConsole(t *testing.T) {
	tests := []struct {
		name string
		tty  bool
		do   func(c *console)
		want string
	}{
		{"tty: log above the bar", true, func(c *console) {
			c.Status("[##..] 50%")
			fmt.Fprint(c, "level=INFO msg=window\n")
			c.Status("[####] 100%")
			c.EndStatus()
		}, "\r\x1b[K[##..] 50%" + "\r\x1b[K" + "level=INFO msg=window\n" + "[##..] 50%" + "\r\x1b[K[####] 100%" + "\n"},
		{"tty: no bar yet", true, func(c *console) { fmt.Fprint(c, "a\n") }, "a\n"},
		{"tty: after the end, logs are plain", true, func(c *console) {
			c.Status("bar")
			c.EndStatus()
			fmt.Fprint(c, "b\n")
		}, "\r\x1b[Kbar\nb\n"},
		{"not a tty: lines", false, func(c *console) {
			c.Status("bar 1")
			fmt.Fprint(c, "log\n")
			c.Status("bar 2")
			c.EndStatus()
		}, "bar 1\nlog\nbar 2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			c := newConsole(&b, tt.tty)
			tt.do(c)
			if b.String() != tt.want {
				t.Errorf("wrote %q, want %q", b.String(), tt.want)
			}
		})
	}
}

// TestConsoleConcurrent: a drawing loop and loggers on other goroutines share one
// plain buffer (as in TestBackfill); under -race nothing races, and every line comes
// out whole.
func TestConsoleConcurrent(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(fmt.Sprint("tty=", tty), func(t *testing.T) {
			var b bytes.Buffer
			c := newConsole(&b, tty)
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 200 {
						fmt.Fprintf(c, "log g%d i%03d end\n", g, i)
					}
				})
			}
			wg.Go(func() {
				for i := range 200 {
					c.Status(fmt.Sprintf("bar %03d end", i))
				}
			})
			wg.Wait()
			c.EndStatus()
			logs := 0
			for _, line := range strings.Split(strings.ReplaceAll(b.String(), clearLine, "\n"), "\n") {
				if line == "" {
					continue
				}
				if !strings.HasSuffix(line, " end") || strings.Count(line, "end") != 1 {
					t.Fatalf("garbled line %q", line)
				}
				if strings.HasPrefix(line, "log ") {
					logs++
				}
			}
			if logs != 800 {
				t.Errorf("%d log lines, want 800", logs)
			}
		})
	}
}

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
			var b bytes.Buffer
			p := progress{term: newConsole(&b, false), from: from, to: to, loc: loc}
			p.draw(source.Status{Reports: []source.ReportStatus{tt.r}}, tt.bp, true)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("bar %q lacks %q", b.String(), w)
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
