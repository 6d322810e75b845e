package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
	"github.com/wolkvox-connect/wolkvox-connect/source/restapi"
)

// runCommand is "wolkvox-connect run".
func runCommand() command {
	return command{
		name:    "run",
		summary: "Run the worker: stream the configured reports into Kafka, exactly once",
		usage: "--config FILE [--brokers HOST:PORT,...] [--rest-address HOST:PORT] [--log-level LEVEL] [--exit-on-failure]\n\n" +
			"Exit codes: 0 stopped by a signal, 1 an error, 2 a usage error, 3 every connector FAILED (with --exit-on-failure).",
		example: "WOLKVOX_TOKEN=... wolkvox-connect run --config deploy/examples/one-operation.yaml",
		run:     runWorker,
	}
}

// overrides are the flags that take precedence over the file and the environment.
type overrides struct {
	config, brokers, restAddress, logLevel string
}

// register adds --config, --brokers and --log-level to fs, and --rest-address when the
// command serves the REST API (run; backfill does not).
func (o *overrides) register(fs *pflag.FlagSet, env *environment, rest bool) {
	configFlag(fs, &o.config, env.getenv("WOLKVOX_CONNECT_CONFIG"), "configuration file (env WOLKVOX_CONNECT_CONFIG)")
	fs.StringVar(&o.brokers, "brokers", "", "Kafka seed brokers, comma-separated, replacing kafka.brokers and "+config.EnvKafkaBrokers)
	if rest {
		fs.StringVar(&o.restAddress, "rest-address", "", "REST API address, replacing rest.address and "+config.EnvRESTAddress)
	}
	fs.StringVar(&o.logLevel, "log-level", "", "debug, info, warn or error, replacing log.level and "+config.EnvLogLevel)
}

// load reads the configuration file with the overrides. They reach config.Load as the
// environment variables they replace (a flag wins over its variable, which wins over
// the file), so they are checked exactly as validate checks the variables: one
// validation for both commands.
func (o *overrides) load(env *environment) (*config.Settings, error) {
	if o.config == "" {
		return nil, fmt.Errorf("%w: --config is required (or WOLKVOX_CONNECT_CONFIG); deploy/examples/ has commented examples, and 'wolkvox-connect demo' runs without one", errUsage)
	}
	if o.logLevel != "" {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
			return nil, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", errUsage, o.logLevel)
		}
	}
	flags := map[string]string{config.EnvKafkaBrokers: o.brokers, config.EnvRESTAddress: o.restAddress, config.EnvLogLevel: o.logLevel}
	getenv := func(k string) string {
		if v := flags[k]; v != "" {
			return v
		}
		return env.getenv(k)
	}
	return config.Load(o.config, getenv)
}

// runParts is what run builds from its settings before any I/O.
type runParts struct {
	log *slog.Logger
	// redactor hides every secret of the settings; log already goes through it.
	redactor *source.Redactor
	worker   *source.Worker
	api      *restapi.Server
	// run is the worker's life: its Run, or, in a group of workers, its Run with the
	// membership that assigns its connectors.
	run func(context.Context) error
}

// prepareRun builds the worker (with extra options last) and its REST API from s,
// logging to w, without any I/O:
// everything run refuses before it touches Kafka or Wolkvox is refused here, and
// config.Load (what validate runs) refuses the same (TestValidateAndRunAgree).
func prepareRun(s *config.Settings, w io.Writer, extra ...source.Opt) (*runParts, error) {
	log, red, level := leveledLogger(s, w)
	now := time.Now
	if s.Clock != nil {
		now = s.Clock.FastClock().Now
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := restapi.NewMetrics(reg, restapi.MetricsClock(now), restapi.BuildVersion(version))
	if err != nil {
		return nil, err
	}
	wk, err := newWorker(s, log, red, append([]source.Opt{source.WithObserver(metrics), source.KafkaOpts(metrics.KafkaHooks())}, extra...)...)
	if err != nil {
		return nil, err
	}
	metrics.Watch(wk)
	var api *restapi.Server
	member, err := s.Member(wk, log, func() string { return api.Addr() })
	if err != nil {
		return nil, err
	}
	apiOpts := []restapi.Opt{restapi.Address(s.REST.Address), restapi.BearerToken(s.REST.Token),
		restapi.Logger(log), restapi.WithMetrics(metrics), restapi.Registry(reg),
		restapi.Version(version), restapi.Commit(commit), restapi.Clock(now), restapi.Redact(red), restapi.LogLevel(level)}
	run := wk.Run
	if member != nil {
		apiOpts = append(apiOpts, restapi.WorkerID(s.WorkerID()), restapi.Group(member))
		run = func(ctx context.Context) error {
			// Join once the API listens, so that the group learns where it answers.
			select {
			case <-api.Ready():
			case <-ctx.Done():
				return nil
			}
			return member.RunWith(ctx, wk.Run)
		}
	}
	api, err = restapi.New(wk, apiOpts...)
	if err != nil {
		return nil, err
	}
	return &runParts{log: log, redactor: red, worker: wk, api: api, run: run}, nil
}

// envExitOnFailure, when true, stands for run --exit-on-failure.
const envExitOnFailure = "WOLKVOX_EXIT_ON_FAILURE"

// exitAllFailed is the exit code of run --exit-on-failure once every connector FAILED:
// distinct from 1 (an error before or while starting), so a supervisor can tell a
// worker that gave up on its connectors from one that could not start.
const exitAllFailed = 3

func runWorker(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	var o overrides
	o.register(fs, env, true)
	exitDefault, envErr := strconv.ParseBool(cmp.Or(strings.TrimSpace(env.getenv(envExitOnFailure)), "false"))
	exitOnFailure := fs.Bool("exit-on-failure", exitDefault, fmt.Sprintf(
		"exit with code %d once every connector is FAILED (a refused token, fencing, every report failed), for a supervisor to restart or alert, instead of running on (env %s=true)", exitAllFailed, envExitOnFailure))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if envErr != nil && !fs.Changed("exit-on-failure") {
		return fmt.Errorf("%w: %s=%q: use true or false", errUsage, envExitOnFailure, env.getenv(envExitOnFailure))
	}
	s, err := o.load(env)
	if err != nil {
		return err
	}
	var extra []source.Opt
	if *exitOnFailure {
		extra = append(extra, source.ExitWhenAllFailed())
	}
	parts, err := prepareRun(s, env.stderr, extra...)
	if err != nil {
		return err
	}
	log, api := parts.log, parts.api
	s.LogPlans(log)
	log.Info("worker starting", "version", version, "connectors", len(s.Connectors), "brokers", strings.Join(s.Kafka.Brokers, ","))
	// The REST API and the worker live and die together.
	err = api.ServeWhile(ctx, parts.run)
	log.Info("worker stopped")
	return parts.redactor.Error(err)
}

// newWorker builds the worker the settings describe, hiding secrets with red; extra
// options come last (the demo's clock, metrics observers).
func newWorker(s *config.Settings, log *slog.Logger, red *source.Redactor, extra ...source.Opt) (*source.Worker, error) {
	opts, err := s.WorkerOpts(log, red, version)
	if err != nil {
		return nil, err
	}
	return source.NewWorker(s.SourceConfigs(), append(opts, extra...)...)
}
