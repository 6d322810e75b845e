package schemas

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// Summary is one report's line in the listing of a Set.
type Summary struct {
	Report string `json:"report"`
	// Record is the Avro record's full name.
	Record string `json:"record"`
	// Fingerprint is the CRC-64-AVRO fingerprint, as 16 hex digits.
	Fingerprint string `json:"fingerprint"`
	// Versions is the number of kept versions.
	Versions int `json:"versions"`
}

// Summaries describes every current schema, sorted by report name.
func (s *Set) Summaries() []Summary {
	all := s.All()
	out := make([]Summary, len(all))
	for i, sc := range all {
		out[i] = Summary{sc.Report, sc.Name, fmt.Sprintf("%016x", sc.Fingerprint), len(sc.Versions)}
	}
	return out
}

// WriteTable writes the Summaries as an aligned table with a header.
func (s *Set) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPORT\tRECORD\tFINGERPRINT\tVERSIONS")
	for _, r := range s.Summaries() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", r.Report, r.Record, r.Fingerprint, r.Versions)
	}
	return tw.Flush()
}

// Version returns the kept version numbered n (1 is the oldest).
func (sc *Schema) Version(n int) (Version, bool) {
	i := slices.IndexFunc(sc.Versions, func(v Version) bool { return v.Number == n })
	if i < 0 {
		return Version{}, false
	}
	return sc.Versions[i], true
}

// WriteCheck runs Check. When it passes, WriteCheck writes one line saying how many
// schemas and kept versions it proved; when it fails, it returns Check's error
// prefixed by the number of problems, each on a line of its own.
func (s *Set) WriteCheck(w io.Writer) error {
	versions := 0
	for _, sc := range s.All() {
		versions += len(sc.Versions)
	}
	if err := s.Check(); err != nil {
		var joined interface{ Unwrap() []error }
		n := 1
		if errors.As(err, &joined) {
			n = len(joined.Unwrap())
		}
		return fmt.Errorf("%d problem(s):\n%w", n, err)
	}
	_, err := fmt.Fprintf(w, "ok: %d schemas, %d kept versions, every schema reads all its versions (BACKWARD)\n", s.Len(), versions)
	return err
}

// ErrNoVersion: a schema has no kept version of that number.
var ErrNoVersion = errors.New("schemas: no such version")

// Show is what 'schemas show' prints of the schema: its .avsc text, or with canonical
// its Parsing Canonical Form (what the fingerprint is computed over), of the current
// schema (version 0) or of kept version N (ErrNoVersion when it has none).
func (sc *Schema) Show(version int, canonical bool) (string, error) {
	text, canon := sc.Text, sc.Canonical
	if version != 0 {
		v, ok := sc.Version(version)
		if !ok {
			return "", fmt.Errorf("%w: %s has versions 1 to %d, not %d", ErrNoVersion, sc.Report, len(sc.Versions), version)
		}
		text, canon = v.Text, v.Canonical
	}
	if canonical {
		return canon + "\n", nil
	}
	return text, nil
}
