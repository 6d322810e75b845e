package restapi_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/restapi"
)

// Example shows the wiring: the Metrics exist before the worker, which reports to them
// and hands their hooks to its Kafka clients; the server then watches the worker, and
// PUT /admin/loggers/root changes the level the logger's handler reads.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	level := new(slog.LevelVar) // INFO until PUT /admin/loggers/root changes it
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := restapi.NewMetrics(reg)
	if err != nil {
		log.Error("metrics", "err", err)
		return
	}
	var configs []source.Config // from the configuration file
	worker, err := source.NewWorker(configs,
		source.WriteTo(source.Destination{Seeds: []string{"127.0.0.1:9092"}}), source.KafkaOpts(metrics.KafkaHooks()),
		source.WithObserver(metrics), source.Logger(log))
	if err != nil {
		log.Error("worker", "err", err)
		return
	}
	srv, err := restapi.New(worker, restapi.WithMetrics(metrics), restapi.Logger(log), restapi.LogLevel(level),
		restapi.Address("0.0.0.0:8083"), restapi.BearerToken(source.NewSecret(os.Getenv("WOLKVOX_CONNECT_REST_TOKEN"))))
	if err != nil {
		log.Error("rest api", "err", err)
		return
	}
	// Both stop when ctx ends (Ctrl-C); the API shuts down gracefully.
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	if err := worker.Run(ctx); err != nil {
		log.Error("worker", "err", err)
	}
	if err := <-served; err != nil {
		log.Error("rest api", "err", err)
	}
}
