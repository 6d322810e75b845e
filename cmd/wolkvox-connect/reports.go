package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

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
		return catalog.WriteReport(env.stdout, r)
	default:
		return fmt.Errorf("%w: at most one REPORT, got %d", errUsage, fs.NArg())
	}
}

// suggest names the reports of the same family, the usual slip being a wrong number.
func suggest(name string) string {
	family, same := catalog.Family(name)
	if len(same) == 0 {
		return " (run 'wolkvox-connect reports' for the list)"
	}
	return " (" + family + " reports: " + strings.Join(same, ", ") + ")"
}

// listReports writes the table of reports with a footer saying how to read it.
func listReports(w io.Writer, reports []catalog.Report) error {
	if err := catalog.WriteTable(w, reports); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d reports. * required parameter, =value default sent. 'wolkvox-connect reports NAME' shows one in full.\n", len(reports))
	return err
}
