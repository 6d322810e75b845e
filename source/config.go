package source

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Defaults for a report's schedule. Wolkvox suggests a call every 5 minutes; the
// lookback re-reads the last hour in the same call so late and edited rows are caught;
// the settle delay keeps the newest minute, still being written upstream, out of reach.
const (
	DefaultInterval = 5 * time.Minute
	DefaultLookback = time.Hour
	DefaultSettle   = time.Minute
	DefaultBucket   = time.Hour
)

// Config is one Wolkvox operation: a server, its token and time zone, and the reports
// read from it.
type Config struct {
	Name     string
	Server   string
	Token    Secret // never printed: see Secret
	Location *time.Location
	// DailyQuota is the token's calls a day (licenses × 1000); QuotaResetHour the hour,
	// in Location, at which Wolkvox resets the count.
	DailyQuota     int64
	QuotaResetHour int
	// BaseURL replaces https://wv{server}.wolkvox.com (a proxy, the simulator); empty
	// keeps the default. MaxInFlight is how many calls the token may have at once: 1 by
	// default, as Wolkvox asks, and at most 2, which it enforces.
	BaseURL     string
	MaxInFlight int
	Reports     []ReportConfig
}

// ReportConfig is how one report is read.
type ReportConfig struct {
	API    string
	Params map[string]string
	// Interval between reads in steady state; Lookback, how far before the last window's
	// end each read starts again; Settle, how far behind now each read stops; Start, where
	// the first read starts. Bucket is the closed bucket range aggregates are read in.
	Interval, Lookback, Settle, Bucket time.Duration
	Start                              time.Time
	// End, when set, is where the report stops: once its cursor reaches End it is done
	// (backfills). Zero means it follows the present for ever.
	End time.Time
}

// FieldError is one problem in a configuration: the field, what is wrong, and the fix.
type FieldError struct {
	Field, Problem, Fix string
}

func (e *FieldError) Error() string {
	if e.Fix == "" {
		return e.Field + ": " + e.Problem
	}
	return e.Field + ": " + e.Problem + " (fix: " + e.Fix + ")"
}

var (
	nameRE   = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,100}$`)
	serverRE = regexp.MustCompile(`^[0-9]{1,6}$`)
)

// Key identifies a report within its connector: the api name and its parameters, so one
// report read twice with different parameters keeps two offsets.
func (r *ReportConfig) Key() string {
	if len(r.Params) == 0 {
		return r.API
	}
	var b strings.Builder
	b.WriteString(r.API)
	for _, k := range slices.Sorted(maps.Keys(r.Params)) {
		fmt.Fprintf(&b, ",%s=%s", k, r.Params[k])
	}
	return b.String()
}

// OffsetKey is the key under which the position of report rc of connector cfg is kept
// in the offsets topic: the connector, its server, the report and its parameters, so one
// report read twice with other parameters keeps two positions.
func OffsetKey(cfg Config, rc ReportConfig) offsets.Key {
	return offsets.Key{Connector: cfg.Name, Server: cfg.Server, Report: rc.API, Params: maps.Clone(rc.Params)}
}

// TransactionalID is the stable transactional ID of connector name, whose producer
// commits its windows (and whose offset changes fence a running instance).
func TransactionalID(prefix, name string) string { return prefix + name }

// QuotaTransactionalID is the transactional ID under which the daily call count of the
// token whose offsets.TokenHash is tokenHash is kept (see offsets.Ledger): "quota/" and
// the hash after the prefix, which no connector's ID can be ('/' is not allowed in a
// connector name).
func QuotaTransactionalID(prefix, tokenHash string) string { return prefix + "quota/" + tokenHash }

// withDefaults fills what the configuration left out: schedule defaults and the
// catalog's default parameters (skill_id=all, campaign_id=all).
func (c Config) withDefaults() Config {
	c.Reports = slices.Clone(c.Reports)
	if c.Location == nil {
		c.Location = time.UTC
	}
	for i := range c.Reports {
		r := &c.Reports[i]
		if r.Interval == 0 {
			r.Interval = DefaultInterval
		}
		if r.Lookback == 0 {
			r.Lookback = DefaultLookback
		}
		if r.Settle == 0 {
			r.Settle = DefaultSettle
		}
		if r.Bucket == 0 {
			r.Bucket = DefaultBucket
		}
		rep, ok := catalog.Lookup(r.API)
		if !ok {
			continue
		}
		params := maps.Clone(r.Params)
		for _, p := range rep.Params {
			if _, set := params[p.Name]; !set && p.Default != "" {
				if params == nil {
					params = map[string]string{}
				}
				params[p.Name] = p.Default
			}
		}
		r.Params = params
	}
	return c
}

// Validate returns every problem of the configuration at once, each a *FieldError
// naming the field (connectors.NAME.reports[I].FIELD) and the fix.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, problem, fix string) {
		errs = append(errs, &FieldError{Field: "connectors." + c.Name + field, Problem: problem, Fix: fix})
	}
	if !nameRE.MatchString(c.Name) {
		errs = append(errs, &FieldError{Field: "connectors[].name", Problem: fmt.Sprintf("%q is not a valid connector name", c.Name), Fix: "use 1-100 letters, digits, '.', '_' or '-'"})
	}
	if !serverRE.MatchString(c.Server) {
		bad(".server", fmt.Sprintf("%q is not a Wolkvox server number", c.Server), `give the digits of wv{server}.wolkvox.com, e.g. "0040"`)
	}
	if !c.Token.IsSet() {
		bad(".token", "is empty", "set it, e.g. token: ${WOLKVOX_TOKEN}, or token_file: /run/secrets/wolkvox")
	}
	if c.DailyQuota <= 0 {
		bad(".daily_quota", fmt.Sprintf("must be positive, got %d", c.DailyQuota), "set it to your licenses × 1000")
	}
	if c.QuotaResetHour < 0 || c.QuotaResetHour > 23 {
		bad(".quota_reset_hour", fmt.Sprintf("must be 0..23, got %d", c.QuotaResetHour), "give the hour, in the connector's time zone, at which Wolkvox resets the daily count")
	}
	if c.MaxInFlight < 0 || c.MaxInFlight > 2 {
		bad(".max_in_flight", fmt.Sprintf("must be 1 or 2, got %d", c.MaxInFlight), "Wolkvox enforces at most 2 simultaneous calls per token and asks for 1; leave it unset")
	}
	if len(c.Reports) == 0 {
		bad(".reports", "is empty", "list at least one report; 'wolkvox-connect reports' lists them")
	}
	seen := map[string]int{}
	for i, r := range c.withDefaults().Reports {
		at := fmt.Sprintf(".reports[%d]", i)
		rep, ok := catalog.Lookup(r.API)
		if !ok {
			bad(at+".api", fmt.Sprintf("unknown report %q", r.API), "run 'wolkvox-connect reports' for the 104 report names")
			continue
		}
		if j, dup := seen[r.Key()]; dup {
			bad(at, fmt.Sprintf("reads %s with the same parameters as reports[%d]", r.Key(), j), "remove one, or give them different parameters")
		}
		seen[r.Key()] = i
		for _, p := range rep.Params {
			if _, set := r.Params[p.Name]; p.Required && !set {
				bad(at+".params."+p.Name, "is required by "+r.API, "set params: {"+p.Name+": ...}")
			}
		}
		for _, name := range slices.Sorted(maps.Keys(r.Params)) {
			if _, known := rep.Param(name); !known {
				bad(at+".params."+name, fmt.Sprintf("%s takes no parameter %q", r.API, name), "remove it; 'wolkvox-connect reports "+r.API+"' lists its parameters")
			}
		}
		if r.Interval < time.Minute {
			bad(at+".interval", fmt.Sprintf("%s is shorter than a minute", r.Interval), "Wolkvox suggests 5m; use at least 1m")
		}
		if r.Lookback < 0 || r.Settle < 0 {
			bad(at+".lookback", "lookback and settle cannot be negative", "use durations such as 1h and 1m")
		}
		if max := rep.MaxWindow(); r.Lookback+r.Interval > max/2 {
			bad(at+".lookback", fmt.Sprintf("lookback %s plus interval %s exceeds half of %s's longest window (%s), so catching up would barely advance", r.Lookback, r.Interval, r.API, max), "shorten the lookback")
		}
		if rep.Kind == catalog.RangeAggregate && (r.Bucket < time.Minute || (24*time.Hour)%r.Bucket != 0) {
			bad(at+".bucket", fmt.Sprintf("%s does not divide a day", r.Bucket), "use a bucket such as 15m, 1h or 24h")
		}
	}
	return errors.Join(errs...)
}

// Plan is the quota a configuration spends: the calls a day each report makes in steady
// state, against the token's budget.
type Plan struct {
	PerReport map[string]float64
	Total     float64
	Budget    int64
}

// Fits reports whether steady state leaves room in the budget; catching up uses what is
// left over, and is stretched to fit.
func (p Plan) Fits() bool { return p.Total <= float64(p.Budget) }

func (p Plan) String() string {
	var b strings.Builder
	keys := slices.Collect(maps.Keys(p.PerReport))
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-30s %8.0f calls/day\n", k, p.PerReport[k])
	}
	fmt.Fprintf(&b, "  %-30s %8.0f of %d calls/day (%.0f%%)", "total", p.Total, p.Budget, 100*p.Total/float64(max(p.Budget, 1)))
	return b.String()
}

// QuotaPlan computes the calls a day the configuration makes in steady state.
func (c Config) QuotaPlan() Plan {
	p := Plan{PerReport: map[string]float64{}, Budget: c.DailyQuota}
	for _, r := range c.withDefaults().Reports {
		rep, ok := catalog.Lookup(r.API)
		if !ok {
			continue
		}
		n := callsPerDay(rep, &r)
		p.PerReport[r.Key()] = n
		p.Total += n
	}
	return p
}

// ErrUnknownReport: a report key names none of a connector's reports.
var ErrUnknownReport = errors.New("connector: no such report")

// UnknownReportError is what [Config.Report] returns for a key that names none of the
// connector's reports, or an api name the connector reads more than once. It matches
// [ErrUnknownReport] with errors.Is.
type UnknownReportError struct {
	Connector, Key string
	// Reports are the connector's report keys, in configuration order; when Ambiguous,
	// only those with the api name Key.
	Reports   []string
	Ambiguous bool
}

func (e *UnknownReportError) Error() string {
	if e.Ambiguous {
		return fmt.Sprintf("connector %s reads %s %d times, with different parameters: give the full report key, one of %s",
			e.Connector, e.Key, len(e.Reports), strings.Join(e.Reports, ", "))
	}
	return fmt.Sprintf("connector %s reads no report %q; its reports: %s", e.Connector, e.Key, strings.Join(e.Reports, ", "))
}

// Is makes errors.Is(err, ErrUnknownReport) true.
func (e *UnknownReportError) Is(target error) bool { return target == ErrUnknownReport }

// Report finds one of the connector's reports by its key (see [ReportConfig.Key]),
// defaults applied as the connector runs it, or by its api name alone when exactly one
// report has that name: the name operators type.
func (c Config) Report(key string) (ReportConfig, error) {
	reports := c.withDefaults().Reports
	var byAPI, all []string
	found := -1
	for i := range reports {
		k := reports[i].Key()
		all = append(all, k)
		switch {
		case k == key:
			return reports[i], nil
		case reports[i].API == key:
			byAPI, found = append(byAPI, k), i
		}
	}
	switch len(byAPI) {
	case 1:
		return reports[found], nil
	case 0:
		return ReportConfig{}, &UnknownReportError{Connector: c.Name, Key: key, Reports: all}
	}
	return ReportConfig{}, &UnknownReportError{Connector: c.Name, Key: key, Reports: byAPI, Ambiguous: true}
}
