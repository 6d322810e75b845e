package restapi

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/cluster"
)

// Defaults of the options of [New].
const (
	DefaultAddress         = "127.0.0.1:8083"
	DefaultStopTimeout     = 30 * time.Second
	DefaultRequestTimeout  = 30 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultMaxBodyBytes fits a PATCH that carries back, unchanged, what GET returned
	// for a connector with several reports whose positions hold large seen-sets.
	DefaultMaxBodyBytes = 64 << 20
)

// Opt configures a [Server]; see [New].
type Opt interface{ apply(*cfg) }

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

type cfg struct {
	address         string
	token           string
	logger          *slog.Logger
	registry        *prometheus.Registry
	metrics         *Metrics
	version         string
	commit          string
	clusterID       func(context.Context) (string, error)
	now             func() time.Time
	stopTimeout     time.Duration
	requestTimeout  time.Duration
	shutdownTimeout time.Duration
	maxBodyBytes    int64
	redactor        *source.Redactor
	workerID        string
	logLevel        *slog.LevelVar
	group           GroupView
}

func defaultCfg() cfg {
	return cfg{
		address:         DefaultAddress,
		logger:          slog.New(slog.DiscardHandler),
		version:         "dev",
		now:             time.Now,
		stopTimeout:     DefaultStopTimeout,
		requestTimeout:  DefaultRequestTimeout,
		shutdownTimeout: DefaultShutdownTimeout,
		maxBodyBytes:    DefaultMaxBodyBytes,
	}
}

// Redact hides r's secrets in error answers, which may quote upstream text (a Kafka or
// registry error). Default: none; pass the worker's Redactor.
func Redact(r *source.Redactor) Opt { return optFunc(func(c *cfg) { c.redactor = r }) }

// WorkerID is the worker_id statuses report, overriding the address Serve listens on,
// with the host's name for an address on every interface (Kafka Connect's is its
// advertised host:port; behind a proxy or in a pod, give the name others reach it by).
func WorkerID(id string) Opt { return optFunc(func(c *cfg) { c.workerID = id }) }

// GroupView is what GET / shows of a worker's group: a *cluster.Member.
type GroupView interface{ View() cluster.View }

// Group makes GET / show the worker's group of workers (its name, members, generation
// and who runs what). Default: none, for a worker on its own.
func Group(g GroupView) Opt { return optFunc(func(c *cfg) { c.group = g }) }

// LogLevel is the process's log level, which GET /admin/loggers reads and PUT
// /admin/loggers/root changes at run time: build the logger's handler on the same
// LevelVar (slog.HandlerOptions{Level: v}, or a handler that checks it). Default: none,
// and the /admin/loggers routes answer 404.
func LogLevel(v *slog.LevelVar) Opt { return optFunc(func(c *cfg) { c.logLevel = v }) }

// Address is the host:port Serve listens on, overriding DefaultAddress (loopback
// only: exposing the API is a deliberate choice, best made together with BearerToken).
// Port 0 picks a free port; [Server.Addr] tells which.
func Address(addr string) Opt { return optFunc(func(c *cfg) { c.address = addr }) }

// BearerToken requires "Authorization: Bearer <token>" on every endpoint except
// /healthz and /readyz, which probes must reach without secrets. Default: no
// authentication.
func BearerToken(token source.Secret) Opt {
	return optFunc(func(c *cfg) { c.token = token.Reveal() })
}

// Logger sets the logger, overriding one that discards everything. Each request is
// logged at debug level.
func Logger(l *slog.Logger) Opt { return optFunc(func(c *cfg) { c.logger = l }) }

// Registry is what /metrics serves, overriding the registry of the WithMetrics option
// or, without either, a registry of the server's own holding the Go and process
// collectors and the worker's status gauges.
func Registry(reg *prometheus.Registry) Opt { return optFunc(func(c *cfg) { c.registry = reg }) }

// WithMetrics makes m read its gauges from the server's worker (see [Metrics.Watch])
// and, unless Registry says otherwise, serves m's registry on /metrics. Build m before
// the worker, so the worker can report to it (source.WithObserver(m)).
func WithMetrics(m *Metrics) Opt { return optFunc(func(c *cfg) { c.metrics = m }) }

// Version is the version GET / reports, overriding "dev".
func Version(v string) Opt { return optFunc(func(c *cfg) { c.version = v }) }

// Commit is the VCS revision GET / reports ("-dirty" for a tree with local changes),
// left out by default: the binary knows its build, the library does not.
func Commit(rev string) Opt { return optFunc(func(c *cfg) { c.commit = rev }) }

// KafkaClusterID looks up the Kafka cluster ID that GET / reports. It is called until
// it first succeeds, with the request's context; while it fails (or without this
// option) the member is left out, as the brief for an unknown ID asks.
func KafkaClusterID(f func(context.Context) (string, error)) Opt {
	return optFunc(func(c *cfg) { c.clusterID = f })
}

// Clock sets the time source for lag figures, overriding time.Now. Tests running the
// worker on a virtual clock pass the same clock here.
func Clock(now func() time.Time) Opt { return optFunc(func(c *cfg) { c.now = now }) }

// StopTimeout bounds how long PUT .../stop and POST .../restart wait for the
// connector's current instance to end, overriding DefaultStopTimeout. A stop that
// takes longer is still under way and is answered 202 all the same.
func StopTimeout(d time.Duration) Opt { return optFunc(func(c *cfg) { c.stopTimeout = d }) }

// RequestTimeout bounds the Kafka reads and writes of the offsets endpoints,
// overriding DefaultRequestTimeout.
func RequestTimeout(d time.Duration) Opt {
	return optFunc(func(c *cfg) { c.requestTimeout = d })
}

// ShutdownTimeout bounds how long Serve waits for requests in flight once its context
// ends, overriding DefaultShutdownTimeout.
func ShutdownTimeout(d time.Duration) Opt {
	return optFunc(func(c *cfg) { c.shutdownTimeout = d })
}

// MaxBodyBytes caps a request body, overriding DefaultMaxBodyBytes; a larger body is
// answered 413.
func MaxBodyBytes(n int64) Opt { return optFunc(func(c *cfg) { c.maxBodyBytes = n }) }

func (c *cfg) validate() error {
	var problems []string
	if _, _, err := net.SplitHostPort(c.address); err != nil {
		problems = append(problems, fmt.Sprintf("address %q: %v", c.address, err))
	}
	if c.token != strings.TrimSpace(c.token) || strings.ContainsAny(c.token, " \t\r\n") {
		problems = append(problems, "bearer token contains whitespace (a token file with a trailing newline?)")
	}
	if c.logger == nil {
		problems = append(problems, "nil logger")
	}
	if c.now == nil {
		problems = append(problems, "nil clock")
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"stop", c.stopTimeout}, {"request", c.requestTimeout}, {"shutdown", c.shutdownTimeout}} {
		if t.d <= 0 {
			problems = append(problems, fmt.Sprintf("%s timeout %s is not positive", t.name, t.d))
		}
	}
	if c.maxBodyBytes <= 0 {
		problems = append(problems, fmt.Sprintf("max body bytes %d is not positive", c.maxBodyBytes))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return nil
}
