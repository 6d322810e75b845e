// Package config reads the worker's configuration file: its types, strict YAML loading,
// ${NAME} expansion, secrets, validation and the quota plan, as Prometheus keeps
// config/. Only cmd/wolkvox-connect calls it; nothing here parses flags.
//
// The types to know:
//
//   - [Load] (and [Parse], for bytes) reads a file and returns [Settings], secrets
//     resolved, or an [*Error] listing every [Problem] at once, each with its field,
//     line and fix; [Load]'s doc describes the file and the choices made in reading it.
//   - [Settings] is the whole worker: [Kafka], [SchemaRegistry], [Topics], [REST], [Log],
//     [Limits], an optional virtual [Clock], and one [Connector] per Wolkvox operation.
//     Its build methods (Kafka.Opts, SchemaRegistry.Opts, TLS.Config, Settings.Logger,
//     Connector.SourceConfig, Connector.SourceOpts) turn it into what the engine takes.
//   - [Secret] holds a token or a password: every way of printing it redacts it, and
//     only [Secret.Reveal] returns the value.
//   - [TokenGroup] is the connectors sharing one token; [Settings.QuotaPlan] sums their
//     steady-state calls against its daily budget.
//
// A configuration file may carry a clock block only in tests ([AllowVirtualClock]).
package config
