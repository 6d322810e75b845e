package catalog

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteTable writes reports as an aligned table, one line per report: its name, kind
// (with the bucket size of a bucketed report), the fields that key its records, the
// field that dates a detail row, its parameters (* marks a required one, =value the
// default sent) and its title.
func WriteTable(w io.Writer, reports []Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tKEY\tTIME FIELD\tPARAMETERS\tTITLE")
	for i := range reports {
		r := &reports[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.API, kindLabel(r), keyLabel(r), cmp.Or(r.TimeField, "-"), paramsLabel(r), r.Title)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the list: %w", err)
	}
	return nil
}

// WriteReport writes everything the catalog knows of r: its kind, time field, key,
// longest window and shape, its parameters, its fields with their types and docs
// (marking the time and key fields), and its quirks.
func WriteReport(w io.Writer, r *Report) error {
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

// Family returns the family of name, the part before its first "_", and the api names
// of the reports in it, in catalog order: what to suggest for an unknown name, the
// usual slip being a wrong number (agent_99).
func Family(name string) (family string, apis []string) {
	family, _, _ = strings.Cut(name, "_")
	for _, r := range All() {
		if f, _, _ := strings.Cut(r.API, "_"); f == family {
			apis = append(apis, r.API)
		}
	}
	return family, apis
}

func kindLabel(r *Report) string {
	if r.Bucket != "" {
		return string(r.Kind) + " " + r.Bucket
	}
	return string(r.Kind)
}

func keyLabel(r *Report) string {
	if len(r.KeyFields) == 0 {
		return "(whole row)"
	}
	names := make([]string, len(r.KeyFields))
	for i, k := range r.KeyFields {
		names[i] = fieldName(k)
	}
	return strings.Join(names, ",")
}

func paramsLabel(r *Report) string {
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

// fieldName quotes a key only when it carries whitespace ("agent_anwers "), which would
// otherwise be invisible.
func fieldName(name string) string {
	if strings.TrimSpace(name) != name || strings.ContainsAny(name, " \t") {
		return fmt.Sprintf("%q", name)
	}
	return name
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
