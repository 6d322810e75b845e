package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// reportsCommand is "wolkvox-connect reports".
func reportsCommand() command {
	return command{
		name:    "reports",
		summary: "List the Wolkvox reports the connector knows, or show one in full",
		usage: "[REPORT] [--kind detail|bucketed|range] [--json]\n\n" +
			"Without REPORT, lists every report: its kind (with the bucket size of bucketed\n" +
			"reports), the fields that key its Kafka records, the field that dates a detail\n" +
			"row, and its parameters (* marks a required one, =value the default sent).\n" +
			"With REPORT, shows its fields with their types and docs, and its quirks.",
		example: "wolkvox-connect reports --kind bucketed\n  wolkvox-connect reports diagram_13",
		run:     runReports,
	}
}

func runReports(_ context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	kind := fs.String("kind", "", "list only reports of this kind: detail, bucketed or range")
	asJSON := fs.Bool("json", false, "print the catalog entries as JSON, for scripts")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	k := catalog.Kind(*kind)
	if k != "" && !slices.Contains([]catalog.Kind{catalog.Detail, catalog.Bucketed, catalog.RangeAggregate}, k) {
		return fmt.Errorf("%w: --kind %q: want detail, bucketed or range", errUsage, *kind)
	}
	switch fs.NArg() {
	case 0:
		var reports []catalog.Report
		for _, r := range catalog.All() {
			if k == "" || r.Kind == k {
				reports = append(reports, r)
			}
		}
		if *asJSON {
			return writeJSON(env.stdout, reports)
		}
		return listReports(env.stdout, reports)
	case 1:
		if k != "" {
			return fmt.Errorf("%w: --kind filters the list; it does not apply to one report", errUsage)
		}
		r, ok := catalog.Lookup(fs.Arg(0))
		if !ok {
			return fmt.Errorf("%w: unknown report %q%s", errUsage, fs.Arg(0), suggest(fs.Arg(0)))
		}
		if *asJSON {
			return writeJSON(env.stdout, r)
		}
		return showReport(env.stdout, r)
	default:
		return fmt.Errorf("%w: at most one REPORT, got %d", errUsage, fs.NArg())
	}
}

// suggest names the reports of the same family (the part before the first "_"), the
// usual slip being a wrong number.
func suggest(name string) string {
	family, _, _ := strings.Cut(name, "_")
	var same []string
	for _, r := range catalog.All() {
		if f, _, _ := strings.Cut(r.API, "_"); f == family {
			same = append(same, r.API)
		}
	}
	if len(same) == 0 {
		return " (run 'wolkvox-connect reports' for the list)"
	}
	return " (" + family + " reports: " + strings.Join(same, ", ") + ")"
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

func listReports(w io.Writer, reports []catalog.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tKEY\tTIME FIELD\tPARAMETERS\tTITLE")
	for i := range reports {
		r := &reports[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.API, kindLabel(r), keyLabel(r), orDash(r.TimeField), paramsLabel(r), r.Title)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the list: %w", err)
	}
	_, err := fmt.Fprintf(w, "\n%d reports. * required parameter, =value default sent. 'wolkvox-connect reports NAME' shows one in full.\n", len(reports))
	return err
}

func kindLabel(r *catalog.Report) string {
	if r.Bucket != "" {
		return string(r.Kind) + " " + r.Bucket
	}
	return string(r.Kind)
}

func keyLabel(r *catalog.Report) string {
	if len(r.KeyFields) == 0 {
		return "(whole row)"
	}
	names := make([]string, len(r.KeyFields))
	for i, k := range r.KeyFields {
		names[i] = fieldName(k)
	}
	return strings.Join(names, ",")
}

func paramsLabel(r *catalog.Report) string {
	if len(r.Params) == 0 {
		return "-"
	}
	var parts []string
	for _, p := range r.Params {
		s := p.Name
		if p.Required {
			s += "*"
		}
		if p.Default != "" {
			s += "=" + p.Default
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fieldName quotes a key only when it carries whitespace ("agent_anwers "), which would
// otherwise be invisible.
func fieldName(name string) string {
	if strings.TrimSpace(name) != name || strings.ContainsAny(name, " \t") {
		return fmt.Sprintf("%q", name)
	}
	return name
}

func showReport(w io.Writer, r *catalog.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n\n", r.API, r.Title)
	fmt.Fprintf(tw, "folder:\t%s\n", r.Folder)
	fmt.Fprintf(tw, "kind:\t%s\n", kindLabel(r))
	if r.TimeField != "" {
		fmt.Fprintf(tw, "time field:\t%s (layout %s, the operation's time zone)\n", r.TimeField, r.TimeLayout)
	}
	fmt.Fprintf(tw, "key:\t%s\n", keyLabel(r))
	fmt.Fprintf(tw, "max window:\t%s\n", windowLabel(r.MaxWindowSeconds))
	shape := string(r.Shape)
	if r.NestedField != "" {
		shape += " (rows nested in " + r.NestedField + ")"
	}
	fmt.Fprintf(tw, "shape:\t%s\n", shape)
	if len(r.DynamicPrefixes) > 0 {
		fmt.Fprintf(tw, "dynamic columns:\t%s<N>... (kept in the extra map)\n", strings.Join(r.DynamicPrefixes, "<N>..., "))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}

	fmt.Fprintln(w, "\nparameters:")
	if len(r.Params) == 0 {
		fmt.Fprintln(w, "  none besides date_ini and date_end")
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range r.Params {
		req := "optional"
		if p.Required {
			req = "required"
		}
		if p.Default != "" {
			req += ", default " + p.Default
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Name, req, p.Doc)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}

	fmt.Fprintf(w, "\nfields (%d):\n", len(r.Fields))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range r.Fields {
		var marks []string
		if f.Name == r.TimeField {
			marks = append(marks, "time")
		}
		if slices.Contains(r.KeyFields, f.Name) {
			marks = append(marks, "key")
		}
		mark := ""
		if len(marks) > 0 {
			mark = "[" + strings.Join(marks, ",") + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", fieldName(f.Name), f.Type, mark, f.Doc)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}

	if len(r.Quirks) > 0 {
		fmt.Fprintln(w, "\nquirks:")
		for _, q := range r.Quirks {
			fmt.Fprintf(w, "  - %s\n", q)
		}
	}
	return nil
}

func windowLabel(seconds int64) string {
	const day = 24 * 60 * 60
	if seconds%day == 0 {
		if seconds == day {
			return "24 hours"
		}
		return fmt.Sprintf("%d days", seconds/day)
	}
	return fmt.Sprintf("%d seconds", seconds)
}
