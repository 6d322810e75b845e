package config

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/cluster"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// SourceConfigs are the configurations of every connector of the file, tokens
// included, in file order: what [source.NewWorker] runs.
func (s *Settings) SourceConfigs() []source.Config {
	configs := make([]source.Config, len(s.Connectors))
	for i := range s.Connectors {
		configs[i] = s.Connectors[i].SourceConfig()
	}
	return configs
}

// WorkerOpts are the engine options the settings describe: the Kafka cluster, the
// encoder (the Schema Registry when one is configured), topics, limits and, in tests
// and the demo, the virtual clock. Logs go to log, with every secret red knows hidden
// (see [Settings.Logger]); version names the worker to the Schema Registry. What the
// file leaves out is left out here too, so the engine's defaults stay the only ones.
func (s *Settings) WorkerOpts(log *slog.Logger, red *source.Redactor, version string) ([]source.Opt, error) {
	kopts, err := s.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	encoder, err := s.encoder(log, version)
	if err != nil {
		return nil, err
	}
	opts := []source.Opt{
		source.WriteTo(s.Destination(kopts...)),
		source.Encoder(encoder),
		source.Logger(log),
		source.WithRedactor(red),
	}
	opts = append(opts, s.Limits.opts()...)
	if s.Clock != nil {
		opts = append(opts, source.WithClock(s.Clock.FastClock()))
	}
	if s.Cluster != nil {
		opts = append(opts, source.Assigned())
	}
	return opts, nil
}

// Member is the group membership of a worker built with [Settings.WorkerOpts] (which
// makes it wait for its assignment), logging to log; nil without a cluster block. Its
// worker ID and advertised URL are what [Settings.WorkerID] and [Settings.AdvertisedURL]
// say; bound tells the address the REST API listens on once it does ("" before).
func (s *Settings) Member(w cluster.Worker, log *slog.Logger, bound func() string) (*cluster.Member, error) {
	if s.Cluster == nil {
		return nil, nil
	}
	advertise := func() string { return s.AdvertisedURL(bound()) }
	// The group client reaches Kafka as the worker does (its destination's options).
	return cluster.New(s.Cluster.Group, w, cluster.WorkerID(s.WorkerID()), cluster.AdvertisedURL(advertise),
		cluster.SessionTimeout(s.Cluster.SessionTimeout, s.Cluster.HeartbeatInterval), cluster.Logger(log))
}

// WorkerID names this worker in statuses: the cluster block's worker_id, else the host
// name and the REST port (Kafka Connect shows host:port), else empty (the REST API then
// names itself by its address).
func (s *Settings) WorkerID() string {
	if s.Cluster != nil && s.Cluster.WorkerID != "" {
		return s.Cluster.WorkerID
	}
	if s.Cluster == nil {
		return ""
	}
	host, _ := os.Hostname()
	_, port, err := net.SplitHostPort(s.REST.Address)
	if err != nil || host == "" {
		return ""
	}
	return net.JoinHostPort(host, port)
}

// AdvertisedURL is where the other workers of the group reach this one's REST API: the
// cluster block's advertised_url, else http:// and the REST address when it names a
// host, else http:// and the host name with the REST port. A REST address on port 0
// takes its port from bound, the address the API listens on ("" before it does).
func (s *Settings) AdvertisedURL(bound string) string {
	if s.Cluster == nil {
		return ""
	}
	if s.Cluster.AdvertisedURL != "" {
		return s.Cluster.AdvertisedURL
	}
	host, port, err := net.SplitHostPort(s.REST.Address)
	if err != nil {
		return ""
	}
	if port == "0" {
		if _, port, err = net.SplitHostPort(bound); err != nil {
			return ""
		}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if host, err = os.Hostname(); err != nil {
			return ""
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Destination is where the file's connectors write, reached with the client options
// kopts (those of [Kafka.Opts], for a writer).
func (s *Settings) Destination(kopts ...kgo.Opt) source.Destination {
	return source.Destination{
		Seeds: s.Kafka.Brokers, ClientOpts: kopts, TransactionalIDPrefix: s.Kafka.TransactionalIDPrefix,
		TopicTemplate: s.Topics.Template, OffsetsTopic: s.Topics.Offsets, DeadLetterTopic: s.Topics.DeadLetter,
		NewTopics: sink.TopicSettings{Partitions: s.Topics.Partitions, ReplicationFactor: s.Topics.ReplicationFactor, Configs: s.Topics.Configs},
	}
}

// opts are the engine options of the limits block; a zero limit is left to the
// engine's default.
func (l Limits) opts() []source.Opt {
	var opts []source.Opt
	var src []wolkvox.Opt
	if l.MaxBodyBytes > 0 {
		src = append(src, wolkvox.MaxBodyBytes(l.MaxBodyBytes))
	}
	if l.MaxRowBytes > 0 {
		src = append(src, wolkvox.MaxRowBytes(l.MaxRowBytes))
	}
	if len(src) > 0 {
		opts = append(opts, source.SourceOpts(src...))
	}
	if l.ProducerMemory > 0 {
		// One budget for all the worker's connectors: opts are given to each of them.
		opts = append(opts, source.ProducerMemory(sink.NewBudget(l.ProducerMemory)))
	}
	if l.StallTimeout > 0 {
		opts = append(opts, source.StallTimeout(l.StallTimeout))
	}
	if l.FutureTolerance > 0 {
		opts = append(opts, source.FutureTolerance(l.FutureTolerance))
	}
	return opts
}

// encoder is the Schema Registry encoder when one is configured, else single-object
// encoding.
func (s *Settings) encoder(log *slog.Logger, version string) (*schemas.Encoder, error) {
	opts, err := s.registry(version)
	if err != nil {
		return nil, err
	}
	if len(opts) > 0 {
		opts = append(opts, schemas.RequirePreRegistered(s.SchemaRegistry.PreRegistered))
	}
	return schemas.NewEncoder(append(opts, schemas.WithLogger(log))...)
}

// Decoder reads events in both wire formats: single-object encoding with the built-in
// schemas, the Confluent format with the configured Schema Registry (version names the
// reader to it). It logs to log.
func (s *Settings) Decoder(log *slog.Logger, version string) (*schemas.Decoder, error) {
	opts, err := s.registry(version)
	if err != nil {
		return nil, err
	}
	return schemas.NewDecoder(append(opts, schemas.WithLogger(log))...)
}

// registry is the option of the configured Schema Registry's client; none without one.
func (s *Settings) registry(version string) ([]schemas.Opt, error) {
	ropts, err := s.SchemaRegistry.Opts(version)
	if err != nil || len(ropts) == 0 {
		return nil, err
	}
	cl, err := sr.NewClient(ropts...)
	if err != nil {
		return nil, fmt.Errorf("schema_registry: %w", err)
	}
	return []schemas.Opt{schemas.Registry(cl)}, nil
}
