package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// The demo's fixed choices. Each is what a newcomer should see in half a minute, and
// each is written down here so nobody has to rediscover why.
const (
	// Connector names the demo's one connector; it also prefixes its topics, so a
	// demo pointed at a real cluster cannot write into anyone's topics.
	Connector = "demo"
	// MaxSpeed caps Config.Speed: beyond a virtual hour per real second the view
	// refreshes less often than windows are committed.
	MaxSpeed = 3600
	// MaxEvents caps Config.Events.
	MaxEvents = 1000

	// startHour is the virtual time of day the demo starts at, on the real date in
	// Bogota: business hours, when the simulator's rate is full.
	startHour = 10
	// catchUp is how far behind the virtual now the connector starts, so its first
	// windows are a catch-up and rows show at once.
	catchUp = 2 * time.Hour
	// lateDelay is the simulator's longest delay of a late row. Range aggregates are
	// read with a settle of the same length: a bucket is read once nothing can change
	// it any more, so its one event is final (the connector reads each bucket once).
	lateDelay = 15 * time.Minute
	// dailyQuota is three licenses' worth (3 × 1000 calls a day) for both the
	// simulator and the connector: five reports every 5 minutes spend 1,440 a day.
	dailyQuota = 3000
	// rate500 is the share of calls the simulator answers with HTTP 500: a few, so
	// the retry path shows in the ERRORS column without slowing the demo down.
	rate500 = 0.05
	// pingTimeout bounds the check that an external broker answers.
	pingTimeout = 15 * time.Second
	// sampleTimeout bounds reading the sample events back at the end, and the
	// offsets at the start: an unresponsive broker fails the demo instead of hanging it.
	sampleTimeout = 30 * time.Second
)

// Config is what Run runs. Reports, Speed and Out are required.
type Config struct {
	// Reports are the reports the connector reads; ParseReports builds them.
	Reports []source.ReportConfig
	// Duration is how long, in real time, the worker runs; 0 runs it until ctx ends.
	Duration time.Duration
	// Speed is the virtual clock's virtual seconds per real second, shared by the
	// simulator and the worker: above 0 and at most MaxSpeed.
	Speed float64
	// Brokers, when set, is the Kafka cluster to use instead of an embedded broker.
	// The demo writes there to topics demo.<report>, demo.offsets and demo.dlq, and a
	// second run resumes from those offsets.
	Brokers []string
	// Events is how many events of each report are read back and printed at the end:
	// 0 (none) to MaxEvents.
	Events int
	// Seed seeds the simulated data and its injected faults.
	Seed int64
	// Version is the build version the worker names itself by.
	Version string

	// Out receives the progress table and the results. Terminal says it is a terminal
	// that understands ANSI escapes: the table is then redrawn in place every second,
	// else printed as a block every few seconds.
	Out      io.Writer
	Terminal bool
	// Log receives the log lines at LogLevel and above (nil: none). The demo builds
	// its logger itself, because on a terminal each line must lift the table off Out
	// first (see view.logWriter), and every secret must stay hidden.
	Log      io.Writer
	LogLevel slog.Level
}

// Validate returns a *ConfigError for the first field Run cannot use.
func (c *Config) Validate() error {
	switch {
	case c.Duration < 0:
		return &ConfigError{"Duration", c.Duration, "is negative (0 runs until Ctrl-C)"}
	case !(c.Speed > 0 && c.Speed <= MaxSpeed):
		return &ConfigError{"Speed", c.Speed, fmt.Sprintf("must be above 0 and at most %d", MaxSpeed)}
	case c.Events < 0 || c.Events > MaxEvents:
		return &ConfigError{"Events", c.Events, fmt.Sprintf("must be 0..%d", MaxEvents)}
	case len(c.Reports) == 0:
		return &ConfigError{"Reports", c.Reports, "is empty: give at least one report"}
	case c.Out == nil:
		return &ConfigError{"Out", c.Out, "is nil: the demo needs somewhere to show its progress"}
	}
	return nil
}

// Run builds, in order, the broker (kfake unless cfg.Brokers), the virtual clock, the
// simulator and the worker, runs the worker until cfg.Duration or ctx ends while the
// view draws its status, then waits for it, prints the final table and the sample
// events, and closes the simulator and the broker in reverse order. ctx ending is a
// normal end (nil); a connector that failed is an error (ErrFailed). Every goroutine
// Run starts has ended when it returns.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	view := newView(cfg.Out, cfg.Terminal)
	s := settings(cfg.Reports)
	red := s.Redactor()
	log := slog.New(red.Handler(slog.NewTextHandler(view.logWriter(orDiscard(cfg.Log)), &slog.HandlerOptions{Level: cfg.LogLevel})))
	broker := "external " + strings.Join(cfg.Brokers, ",")
	if len(cfg.Brokers) > 0 {
		s.Kafka.Brokers = cfg.Brokers
	} else {
		// One in-process broker on a free port: nothing to install, gone at exit.
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
		if err != nil {
			return fmt.Errorf("starting the embedded Kafka broker: %w", err)
		}
		defer cluster.Close()
		s.Kafka.Brokers = cluster.ListenAddrs()
		broker = "embedded kfake " + strings.Join(s.Kafka.Brokers, ",")
	}
	kopts, err := s.Kafka.Opts()
	if err != nil {
		return err
	}

	start := startOf(time.Now())
	if len(cfg.Brokers) > 0 {
		resumed, err := resume(ctx, s.Topics.Offsets, kopts, log)
		if err != nil {
			return err
		}
		if resumed.After(start.Add(-catchUp)) {
			start = resumed.Add(catchUp)
			fmt.Fprintf(cfg.Out, "Resuming from the offsets in %s: the newest window ended %s, so the virtual clock starts %s later.\n",
				s.Topics.Offsets, resumed.In(zone).Format(time.DateTime), catchUp)
		}
	}
	for i := range s.Connectors[0].Config.Reports {
		s.Connectors[0].Config.Reports[i].Start = start.Add(-catchUp)
	}
	// The origin is taken last, after the slow steps, so that the virtual clock reads
	// start when the worker starts. Set here, in code: a configuration file may not
	// carry a clock (config.AllowVirtualClock).
	s.Clock = &config.Clock{Start: start, Origin: time.Now(), Speed: cfg.Speed}
	clock := s.Clock.FastClock()

	sim, err := simulator.New(
		simulator.Seed(cfg.Seed),
		simulator.WithClock(clock),
		simulator.Location(zone),
		simulator.DailyQuota(dailyQuota),
		simulator.LateRows(0.1, lateDelay),
		simulator.WithFaults(simulator.Faults{Status500: rate500}),
		simulator.Logger(log.With("component", "simulator")),
	)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	if err := sim.Start(ctx); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	defer func() {
		if err := sim.Close(); err != nil {
			log.Warn("closing the simulator", "err", err)
		}
	}()
	s.Connectors[0].BaseURL = sim.URL()

	wopts, err := s.WorkerOpts(log, red, cfg.Version)
	if err != nil {
		return err
	}
	w, err := source.NewWorker(s.SourceConfigs(), wopts...)
	if err != nil {
		return err
	}
	var (
		runCtx context.Context
		cancel context.CancelFunc
	)
	if cfg.Duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
	} else {
		runCtx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	fmt.Fprintf(cfg.Out, "wolkvox-connect demo: broker %s, simulator %s, %d reports, virtual clock %g× from %s.\n",
		broker, sim.URL(), len(cfg.Reports), cfg.Speed, start.In(zone).Format("2006-01-02 15:04 MST"))
	if cfg.Duration > 0 {
		fmt.Fprintf(cfg.Out, "Running for %s (Ctrl-C stops earlier).\n\n", cfg.Duration)
	} else {
		fmt.Fprintf(cfg.Out, "Running until Ctrl-C.\n\n")
	}

	began := time.Now()
	snapshot := func() frame {
		st, err := w.Status(Connector)
		if err != nil {
			// Unreachable (the demo built exactly this connector), but shown, not hidden.
			st = source.Status{Name: Connector, State: source.StateFailed, LastError: err.Error()}
		}
		return frame{Now: clock.Now(), Speed: cfg.Speed, Elapsed: time.Since(began), Status: st}
	}
	werr := view.watch(runCtx, w.Run, snapshot)
	final := snapshot()
	if final.Status.State == source.StateStopped {
		// The connector keeps each report's last running state; once it has stopped,
		// so have they.
		for i := range final.Status.Reports {
			if r := &final.Status.Reports[i]; r.State == source.StateRunning || r.State == source.StateBackingOff {
				r.State = source.StateStopped
			}
		}
	}
	view.final(final)
	if werr != nil {
		return werr
	}

	if cfg.Events > 0 {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), sampleTimeout)
		defer scancel()
		if err := printSamples(sctx, cfg.Out, kopts, final.Status.Reports, cfg.Events, log); err != nil {
			return err
		}
	}
	if len(cfg.Brokers) > 0 {
		fmt.Fprintf(cfg.Out, "\nThe events stay in topics %s; read more with:\n  wolkvox-connect tail --brokers %s --topic %s --from-beginning\n",
			topicList(final.Status.Reports), strings.Join(cfg.Brokers, ","), final.Status.Reports[0].Topic)
	}
	if final.Status.State == source.StateFailed {
		return fmt.Errorf("%w: %s", ErrFailed, final.Status.LastError)
	}
	return nil
}

// orDiscard is w, or io.Discard when w is nil.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// settings is the worker configuration of the demo, brokers, clock and simulator URL
// aside: one connector, topics prefixed with its name, partitions 1 (sample events then
// come back in order) and the broker's replication factor.
func settings(reports []source.ReportConfig) *config.Settings {
	return &config.Settings{
		Topics: config.Topics{
			Template:          Connector + ".{report}",
			Partitions:        1,
			ReplicationFactor: -1,
			Offsets:           Connector + ".offsets",
			DeadLetter:        Connector + ".dlq",
		},
		Connectors: []config.Connector{{
			Config: source.Config{
				Name:       Connector,
				Server:     simulator.DefaultServer,
				Location:   zone,
				DailyQuota: dailyQuota,
				// A copy: Run sets each report's start, and cfg is the caller's.
				Reports: slices.Clone(reports),
			},
			Token: config.NewSecret(simulator.DefaultToken),
		}},
	}
}

// startOf is the virtual time the demo starts at: startHour on the real date in Bogota.
func startOf(real time.Time) time.Time {
	d := real.In(zone)
	return time.Date(d.Year(), d.Month(), d.Day(), startHour, 0, 0, 0, zone)
}

// resume pings the external cluster and returns the end of the newest window the demo
// connector committed there (zero when none): a new run must start its clock after it,
// or resumed reports would wait for the clock to catch up with them.
func resume(ctx context.Context, topic string, kopts []kgo.Opt, log *slog.Logger) (time.Time, error) {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return time.Time{}, fmt.Errorf("kafka client: %w", err)
	}
	err = cl.Ping(pctx)
	cl.Close()
	if err != nil {
		return time.Time{}, fmt.Errorf("%w within %s: %w", ErrBroker, pingTimeout, err)
	}
	store, err := offsets.NewStore(topic, offsets.KafkaOpts(kopts...), offsets.Logger(log))
	if err != nil {
		return time.Time{}, err
	}
	lctx, lcancel := context.WithTimeout(ctx, sampleTimeout)
	defer lcancel()
	// List, not Load: this is a look before the demo starts, and a demo killed with a
	// transaction open would make Load wait for it (the connector's own start fences it).
	entries, err := store.List(lctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the demo's offsets in %s: %w", topic, err)
	}
	var newest time.Time
	for _, e := range entries {
		if e.Key.Connector == Connector && e.Err == nil && e.Position.WindowEnd.After(newest) {
			newest = e.Position.WindowEnd
		}
	}
	return newest, nil
}

func topicList(reports []source.ReportStatus) string {
	names := make([]string, len(reports))
	for i, r := range reports {
		names[i] = r.Topic
	}
	return strings.Join(names, ", ")
}

// zone is the simulated operation's zone. The binary embeds the zone database
// (time/tzdata, imported by source/config); the fixed UTC-5 fallback, Bogota's offset
// since 1993, only guards against that import being dropped.
var zone = func() *time.Location {
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		return time.FixedZone("America/Bogota", -5*3600)
	}
	return loc
}()
