package restapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// scrape fetches /metrics through h and parses the text format.
func scrape(t *testing.T, h http.Handler, token string) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	a := do(t, h, "GET", "/metrics", "", token)
	if a.status != 200 {
		t.Fatalf("GET /metrics: HTTP %d\n%s", a.status, a.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(a.body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, a.body)
	}
	return fams, a.body
}

// value returns the value of the series of name whose labels include labels (pairs).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range fam.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, MetricsClock(func() time.Time { return fixedNow }), BuildVersion("v1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	fw := newFake()
	srv, err := New(fw, WithMetrics(m), BearerToken(source.NewSecret("metrics-token")))
	if err != nil {
		t.Fatal(err)
	}
	transient := &wolkvox.ResponseError{StatusCode: 500, Class: wolkvox.ClassTransient}
	m.Call("alpha", "act_3", wolkvox.Call{Report: "act_3", Attempt: 1, Status: 200, Class: wolkvox.ClassOK, Rows: 5, Duration: 300 * time.Millisecond})
	m.Call("alpha", "act_3", wolkvox.Call{Report: "act_3", Attempt: 2, Status: 500, Class: wolkvox.ClassTransient, Duration: time.Second, Err: transient})
	m.Call("alpha", "act_3", wolkvox.Call{Report: "act_3", Attempt: 1, Class: wolkvox.ClassCanceled, Err: context.Canceled})
	mismatch := &wolkvox.ResponseError{StatusCode: 200, Class: wolkvox.ClassTransient, Cause: wolkvox.ErrCountMismatch}
	m.Call("alpha", "chat_1", wolkvox.Call{Report: "chat_1", Attempt: 1, Status: 200, Class: wolkvox.ClassTransient, Err: mismatch})
	m.Call("alpha", "diagram_13", wolkvox.Call{Report: "diagram_13", Attempt: 1, Status: 404, Class: wolkvox.ClassNoData})
	m.Window("alpha", "act_3,cod_act=X", source.WindowStats{Rows: 5, DeadLetters: 1, Duplicates: 2})
	m.Window("alpha", "act_3,cod_act=X", source.WindowStats{Rows: 3, FutureRows: 2})
	m.Split("alpha", "act_3,cod_act=X")
	m.Transaction("alpha", "act_3,cod_act=X", true)
	m.Transaction("alpha", "act_3,cod_act=X", true)
	m.Transaction("alpha", "act_3,cod_act=X", false)

	fams, body := scrape(t, srv.Handler(), "metrics-token")
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wolkvox_connect_calls_total", []string{"connector", "alpha", "report", "act_3", "class", "ok"}, 1},
		{"wolkvox_connect_calls_total", []string{"connector", "alpha", "report", "act_3", "class", "transient"}, 1},
		{"wolkvox_connect_calls_total", []string{"connector", "alpha", "report", "act_3", "class", "canceled"}, 1},
		{"wolkvox_connect_calls_total", []string{"connector", "alpha", "report", "diagram_13", "class", "no_data"}, 1},
		{"wolkvox_connect_upstream_errors_total", []string{"connector", "alpha", "report", "act_3", "class", "transient"}, 1},
		{"wolkvox_connect_rejected_answers_total", []string{"connector", "alpha", "report", "chat_1", "reason", "count_mismatch"}, 1},
		{"wolkvox_connect_call_duration_seconds", []string{"connector", "alpha", "report", "act_3"}, 3},
		{"wolkvox_connect_rows_total", []string{"connector", "alpha", "report", "act_3,cod_act=X"}, 8},
		{"wolkvox_connect_rows_total", []string{"connector", "beta", "report", "chat_3"}, 0}, // created by Watch
		{"wolkvox_connect_dead_letters_total", []string{"connector", "alpha", "report", "act_3,cod_act=X"}, 1},
		{"wolkvox_connect_duplicates_total", []string{"connector", "alpha", "report", "act_3,cod_act=X"}, 2},
		{"wolkvox_connect_future_rows_total", []string{"connector", "alpha", "report", "act_3,cod_act=X"}, 2},
		{"wolkvox_connect_build_info", []string{"version", "v1.2.3", "goversion", runtime.Version()}, 1},
		{"wolkvox_connect_windows_total", []string{"connector", "alpha", "report", "act_3,cod_act=X"}, 2},
		{"wolkvox_connect_window_splits_total", []string{"connector", "alpha", "report", "act_3,cod_act=X"}, 1},
		{"wolkvox_connect_transactions_total", []string{"connector", "alpha", "report", "act_3,cod_act=X", "outcome", "committed"}, 2},
		{"wolkvox_connect_transactions_total", []string{"connector", "alpha", "report", "act_3,cod_act=X", "outcome", "aborted"}, 1},
		{"wolkvox_connect_lag_seconds", []string{"connector", "alpha", "report", "act_3,cod_act=X"}, 90},
		{"wolkvox_connect_cursor_timestamp_seconds", []string{"connector", "alpha", "report", "act_3,cod_act=X"}, float64(fixedNow.Add(-time.Minute).Unix())},
		{"wolkvox_connect_last_seen_timestamp_seconds", []string{"connector", "alpha", "report", "act_3,cod_act=X"}, float64(fixedNow.Add(-90 * time.Second).Unix())},
		{"wolkvox_connect_next_poll_timestamp_seconds", []string{"connector", "alpha", "report", "diagram_13"}, float64(fixedNow.Add(30 * time.Second).Unix())},
		{"wolkvox_connect_quota_used_calls", []string{"connector", "alpha"}, 10},
		{"wolkvox_connect_quota_limit_calls", []string{"connector", "alpha"}, 1000},
		{"wolkvox_connect_producer_memory_bytes", []string{"connector", "alpha"}, 4096},
		{"wolkvox_connect_producer_memory_limit_bytes", []string{"connector", "alpha"}, 16 << 20},
		{"wolkvox_connect_quota_remaining_calls", []string{"connector", "alpha"}, 990},
		{"wolkvox_connect_quota_remaining_calls", []string{"connector", "beta"}, 0},
		{"wolkvox_connect_report_state", []string{"connector", "alpha", "report", "diagram_13", "state", "BACKING_OFF"}, 1},
		{"wolkvox_connect_report_state", []string{"connector", "alpha", "report", "diagram_13", "state", "RUNNING"}, 0},
		{"wolkvox_connect_connector_state", []string{"connector", "beta", "state", "STOPPED"}, 1},
		{"wolkvox_connect_connector_state", []string{"connector", "beta", "state", "FAILED"}, 0},
	}
	for _, tt := range tests {
		got, ok := value(t, fams, tt.name, tt.labels...)
		switch {
		case !ok:
			t.Errorf("%s%q: no such series", tt.name, tt.labels)
		case got != tt.want:
			t.Errorf("%s%q = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, absent := range [][]string{
		{"wolkvox_connect_upstream_errors_total", "class", "canceled"},
		{"wolkvox_connect_upstream_errors_total", "class", "no_data"},
		{"wolkvox_connect_lag_seconds", "report", "diagram_13"}, // nothing delivered yet
	} {
		if _, ok := value(t, fams, absent[0], absent[1:]...); ok {
			t.Errorf("%s%q exists; it must not", absent[0], absent[1:])
		}
	}
	checkNames(t, fams)
	if bytes.Contains(body, []byte(secretToken)) || bytes.Contains(body, []byte("metrics-token")) {
		t.Error("/metrics shows a token")
	}
	// The state gauges follow the worker without any observer call.
	if err := fw.Pause("alpha"); err != nil {
		t.Fatal(err)
	}
	fams, _ = scrape(t, srv.Handler(), "metrics-token")
	if v, _ := value(t, fams, "wolkvox_connect_connector_state", "connector", "alpha", "state", "PAUSED"); v != 1 {
		t.Errorf("connector_state PAUSED = %v after Pause, want 1", v)
	}
}

// checkNames holds every metric to the naming rules: our prefix, and _total only on
// counters (Prometheus reserves it for them; a gauge named so misleads rate()).
func checkNames(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	for name, fam := range fams {
		if !strings.HasPrefix(name, Namespace+"_") {
			t.Errorf("metric %s lacks the %s_ prefix", name, Namespace)
		}
		if strings.HasSuffix(name, "_total") && fam.GetType() != dto.MetricType_COUNTER {
			t.Errorf("metric %s ends in _total but is a %s", name, fam.GetType())
		}
	}
}

func TestNewMetricsRejects(t *testing.T) {
	if _, err := NewMetrics(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil registry: %v, want ErrConfig", err)
	}
	if _, err := NewMetrics(prometheus.NewRegistry(), MetricsClock(nil)); !errors.Is(err, ErrConfig) {
		t.Errorf("nil clock: %v, want ErrConfig", err)
	}
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("a second Metrics on the same registry registered")
	}
}

// TestDefaultMetrics: without a Metrics, /metrics still serves the status gauges and the
// Go runtime's, and no counters that nothing would ever increment.
func TestDefaultMetrics(t *testing.T) {
	srv, err := New(newFake(), Clock(func() time.Time { return fixedNow }))
	if err != nil {
		t.Fatal(err)
	}
	fams, _ := scrape(t, srv.Handler(), "")
	if v, ok := value(t, fams, "wolkvox_connect_lag_seconds", "connector", "alpha", "report", "act_3,cod_act=X"); !ok || v != 90 {
		t.Errorf("lag_seconds = %v (present %v), want 90", v, ok)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	if _, ok := fams["wolkvox_connect_rows_total"]; ok {
		t.Error("rows_total served without a Metrics the worker reports to")
	}
}

// TestKafkaHooksManyClients: the worker builds several Kafka clients with the same
// hooks, opening and closing some; kprom alone would panic on the second one.
func TestKafkaHooksManyClients(t *testing.T) {
	seeds := kafkatest.Fake(t)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(newFake(), WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, seeds, topic, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 3 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), m.KafkaHooks())
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			cl.Close() // the last stays open, as the worker's producers do
		} else {
			defer cl.Close()
		}
	}
	fams, _ := scrape(t, srv.Handler(), "")
	checkNames(t, fams)
	if v, ok := value(t, fams, "wolkvox_connect_kafka_produce_bytes_total", "topic", topic); !ok || v <= 0 {
		t.Errorf("kafka produce_bytes_total = %v (present %v), want the bytes of all three clients", v, ok)
	}
	var connects float64
	for _, s := range fams["wolkvox_connect_kafka_connects_total"].GetMetric() {
		connects += s.GetCounter().GetValue()
	}
	if connects < 3 {
		t.Errorf("connects_total sums to %v, want at least one connection per client (3)", connects)
	}
	if v, ok := value(t, fams, "wolkvox_connect_kafka_buffered_produce_records"); !ok || v != 0 {
		t.Errorf("buffered_produce_records = %v (present %v), want 0 once produced", v, ok)
	}
	if n := len(fams["wolkvox_connect_kafka_buffered_produce_records"].GetMetric()); n != 1 {
		t.Errorf("%d buffered_produce_records series, want one sum over clients", n)
	}
}
