package connector_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source/connector"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// TestWrongTokenStopsOnlyItsConnector runs two connectors in one worker, one with a
// token Wolkvox refuses: that one fails with the reason, the other goes on delivering.
func TestWrongTokenStopsOnlyItsConnector(t *testing.T) {
	seeds := kafkatest.Fake(t)
	sim, err := simulator.New(simulator.Seed(1), simulator.Location(bogota), simulator.Reports("diagram_13"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	prefix := kafkatest.Topic(t)
	start := time.Now().Add(-3 * time.Hour)
	mk := func(name, token string) connector.Config {
		return connector.Config{Name: name, Server: simulator.DefaultServer, Token: token, Location: bogota,
			DailyQuota: 1000, BaseURL: sim.URL(), Reports: []connector.ReportConfig{{API: "diagram_13", Start: start}}}
	}
	w, err := connector.NewWorker([]connector.Config{mk(prefix+"-good", simulator.DefaultToken), mk(prefix+"-bad", "Secret-XYZ-123")},
		connector.Kafka(seeds), connector.TopicTemplate("{connector}.{report}"), connector.OffsetsTopic(prefix+".offsets"),
		connector.DeadLetterTopic(prefix+".dlq"), connector.Logger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var good, bad connector.Status
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		good, _ = w.Status(prefix + "-good")
		bad, _ = w.Status(prefix + "-bad")
		if bad.State == connector.StateFailed && good.Reports[0].Windows > 0 {
			break
		}
	}
	if bad.State != connector.StateFailed || !strings.Contains(bad.LastError, "token") {
		t.Errorf("the connector with a wrong token: state %s, error %q; want FAILED saying the token is wrong", bad.State, bad.LastError)
	}
	if strings.Contains(bad.LastError, "Secret-XYZ-123") {
		t.Errorf("the error shows the token: %s", bad.LastError)
	}
	if good.State != connector.StateRunning || good.Reports[0].Windows == 0 {
		t.Errorf("the other connector: state %s, %d windows; want RUNNING and delivering", good.State, good.Reports[0].Windows)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
