package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// Defaults of the worker-level settings; the connector-level ones are in package
// source (DefaultInterval...).
const (
	DefaultRESTAddress = "127.0.0.1:8083"
	DefaultTimeZone    = "America/Bogota"
	DefaultLogLevel    = "info"
	DefaultLogFormat   = "text"
)

// Settings is the whole worker configuration, secrets resolved, ready to build from.
// It comes from one YAML file, read by [Load], whose doc describes the file and
// the choices made in reading it. Printing it (%v, %+v, %#v, JSON, YAML, slog) never shows a secret: tokens and
// passwords are held in [Secret].
type Settings struct {
	Kafka          Kafka
	SchemaRegistry SchemaRegistry
	Topics         Topics
	REST           REST
	Log            Log
	Limits         Limits
	// Clock, when set, replaces the wall clock by a fast virtual one: the demo sets it,
	// and test builds read it from the file (see [AllowVirtualClock]).
	Clock *Clock
	// Cluster, when set, makes this worker one of a group of workers that share the
	// connectors; nil: this worker runs them all.
	Cluster    *Cluster
	Connectors []Connector
	// Warnings are what the file allows but is probably a mistake (a REST API open to
	// the network without a token): validate prints them, run logs them at warn.
	Warnings []Problem
}

// Cluster is the group of workers this one joins (see package source/cluster).
type Cluster struct {
	Group             string
	WorkerID          string // empty: host:pid
	AdvertisedURL     string // empty: the REST address, if it names a host
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
}

// Kafka is how the worker reaches Kafka.
type Kafka struct {
	Brokers []string // host:port each
	TLS     TLS
	SASL    SASL
	// TransactionalIDPrefix + a connector's name is the transactional ID its windows
	// commit with (source.TransactionalID); source.DefaultTxnIDPrefix when the file
	// leaves it out.
	TransactionalIDPrefix string
}

// TLS is a TLS client configuration. File paths are absolute or relative to
// the working directory: the loader resolved them against the configuration file's.
type TLS struct {
	Enabled            bool
	CAFile             string // PEM roots; empty: the system's
	CertFile, KeyFile  string // PEM client certificate and key, both or neither
	InsecureSkipVerify bool
}

// SASL is SASL authentication; an empty Mechanism means none.
type SASL struct {
	Mechanism string // "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512"
	Username  string
	Password  Secret
}

// SchemaRegistry is the Confluent-compatible schema registry; an empty URL
// means none.
type SchemaRegistry struct {
	URL      string
	Username string
	Password Secret
	// PreRegistered means the schemas are registered by someone else: the worker looks
	// them up and never registers one.
	PreRegistered bool
	TLS           TLS
}

// Topics names and shapes the topics.
type Topics struct {
	Template          string // {connector}, {server} and {report} are replaced
	Partitions        int32  // -1: the broker's default
	ReplicationFactor int16  // -1: the broker's default
	Configs           map[string]string
	Offsets           string // the compacted topic of offsets
	DeadLetter        string // rows that could not be converted
}

// REST is the worker's HTTP API.
type REST struct {
	Address string // host:port to listen on
	Token   Secret // when set, requests must carry "Authorization: Bearer <token>"
}

// Limits bound what the worker accepts from Wolkvox and how long a report may go
// without progress. They apply to every connector of the worker: source.NewWorker
// gives all its connectors one set of options, and the limits guard the process's
// memory and health, which the connectors share, not one operation's data. The loader
// fills every field (the defaults below when the file leaves it out); a zero field
// (Settings built in code, as the demo's) means the engine's default.
type Limits struct {
	// MaxBodyBytes bounds one answer's body (wolkvox.MaxBodyBytes); default
	// wolkvox.DefaultMaxBodyBytes, 512 MiB.
	MaxBodyBytes int64
	// MaxRowBytes bounds one row's JSON text (wolkvox.MaxRowBytes); a longer row goes to
	// the dead-letter topic. Default wolkvox.DefaultMaxRowBytes, 16 MiB.
	MaxRowBytes int
	// ProducerMemory bounds the memory that buffered records take in all the worker's
	// connectors together (source.ProducerMemory); beyond it a window's rows wait in its
	// spool file. Default source.DefaultProducerMemory, 16 MiB.
	ProducerMemory int64
	// StallTimeout is how long a report may read or commit without progress before its
	// status says stalled (source.StallTimeout); default 5m.
	StallTimeout time.Duration
	// FutureTolerance is how far past now a row's time may lie and still move the
	// report's last_seen (source.FutureTolerance); default 1h.
	FutureTolerance time.Duration
}

// Log is the worker's log output.
type Log struct {
	Level  slog.Level
	Format string // "text" or "json"
}

// Clock is a fast virtual clock: it reads Start at the real instant Origin and
// runs Speed times faster than the wall clock. A simulator given the same three values
// shares the clock.
type Clock struct {
	Start, Origin time.Time
	Speed         float64
}

// Connector is one Wolkvox operation.
type Connector struct {
	// Config is the connector's configuration without its token: Config.Token is always
	// empty, so that printing Settings can never show it. SourceConfig returns the Config
	// to run, token included.
	Config source.Config
	Token  Secret
	// BaseURL replaces https://wv{server}.wolkvox.com (a proxy, the simulator); empty
	// means the default.
	BaseURL string
	// MaxInFlight is the calls at once the token allows this worker: 1 or 2. Connectors
	// sharing a token share one limiter of this size (see [Settings.TokenGroups]).
	MaxInFlight int
}

// SourceConfig returns the connector's configuration with its token, base URL and
// calls in flight, to run it.
func (c *Connector) SourceConfig() source.Config {
	cfg := c.Config
	cfg.Token, cfg.BaseURL, cfg.MaxInFlight = c.Token, c.BaseURL, c.MaxInFlight
	return cfg
}

// SourceOpts returns the wolkvox.Client options of this operation: server, token, time
// zone and, when set, the base URL. The caller adds what it shares across connectors
// (a Limiter per token group) and its logger.
func (c *Connector) SourceOpts() []wolkvox.Opt {
	opts := []wolkvox.Opt{wolkvox.Server(c.Config.Server), wolkvox.Token(c.Token.Reveal()), wolkvox.Location(c.Config.Location)}
	if c.BaseURL != "" {
		opts = append(opts, wolkvox.BaseURL(c.BaseURL))
	}
	return opts
}

// Opts returns the franz-go options to reach the cluster: seed brokers, TLS and SASL.
// It reads the TLS files again, so a rotated certificate is picked up by a new client.
func (k Kafka) Opts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(k.Brokers...)}
	tc, err := k.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("kafka.tls: %w", err)
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	mech, err := k.SASL.mechanism()
	if err != nil {
		return nil, fmt.Errorf("kafka.sasl: %w", err)
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

// mechanism builds the SASL mechanism, nil when none is configured.
func (s SASL) mechanism() (sasl.Mechanism, error) {
	switch s.Mechanism {
	case "":
		return nil, nil
	case "PLAIN":
		return plain.Auth{User: s.Username, Pass: s.Password.Reveal()}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.Username, Pass: s.Password.Reveal()}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.Username, Pass: s.Password.Reveal()}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("%w: unknown SASL mechanism %q", ErrInvalid, s.Mechanism)
}

// Opts returns the franz-go schema registry client options: URL, basic auth, TLS and
// the User-Agent "wolkvox-connect/" + version (the worker's build version). It returns
// nil when no registry is configured.
func (s SchemaRegistry) Opts(version string) ([]sr.ClientOpt, error) {
	if s.URL == "" {
		return nil, nil
	}
	opts := []sr.ClientOpt{sr.URLs(s.URL), sr.UserAgent("wolkvox-connect/" + version)}
	if s.Username != "" {
		opts = append(opts, sr.BasicAuth(s.Username, s.Password.Reveal()))
	}
	tc, err := s.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("schema_registry.tls: %w", err)
	}
	if tc != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		opts = append(opts, sr.HTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}))
	}
	return opts, nil
}

// Config builds the tls.Config, nil when TLS is not enabled. TLS 1.2 is the minimum.
func (t TLS) Config() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if t.CAFile != "" {
		pem, err := readLimited(t.CAFile, maxPEMFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: %w: no PEM certificate in it", t.CAFile, ErrInvalid)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		certPEM, err := readLimited(t.CertFile, maxPEMFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file: %w", err)
		}
		keyPEM, err := readLimited(t.KeyFile, maxPEMFile)
		if err != nil {
			return nil, fmt.Errorf("key_file: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("cert_file and key_file: %w: %w", ErrInvalid, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Logger returns a logger writing to w at the configured level and format.
func (l Log) Logger(w io.Writer) *slog.Logger {
	ho := &slog.HandlerOptions{Level: l.Level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// Redactor returns one Redactor holding every secret of the settings: each
// connector's Wolkvox token, the Kafka SASL password, the schema registry's password
// and its Basic credentials, and the REST bearer token. Upstream servers echo what they
// were sent (a registry's error page quoting the Authorization header, a SASL failure
// quoting its input); everything built from these settings logs through
// [Settings.Logger] and hands this Redactor to the connectors (source.WithRedactor),
// so such text is hidden in logs, status errors and the REST API. TLS keys are read
// from unencrypted PEM files: there is no passphrase to hide.
func (s *Settings) Redactor() *source.Redactor {
	r := source.NewRedactor()
	s.HideSecrets(r)
	return r
}

// HideSecrets adds the settings' secrets to r (see Redactor), for a Redactor made
// before the file was read.
func (s *Settings) HideSecrets(r *source.Redactor) {
	for i := range s.Connectors {
		r.Add(s.Connectors[i].Token.Reveal())
	}
	r.Add(s.Kafka.SASL.Password.Reveal(), s.REST.Token.Reveal())
	r.AddBasicAuth(s.SchemaRegistry.Username, s.SchemaRegistry.Password.Reveal())
}

// Logger returns the process logger of these settings, writing to w, and the
// Redactor it hides secrets with: pass the same Redactor to the connectors.
func (s *Settings) Logger(w io.Writer) (*slog.Logger, *source.Redactor) {
	r := s.Redactor()
	return slog.New(r.Handler(s.Log.Logger(w).Handler())), r
}

// Clock returns the virtual clock.
func (c *Clock) FastClock() source.FastClock {
	return source.FastClock{Origin: c.Origin, Start: c.Start, Speed: c.Speed}
}

// UnknownConnectorError is what [Settings.Connector] returns for a name the file does
// not have, or for no name in a file of several connectors. It matches
// [source.ErrUnknownConnector] with errors.Is.
type UnknownConnectorError struct {
	Name       string
	Connectors []string // the file's, in file order
}

func (e *UnknownConnectorError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("has %d connectors (%s): choose one", len(e.Connectors), strings.Join(e.Connectors, ", "))
	}
	return fmt.Sprintf("has no connector %q; its connectors: %s", e.Name, strings.Join(e.Connectors, ", "))
}

// Is makes errors.Is(err, source.ErrUnknownConnector) true.
func (e *UnknownConnectorError) Is(target error) bool { return target == source.ErrUnknownConnector }

// Connector returns the connector called name as the worker runs it, without any I/O:
// defaults applied (the catalog's default parameters included, so report keys and
// offset keys match what it writes) and its topics named. An empty name picks the only
// connector of a file that has one.
func (s *Settings) Connector(name string) (*source.Connector, error) {
	names := make([]string, len(s.Connectors))
	for i := range s.Connectors {
		names[i] = s.Connectors[i].Config.Name
	}
	i := slices.Index(names, name)
	switch {
	case name == "" && len(names) == 1:
		i = 0
	case i < 0:
		return nil, &UnknownConnectorError{Name: name, Connectors: names}
	}
	c, err := source.New(s.Connectors[i].SourceConfig(), source.WriteTo(s.Destination()))
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", name, err)
	}
	return c, nil
}
