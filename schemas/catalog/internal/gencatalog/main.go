// Command gencatalog writes catalog.json from the Postman extract, table.md and the
// hand-curated overrides. It is run by go generate in schemas/catalog:
//
//	go generate ./schemas/catalog
//
// The work is done by package gen, which the catalog's tests also run to check that
// the checked-in catalog.json is up to date.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog/internal/gen"
)

func main() {
	reports := flag.String("reports", "", "path of reports.json (the Postman extract)")
	table := flag.String("table", "", "path of table.md (kinds and titles)")
	overrides := flag.String("overrides", "overrides.json", "path of the hand-curated overrides")
	out := flag.String("out", "catalog.json", "path to write")
	flag.Parse()
	if err := run(*reports, *table, *overrides, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gencatalog:", err)
		os.Exit(1)
	}
}

func run(reportsPath, tablePath, overridesPath, outPath string) error {
	var in gen.Inputs
	for _, f := range []struct {
		path string
		dst  *[]byte
	}{{reportsPath, &in.Reports}, {tablePath, &in.Table}, {overridesPath, &in.Overrides}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		*f.dst = b
	}
	reports, err := gen.Generate(in)
	if err != nil {
		return err
	}
	b, err := gen.Marshal(reports)
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, b, 0o644)
}
