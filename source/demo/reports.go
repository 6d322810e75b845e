package demo

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// DefaultReports are the five reference reports, as ParseReports specs: a detail report,
// one with a catalog default parameter, one with dynamic columns and two range
// aggregates. A function, so that no caller can change them for the others.
func DefaultReports() []string {
	return []string{"diagram_13", "act_3:cod_act=cod_act1", "diagram_4", "diagram_1_3", "chat_3"}
}

// ParseReports reads report specs, api[:param=value...], into report configs: catalog
// defaults fill the parameters left out, and range aggregates get a settle of
// lateDelay (see there). Every problem names the spec and the fix.
func ParseReports(specs []string) ([]source.ReportConfig, error) {
	if len(specs) == 0 {
		return nil, errors.New("no report given")
	}
	var out []source.ReportConfig
	seen := map[string]string{}
	for _, spec := range specs {
		api, rest, hasParams := strings.Cut(strings.TrimSpace(spec), ":")
		rep, ok := catalog.Lookup(api)
		if !ok {
			return nil, fmt.Errorf("unknown report %q; 'wolkvox-connect reports' lists them", api)
		}
		rc := source.ReportConfig{API: api}
		if hasParams {
			rc.Params = map[string]string{}
			for _, kv := range strings.Split(rest, ":") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" || v == "" {
					return nil, fmt.Errorf("%q: %q is not param=value", spec, kv)
				}
				if _, known := rep.Param(k); !known {
					return nil, fmt.Errorf("%q: %s takes no parameter %q; 'wolkvox-connect reports %s' lists its parameters", spec, api, k, api)
				}
				if _, dup := rc.Params[k]; dup {
					return nil, fmt.Errorf("%q: parameter %q given twice", spec, k)
				}
				rc.Params[k] = v
			}
		}
		for _, p := range rep.Params {
			_, set := rc.Params[p.Name]
			switch {
			case set:
			case p.Default != "":
				// Filled here rather than by the connector, so that "act_3" and
				// "act_3:cod_act=cod_act1" are seen to be the same report.
				if rc.Params == nil {
					rc.Params = map[string]string{}
				}
				rc.Params[p.Name] = p.Default
			case p.Required:
				return nil, fmt.Errorf("%q: %s requires %s: write %s:%s=VALUE", spec, api, p.Name, api, p.Name)
			}
		}
		if prev, dup := seen[rc.Key()]; dup {
			return nil, fmt.Errorf("%q reads the same report as %q", spec, prev)
		}
		seen[rc.Key()] = spec
		if rep.Kind == catalog.RangeAggregate {
			rc.Settle = lateDelay
		}
		out = append(out, rc)
	}
	return out, nil
}
