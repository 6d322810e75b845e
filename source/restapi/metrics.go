package restapi

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// Namespace prefixes every metric name.
const Namespace = "wolkvox_connect"

// Metrics turns what connectors do into Prometheus metrics. As a source.Observer it
// counts calls, rows, windows, splits and transactions as they happen; as a
// prometheus.Collector it reads the gauges (lag, cursor, quota, state) from the
// watched worker's status on each scrape, so they are never stale; KafkaHooks adds
// franz-go's client metrics. Label values are connector names, report keys ("act_3" or
// "act_3,cod_act=X", as in the status), call classes and states: never a token.
//
// Build it before the worker (source.WithObserver(m), source.KafkaOpts(
// m.KafkaHooks())), then let the server watch the worker (WithMetrics(m)) or call
// Watch. Its observer methods never block.
type Metrics struct {
	registry *prometheus.Registry
	status   statusCollector
	kafka    *kafkaMetrics

	calls          *prometheus.CounterVec
	upstreamErrors *prometheus.CounterVec
	rejected       *prometheus.CounterVec
	callDuration   *prometheus.HistogramVec
	rows           *prometheus.CounterVec
	deadLetters    *prometheus.CounterVec
	duplicates     *prometheus.CounterVec
	futureRows     *prometheus.CounterVec
	windows        *prometheus.CounterVec
	splits         *prometheus.CounterVec
	transactions   *prometheus.CounterVec

	// rowsMu guards rowsOf: the rows delivered by connector and report key since m was
	// built, which the server's active topics read (see activeTopics).
	rowsMu sync.Mutex
	rowsOf map[[2]string]int64
}

var _ source.Observer = (*Metrics)(nil)
var _ prometheus.Collector = (*Metrics)(nil)

// MetricsOpt configures [NewMetrics].
type MetricsOpt interface{ applyMetrics(*metricsCfg) }

type metricsCfg struct {
	now     func() time.Time
	version string
}

type metricsOptFunc func(*metricsCfg)

func (f metricsOptFunc) applyMetrics(c *metricsCfg) { f(c) }

// MetricsClock sets the time lag is measured against, overriding time.Now.
func MetricsClock(now func() time.Time) MetricsOpt {
	return metricsOptFunc(func(c *metricsCfg) { c.now = now })
}

// BuildVersion sets the version label of wolkvox_connect_build_info (default "dev").
func BuildVersion(v string) MetricsOpt {
	return metricsOptFunc(func(c *metricsCfg) { c.version = v })
}

// Outcomes of the transactions counter.
const (
	OutcomeCommitted = "committed"
	OutcomeAborted   = "aborted"
)

// NewMetrics registers the metrics on reg. reg is left to the caller otherwise: add the
// Go and process collectors there if wanted.
func NewMetrics(reg *prometheus.Registry, opts ...MetricsOpt) (*Metrics, error) {
	c := metricsCfg{now: time.Now, version: "dev"}
	for _, o := range opts {
		o.applyMetrics(&c)
	}
	if reg == nil {
		return nil, fmt.Errorf("%w: nil registry", ErrConfig)
	}
	if c.now == nil {
		return nil, fmt.Errorf("%w: nil clock", ErrConfig)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		registry: reg,
		rowsOf:   map[[2]string]int64{},
		status:   statusCollector{now: c.now},
		kafka:    newKafkaMetrics(Namespace + "_kafka"),
		calls: counter("calls_total", "HTTP calls to the Wolkvox API, retries included, by outcome class (each costs one call of the daily quota, except where the class says the API refused before counting).",
			"connector", "report", "class"),
		upstreamErrors: counter("upstream_errors_total", "Failed calls to the Wolkvox API, by class (quota_exhausted, too_many_requests, invalid_token, bad_request, transient).",
			"connector", "report", "class"),
		rejected: counter("rejected_answers_total", "200 answers refused as data and retried, by reason: count_mismatch (fewer rows than msg states), body_too_large, row_too_large.",
			"connector", "report", "reason"),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "call_duration_seconds", Help: "Duration of calls to the Wolkvox API (the API allows 60 s).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60},
		}, []string{"connector", "report"}),
		rows:         counter("rows_total", "Rows delivered to the report's topic as events.", "connector", "report"),
		deadLetters:  counter("dead_letters_total", "Rows sent to the dead-letter topic.", "connector", "report"),
		duplicates:   counter("duplicates_total", "Rows an earlier window delivered, read again (lookback, overlaps) and recognised.", "connector", "report"),
		futureRows:   counter("future_rows_total", "Rows delivered whose time lies beyond now plus the tolerance: they do not move last_seen or the lag.", "connector", "report"),
		windows:      counter("windows_total", "Windows (polls) committed.", "connector", "report"),
		splits:       counter("window_splits_total", "Windows bisected because the answer hit the API's row cap.", "connector", "report"),
		transactions: counter("transactions_total", "Kafka transactions ended, by outcome (committed, aborted).", "connector", "report", "outcome"),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the labels say which build runs."}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(c.version, runtime.Version()).Set(1)
	err := errors.Join(
		reg.Register(buildInfo), reg.Register(m.futureRows), reg.Register(m.rejected),
		reg.Register(m.calls), reg.Register(m.upstreamErrors), reg.Register(m.callDuration),
		reg.Register(m.rows), reg.Register(m.deadLetters), reg.Register(m.duplicates),
		reg.Register(m.windows), reg.Register(m.splits), reg.Register(m.transactions),
		reg.Register(m), reg.Register(m.kafka),
	)
	if err != nil {
		return nil, fmt.Errorf("restapi: registering metrics: %w", err)
	}
	return m, nil
}

// Watch makes the gauges come from src (a *source.Worker), replacing any source
// watched before, and creates every report's counters at zero so rates exist from the
// first scrape.
func (m *Metrics) Watch(src StatusSource) {
	m.status.watch(src)
	for _, name := range src.Names() {
		st, err := src.Status(name)
		if err != nil {
			continue // removed meanwhile: nothing to create
		}
		for _, r := range st.Reports {
			for _, v := range []*prometheus.CounterVec{m.rows, m.deadLetters, m.duplicates, m.futureRows, m.windows, m.splits} {
				v.WithLabelValues(name, r.Key)
			}
			m.transactions.WithLabelValues(name, r.Key, OutcomeCommitted)
			m.transactions.WithLabelValues(name, r.Key, OutcomeAborted)
		}
	}
}

// KafkaHooks returns the option that adds franz-go's client metrics (kprom, under
// wolkvox_connect_kafka_) to every Kafka client built with it. Pass the same option to
// all of them: the worker opens several clients (a producer per connector, readers of
// the offsets topic), and their figures are summed into one set of series.
func (m *Metrics) KafkaHooks() kgo.Opt { return kgo.WithHooks(m.kafka) }

// Call counts one HTTP call and, when the API answered with an error, the error.
func (m *Metrics) Call(conn, report string, call wolkvox.Call) {
	class := string(call.Class)
	m.calls.WithLabelValues(conn, report, class).Inc()
	m.callDuration.WithLabelValues(conn, report).Observe(call.Duration.Seconds())
	switch call.Class {
	case wolkvox.ClassOK, wolkvox.ClassNoData, wolkvox.ClassCanceled, wolkvox.ClassHandler:
		// Not the API's failure: an answer, our own cancellation, or our own refusal.
	default:
		m.upstreamErrors.WithLabelValues(conn, report, class).Inc()
	}
	for reason, sentinel := range rejectReasons {
		if errors.Is(call.Err, sentinel) {
			m.rejected.WithLabelValues(conn, report, reason).Inc()
		}
	}
}

// rejectReasons are the causes of a 200 answer that is not taken as data.
var rejectReasons = map[string]error{
	"count_mismatch": wolkvox.ErrCountMismatch,
	"body_too_large": wolkvox.ErrBodyTooLarge,
	"row_too_large":  wolkvox.ErrRowTooLarge,
}

// Window counts one committed window and its rows.
func (m *Metrics) Window(conn, report string, s source.WindowStats) {
	m.windows.WithLabelValues(conn, report).Inc()
	m.rows.WithLabelValues(conn, report).Add(float64(s.Rows))
	m.rowsMu.Lock()
	m.rowsOf[[2]string{conn, report}] += s.Rows
	m.rowsMu.Unlock()
	m.deadLetters.WithLabelValues(conn, report).Add(float64(s.DeadLetters))
	m.duplicates.WithLabelValues(conn, report).Add(float64(s.Duplicates))
	m.futureRows.WithLabelValues(conn, report).Add(float64(s.FutureRows))
}

// delivered returns the rows a connector's report delivered since m was built.
func (m *Metrics) delivered(conn, report string) int64 {
	m.rowsMu.Lock()
	defer m.rowsMu.Unlock()
	return m.rowsOf[[2]string{conn, report}]
}

// Split counts one bisected window.
func (m *Metrics) Split(conn, report string) { m.splits.WithLabelValues(conn, report).Inc() }

// Transaction counts one transaction by outcome.
func (m *Metrics) Transaction(conn, report string, committed bool) {
	outcome := OutcomeAborted
	if committed {
		outcome = OutcomeCommitted
	}
	m.transactions.WithLabelValues(conn, report, outcome).Inc()
}

// Describe implements prometheus.Collector for the gauges.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { m.status.Describe(ch) }

// Collect implements prometheus.Collector: it reads the watched worker's status.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) { m.status.Collect(ch) }

var states = []source.State{
	source.StateRunning, source.StatePaused, source.StateStopped,
	source.StateBackingOff, source.StateQuotaExhausted, source.StateFailed,
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	descLag            = desc("lag_seconds", "Now minus the time of the newest row delivered.", "connector", "report")
	descCursor         = desc("cursor_timestamp_seconds", "Where the report's next read starts (before its lookback), as a Unix time.", "connector", "report")
	descLastSeen       = desc("last_seen_timestamp_seconds", "Time of the newest row delivered, as a Unix time.", "connector", "report")
	descNextPoll       = desc("next_poll_timestamp_seconds", "When the report is next due, as a Unix time.", "connector", "report")
	descReportState    = desc("report_state", "1 for the report's current state, 0 for the others.", "connector", "report", "state")
	descConnectorState = desc("connector_state", "1 for the connector's current state, 0 for the others.", "connector", "state")
	descQuotaUsed      = desc("quota_used_calls", "Calls of the token's daily quota spent today (shared by connectors of one token).", "connector")
	descQuotaLimit     = desc("quota_limit_calls", "The token's daily quota.", "connector")
	descQuotaRemaining = desc("quota_remaining_calls", "Calls of the token's daily quota left today.", "connector")
	descMemory         = desc("producer_memory_bytes", "Bytes of buffered records (in the producer and in the transaction's spool) the connector holds now.", "connector")
	descMemoryLimit    = desc("producer_memory_limit_bytes", "The budget the connector's buffered records draw on: the worker's, shared by all its connectors.", "connector")
	descQuotaReserved  = desc("quota_reserved_calls", "Calls of the token's daily quota reserved today in the offsets topic: at least those spent, at most a block more; a restart or another worker resumes from it.", "connector")
)

// statusCollector reads gauges from a worker's status on each scrape.
type statusCollector struct {
	mu  sync.Mutex
	src StatusSource
	now func() time.Time
}

func (c *statusCollector) watch(src StatusSource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.src = src
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLag, descCursor, descLastSeen, descNextPoll, descReportState,
		descConnectorState, descQuotaUsed, descQuotaLimit, descQuotaRemaining, descQuotaReserved,
		descMemory, descMemoryLimit} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	src := c.src
	c.mu.Unlock()
	if src == nil {
		return
	}
	now := c.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	stamp := func(d *prometheus.Desc, t time.Time, labels ...string) {
		if !t.IsZero() {
			gauge(d, float64(t.UnixNano())/1e9, labels...)
		}
	}
	oneHot := func(d *prometheus.Desc, current source.State, labels ...string) {
		for _, s := range states {
			v := 0.0
			if s == current {
				v = 1
			}
			gauge(d, v, append(labels, string(s))...)
		}
	}
	for _, name := range src.Names() {
		st, err := src.Status(name)
		if err != nil {
			continue
		}
		oneHot(descConnectorState, st.State, name)
		gauge(descQuotaUsed, float64(st.QuotaUsed), name)
		gauge(descQuotaLimit, float64(st.QuotaLimit), name)
		gauge(descQuotaReserved, float64(st.QuotaReserved), name)
		gauge(descMemory, float64(st.ProducerMemory), name)
		gauge(descMemoryLimit, float64(st.ProducerMemoryLimit), name)
		gauge(descQuotaRemaining, float64(max(st.QuotaLimit-st.QuotaUsed, 0)), name)
		for _, r := range st.Reports {
			if lag := lagSeconds(r.LastSeen, now); lag != nil {
				gauge(descLag, *lag, name, r.Key)
			}
			stamp(descCursor, r.Cursor, name, r.Key)
			stamp(descLastSeen, r.LastSeen, name, r.Key)
			stamp(descNextPoll, r.NextPoll, name, r.Key)
			oneHot(descReportState, r.State, name, r.Key)
		}
	}
}
