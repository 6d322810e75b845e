package source

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// PositionRow is a [PositionInfo] as 'wolkvox-connect offsets list --json' prints it:
// times in UTC, absent when unknown.
type PositionRow struct {
	Connector  string     `json:"connector"`
	Server     string     `json:"server"`
	Report     string     `json:"report"`
	Configured bool       `json:"configured"`
	Stored     bool       `json:"stored"`
	LastSeen   *time.Time `json:"last_seen,omitempty"`
	WindowEnd  *time.Time `json:"window_end,omitempty"`
	NextRead   *time.Time `json:"next_read,omitempty"`
	Seen       int        `json:"seen"`
	LagSeconds *int64     `json:"lag_seconds,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// Row is p as a row, its lag against now.
func (p PositionInfo) Row(now time.Time) PositionRow {
	row := PositionRow{Connector: p.Key.Connector, Server: p.Key.Server, Report: p.Report, Configured: p.Configured,
		Stored: p.Stored, NextRead: utcPtr(p.NextRead)}
	switch {
	case p.Err != nil:
		row.Error = p.Err.Error()
	case p.Stored:
		row.Seen, row.LastSeen, row.WindowEnd = len(p.Position.Seen), utcPtr(p.Position.LastSeen), utcPtr(p.Position.WindowEnd)
	}
	if lag, ok := p.Lag(now); ok {
		s := int64(lag / time.Second)
		row.LagSeconds = &s
	}
	return row
}

func utcPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// WritePositions writes positions (as [Worker.ListPositions] returns them) as one
// table per connector, times in the connector's zone, lag against now. topic is the
// offsets topic they were read from; elsewhere says, in a connector's heading, where
// the connectors this worker does not run are not ("not in worker.yaml").
func WritePositions(w io.Writer, topic string, positions []PositionInfo, now time.Time, elsewhere string) error {
	if len(positions) == 0 {
		_, err := fmt.Fprintf(w, "no reports and no positions in %s\n", topic)
		return err
	}
	fmt.Fprintf(w, "positions in %s, lag against %s\n", topic, now.Format(time.RFC3339))
	for start := 0; start < len(positions); {
		end := start + 1
		for end < len(positions) && positions[end].Key.Connector == positions[start].Key.Connector {
			end++
		}
		group := positions[start:end]
		server, heading := "", "("+elsewhere+")"
		for _, p := range group {
			if p.Configured {
				server, heading = p.Key.Server, fmt.Sprintf("(server %s, %s)", p.Key.Server, p.Location)
				break
			}
		}
		fmt.Fprintf(w, "\nconnector %s %s:\n", group[0].Key.Connector, heading)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  REPORT\tLAST_SEEN\tWINDOW_END\tSEEN\tLAG\tNOTE")
		for _, p := range group {
			seen, lag := "-", "-"
			if p.Stored && p.Err == nil {
				seen = fmt.Sprint(len(p.Position.Seen))
			}
			if d, ok := p.Lag(now); ok {
				lag = d.Truncate(time.Second).String()
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", p.Report, FormatTime(p.Position.LastSeen, p.Location),
				FormatTime(p.Position.WindowEnd, p.Location), seen, lag, p.note(server))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing the list: %w", err)
		}
		start = end
	}
	return nil
}

// note explains a position that is not a plain stored position of a configured report;
// server is its connector's configured server ("" when the connector is not).
func (p PositionInfo) note(server string) string {
	var notes []string
	switch {
	case !p.Stored:
		notes = append(notes, "no position yet: starts at its configured start")
	case !p.Configured && server != "" && p.Key.Server != server:
		notes = append(notes, fmt.Sprintf("not in the configuration (server %s; the file has %s)", p.Key.Server, server))
	case !p.Configured:
		notes = append(notes, "not in the configuration")
	}
	if p.Err != nil {
		notes = append(notes, "unreadable: "+p.Err.Error())
	}
	return strings.Join(notes, "; ")
}

// FormatTime is t in loc as RFC 3339, "-" when zero: how offset administration shows a
// time.
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(time.RFC3339)
}

// WritePreview writes what the plan will do, change by change, before it is applied:
// for a position set, the current and new position, where the report reads next and
// which rows are delivered again or skipped; for resets, what each position was and
// where its report restarts.
func (p *OffsetPlan) WritePreview(w io.Writer) {
	at := func(t time.Time) string { return FormatTime(t, p.Location) }
	resets := 0
	for _, pc := range p.Changes {
		if pc.After == nil {
			resets++
		}
	}
	if resets > 0 {
		fmt.Fprintf(w, "connector %s: reset %d position(s) in %s\n", p.Connector, resets, p.Topic)
	}
	for _, pc := range p.Changes {
		if pc.After == nil {
			was := "nothing stored"
			switch {
			case pc.Before != nil && pc.Before.Err != nil:
				was = "unreadable"
			case pc.Before != nil:
				was = fmt.Sprintf("window_end %s, %d seen rows", at(pc.Before.Position.WindowEnd), len(pc.Before.Position.Seen))
			}
			then := "not in the configuration: if it is added again, it starts at its configured start"
			if pc.Config != nil {
				then = "restarts at " + StartDescription(*pc.Config, p.Location)
			}
			fmt.Fprintf(w, "  %s (%s): %s\n", pc.Report, was, then)
			continue
		}
		fmt.Fprintf(w, "connector %s, report %s\n  offsets key %s in %s\n", p.Connector, pc.Report, pc.Key, p.Topic)
		switch {
		case pc.Before == nil:
			fmt.Fprintf(w, "  current: no position (the report would start at %s)\n", StartDescription(*pc.Config, p.Location))
		case pc.Before.Err != nil:
			fmt.Fprintf(w, "  current: unreadable: %v\n", pc.Before.Err)
		default:
			fmt.Fprintf(w, "  current: window_end %s, last_seen %s, %d seen rows\n", at(pc.Before.Position.WindowEnd), at(pc.Before.Position.LastSeen), len(pc.Before.Position.Seen))
		}
		seen := "no seen rows"
		if n := len(pc.After.Seen); n > 0 {
			seen = fmt.Sprintf("%d seen rows", n)
		}
		fmt.Fprintf(w, "  new:     window_end %s, last_seen %s, %s\n", at(pc.After.WindowEnd), at(pc.After.LastSeen), seen)
		fmt.Fprintf(w, "\nThe next read starts at %s (%s).\n", at(pc.NextRead), NextReadRule(*pc.Config))
		if !pc.Redelivered.IsZero() {
			fmt.Fprintf(w, "warning: rows from %s to %s were already delivered and will be delivered again: the seen rows that recognised them are dropped.\n", at(pc.Redelivered.From), at(pc.Redelivered.To))
		}
		if !pc.Skipped.IsZero() {
			fmt.Fprintf(w, "warning: rows from %s to %s have not been read and will be skipped.\n", at(pc.Skipped.From), at(pc.Skipped.To))
		}
	}
	if resets > 0 {
		fmt.Fprintln(w, "warning: rows delivered since that start will be delivered again.")
	}
}

// StartDescription says where a report without a position starts.
func StartDescription(rc ReportConfig, loc *time.Location) string {
	if rc.Start.IsZero() {
		return fmt.Sprintf("the current time minus its lookback of %s", rc.Lookback)
	}
	return "its configured start, " + rc.Start.In(loc).Format(time.RFC3339)
}
