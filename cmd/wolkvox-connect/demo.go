package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// The demo's fixed choices. Each is what a newcomer should see in half a minute, and
// each is written down here so nobody has to rediscover why.
const (
	// demoConnector names the demo's one connector; it also prefixes its topics, so a
	// demo pointed at a real cluster cannot write into anyone's topics.
	demoConnector = "demo"
	// demoStartHour is the virtual time of day the demo starts at, on the real date in
	// Bogota: business hours, when the simulator's rate is full.
	demoStartHour = 10
	// demoCatchUp is how far behind the virtual now the connector starts, so its first
	// windows are a catch-up and rows show at once.
	demoCatchUp = 2 * time.Hour
	// demoLateDelay is the simulator's longest delay of a late row. Range aggregates are
	// read with a settle of the same length: a bucket is read once nothing can change
	// it any more, so its one event is final (the connector reads each bucket once).
	demoLateDelay = 15 * time.Minute
	// demoDailyQuota is three licenses' worth (3 × 1000 calls a day) for both the
	// simulator and the connector: five reports every 5 minutes spend 1,440 a day.
	demoDailyQuota = 3000
	// demo500Rate is the share of calls the simulator answers with HTTP 500: a few, so
	// the retry path shows in the ERRORS column without slowing the demo down.
	demo500Rate = 0.05
	// demoPingTimeout bounds the check that an external broker answers.
	demoPingTimeout = 15 * time.Second
	// demoSampleTimeout bounds reading the sample events back at the end, and the
	// offsets at the start: an unresponsive broker fails the demo instead of hanging it.
	demoSampleTimeout = 30 * time.Second
	// demoMaxSpeed caps --speed: beyond a virtual hour per real second the view
	// refreshes less often than windows are committed.
	demoMaxSpeed = 3600
)

// demoSeedReports are the user's five reference reports, as --reports specs.
var demoSeedReports = []string{"diagram_13", "act_3:cod_act=cod_act1", "diagram_4", "diagram_1_3", "chat_3"}

// Errors of the demo command.
var (
	// errDemoBroker: the broker named by --brokers does not answer.
	errDemoBroker = errors.New("no Kafka broker answers")
	// errDemoFailed: the demo's connector stopped with an error (see its last error).
	errDemoFailed = errors.New("the demo connector failed")
)

// demoCommand is "wolkvox-connect demo".
func demoCommand() command {
	return command{
		name:    "demo",
		summary: "Run everything in one process: a simulated Wolkvox, a Kafka broker and the worker",
		usage: "[--duration D] [--speed N] [--brokers HOST:PORT,...] [--reports a,b,c] [--events N]\n\n" +
			"Starts an embedded Kafka-compatible broker (kfake, in memory), the Wolkvox simulator\n" +
			"(seeded; late rows, edits and a few HTTP 500s) and the worker with one connector,\n" +
			"\"demo\", on a virtual clock running --speed times faster than real time, shared by the\n" +
			"simulator and the worker. The connector starts two virtual hours in the past, so its\n" +
			"first windows catch up. A progress table is redrawn every second (every few seconds,\n" +
			"as plain blocks, when stdout is not a terminal): ROWS events delivered, WINDOWS\n" +
			"windows committed, CALLS API calls (retries included), ERRORS failed calls, DEAD\n" +
			"rows sent to the dead-letter topic, LAG virtual now minus the newest row's time (for\n" +
			"range aggregates, minus the end of the last bucket read). When --duration has passed, or on\n" +
			"Ctrl-C, the worker stops, the final table is printed, and a few events of each report\n" +
			"are read back from Kafka (read_committed) and printed as JSON lines.\n\n" +
			"With --brokers the demo writes to that cluster instead, to topics demo.<report>, its\n" +
			"offsets to demo.offsets and dead letters to demo.dlq; run it again and it resumes from\n" +
			"those offsets, the virtual clock moved on so that catching up shows again.\n\n" +
			"--reports takes api names, each optionally followed by :param=value pairs\n" +
			"(agent_2:agent_id=1001); parameters with a catalog default (cod_act, skill_id,\n" +
			"campaign_id) may be left out. 'wolkvox-connect reports' lists the 104 reports.",
		example: "wolkvox-connect demo --duration 30s",
		run:     runDemo,
	}
}

// demoFlags are the demo command's flags.
type demoFlags struct {
	duration time.Duration
	speed    float64
	brokers  []string
	reports  []string
	events   int
	logLevel string
	seed     int64
}

func (f *demoFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.duration, "duration", 0, "stop after this real time (0: run until Ctrl-C)")
	fs.Float64Var(&f.speed, "speed", 60, "virtual seconds per real second, shared by the simulator and the worker")
	fs.StringSliceVar(&f.brokers, "brokers", nil, "use this Kafka cluster (HOST:PORT,...) instead of the embedded broker")
	fs.StringSliceVar(&f.reports, "reports", demoSeedReports, "reports to read: api[:param=value...], comma-separated")
	fs.IntVar(&f.events, "events", 3, "decoded events to print per report at the end (0: none)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the simulated data and of its injected faults")
}

// check validates the flags and returns the reports to read and the log level.
func (f *demoFlags) check(fs *pflag.FlagSet) ([]source.ReportConfig, slog.Level, error) {
	var lvl slog.Level
	switch {
	case fs.NArg() > 0:
		return nil, lvl, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case f.duration < 0:
		return nil, lvl, fmt.Errorf("%w: --duration %s is negative (0 runs until Ctrl-C)", errUsage, f.duration)
	case !(f.speed > 0 && f.speed <= demoMaxSpeed):
		return nil, lvl, fmt.Errorf("%w: --speed %g must be above 0 and at most %d", errUsage, f.speed, demoMaxSpeed)
	case f.events < 0 || f.events > 1000:
		return nil, lvl, fmt.Errorf("%w: --events %d must be 0..1000", errUsage, f.events)
	}
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, lvl, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", errUsage, f.logLevel)
	}
	for i, b := range f.brokers {
		if f.brokers[i] = strings.TrimSpace(b); f.brokers[i] == "" {
			return nil, lvl, fmt.Errorf("%w: --brokers has an empty address", errUsage)
		}
	}
	reports, err := parseDemoReports(f.reports)
	if err != nil {
		return nil, lvl, fmt.Errorf("%w: --reports: %w", errUsage, err)
	}
	return reports, lvl, nil
}

// parseDemoReports reads --reports specs, api[:param=value...], into report configs:
// catalog defaults fill the parameters left out, and range aggregates get a settle of
// demoLateDelay (see there). Every problem names the spec and the fix.
func parseDemoReports(specs []string) ([]source.ReportConfig, error) {
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
			rc.Settle = demoLateDelay
		}
		out = append(out, rc)
	}
	return out, nil
}

// runDemo builds, in order, the broker (kfake unless --brokers), the virtual clock, the
// simulator and the worker, runs the worker until --duration or ctx ends while the view
// draws its status, then waits for it, prints the final table and the sample events,
// and closes the simulator and the broker in reverse order. Ctrl-C is a normal end
// (exit 0); a connector that failed is an error (exit 1).
func runDemo(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	var f demoFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	reports, level, err := f.check(fs)
	if err != nil {
		return err
	}
	view := newDemoView(env.stdout, demoIsTerminal(env.stdout, env.getenv))
	s := demoSettings(reports)
	red := s.Redactor()
	log := slog.New(red.Handler(slog.NewTextHandler(view.logWriter(env.stderr), &slog.HandlerOptions{Level: level})))
	broker := "external " + strings.Join(f.brokers, ",")
	if len(f.brokers) > 0 {
		s.Kafka.Brokers = f.brokers
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

	start := demoStart(time.Now())
	if len(f.brokers) > 0 {
		resumed, err := demoResume(ctx, s.Topics.Offsets, kopts, log)
		if err != nil {
			return err
		}
		if resumed.After(start.Add(-demoCatchUp)) {
			start = resumed.Add(demoCatchUp)
			fmt.Fprintf(env.stdout, "Resuming from the offsets in %s: the newest window ended %s, so the virtual clock starts %s later.\n",
				s.Topics.Offsets, resumed.In(demoZone).Format(time.DateTime), demoCatchUp)
		}
	}
	for i := range s.Connectors[0].Config.Reports {
		s.Connectors[0].Config.Reports[i].Start = start.Add(-demoCatchUp)
	}
	// The origin is taken last, after the slow steps, so that the virtual clock reads
	// start when the worker starts.
	s.Clock = &config.Clock{Start: start, Origin: time.Now(), Speed: f.speed}
	clock := s.Clock.FastClock()

	sim, err := simulator.New(
		simulator.Seed(f.seed),
		simulator.WithClock(clock),
		simulator.Location(demoZone),
		simulator.DailyQuota(demoDailyQuota),
		simulator.LateRows(0.1, demoLateDelay),
		simulator.WithFaults(simulator.Faults{Status500: demo500Rate}),
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

	w, err := newWorker(s, log, red)
	if err != nil {
		return err
	}
	var (
		runCtx context.Context
		cancel context.CancelFunc
	)
	if f.duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, f.duration)
	} else {
		runCtx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	fmt.Fprintf(env.stdout, "wolkvox-connect demo: broker %s, simulator %s, %d reports, virtual clock %g× from %s.\n",
		broker, sim.URL(), len(reports), f.speed, start.In(demoZone).Format("2006-01-02 15:04 MST"))
	if f.duration > 0 {
		fmt.Fprintf(env.stdout, "Running for %s (Ctrl-C stops earlier).\n\n", f.duration)
	} else {
		fmt.Fprintf(env.stdout, "Running until Ctrl-C.\n\n")
	}

	// The worker runs in a goroutine owned here: runCtx stops it and done says it has.
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- w.Run(runCtx) }()
	snapshot := func() demoFrame {
		st, err := w.Status(demoConnector)
		if err != nil {
			// Unreachable (the demo built exactly this connector), but shown, not hidden.
			st = source.Status{Name: demoConnector, State: source.StateFailed, LastError: err.Error()}
		}
		return demoFrame{Now: clock.Now(), Speed: f.speed, Elapsed: time.Since(began), Status: st}
	}
	view.run(runCtx, snapshot, cancel)
	werr := <-done
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

	if f.events > 0 {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), demoSampleTimeout)
		defer scancel()
		if err := printDemoSamples(sctx, env.stdout, kopts, final.Status.Reports, f.events, log); err != nil {
			return err
		}
	}
	if len(f.brokers) > 0 {
		fmt.Fprintf(env.stdout, "\nThe events stay in topics %s; read more with:\n  wolkvox-connect tail --brokers %s --topic %s --from-beginning\n",
			demoTopicList(final.Status.Reports), strings.Join(f.brokers, ","), final.Status.Reports[0].Topic)
	}
	if final.Status.State == source.StateFailed {
		return fmt.Errorf("%w: %s", errDemoFailed, final.Status.LastError)
	}
	return nil
}

// demoSettings is the worker configuration of the demo, brokers, clock and simulator
// URL aside: one connector, topics prefixed with its name, partitions 1 (sample events
// then come back in order) and the broker's replication factor.
func demoSettings(reports []source.ReportConfig) *config.Settings {
	return &config.Settings{
		Topics: config.Topics{
			Template:          demoConnector + ".{report}",
			Partitions:        1,
			ReplicationFactor: -1,
			Offsets:           demoConnector + ".offsets",
			DeadLetter:        demoConnector + ".dlq",
		},
		Connectors: []config.Connector{{
			Config: source.Config{
				Name:       demoConnector,
				Server:     simulator.DefaultServer,
				Location:   demoZone,
				DailyQuota: demoDailyQuota,
				Reports:    reports,
			},
			Token: config.NewSecret(simulator.DefaultToken),
		}},
	}
}

// demoStart is the virtual time the demo starts at: demoStartHour on the real date in
// Bogota.
func demoStart(real time.Time) time.Time {
	d := real.In(demoZone)
	return time.Date(d.Year(), d.Month(), d.Day(), demoStartHour, 0, 0, 0, demoZone)
}

// demoResume pings the external cluster and returns the end of the newest window the
// demo connector committed there (zero when none): a new run must start its clock after
// it, or resumed reports would wait for the clock to catch up with them.
func demoResume(ctx context.Context, topic string, kopts []kgo.Opt, log *slog.Logger) (time.Time, error) {
	pctx, cancel := context.WithTimeout(ctx, demoPingTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return time.Time{}, fmt.Errorf("kafka client: %w", err)
	}
	err = cl.Ping(pctx)
	cl.Close()
	if err != nil {
		return time.Time{}, fmt.Errorf("%w within %s: %w", errDemoBroker, demoPingTimeout, err)
	}
	store, err := offsets.NewStore(topic, offsets.KafkaOpts(kopts...), offsets.Logger(log))
	if err != nil {
		return time.Time{}, err
	}
	lctx, lcancel := context.WithTimeout(ctx, demoSampleTimeout)
	defer lcancel()
	positions, err := store.Load(lctx, demoConnector)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the demo's offsets in %s: %w", topic, err)
	}
	var newest time.Time
	for _, k := range slices.Sorted(maps.Keys(positions)) {
		if end := positions[k].WindowEnd; end.After(newest) {
			newest = end
		}
	}
	return newest, nil
}

func demoTopicList(reports []source.ReportStatus) string {
	names := make([]string, len(reports))
	for i, r := range reports {
		names[i] = r.Topic
	}
	return strings.Join(names, ", ")
}

// demoZone is the simulated operation's zone. The binary embeds the zone database
// (time/tzdata, imported by source/config); the fixed UTC-5 fallback, Bogota's offset since 1993,
// only guards against that import being dropped.
var demoZone = func() *time.Location {
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		return time.FixedZone("America/Bogota", -5*3600)
	}
	return loc
}()
