package restapi

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/connectortest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// TestRealWorker drives a real *source.Worker on kfake and the simulator through
// the API: it delivers, is stopped with PUT stop, has its offsets reset with DELETE
// (refused while it ran), and is started again with PUT resume, with /status, /offsets
// and /metrics following each step.
func TestRealWorker(t *testing.T) {
	seeds := kafkatest.Fake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := connectortest.StartSimulator(t, simulator.Seed(3), simulator.Location(cot), simulator.FlatRate(), simulator.DefaultRowsPerMinute(2), simulator.Reports("diagram_13"))

	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := source.Config{
		Name: "ops", Server: simulator.DefaultServer, Token: source.NewSecret(simulator.DefaultToken), Location: cot, DailyQuota: 10000, BaseURL: sim.URL(),
		// Two hours behind: the first windows are due at once.
		Reports: []source.ReportConfig{{API: "diagram_13", Start: time.Now().Add(-2 * time.Hour).Truncate(time.Minute)}},
	}
	w, err := source.NewWorker([]source.Config{cfg},
		source.WriteTo(source.Destination{Seeds: seeds}), source.KafkaOpts(m.KafkaHooks()), source.WithObserver(m), source.Logger(testLogger()),
		source.SourceOpts(wolkvox.Backoff(10*time.Millisecond, 100*time.Millisecond, time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(w, WithMetrics(m), BearerToken(source.NewSecret("t0k")), Logger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("worker Run: %v", err)
		}
	}()

	getJSON := func(path string, into any) {
		t.Helper()
		a := do(t, h, "GET", path, "", "t0k")
		if a.status != 200 {
			t.Fatalf("GET %s: HTTP %d\n%s", path, a.status, a.body)
		}
		if err := json.Unmarshal(a.body, into); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, a.body)
		}
	}
	status := func() statusView {
		t.Helper()
		var st statusView
		getJSON("/connectors/ops/status", &st)
		return st
	}
	// Waiting for the worker is not a timed assertion: the deadline only bounds a hang.
	deadline := time.Now().Add(60 * time.Second)
	for st := status(); st.Reports[0].Windows == 0; st = status() {
		if time.Now().After(deadline) {
			t.Fatalf("no window committed within a minute: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}

	var offs offsetsView
	getJSON("/connectors/ops/offsets", &offs)
	if len(offs.Offsets) != 1 || offs.Offsets[0].Partition["report"] != "diagram_13" || offs.Offsets[0].Partition["server"] != simulator.DefaultServer {
		t.Fatalf("offsets after a window: %+v", offs)
	}
	if a := do(t, h, "DELETE", "/connectors/ops/offsets", "", "t0k"); a.status != 409 {
		t.Fatalf("DELETE offsets of a running connector: HTTP %d, want 409\n%s", a.status, a.body)
	}

	if a := do(t, h, "PUT", "/connectors/ops/stop", "", "t0k"); a.status != 202 {
		t.Fatalf("PUT stop: HTTP %d\n%s", a.status, a.body)
	}
	st := status()
	if st.Connector.WolkvoxState != source.StateStopped || st.Reports[0].State != source.StateStopped {
		t.Fatalf("after PUT stop: connector %s, report %s; want STOPPED", st.Connector.State, st.Reports[0].State)
	}
	rowsBefore := st.Reports[0].Rows
	if rowsBefore == 0 {
		t.Errorf("no rows delivered before the stop: %+v", st.Reports[0])
	}
	if a := do(t, h, "GET", "/readyz", "", ""); a.status != 200 {
		t.Errorf("readyz of a deliberately stopped worker: HTTP %d\n%s", a.status, a.body)
	}

	if a := do(t, h, "DELETE", "/connectors/ops/offsets", "", "t0k"); a.status != 200 {
		t.Fatalf("DELETE offsets: HTTP %d\n%s", a.status, a.body)
	}
	getJSON("/connectors/ops/offsets", &offs)
	if len(offs.Offsets) != 0 {
		t.Fatalf("offsets after DELETE: %+v", offs)
	}

	if a := do(t, h, "PUT", "/connectors/ops/resume", "", "t0k"); a.status != 202 {
		t.Fatalf("PUT resume: HTTP %d\n%s", a.status, a.body)
	}
	if st := status(); st.Connector.WolkvoxState == source.StateStopped || st.Connector.WolkvoxState == source.StateFailed {
		t.Fatalf("after PUT resume: %s, want it running again", st.Connector.State)
	}
	// With its offsets gone, the fresh instance starts over from the configured start.
	deadline = time.Now().Add(60 * time.Second)
	for st := status(); st.Reports[0].Windows == 0; st = status() {
		if time.Now().After(deadline) {
			t.Fatalf("no window committed after resume: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	getJSON("/connectors/ops/offsets", &offs)
	if len(offs.Offsets) != 1 {
		t.Fatalf("offsets after resume: %+v", offs)
	}

	fams, _ := scrape(t, h, "t0k")
	if v, _ := value(t, fams, "wolkvox_connect_windows_total", "connector", "ops", "report", "diagram_13"); v < 2 {
		t.Errorf("windows_total = %v, want the windows of both instances (at least 2)", v)
	}
	if v, _ := value(t, fams, "wolkvox_connect_rows_total", "connector", "ops", "report", "diagram_13"); v < float64(rowsBefore) {
		t.Errorf("rows_total = %v, want at least the %d rows of the first instance", v, rowsBefore)
	}
	if v, _ := value(t, fams, "wolkvox_connect_transactions_total", "connector", "ops", "report", "diagram_13", "outcome", OutcomeCommitted); v < 2 {
		t.Errorf("committed transactions = %v, want at least 2", v)
	}
	if v, _ := value(t, fams, "wolkvox_connect_calls_total", "connector", "ops", "report", "diagram_13", "class", "ok"); v < 1 {
		t.Errorf("ok calls = %v, want at least 1", v)
	}
	if v, ok := value(t, fams, "wolkvox_connect_quota_used_calls", "connector", "ops"); !ok || v < 2 {
		t.Errorf("quota_used_calls = %v (present %v), want at least 2", v, ok)
	}
	if _, ok := fams["wolkvox_connect_kafka_produce_bytes_total"]; !ok {
		t.Error("no franz-go metrics from the worker's clients")
	}
}
