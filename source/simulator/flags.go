package simulator

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"
)

// Flags are the simulator's settings as command-line flags, for cmd/wolkvox-sim and any
// program that embeds the simulator: [AddFlags] registers them on a flag set (as
// Prometheus's promslog/flag does for its logger), [Flags.Opts] turns the parsed values
// into options. Values are checked by New, except the zone and start, checked by Opts.
type Flags struct {
	Addr, Server, Start, Zone string
	Tokens, Reports           []string
	Seed                      int64
	Quota, ResetHour          int
	Speed, Rate               float64
	LateFraction, EditFrac    float64
	Lenient                   float64
	LateMax, EditMax          time.Duration
	Faults                    Faults
}

// AddFlags registers the simulator's flags on fs, with their defaults.
func AddFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Addr, "addr", "127.0.0.1:8089", "address to listen on")
	fs.StringArrayVar(&f.Tokens, "token", []string{DefaultToken}, "valid token (repeat for several)")
	fs.StringVar(&f.Server, "server", DefaultServer, "server number the tokens belong to")
	fs.Int64Var(&f.Seed, "seed", 0, "seed of the data set and of fault decisions")
	fs.IntVar(&f.Quota, "quota", 1000, "calls per token per day (licenses × 1000)")
	fs.IntVar(&f.ResetHour, "reset-hour", 0, "local hour at which daily quotas reset")
	fs.StringVar(&f.Zone, "zone", "America/Bogota", "the operation's time zone")
	fs.Float64Var(&f.Speed, "speed", 1, "virtual clock speed, × real time (0 freezes it)")
	fs.StringVar(&f.Start, "start", "", `virtual start time, "YYYY-MM-DD HH:MM:SS" local or RFC 3339 (default now)`)
	fs.Float64Var(&f.Rate, "rate", 2, "business-hours rows (events) per minute per report")
	fs.StringSliceVar(&f.Reports, "reports", nil, "serve only these reports (others answer 404)")
	fs.Float64Var(&f.LateFraction, "late-fraction", 0.1, "fraction of rows that appear late")
	fs.DurationVar(&f.LateMax, "late-max", 15*time.Minute, "longest delay of a late row")
	fs.Float64Var(&f.EditFrac, "edit-fraction", 0.05, "fraction of detail rows edited after they appear")
	fs.DurationVar(&f.EditMax, "edit-max", 30*time.Minute, "longest delay between two versions of a row")
	fs.Float64Var(&f.Lenient, "lenient", 0, "fraction of values sent as JSON numbers or null")
	fs.Float64Var(&f.Faults.Status500, "fault-500", 0, "rate of 500 answers")
	fs.Float64Var(&f.Faults.Status502, "fault-502", 0, "rate of 502 HTML answers")
	fs.Float64Var(&f.Faults.Status503, "fault-503", 0, "rate of 503 answers")
	fs.Float64Var(&f.Faults.Forbidden, "fault-403", 0, "rate of undocumented 403 answers")
	fs.Float64Var(&f.Faults.MaintenanceRate, "fault-maintenance", 0, "rate of maintenance 403 answers")
	fs.Float64Var(&f.Faults.HTML200, "fault-html200", 0, "rate of HTML error pages with status 200")
	fs.Float64Var(&f.Faults.HTML500, "fault-html500", 0, "rate of HTML error pages with status 500")
	fs.Float64Var(&f.Faults.Truncate, "fault-truncate", 0, "rate of bodies cut mid-JSON")
	fs.Float64Var(&f.Faults.Hang, "fault-hang", 0, "rate of calls that hang until the client gives up")
	fs.DurationVar(&f.Faults.Latency, "latency", 0, "real time added to every call")
	fs.DurationVar(&f.Faults.RetryAfter, "retry-after", 0, "Retry-After sent with injected errors")
	return f
}

// Opts turns the flags into simulator options, logging to logger, and returns the
// virtual clock and the operation's zone they use. A bad --zone or --start wraps
// ErrInvalidConfig.
func (f *Flags) Opts(logger *slog.Logger) ([]Opt, *VirtualClock, *time.Location, error) {
	loc, err := time.LoadLocation(f.Zone)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: --zone: %w", ErrInvalidConfig, err)
	}
	start := time.Now()
	if f.Start != "" {
		if start, err = time.ParseInLocation(time.DateTime, f.Start, loc); err != nil {
			if start, err = time.Parse(time.RFC3339, f.Start); err != nil {
				return nil, nil, nil, fmt.Errorf("%w: --start %q is neither \"YYYY-MM-DD HH:MM:SS\" nor RFC 3339", ErrInvalidConfig, f.Start)
			}
		}
	}
	clock := NewVirtualClock(start)
	clock.SetSpeed(f.Speed)
	opts := []Opt{
		Addr(f.Addr), Seed(f.Seed), DailyQuota(f.Quota), QuotaResetHour(f.ResetHour), Location(loc), WithClock(clock),
		DefaultRowsPerMinute(f.Rate), LateRows(f.LateFraction, f.LateMax), Edits(f.EditFrac, f.EditMax),
		Lenient(f.Lenient), WithFaults(f.Faults), Logger(logger),
	}
	for _, t := range f.Tokens {
		opts = append(opts, Token(t, f.Server))
	}
	if len(f.Reports) > 0 {
		opts = append(opts, Reports(f.Reports...))
	}
	return opts, clock, loc, nil
}
