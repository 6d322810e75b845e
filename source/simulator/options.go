package simulator

import (
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Opt configures a Server; pass options to New.
type Opt interface{ apply(*cfg) }

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

// Burst puts Rows extra rows of Report into the minute starting at Minute (truncated to
// the minute), on top of the normal rate: the way to force a window past 60,000 rows.
type Burst struct {
	Report string
	Minute time.Time
	Rows   int
}

// Window is a span of virtual time, From inclusive, To exclusive.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

func (w Window) contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

type cfg struct {
	seed       int64
	tokens     map[string]string // token → server
	dailyQuota int
	resetHour  int
	loc        *time.Location
	clock      Clock
	addr       string
	logger     *slog.Logger

	only        []string // Reports(subset): others answer as absent from this server
	defaultRate float64
	rates       map[string]float64
	flat        bool
	bursts      []Burst

	lateFraction float64
	maxLate      time.Duration
	editFraction float64
	maxEditDelay time.Duration
	lenient      float64
	maxRows      int
	maxInFlight  int

	faults Faults
}

func defaultCfg() cfg {
	bogota, err := time.LoadLocation("America/Bogota")
	if err != nil {
		// No tzdata on the machine: Bogota has had no DST since 1993, a fixed zone is exact.
		bogota = time.FixedZone("America/Bogota", -5*3600)
	}
	return cfg{
		tokens:       map[string]string{},
		dailyQuota:   1000,
		loc:          bogota,
		addr:         "127.0.0.1:0",
		logger:       slog.New(slog.DiscardHandler),
		defaultRate:  2,
		rates:        map[string]float64{},
		lateFraction: 0.1,
		maxLate:      15 * time.Minute,
		editFraction: 0.05,
		maxEditDelay: 30 * time.Minute,
		maxRows:      60000,
		maxInFlight:  2,
	}
}

func (c *cfg) validate() error {
	switch {
	case c.dailyQuota < 0:
		return fmt.Errorf("%w: daily quota %d is negative", ErrInvalidConfig, c.dailyQuota)
	case c.resetHour < 0 || c.resetHour > 23:
		return fmt.Errorf("%w: quota reset hour %d is not in 0..23", ErrInvalidConfig, c.resetHour)
	case c.loc == nil:
		return fmt.Errorf("%w: nil location", ErrInvalidConfig)
	case c.defaultRate < 0:
		return fmt.Errorf("%w: negative default rate", ErrInvalidConfig)
	case c.lateFraction < 0 || c.lateFraction > 1, c.editFraction < 0 || c.editFraction > 1, c.lenient < 0 || c.lenient > 1:
		return fmt.Errorf("%w: fractions must be within [0,1]", ErrInvalidConfig)
	case c.maxLate < time.Minute:
		return fmt.Errorf("%w: max late delay %s is under a minute", ErrInvalidConfig, c.maxLate)
	case c.maxEditDelay < time.Minute:
		return fmt.Errorf("%w: max edit delay %s is under a minute", ErrInvalidConfig, c.maxEditDelay)
	case c.maxRows < 1:
		return fmt.Errorf("%w: max rows %d", ErrInvalidConfig, c.maxRows)
	case c.maxInFlight < 1:
		return fmt.Errorf("%w: max in flight %d", ErrInvalidConfig, c.maxInFlight)
	}
	for r, v := range c.rates {
		if v < 0 {
			return fmt.Errorf("%w: negative rate for %s", ErrInvalidConfig, r)
		}
	}
	for _, b := range c.bursts {
		if b.Rows < 0 {
			return fmt.Errorf("%w: negative burst for %s", ErrInvalidConfig, b.Report)
		}
	}
	return c.faults.validate()
}

// Seed makes the data set and every fault decision a function of seed, overriding the
// default of 0. Two servers with the same seed and options serve the same bytes.
func Seed(seed int64) Opt { return optFunc(func(c *cfg) { c.seed = seed }) }

// Token adds a valid token bound to server (e.g. "0040"). Without any Token option the
// server accepts the single token DefaultToken for server DefaultServer. A request whose
// wolkvox_server header names another server is refused as an invalid token.
func Token(token, server string) Opt {
	return optFunc(func(c *cfg) { c.tokens[token] = server })
}

// DefaultToken and DefaultServer are what a Server accepts when no Token option is given.
const (
	DefaultToken  = "sim-token"
	DefaultServer = "0040"
)

// DailyQuota sets every token's calls per day (licenses × 1000 in real life), overriding
// the default of 1000.
func DailyQuota(n int) Opt { return optFunc(func(c *cfg) { c.dailyQuota = n }) }

// QuotaResetHour sets the hour (0..23, in the operation's zone) at which daily quotas
// reset, overriding the default of 0 (local midnight).
func QuotaResetHour(h int) Opt { return optFunc(func(c *cfg) { c.resetHour = h }) }

// Location sets the operation's time zone, overriding America/Bogota. Dates in requests
// and rows are wall-clock times in this zone.
func Location(loc *time.Location) Opt { return optFunc(func(c *cfg) { c.loc = loc }) }

// WithClock sets the clock, overriding the wall clock. Use a *VirtualClock in tests.
func WithClock(clock Clock) Opt { return optFunc(func(c *cfg) { c.clock = clock }) }

// Addr sets the address Start listens on, overriding 127.0.0.1:0.
func Addr(addr string) Opt { return optFunc(func(c *cfg) { c.addr = addr }) }

// Logger sets the logger, overriding one that discards everything.
func Logger(l *slog.Logger) Opt { return optFunc(func(c *cfg) { c.logger = l }) }

// Reports restricts the server to the named reports; the others answer 404 "Validate
// dates entered", which is what the live API does for a report absent from a server.
// Names that are not in the catalog at all still answer 400 THE API YOU WANT TO CONSULT
// DOES NOT EXIST.
func Reports(apis ...string) Opt { return optFunc(func(c *cfg) { c.only = slices.Clone(apis) }) }

// RowsPerMinute sets the business-hours rate of underlying events of each named report,
// overriding the default of DefaultRowsPerMinute (itself 2 unless changed). For detail
// reports an event is a row; aggregates are computed from their events.
func RowsPerMinute(rates map[string]float64) Opt {
	return optFunc(func(c *cfg) {
		for k, v := range rates {
			c.rates[k] = v
		}
	})
}

// DefaultRowsPerMinute sets the rate of reports RowsPerMinute does not name, overriding 2.
func DefaultRowsPerMinute(rate float64) Opt { return optFunc(func(c *cfg) { c.defaultRate = rate }) }

// FlatRate turns off the daily profile. By default the rate is full from 08:00 to 18:00
// local time, half in the evening and early morning, and 15% at night, so quiet
// windows (and their 404 answers) happen naturally.
func FlatRate() Opt { return optFunc(func(c *cfg) { c.flat = true }) }

// Bursts adds extra rows in given minutes (see Burst).
func Bursts(b ...Burst) Opt { return optFunc(func(c *cfg) { c.bursts = append(c.bursts, b...) }) }

// LateRows sets the fraction of rows that become visible late and the longest delay,
// overriding 0.1 and 15 minutes. Other rows become visible within 20 seconds of their
// timestamp. A window is settled (will never change again) maxDelay after its end,
// except for edits.
func LateRows(fraction float64, maxDelay time.Duration) Opt {
	return optFunc(func(c *cfg) { c.lateFraction, c.maxLate = fraction, maxDelay })
}

// Edits sets the fraction of detail rows edited after they first appear and the longest
// delay between versions, overriding 0.05 and 30 minutes. An edited row gets one edit,
// or two for about a third of them.
func Edits(fraction float64, maxDelay time.Duration) Opt {
	return optFunc(func(c *cfg) { c.editFraction, c.maxEditDelay = fraction, maxDelay })
}

// Lenient makes about this fraction of eligible values non-strings: whole numbers sent as
// JSON numbers and "-" placeholders sent as null, overriding 0 (every value a string,
// as documented). Ground truth records exactly what was sent.
func Lenient(fraction float64) Opt { return optFunc(func(c *cfg) { c.lenient = fraction }) }

// MaxRows sets the silent truncation limit, overriding 60,000. Only tests that want
// small truncations should change it.
func MaxRows(n int) Opt { return optFunc(func(c *cfg) { c.maxRows = n }) }

// WithFaults sets the initial fault plan, overriding none. The control API can replace it.
func WithFaults(f Faults) Opt { return optFunc(func(c *cfg) { c.faults = f }) }
