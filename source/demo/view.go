package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/console"
)

// How often the demo's progress shows: the table is refreshed every refresh on a
// terminal; elsewhere (CI, pipes, tests) the console prints a block every few seconds.
const (
	refresh = time.Second
	// lineWidth bounds error lines in the table: a wrapped line would make the
	// in-place redraw miscount the lines it has to move up.
	lineWidth = 110
)

// frame is one snapshot of the demo: the virtual now, the clock's speed, the real time
// since the worker started, and the connector's status.
type frame struct {
	Now     time.Time
	Speed   float64
	Elapsed time.Duration
	Status  source.Status
}

// view draws the demo's progress on a console: on a terminal the table is redrawn in
// place below the log lines, which scroll above it; elsewhere it prints plain blocks.
type view struct{ c *console.Console }

func newView(out io.Writer, tty bool) *view { return &view{c: console.New(out, tty)} }

// watch runs work, drawing snapshots as it goes, and stops it as soon as the connector
// has failed: running on would only show the same error.
func (v *view) watch(ctx context.Context, work func(context.Context) error, snapshot func() frame) error {
	return v.c.Watch(ctx, refresh, work, func() (string, bool) {
		fr := snapshot()
		table := render(fr)
		if !v.c.Terminal() {
			table += "\n" // blocks that stay on screen, one after the other
		}
		return table, fr.Status.State == source.StateFailed
	})
}

// final replaces the live table by the final one, which stays on screen.
func (v *view) final(fr frame) {
	v.c.Clear()
	fmt.Fprintf(v.c, "Final status:\n%s", render(fr))
}

// logWriter returns the writer logs go through to w, above the table.
func (v *view) logWriter(w io.Writer) io.Writer { return v.c.Above(w) }

// render is the status table: a header line, one line per report, and the last error
// of any report that is not running.
//
//	virtual 2026-05-04 10:42:13 -05 · 60× · 42s · quota 37/3000 calls today · RUNNING
//	REPORT                  STATE        ROWS  WINDOWS  CALLS  ERRORS  DEAD  LAG
//	diagram_13              RUNNING       812        9     10       1     0  3m12s
//
// ERRORS counts failed calls (each retried), DEAD the rows sent to the dead-letter
// topic, LAG the virtual time since the newest row delivered (see lag).
func render(fr frame) string {
	st := fr.Status
	var b strings.Builder
	fmt.Fprintf(&b, "virtual %s · %g× · %s · quota %d/%d calls today · %s\n",
		fr.Now.In(zone).Format("2006-01-02 15:04:05 MST"), fr.Speed, fr.Elapsed.Round(time.Second),
		st.QuotaUsed, st.QuotaLimit, st.State)
	width := len("REPORT")
	for _, r := range st.Reports {
		width = max(width, len(r.Key))
	}
	fmt.Fprintf(&b, "%-*s  %-15s %8s %8s %6s %7s %5s  %s\n", width, "REPORT", "STATE", "ROWS", "WINDOWS", "CALLS", "ERRORS", "DEAD", "LAG")
	for _, r := range st.Reports {
		fmt.Fprintf(&b, "%-*s  %-15s %8d %8d %6d %7d %5d  %s\n", width, r.Key, r.State, r.Rows, r.Windows, r.Calls,
			r.UpstreamErrs, r.DeadLetters, lag(fr.Now, r))
	}
	for _, r := range st.Reports {
		if r.State != source.StateRunning && r.LastError != "" {
			b.WriteString(truncate("  "+r.Key+": "+r.LastError, lineWidth) + "\n")
		}
	}
	if st.LastError != "" {
		b.WriteString(truncate("  connector: "+st.LastError, lineWidth) + "\n")
	}
	return b.String()
}

// lag is now − last_seen to the second. Range aggregates have no row time, so for
// them, and for any report with windows but no row yet, it is measured from the cursor,
// the end of what has been read. "-" before the first window.
func lag(now time.Time, r source.ReportStatus) string {
	from := r.LastSeen
	if from.IsZero() && r.Windows > 0 {
		from = r.Cursor
	}
	if from.IsZero() {
		return "-"
	}
	return max(now.Sub(from), 0).Round(time.Second).String()
}

// truncate cuts s to n runes, marking the cut with an ellipsis, and flattens newlines,
// which would break the line count of the redraw.
func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
