package main

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // every zone name works, even where the system has no zone database

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr"
	"go.yaml.in/yaml/v3"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// Defaults of the worker-level settings; the connector-level ones are in package
// connector (DefaultInterval...).
const (
	DefaultRESTAddress = "127.0.0.1:8083"
	DefaultTimeZone    = "America/Bogota"
	DefaultLogLevel    = "info"
	DefaultLogFormat   = "text"
)

// Limits on files the configuration points at: a secret is a line, a PEM bundle a few
// certificates. Anything larger is a mistake (a wrong path), not a secret.
const (
	maxSecretFile = 64 << 10
	maxPEMFile    = 1 << 20
)

// Bounds of the values the file may hold, beyond their types. Each refusal names its
// bound, so the numbers are here once.
const (
	// minBodyBytes and minRowBytes are the smallest limits.max_body_bytes and
	// max_row_bytes: a token_info answer or an ordinary row is a few hundred bytes, but
	// under these a busy window's answer, or a survey row with long comments, would be
	// refused every time and the report would never advance.
	minBodyBytes = 1 << 20
	minRowBytes  = 64 << 10
	// minStallTimeout is the shortest limits.stall_timeout: one call may take 60 s at
	// the API and a commit some seconds, so under 30 s healthy reports would read
	// stalled (and /readyz not ready) on every slow answer.
	minStallTimeout = 30 * time.Second
	// minFutureTolerance is the shortest limits.future_tolerance: under a minute, a
	// server clock a few seconds ahead would count ordinary rows as future ones.
	minFutureTolerance = time.Minute
	// minInterval is the shortest steady-state interval: Wolkvox suggests a call every
	// 5 minutes, and under a minute a report spends its daily budget on nearly empty
	// windows (package connector refuses it too).
	minInterval = time.Minute
	// maxPartitions bounds topics.partitions. Kafka sets no hard limit, but every
	// partition costs the brokers file handles, memory and leader elections (a broker
	// is comfortable with a few thousand), and a report topic gets nowhere near the
	// throughput that would need more: a larger value is a typo, and one near 2^31 makes
	// the broker refuse the topic only once the worker runs.
	maxPartitions = 10000
	// maxStartAhead is how far in the future a start may be; earliestStart the earliest
	// start. Wolkvox keeps no data from before the platform existed, and a start years
	// ahead would only park a report: both are typos (1900, 9999, 2062 for 2026).
	maxStartAhead = 366 * 24 * time.Hour
)

// shortDuration writes d as it is written in the file: 1m, not 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") || strings.HasSuffix(s, "h0m0s") {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "0s"), "0m")
	}
	return s
}

// earliestStart is the earliest start a report may have: 2000-01-01 UTC.
var earliestStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// checkInstant says what is wrong with t as a start or end of a report's range, ""
// when nothing is: it must lie between earliestStart and now plus maxStartAhead.
func checkInstant(t, now time.Time) string {
	switch {
	case t.Before(earliestStart):
		return fmt.Sprintf("%s is before %s", t.Format(time.DateOnly), earliestStart.Format(time.DateOnly))
	case t.After(now.Add(maxStartAhead)):
		return fmt.Sprintf("%s is more than a year after now (%s)", t.Format(time.DateOnly), now.Format(time.DateOnly))
	}
	return ""
}

// processStart is when this process started: the default origin of a demo clock, so
// that the virtual clock reads clock.start when the worker starts.
var processStart = time.Now()

// Settings is the whole worker configuration, secrets resolved, ready to build from.
// It comes from one YAML file, read by [LoadSettings], whose doc describes the file and
// the choices made in reading it. Printing it (%v, %+v, %#v, JSON, YAML, slog) never shows a secret: tokens and
// passwords are held in [secret].
type Settings struct {
	Kafka          KafkaSettings
	SchemaRegistry SchemaRegistrySettings
	Topics         TopicSettings
	REST           RESTSettings
	Log            LogSettings
	Limits         LimitSettings
	// Clock, when set, replaces the wall clock by a fast virtual one: the demo sets it,
	// and test builds read it from the file (see virtualClockAllowed).
	Clock      *ClockSettings
	Connectors []ConnectorSettings
	// Warnings are what the file allows but is probably a mistake (a REST API open to
	// the network without a token): validate prints them, run logs them at warn.
	Warnings []Problem
}

// KafkaSettings is how the worker reaches Kafka.
type KafkaSettings struct {
	Brokers []string // host:port each
	TLS     TLSSettings
	SASL    SASLSettings
}

// TLSSettings is a TLS client configuration. File paths are absolute or relative to
// the working directory: the loader resolved them against the configuration file's.
type TLSSettings struct {
	Enabled            bool
	CAFile             string // PEM roots; empty: the system's
	CertFile, KeyFile  string // PEM client certificate and key, both or neither
	InsecureSkipVerify bool
}

// SASLSettings is SASL authentication; an empty Mechanism means none.
type SASLSettings struct {
	Mechanism string // "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512"
	Username  string
	Password  secret
}

// SchemaRegistrySettings is the Confluent-compatible schema registry; an empty URL
// means none.
type SchemaRegistrySettings struct {
	URL      string
	Username string
	Password secret
	// PreRegistered means the schemas are registered by someone else: the worker looks
	// them up and never registers one.
	PreRegistered bool
	TLS           TLSSettings
}

// TopicSettings names and shapes the topics.
type TopicSettings struct {
	Template          string // {connector}, {server} and {report} are replaced
	Partitions        int32  // -1: the broker's default
	ReplicationFactor int16  // -1: the broker's default
	Configs           map[string]string
	Offsets           string // the compacted topic of offsets
	DeadLetter        string // rows that could not be converted
}

// RESTSettings is the worker's HTTP API.
type RESTSettings struct {
	Address string // host:port to listen on
	Token   secret // when set, requests must carry "Authorization: Bearer <token>"
}

// LimitSettings bound what the worker accepts from Wolkvox and how long a report may go
// without progress. They apply to every connector of the worker: source.NewWorker
// gives all its connectors one set of options, and the limits guard the process's
// memory and health, which the connectors share, not one operation's data. The loader
// fills every field (the defaults below when the file leaves it out); a zero field
// (Settings built in code, as the demo's) means the engine's default.
type LimitSettings struct {
	// MaxBodyBytes bounds one answer's body (wolkvox.MaxBodyBytes); default
	// wolkvox.DefaultMaxBodyBytes, 512 MiB.
	MaxBodyBytes int64
	// MaxRowBytes bounds one row's JSON text (wolkvox.MaxRowBytes); a longer row goes to
	// the dead-letter topic. Default wolkvox.DefaultMaxRowBytes, 16 MiB.
	MaxRowBytes int
	// StallTimeout is how long a report may read or commit without progress before its
	// status says stalled (source.StallTimeout); default 5m.
	StallTimeout time.Duration
	// FutureTolerance is how far past now a row's time may lie and still move the
	// report's last_seen (source.FutureTolerance); default 1h.
	FutureTolerance time.Duration
}

// LogSettings is the worker's log output.
type LogSettings struct {
	Level  slog.Level
	Format string // "text" or "json"
}

// ClockSettings is a fast virtual clock: it reads Start at the real instant Origin and
// runs Speed times faster than the wall clock. A simulator given the same three values
// shares the clock.
type ClockSettings struct {
	Start, Origin time.Time
	Speed         float64
}

// ConnectorSettings is one Wolkvox operation.
type ConnectorSettings struct {
	// Config is the connector's configuration without its token: Config.Token is always
	// empty, so that printing Settings can never show it. Connector returns the Config
	// to run, token included.
	Config source.Config
	Token  secret
	// BaseURL replaces https://wv{server}.wolkvox.com (a proxy, the simulator); empty
	// means the default.
	BaseURL string
	// MaxInFlight is the calls at once the token allows this worker: 1 or 2. Connectors
	// sharing a token share one limiter of this size (see [Settings.TokenGroups]).
	MaxInFlight int
}

// secret is a token or a password. Every way of printing it (String, GoString, JSON,
// YAML, text, slog) shows "[REDACTED]", or nothing when unset; Reveal returns the value.
// The value sits behind a pointer, so even fmt's reflection over unexported fields
// shows an address, never the text.
type secret struct{ p *string }

const redacted = "[REDACTED]"

func newSecret(s string) secret {
	if s == "" {
		return secret{}
	}
	return secret{p: &s}
}

// Reveal returns the secret's value, "" when unset.
func (s secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsSet reports whether the secret has a value.
func (s secret) IsSet() bool { return s.p != nil }

func (s secret) String() string {
	if s.p == nil {
		return ""
	}
	return redacted
}

func (s secret) GoString() string             { return "secret(" + strconv.Quote(s.String()) + ")" }
func (s secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (s secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
func (s secret) MarshalYAML() (any, error)    { return s.String(), nil }
func (s secret) LogValue() slog.Value         { return slog.StringValue(s.String()) }

// Connector returns the connector's configuration with its token, to run it.
func (c *ConnectorSettings) Connector() source.Config {
	cfg := c.Config
	cfg.Token = c.Token.Reveal()
	return cfg
}

// SourceOpts returns the wolkvox.Client options of this operation: server, token, time
// zone and, when set, the base URL. The caller adds what it shares across connectors
// (a Limiter per token group) and its logger.
func (c *ConnectorSettings) SourceOpts() []wolkvox.Opt {
	opts := []wolkvox.Opt{wolkvox.Server(c.Config.Server), wolkvox.Token(c.Token.Reveal()), wolkvox.Location(c.Config.Location)}
	if c.BaseURL != "" {
		opts = append(opts, wolkvox.BaseURL(c.BaseURL))
	}
	return opts
}

// Opts returns the franz-go options to reach the cluster: seed brokers, TLS and SASL.
// It reads the TLS files again, so a rotated certificate is picked up by a new client.
func (k KafkaSettings) Opts() ([]kgo.Opt, error) {
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
func (s SASLSettings) mechanism() (sasl.Mechanism, error) {
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
	return nil, fmt.Errorf("%w: unknown SASL mechanism %q", errInvalidSettings, s.Mechanism)
}

// Opts returns the franz-go schema registry client options: URL, basic auth and TLS.
// It returns nil when no registry is configured.
func (s SchemaRegistrySettings) Opts() ([]sr.ClientOpt, error) {
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
func (t TLSSettings) Config() (*tls.Config, error) {
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
			return nil, fmt.Errorf("ca_file %s: %w: no PEM certificate in it", t.CAFile, errInvalidSettings)
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
			return nil, fmt.Errorf("cert_file and key_file: %w: %w", errInvalidSettings, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Logger returns a logger writing to w at the configured level and format.
func (l LogSettings) Logger(w io.Writer) *slog.Logger {
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
	s.hideSecrets(r)
	return r
}

// hideSecrets adds the settings' secrets to r (see Redactor).
func (s *Settings) hideSecrets(r *source.Redactor) {
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
func (c *ClockSettings) Clock() source.FastClock {
	return source.FastClock{Origin: c.Origin, Start: c.Start, Speed: c.Speed}
}

// TokenGroup is the connectors that share one Wolkvox token, and with it one daily
// budget and one limit of calls in flight: build one source.Quota and one
// wolkvox.Limiter per group. The loader has checked that they agree on all three values.
type TokenGroup struct {
	Connectors     []int // indexes into Settings.Connectors, in file order
	DailyQuota     int64
	QuotaResetHour int
	MaxInFlight    int
}

// Label names the group without its token: "the token of bogota, medellin".
func (g TokenGroup) Label(s *Settings) string {
	names := make([]string, len(g.Connectors))
	for i, c := range g.Connectors {
		names[i] = s.Connectors[c].Config.Name
	}
	return "the token of " + strings.Join(names, ", ")
}

// TokenGroups groups the connectors by token, in the order of their first connector.
func (s *Settings) TokenGroups() []TokenGroup {
	var groups []TokenGroup
	at := map[string]int{}
	for i := range s.Connectors {
		c := &s.Connectors[i]
		tok := c.Token.Reveal()
		if j, ok := at[tok]; ok && tok != "" {
			groups[j].Connectors = append(groups[j].Connectors, i)
			continue
		}
		at[tok] = len(groups)
		groups = append(groups, TokenGroup{Connectors: []int{i}, DailyQuota: c.Config.DailyQuota,
			QuotaResetHour: c.Config.QuotaResetHour, MaxInFlight: c.MaxInFlight})
	}
	return groups
}

// QuotaPlan is the steady-state calls a day of a token group against its budget; each
// report is named "connector/report-key".
func (s *Settings) QuotaPlan(g TokenGroup) source.Plan {
	p := source.Plan{PerReport: map[string]float64{}, Budget: g.DailyQuota}
	for _, i := range g.Connectors {
		c := &s.Connectors[i]
		cp := c.Config.QuotaPlan()
		for k, n := range cp.PerReport {
			p.PerReport[c.Config.Name+"/"+k] = n
		}
		p.Total += cp.Total
	}
	return p
}

// errInvalidSettings is wrapped by every error about the configuration's content:
// *ConfigError and the errors of the build methods (Opts, Config).
var errInvalidSettings = errors.New("invalid configuration")

// ConfigError is every problem found in a configuration file. It unwraps to
// errInvalidSettings and to each problem's *source.FieldError, so errors.As finds
// the first one and errors.Is(err, errInvalidSettings) holds.
type ConfigError struct {
	File     string // the file's path; empty for ParseSettings
	Problems []Problem
}

// Problem is one mistake: the field at fault, what is wrong and the fix, and the line
// of the file it is on (the nearest enclosing key when the field itself is missing; 0
// when unknown).
type Problem struct {
	*source.FieldError
	Line int
}

// String is the problem as validate prints it: "line 12: field: problem (fix: ...)".
func (p Problem) String() string {
	if p.Line == 0 {
		return p.FieldError.Error()
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.FieldError.Error())
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	name := cmp.Or(e.File, "configuration")
	fmt.Fprintf(&b, "%s: %d problem", name, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns errInvalidSettings and every problem's FieldError.
func (e *ConfigError) Unwrap() []error {
	errs := make([]error, 0, len(e.Problems)+1)
	errs = append(errs, errInvalidSettings)
	for _, p := range e.Problems {
		errs = append(errs, p.FieldError)
	}
	return errs
}

// LoadSettings reads and checks the configuration file at path; token_file and other
// relative paths in it are relative to the file's directory. getenv resolves ${NAME}
// references (os.Getenv in production). Problems with the content come back as one
// *ConfigError listing every problem at once, each with its field path, its line and
// the fix. A file that cannot be read comes back wrapped: an *fs.PathError, or
// errInvalidSettings for a file that is not regular or is over 4 MiB.
//
// The file, every key optional unless marked required:
//
//	kafka:
//	  brokers: [kafka-1:9092, kafka-2:9092]     # required, host:port each
//	  tls: {enabled: false, ca_file: ca.pem, cert_file: client.pem, key_file: client-key.pem,
//	        insecure_skip_verify: false}
//	  sasl: {mechanism: SCRAM-SHA-512, username: connect, password: ${KAFKA_PASSWORD}}
//	                                             # mechanism: PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512;
//	                                             # password_file instead of password
//	schema_registry:                             # omitted: no registry
//	  url: https://registry:8081
//	  username: connect
//	  password: ${SR_PASSWORD}                   # or password_file
//	  pre_registered: false                      # true: look schemas up, never register them
//	  tls: {...}                                 # as kafka.tls
//	topics:
//	  template: "wolkvox.{connector}.{report}"   # {connector}, {server}, {report}; {report} required
//	  partitions: 3                              # -1 (default): the broker's default
//	  replication_factor: -1                     # -1 (default): the broker's default
//	  configs: {retention.ms: "604800000"}       # for the topics the worker creates
//	  offsets: wolkvox-connect-offsets
//	  dead_letter: wolkvox-connect-dlq
//	rest: {address: 127.0.0.1:8083, token: ${WOLKVOX_REST_TOKEN}}  # token optional; or token_file
//	log: {level: info, format: text}             # debug|info|warn|error; text|json
//	limits:                                      # for every connector; the defaults shown
//	  max_body_bytes: 512MiB                     # bytes, or B|KiB|MiB|GiB; at least 1MiB
//	  max_row_bytes: 16MiB                       # at least 64KiB, at most max_body_bytes
//	  stall_timeout: 5m                          # at least 30s
//	  future_tolerance: 1h                       # at least 1m
//	clock: {start: "2026-11-01T08:00:00-05:00", speed: 60, origin: "..."}  # demos and tests only
//	connectors:                                  # required, at least one
//	  - name: bogota                             # required, [a-zA-Z0-9._-]{1,100}, unique
//	    server: "0040"                           # required: the digits of wv0040.wolkvox.com
//	    token: ${WOLKVOX_TOKEN}                  # required, or token_file: /run/secrets/wolkvox_token
//	    time_zone: America/Bogota                # the default; the zone of the API's timestamps
//	    daily_quota: 3000                        # required: the token's licenses × 1000
//	    quota_reset_hour: 0                      # hour, in time_zone, Wolkvox resets the count
//	    base_url: ""                             # default https://wv{server}.wolkvox.com
//	    max_in_flight: 1                         # 1 (default) or 2 calls at once per token
//	    defaults: {interval: 5m, lookback: 1h, settle: 1m, bucket: 1h, start: today}
//	    reports:                                 # required, at least one
//	      - api: act_3
//	        params: {cod_act: cod_act1}
//	        interval: 10m                        # any of the defaults, for this report only
//
// Choices made where the task left room, so they are not rediscovered:
//
//   - Parsing is strict (go.yaml.in/yaml/v3 KnownFields): an unknown key is a problem naming its
//     path, its line and the keys allowed there. A second YAML document is a problem too.
//   - ${NAME} is expanded in string values only (numbers and booleans are typed YAML),
//     after parsing, so a secret never passes through the YAML parser. An unset or empty
//     variable is a problem naming the field and the variable; $${ writes a literal ${;
//     a '$' not followed by '{' is kept as is, since passwords often contain one.
//   - token_file and password_file read a regular file of at most 64 KiB, relative to the
//     configuration file's directory, and trim surrounding whitespace (files usually end
//     with a newline). Giving both token and token_file is a problem. TLS files resolve
//     against the same directory and are loaded at validation, so a bad PEM is caught
//     before any connection is made.
//   - Durations are Go durations ("5m", "1h30m") and must be positive: the connector
//     takes 0 as "unset", so "lookback: 0s" would silently mean the default 1h.
//   - start is an RFC 3339 instant, a date "2026-11-01" (midnight in the connector's
//     zone), "today" (midnight, in the connector's zone, of the day the file is loaded, on
//     the demo clock when one is set), or empty: the first read then starts at the
//     current time minus the lookback. start only matters for a report that has no
//     stored offset yet.
//   - time_zone defaults to America/Bogota, the zone of every operation seen so far and
//     the source client's own default; "Local" is refused because it would make the data
//     depend on the machine. The zone database is embedded (time/tzdata), so a container
//     without /usr/share/zoneinfo still knows every zone.
//   - Connectors sharing one token share its daily budget and its limit of calls in
//     flight, so they must agree on daily_quota, quota_reset_hour and max_in_flight; their
//     steady-state calls are summed against that one budget, and a plan that does not fit
//     is a problem.
//   - Two connectors writing the same report to the same topic is a problem: the
//     template must then include {connector} or {server}.
//   - limits is one top-level block, not a per-connector key: source.NewWorker gives
//     every connector one set of options, and the limits guard the process's memory and
//     health, which its connectors share. Sizes are whole bytes or binary units (KiB,
//     MiB, GiB); decimal units (MB) are refused rather than guessed at. A max_body_bytes
//     below the default row limit lowers max_row_bytes with it unless that is set.
func LoadSettings(path string, getenv func(string) string) (*Settings, error) {
	data, err := readLimited(path, 4<<20)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	s, err := ParseSettings(data, getenv, filepath.Dir(path))
	var ce *ConfigError
	if errors.As(err, &ce) {
		ce.File = path
	}
	return s, err
}

// ParseSettings checks a configuration file's content and returns the Settings, or a
// *ConfigError with every problem found. Relative paths in it (token_file, TLS files)
// resolve against baseDir ("" is the working directory). It never panics, whatever
// the input.
func ParseSettings(data []byte, getenv func(string) string, baseDir string) (*Settings, error) {
	l := &loader{getenv: getenv, baseDir: baseDir, lines: map[string]int{}, settled: map[string]bool{}}
	if l.getenv == nil {
		l.getenv = func(string) string { return "" }
	}
	var fc fileConfig
	if l.decode(data, &fc) {
		l.expand(reflect.ValueOf(&fc).Elem(), "")
		s := l.build(&fc)
		if len(l.problems) == 0 {
			s.Warnings = l.warnings
			return s, nil
		}
	}
	slices.SortStableFunc(l.problems, func(a, b Problem) int {
		// Problems without a line (none, so far) go last; the others in file order.
		return cmp.Compare(lineKey(a.Line), lineKey(b.Line))
	})
	return nil, &ConfigError{Problems: l.problems}
}

func lineKey(line int) int {
	if line == 0 {
		return int(^uint(0) >> 1)
	}
	return line
}

// fileConfig is the file as written. Values that need parsing (durations, instants,
// zones, addresses) stay strings here, so a mistake in one is reported with its path
// instead of stopping the YAML decoder.
type fileConfig struct {
	Kafka          fileKafka          `yaml:"kafka"`
	SchemaRegistry fileSchemaRegistry `yaml:"schema_registry"`
	Topics         fileTopics         `yaml:"topics"`
	REST           fileREST           `yaml:"rest"`
	Log            fileLog            `yaml:"log"`
	Limits         fileLimits         `yaml:"limits"`
	Clock          *fileClock         `yaml:"clock"`
	Connectors     []fileConnector    `yaml:"connectors"`
}

type fileKafka struct {
	Brokers []string `yaml:"brokers"`
	TLS     fileTLS  `yaml:"tls"`
	SASL    fileSASL `yaml:"sasl"`
}

type fileTLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

type fileSASL struct {
	Mechanism    string `yaml:"mechanism"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

type fileSchemaRegistry struct {
	URL           string  `yaml:"url"`
	Username      string  `yaml:"username"`
	Password      string  `yaml:"password"`
	PasswordFile  string  `yaml:"password_file"`
	PreRegistered bool    `yaml:"pre_registered"`
	TLS           fileTLS `yaml:"tls"`
}

type fileTopics struct {
	Template          string            `yaml:"template"`
	Partitions        *int32            `yaml:"partitions"`
	ReplicationFactor *int16            `yaml:"replication_factor"`
	Configs           map[string]string `yaml:"configs"`
	Offsets           string            `yaml:"offsets"`
	DeadLetter        string            `yaml:"dead_letter"`
}

type fileREST struct {
	Address   string `yaml:"address"`
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

type fileLog struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// fileLimits holds sizes as text: a whole number of bytes or one with a unit ("16MiB").
type fileLimits struct {
	MaxBodyBytes    string `yaml:"max_body_bytes"`
	MaxRowBytes     string `yaml:"max_row_bytes"`
	StallTimeout    string `yaml:"stall_timeout"`
	FutureTolerance string `yaml:"future_tolerance"`
}

type fileClock struct {
	Start  string   `yaml:"start"`
	Speed  *float64 `yaml:"speed"`
	Origin string   `yaml:"origin"`
}

type fileConnector struct {
	Name           string       `yaml:"name"`
	Server         string       `yaml:"server"`
	Token          string       `yaml:"token"`
	TokenFile      string       `yaml:"token_file"`
	TimeZone       string       `yaml:"time_zone"`
	DailyQuota     int64        `yaml:"daily_quota"`
	QuotaResetHour int          `yaml:"quota_reset_hour"`
	BaseURL        string       `yaml:"base_url"`
	MaxInFlight    int          `yaml:"max_in_flight"`
	Defaults       fileSchedule `yaml:"defaults"`
	Reports        []fileReport `yaml:"reports"`
}

// fileSchedule is a report's schedule; empty strings inherit.
type fileSchedule struct {
	Interval string `yaml:"interval"`
	Lookback string `yaml:"lookback"`
	Settle   string `yaml:"settle"`
	Bucket   string `yaml:"bucket"`
	Start    string `yaml:"start"`
}

type fileReport struct {
	API          string            `yaml:"api"`
	Params       map[string]string `yaml:"params"`
	fileSchedule `yaml:",inline"`
}

// loader carries one parse: the problems found so far and what is known of the file's
// layout to place them.
type loader struct {
	getenv  func(string) string
	baseDir string
	// lines maps a field path to the line of its key (or list item).
	lines    map[string]int
	keys     []keyAt   // every mapping key, for unknown-key errors
	values   []valueAt // every value node, for type errors
	problems []Problem
	warnings []Problem
	// settled holds fields already reported (the YAML decoder could not fill them, a
	// variable was unset, a secret file unreadable): later checks of the same field
	// would only repeat the problem, misled by a zero or raw value.
	settled map[string]bool
}

type keyAt struct {
	line int
	name string
	path string
	// allowed are the keys valid next to this one, nil for free-form maps.
	allowed []string
}

type valueAt struct {
	line int
	path string
	node *yaml.Node
	// goType is the fileConfig type the node decodes into, "" when none (an unknown key).
	goType string
}

// badAt records a problem at a line of the file.
func (l *loader) badAt(line int, field, problem, fix string) {
	l.problems = append(l.problems, Problem{FieldError: &source.FieldError{Field: field, Problem: problem, Fix: fix}, Line: line})
}

// warn records a warning: allowed, but probably a mistake.
func (l *loader) warn(field, problem, fix string) {
	l.warnings = append(l.warnings, Problem{FieldError: &source.FieldError{Field: field, Problem: problem, Fix: fix}, Line: l.lineOf(field)})
}

// bad records a problem unless it is about a field already reported.
func (l *loader) bad(field, problem, fix string) {
	for p := range l.settled {
		if field == p || strings.HasPrefix(field, p+".") || strings.HasPrefix(field, p+"[") {
			return
		}
	}
	l.problems = append(l.problems, Problem{FieldError: &source.FieldError{Field: field, Problem: problem, Fix: fix}, Line: l.lineOf(field)})
}

// lineOf returns the line of field, or of its nearest enclosing field in the file.
func (l *loader) lineOf(field string) int {
	for f := field; f != ""; f = parentPath(f) {
		if n, ok := l.lines[f]; ok {
			return n
		}
	}
	return 0
}

// parentPath drops the last element of a path: a.b[2].c → a.b[2] → a.b → a.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// decode parses data strictly into fc, recording problems. It returns false when the
// file could not be parsed at all.
func (l *loader) decode(data []byte, fc *fileConfig) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.syntaxProblem(err)
		return false
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.bad("(file)", "is empty", "start from deploy/examples/one-operation.yaml")
		return false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.badAt(root.Line, "(file)", fmt.Sprintf("the top level is a %s, not a mapping of keys", kindName(root)), "write keys such as kafka: and connectors: at the start of lines")
		return false
	}
	l.walk(root, "", reflect.TypeOf(fileConfig{}))

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(fc)
	var te *yaml.TypeError
	switch {
	case errors.As(err, &te):
		fatal := false
		for _, msg := range te.Errors {
			// After a duplicate key the decoder drops the whole mapping: checking what
			// is left would report missing fields that are in the file.
			fatal = l.typeProblem(msg) || fatal
		}
		if fatal {
			return false
		}
	case err != nil:
		l.syntaxProblem(err)
		return false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.badAt(extra.Line, "(file)", "a second YAML document starts here", "keep the whole configuration in one document: remove the '---' line")
	} else if !errors.Is(err, io.EOF) {
		l.syntaxProblem(err)
	}
	return true
}

func (l *loader) syntaxProblem(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	l.badAt(line, "(file)", "is not valid YAML: "+msg, "check indentation (spaces, not tabs) and quote values that contain ': ' or start with '{', '[', '*', '&' or '%'")
}

// walk records the path and line of every key and value, and the keys allowed at each
// level (from the yaml tags of the struct it decodes into).
func (l *loader) walk(n *yaml.Node, path string, t reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	goType := ""
	if t != nil {
		goType = t.String()
	}
	l.values = append(l.values, valueAt{line: n.Line, path: path, node: n, goType: goType})
	switch n.Kind {
	case yaml.MappingNode:
		var allowed []string
		fields := map[string]reflect.Type{}
		if t != nil && t.Kind() == reflect.Struct {
			collectFields(t, fields)
			allowed = slices.Sorted(maps.Keys(fields))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if _, seen := l.lines[p]; !seen {
				l.lines[p] = k.Line
			}
			l.keys = append(l.keys, keyAt{line: k.Line, name: k.Value, path: p, allowed: allowed})
			var ft reflect.Type
			switch {
			case t == nil:
			case t.Kind() == reflect.Struct:
				ft = fields[k.Value]
			case t.Kind() == reflect.Map:
				ft = t.Elem()
			}
			l.walk(v, p, ft)
		}
	case yaml.SequenceNode:
		var et reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			et = t.Elem()
		}
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			l.lines[p] = c.Line
			l.walk(c, p, et)
		}
	case yaml.AliasNode:
		// Anchors and aliases are legal YAML; the decoder resolves them. The alias's
		// own line is where a problem in it is reported.
	}
}

// collectFields maps the yaml keys of struct t to their types, inline structs included.
func collectFields(t reflect.Type, into map[string]reflect.Type) {
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			collectFields(f.Type, into)
			continue
		}
		if name != "" && name != "-" {
			into[name] = f.Type
		}
	}
}

var (
	unknownFieldRE = regexp.MustCompile(`^field (.+) not found in type `)
	unmarshalRE    = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	duplicateKeyRE = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// typeProblem turns one message of a *yaml.TypeError into a Problem with a path. It
// reports whether the decoded result is too incomplete to check further.
func (l *loader) typeProblem(msg string) (fatal bool) {
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	add := func(field, problem, fix string) { l.badAt(line, field, problem, fix) }
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		name := m[1]
		i := slices.IndexFunc(l.keys, func(k keyAt) bool { return k.line == line && k.name == name })
		if i < 0 {
			add(name, "unknown key", "remove it")
			return false
		}
		k := l.keys[i]
		fix := "remove it"
		if len(k.allowed) > 0 {
			if s := closest(name, k.allowed); s != "" {
				fix = "did you mean " + s + "? The keys here are: " + strings.Join(k.allowed, ", ")
			} else {
				fix = "remove it; the keys here are: " + strings.Join(k.allowed, ", ")
			}
		}
		add(k.path, "unknown key", fix)
		return false
	}
	if m := duplicateKeyRE.FindStringSubmatch(msg); m != nil {
		i := slices.IndexFunc(l.keys, func(k keyAt) bool { return k.line == line && k.name == m[1] })
		field := m[1]
		if i >= 0 {
			field = l.keys[i].path
		}
		add(field, "is given twice (first at line "+m[2]+")", "keep one of them")
		return true
	}
	if m := unmarshalRE.FindStringSubmatch(msg); m != nil {
		tag, val, into := m[1], m[2], m[3]
		field := fmt.Sprintf("(line %d)", line)
		if v, ok := l.valueFor(line, tag, val, strings.TrimPrefix(into, "*")); ok {
			field = v.path
			if v.node.Kind == yaml.ScalarNode {
				val = v.node.Value // the YAML decoder shortens long values in its messages
			}
		}
		l.settled[field] = true
		want, fix := describeGoType(into)
		got := "a " + strings.TrimPrefix(tag, "!!")
		if val != "" {
			got = strconv.Quote(truncate(val, 60))
		}
		add(field, fmt.Sprintf("%s is not %s", got, want), fix)
		return false
	}
	add("(file)", msg, "")
	return false
}

// valueFor finds the value node a decoder message is about: on its line, with its tag,
// decoding into its Go type, and with its text (which the message may have shortened
// to a prefix and "...").
func (l *loader) valueFor(line int, tag, val, goType string) (valueAt, bool) {
	prefix, shortened := strings.CutSuffix(val, "...")
	var byTag []valueAt
	for _, v := range l.values {
		if v.line != line || v.node.ShortTag() != tag || v.goType != goType || v.path == "" {
			continue
		}
		switch {
		case val != "" && v.node.Value == val:
			return v, true
		case val != "" && shortened && strings.HasPrefix(v.node.Value, prefix):
			return v, true
		}
		byTag = append(byTag, v)
	}
	if len(byTag) == 1 || (len(byTag) > 0 && val == "") {
		return byTag[0], true
	}
	return valueAt{}, false
}

// describeGoType says in words what a Go type of fileConfig expects, and how to write it.
func describeGoType(goType string) (want, fix string) {
	t := strings.TrimPrefix(goType, "*")
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number", "write digits without quotes or separators, e.g. 3000"
	case strings.HasPrefix(t, "float"):
		return "a number", "write a number without quotes, e.g. 60"
	case t == "bool":
		return "true or false", "write true or false without quotes"
	case t == "string":
		return "text", "write a single value; quote it if it contains ': '"
	case strings.HasPrefix(t, "[]"):
		return "a list", "write a list: [a, b] or one '- item' per line"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "main."):
		return "a mapping", "write key: value pairs indented under the key"
	}
	return t, ""
}

// closest returns the allowed key nearest to name by edit distance, if near enough to
// be the intended one.
func closest(name string, allowed []string) string {
	best, bestD := "", len(name)/2+2
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(name), a); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	}
	return "mapping"
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${NAME} in every string of v (fields, list items, map values),
// recording a problem for each unset variable.
func (l *loader) expand(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			l.expand(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if opts == "inline" {
				l.expand(v.Field(i), path)
				continue
			}
			l.expand(v.Field(i), join(path, name))
		}
	case reflect.Slice:
		for i := range v.Len() {
			l.expand(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			s := v.MapIndex(k).String()
			if out, ok := l.expandString(s, join(path, k.String())); ok && out != s {
				v.SetMapIndex(k, reflect.ValueOf(out))
			}
		}
	case reflect.String:
		if out, ok := l.expandString(v.String(), path); ok {
			v.SetString(out)
		}
	}
}

// expandString expands one value. It never quotes the value in a problem, since it may
// be a secret.
func (l *loader) expandString(s, path string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is a literal ${: keep one '$' (the one already written) and the brace.
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			l.bad(path, "has a '${' without its closing '}'", "write ${NAME}, or $${ for a literal ${")
			l.settled[path] = true
			return "", false
		}
		name := s[i+2 : i+end]
		if !envNameRE.MatchString(name) {
			l.bad(path, fmt.Sprintf("${%s} is not a variable reference", truncate(name, 40)), "write ${NAME} with letters, digits and '_', or $${ for a literal ${")
			l.settled[path] = true
			return "", false
		}
		val := l.getenv(name)
		if val == "" {
			l.bad(path, "refers to environment variable "+name+", which is not set (or empty)", unsetFix(path, name))
			l.settled[path] = true
			return "", false
		}
		b.WriteString(val)
		s = s[i+end+1:]
	}
}

// unsetFix is the fix for an unset variable at path. A secret (a token or a password)
// is never written in the file, as the README says: it comes from the environment or
// from its _file; any other value may be written in the file instead.
func unsetFix(path, name string) string {
	key := path[strings.LastIndexAny(path, ".]")+1:]
	if key == "token" || key == "password" {
		return "export " + name + " before starting, or use " + key + "_file: a file holding only the " + key + " (never write a secret in the configuration file)"
	}
	return "export " + name + " before starting, or write the value in the file"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// resolve returns path relative to the configuration's directory.
func (l *loader) resolve(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(l.baseDir, path)
}

// readLimited reads a regular file of at most max bytes. Refusing other files keeps a
// wrong path such as /dev/stdin or a FIFO from blocking the worker.
func readLimited(path string, max int64) ([]byte, error) {
	// Stat before Open: opening a FIFO blocks until someone writes to it.
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w: not a regular file", path, errInvalidSettings)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, errInvalidSettings, max)
	}
	return data, nil
}

// secretValue resolves a value given inline or as a file. The error messages name the
// file, never its content.
func (l *loader) secretValue(path, key, inline, file string) secret {
	switch {
	case inline != "" && file != "":
		l.bad(join(path, key), "is given both inline and as "+key+"_file", "keep one of "+key+" and "+key+"_file")
		l.settled[join(path, key)] = true
		return secret{}
	case file != "":
		data, err := readLimited(l.resolve(file), maxSecretFile)
		if err != nil {
			l.bad(join(path, key+"_file"), fmt.Sprintf("cannot be read: %v", err), "give a readable file holding only the "+key+"; relative paths start at the configuration file's directory")
			l.settled[join(path, key)] = true
			return secret{}
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			l.bad(join(path, key+"_file"), fmt.Sprintf("%s is empty", file), "write the "+key+" into the file")
			l.settled[join(path, key)] = true
		}
		return newSecret(v)
	}
	return newSecret(inline)
}

// build converts and checks everything; problems go to l.problems.
func (l *loader) build(fc *fileConfig) *Settings {
	s := &Settings{}
	l.buildKafka(&fc.Kafka, &s.Kafka)
	l.buildRegistry(&fc.SchemaRegistry, &s.SchemaRegistry)
	l.buildREST(&fc.REST, &s.REST)
	l.buildLog(&fc.Log, &s.Log)
	s.Limits = l.buildLimits(&fc.Limits)
	s.Clock = l.buildClock(fc.Clock)
	now := time.Now()
	if s.Clock != nil {
		c := s.Clock.Clock()
		now = c.Now()
	}
	if len(fc.Connectors) == 0 {
		l.bad("connectors", "is empty", "list at least one connector; see deploy/examples/one-operation.yaml")
	}
	for i := range fc.Connectors {
		s.Connectors = append(s.Connectors, l.buildConnector(&fc.Connectors[i], fmt.Sprintf("connectors[%d]", i), now))
	}
	l.checkConnectors(s)
	l.buildTopics(&fc.Topics, &s.Topics, s.Connectors)
	l.checkTokens(s)
	return s
}

// envKafkaBrokers, when set, replaces kafka.brokers (comma-separated host:port).
const envKafkaBrokers = "WOLKVOX_KAFKA_BROKERS"

func (l *loader) buildKafka(fk *fileKafka, k *KafkaSettings) {
	// The environment (or run's --brokers, which sets it) replaces the file's brokers:
	// containers usually learn their Kafka that way. They are checked like the file's.
	if v := strings.TrimSpace(l.getenv(envKafkaBrokers)); v != "" {
		fk.Brokers = strings.Split(v, ",")
		for i := range fk.Brokers {
			fk.Brokers[i] = strings.TrimSpace(fk.Brokers[i])
		}
	}
	if len(fk.Brokers) == 0 {
		l.bad("kafka.brokers", "is empty", "list the bootstrap brokers as host:port, e.g. brokers: [kafka-1:9092]; to try wolkvox-connect without Kafka, run: wolkvox-connect demo")
	}
	for i, b := range fk.Brokers {
		if problem := checkHostPort(b, false); problem != "" {
			l.bad(fmt.Sprintf("kafka.brokers[%d]", i), problem, "write host:port, e.g. kafka-1:9092 or 127.0.0.1:9092")
		}
	}
	k.Brokers = slices.Clone(fk.Brokers)
	k.TLS = l.buildTLS(&fk.TLS, "kafka.tls")
	l.buildSASL(&fk.SASL, &k.SASL)
}

// checkHostPort returns what is wrong with a host:port, "" when nothing is.
func checkHostPort(hp string, allowEmptyHost bool) string {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", hp)
	}
	if host == "" && !allowEmptyHost {
		return fmt.Sprintf("%q has no host", hp)
	}
	if strings.ContainsAny(host, " /\\@?#") {
		return fmt.Sprintf("%q has an invalid host", hp)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !allowEmptyHost) {
		return fmt.Sprintf("%q has no valid port (1-65535)", hp)
	}
	return ""
}

func (l *loader) buildTLS(ft *fileTLS, path string) TLSSettings {
	t := TLSSettings{Enabled: ft.Enabled, CAFile: l.resolve(ft.CAFile), CertFile: l.resolve(ft.CertFile),
		KeyFile: l.resolve(ft.KeyFile), InsecureSkipVerify: ft.InsecureSkipVerify}
	if !t.Enabled {
		for key, v := range map[string]string{"ca_file": ft.CAFile, "cert_file": ft.CertFile, "key_file": ft.KeyFile} {
			if v != "" {
				l.bad(join(path, key), "is set but TLS is not enabled", "add enabled: true under "+path+", or remove "+key)
			}
		}
		if ft.InsecureSkipVerify {
			l.bad(join(path, "insecure_skip_verify"), "is set but TLS is not enabled", "add enabled: true under "+path+", or remove insecure_skip_verify")
		}
		return t
	}
	usable := true
	for _, kf := range [][2]string{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
		if kf[1] == "" {
			continue
		}
		if _, err := readLimited(kf[1], maxPEMFile); err != nil {
			l.bad(join(path, kf[0]), fmt.Sprintf("cannot be read: %v", err), "give a readable PEM file; relative paths start at the configuration file's directory")
			usable = false
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		missing := "key_file"
		if t.CertFile == "" {
			missing = "cert_file"
		}
		l.bad(join(path, missing), "is empty: a client certificate needs both cert_file and key_file", "set both, or neither")
		usable = false
	}
	if !usable {
		return t
	}
	if _, err := t.Config(); err != nil {
		field := join(path, "ca_file")
		if !strings.HasPrefix(err.Error(), "ca_file") {
			field = join(path, "cert_file")
		}
		l.bad(field, fmt.Sprintf("is not usable: %v", err), "give PEM files: the CA certificate(s), and a matching certificate and private key")
	}
	return t
}

func (l *loader) buildSASL(fs *fileSASL, s *SASLSettings) {
	const path = "kafka.sasl"
	s.Username = fs.Username
	s.Password = l.secretValue(path, "password", fs.Password, fs.PasswordFile)
	switch m := strings.ToUpper(fs.Mechanism); m {
	case "":
		if fs.Username != "" || s.Password.IsSet() {
			l.bad(path+".mechanism", "is empty but a username or password is set", "set mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
		}
		return
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		s.Mechanism = m
	default:
		l.bad(path+".mechanism", fmt.Sprintf("%q is not a supported SASL mechanism", fs.Mechanism), "use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
		return
	}
	if fs.Username == "" {
		l.bad(path+".username", "is empty", "set the SASL user name")
	}
	if !s.Password.IsSet() && fs.PasswordFile == "" {
		l.bad(path+".password", "is empty", "set password: ${KAFKA_PASSWORD}, or password_file")
	}
}

func (l *loader) buildRegistry(fr *fileSchemaRegistry, r *SchemaRegistrySettings) {
	const path = "schema_registry"
	r.URL, r.Username, r.PreRegistered = strings.TrimRight(fr.URL, "/"), fr.Username, fr.PreRegistered
	r.Password = l.secretValue(path, "password", fr.Password, fr.PasswordFile)
	r.TLS = l.buildTLS(&fr.TLS, path+".tls")
	if fr.URL == "" {
		if fr.Username != "" || r.Password.IsSet() || fr.PreRegistered || fr.TLS.Enabled {
			l.bad(path+".url", "is empty but other schema_registry settings are set", "set url: https://registry:8081, or remove schema_registry")
		}
		return
	}
	u, err := url.Parse(fr.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		l.bad(path+".url", fmt.Sprintf("%q is not an http(s) URL", fr.URL), "write e.g. https://registry:8081")
		return
	case u.User != nil:
		l.bad(path+".url", "carries a user name or password", "move them to username and password (or password_file)")
	case u.RawQuery != "" || u.Fragment != "":
		l.bad(path+".url", "has a query or fragment", "give only scheme://host:port[/path]")
	case fr.TLS.Enabled && u.Scheme != "https":
		l.bad(path+".tls.enabled", "is true but the url is http://", "use an https:// url, or remove tls")
	}
	if hasPass := r.Password.IsSet() || fr.PasswordFile != ""; (fr.Username != "") != hasPass {
		l.bad(path+".username", "basic auth needs both username and password", "set both, or neither")
	}
}

// envRESTAddress and envLogLevel, when set, replace rest.address and log.level (run's
// --rest-address and --log-level set them), for every command that reads the file, so
// that validate checks what run will use.
const (
	envRESTAddress = "WOLKVOX_REST_ADDRESS"
	envLogLevel    = "WOLKVOX_LOG_LEVEL"
)

func (l *loader) buildREST(fr *fileREST, r *RESTSettings) {
	r.Address = cmp.Or(fr.Address, DefaultRESTAddress)
	from := ""
	if v := strings.TrimSpace(l.getenv(envRESTAddress)); v != "" {
		r.Address, from = v, " (from "+envRESTAddress+" or --rest-address)"
	}
	if problem := checkHostPort(r.Address, true); problem != "" {
		l.bad("rest.address", problem+from, "write host:port, e.g. 127.0.0.1:8083, or :8083 for every interface")
		return
	}
	r.Token = l.secretValue("rest", "token", fr.Token, fr.TokenFile)
	if tok := r.Token.Reveal(); strings.ContainsFunc(tok, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		field := "rest.token"
		if fr.TokenFile != "" {
			field = "rest.token_file"
		}
		l.bad(field, "the REST token contains whitespace or control characters", "a bearer token is one word: remove spaces and line breaks (a token file may end with one newline)")
	}
	if host, _, _ := net.SplitHostPort(r.Address); !r.Token.IsSet() && !isLoopback(host) {
		l.warn("rest.address", fmt.Sprintf("%q%s serves the REST API beyond this machine without a token: anyone who reaches it can stop connectors and rewrite offsets", r.Address, from),
			"set rest.token (or rest.token_file), or listen on 127.0.0.1")
	}
}

// isLoopback reports whether host only accepts connections from this machine; an
// empty host listens on every interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (l *loader) buildLog(fl *fileLog, s *LogSettings) {
	level, from := fl.Level, ""
	if v := strings.TrimSpace(l.getenv(envLogLevel)); v != "" {
		level, from = v, " (from "+envLogLevel+" or --log-level)"
	}
	if err := s.Level.UnmarshalText([]byte(cmp.Or(level, DefaultLogLevel))); err != nil || strings.ContainsAny(level, "+-") {
		l.bad("log.level", fmt.Sprintf("%q is not a log level%s", level, from), "use debug, info, warn or error")
	}
	s.Format = cmp.Or(fl.Format, DefaultLogFormat)
	if s.Format != "text" && s.Format != "json" {
		l.bad("log.format", fmt.Sprintf("%q is not a log format", fl.Format), "use text or json")
	}
}

// DefaultLimits are the limits a file without a limits block runs with.
func DefaultLimits() LimitSettings {
	return LimitSettings{MaxBodyBytes: wolkvox.DefaultMaxBodyBytes, MaxRowBytes: wolkvox.DefaultMaxRowBytes,
		StallTimeout: source.DefaultStallTimeout, FutureTolerance: source.DefaultFutureTolerance}
}

func (l *loader) buildLimits(fl *fileLimits) LimitSettings {
	const path = "limits"
	lim := DefaultLimits()
	size := func(key, text string, minimum int64) (int64, bool) {
		if text == "" {
			return 0, false
		}
		n, err := parseSize(text)
		switch {
		case err != nil:
			l.bad(join(path, key), fmt.Sprintf("%q is not a size", text), `write a whole number of bytes, or one with a unit: "16MiB", "512MiB", "1GiB" (units B, KiB, MiB, GiB)`)
		case n < minimum:
			l.bad(join(path, key), fmt.Sprintf("%s is below the minimum of %s", text, formatSize(minimum)), fmt.Sprintf("use at least %s, or leave it out for the default", formatSize(minimum)))
		default:
			return n, true
		}
		return 0, false
	}
	bodySet := false
	if n, ok := size("max_body_bytes", fl.MaxBodyBytes, minBodyBytes); ok {
		lim.MaxBodyBytes, bodySet = n, true
	}
	if n, ok := size("max_row_bytes", fl.MaxRowBytes, minRowBytes); ok {
		if n > lim.MaxBodyBytes {
			fix := fmt.Sprintf("use at most max_body_bytes (%s), or raise max_body_bytes", formatSize(lim.MaxBodyBytes))
			if !bodySet {
				fix = fmt.Sprintf("use at most the default max_body_bytes (%s), or set a larger max_body_bytes", formatSize(lim.MaxBodyBytes))
			}
			l.bad(join(path, "max_row_bytes"), fmt.Sprintf("%s is above max_body_bytes: no answer could hold such a row", fl.MaxRowBytes), fix)
		} else {
			lim.MaxRowBytes = int(n)
		}
	}
	if lim.MaxRowBytes > int(lim.MaxBodyBytes) && !l.has(join(path, "max_row_bytes")) {
		// A smaller body with the default row limit: the row limit follows the body's.
		lim.MaxRowBytes = int(lim.MaxBodyBytes)
	}
	dur := func(key, text string, minimum time.Duration, into *time.Duration) {
		if text == "" {
			return
		}
		d, err := time.ParseDuration(text)
		switch {
		case err != nil:
			l.bad(join(path, key), fmt.Sprintf("%q is not a duration", text), `write a Go duration such as "30s", "5m" or "1h"`)
		case d < minimum:
			l.bad(join(path, key), fmt.Sprintf("%s is shorter than the minimum of %s", text, shortDuration(minimum)), fmt.Sprintf("use at least %s, or leave it out for the default", shortDuration(minimum)))
		default:
			*into = d
		}
	}
	dur("stall_timeout", fl.StallTimeout, minStallTimeout, &lim.StallTimeout)
	dur("future_tolerance", fl.FutureTolerance, minFutureTolerance, &lim.FutureTolerance)
	return lim
}

// has reports whether a problem was recorded on field.
func (l *loader) has(field string) bool {
	return slices.ContainsFunc(l.problems, func(p Problem) bool { return p.Field == field })
}

// sizeUnits are the units a size may carry, binary multiples all.
var sizeUnits = map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

var sizeRE = regexp.MustCompile(`^([0-9]+) ?([A-Za-z]*)$`)

// parseSize reads a size: a whole number of bytes, or one followed by B, KiB, MiB or
// GiB ("16MiB", "16 MiB"). Decimal units (MB) are refused rather than guessed at.
func parseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("size %q: %w", s, errInvalidSettings)
	}
	unit, ok := sizeUnits[m[2]]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q: %w", s, m[2], errInvalidSettings)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > (1<<62)/unit {
		return 0, fmt.Errorf("size %q: too large: %w", s, errInvalidSettings)
	}
	return n * unit, nil
}

// formatSize writes n with the largest unit that divides it: 1MiB, 65KiB, 1000B.
func formatSize(n int64) string {
	for _, u := range []string{"GiB", "MiB", "KiB"} {
		if f := sizeUnits[u]; n >= f && n%f == 0 {
			return strconv.FormatInt(n/f, 10) + u
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// virtualClockAllowed lets a configuration file carry a clock block. Production builds
// refuse it: a virtual clock is for the demo (which sets Settings.Clock itself) and for
// tests, which build the binary with the testclock tag (clock_testclock.go) or run the
// commands in-process (main_test.go).
var virtualClockAllowed = false

func (l *loader) buildClock(fc *fileClock) *ClockSettings {
	if fc == nil {
		return nil
	}
	if !virtualClockAllowed {
		l.bad("clock", "is a test setting: a virtual clock is not available in production builds", "remove the clock block; the demo runs on a virtual clock of its own")
		return nil
	}
	c := &ClockSettings{Origin: processStart, Speed: 1}
	var err error
	if c.Start, err = time.Parse(time.RFC3339, fc.Start); err != nil {
		l.bad("clock.start", fmt.Sprintf("%q is not an RFC 3339 instant", fc.Start), `write the virtual time to start at, as RFC 3339: "2026-11-01T08:00:00-05:00"`)
	}
	if fc.Origin != "" {
		if c.Origin, err = time.Parse(time.RFC3339Nano, fc.Origin); err != nil {
			l.bad("clock.origin", fmt.Sprintf("%q is not an RFC 3339 instant", fc.Origin), "write the real instant at which the clock reads start, or leave it out (the process start)")
			c.Origin = processStart
		}
	}
	if fc.Speed != nil {
		c.Speed = *fc.Speed
		if !(c.Speed > 0 && c.Speed <= 1e6) {
			l.bad("clock.speed", fmt.Sprintf("%v is not a usable speed", c.Speed), "give virtual seconds per real second, above 0 and at most 1e6, e.g. 60")
			c.Speed = 1
		}
	}
	return c
}

func (l *loader) buildConnector(fc *fileConnector, path string, now time.Time) ConnectorSettings {
	cs := ConnectorSettings{
		Config: source.Config{Name: fc.Name, Server: fc.Server, DailyQuota: fc.DailyQuota, QuotaResetHour: fc.QuotaResetHour},
		Token:  l.secretValue(path, "token", fc.Token, fc.TokenFile),
	}
	zone := cmp.Or(fc.TimeZone, DefaultTimeZone)
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		l.bad(path+".time_zone", fmt.Sprintf("%q is not a time zone name", fc.TimeZone), `use an IANA zone name such as "America/Bogota", "America/Lima" or "UTC"`)
		loc = time.UTC
	}
	cs.Config.Location = loc
	if fc.BaseURL != "" {
		u, err := url.Parse(fc.BaseURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			l.bad(path+".base_url", fmt.Sprintf("%q is not an http(s) URL", fc.BaseURL), "write e.g. http://127.0.0.1:8090, or leave it out for https://wv{server}.wolkvox.com")
		case u.User != nil, u.RawQuery != "", u.Fragment != "":
			l.bad(path+".base_url", "has user info, a query or a fragment", "give only scheme://host:port[/path]")
		default:
			cs.BaseURL = strings.TrimRight(fc.BaseURL, "/")
		}
	}
	cs.MaxInFlight = cmp.Or(fc.MaxInFlight, 1)
	if cs.MaxInFlight < 1 || cs.MaxInFlight > 2 {
		l.bad(path+".max_in_flight", fmt.Sprintf("%d is out of range", fc.MaxInFlight), "use 1 (the default) or 2, the API's limit of simultaneous calls per token")
		cs.MaxInFlight = 1
	}
	defaults := l.schedule(&fc.Defaults, path+".defaults", nil, loc, now)
	for i := range fc.Reports {
		fr := &fc.Reports[i]
		rp := fmt.Sprintf("%s.reports[%d]", path, i)
		rc := l.schedule(&fr.fileSchedule, rp, &defaults, loc, now)
		rc.API, rc.Params = fr.API, maps.Clone(fr.Params)
		if fr.API == "" {
			l.bad(rp+".api", "is empty", "name the report, e.g. api: diagram_13; 'wolkvox-connect reports' lists them")
			l.settled[rp+".api"] = true
		}
		cs.Config.Reports = append(cs.Config.Reports, rc)
	}
	if fc.Server == "" {
		l.bad(path+".server", "is required", `give the digits of wv{server}.wolkvox.com, quoted, e.g. server: "0040"`)
		l.settled[path+".server"] = true
	}
	// The connector's own checks, with the token, moved to this connector's path.
	full := cs.Connector()
	if err := full.Validate(); err != nil {
		l.connectorProblems(err, fc.Name, path)
	}
	l.clientProblems(&cs, fc, path)
	return cs
}

// clientProblems builds the connector's source client as run does (no I/O) and
// records what it refuses on the field at fault: whatever wolkvox.NewClient refuses,
// validate reports, with the field, its line and the fix. A field already reported (an
// empty token, a server that is not digits) is not reported twice.
func (l *loader) clientProblems(cs *ConnectorSettings, fc *fileConnector, path string) {
	_, err := wolkvox.NewClient(cs.SourceOpts()...)
	if err == nil {
		return
	}
	reported := func(field string) bool {
		return slices.ContainsFunc(l.problems, func(p Problem) bool { return p.Field == field })
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var oe *wolkvox.OptionError
		if !errors.As(e, &oe) {
			l.bad(path, e.Error(), "")
			continue
		}
		option, problem := oe.Option, oe.Problem
		field, fix := path, ""
		switch option {
		case "Token":
			if reported(path+".token") || reported(path+".token_file") {
				continue // empty, unset or unreadable: said already
			}
			field, problem, fix = path+".token", "the token "+problem, "a Wolkvox token is one word: remove spaces, quotes and line breaks from the value (or its variable)"
			if fc.TokenFile != "" {
				field, problem, fix = path+".token_file", fmt.Sprintf("%s: the token read from it %s", fc.TokenFile, oe.Problem), "the file must hold only the token (surrounding whitespace is trimmed): check that the path is the token's file"
			}
		case "Server":
			field, fix = path+".server", `give the digits of wv{server}.wolkvox.com, e.g. "0040"`
		case "BaseURL":
			field, fix = path+".base_url", "write e.g. http://127.0.0.1:8090, or leave it out for https://wv{server}.wolkvox.com"
		case "Location":
			field, fix = path+".time_zone", `use an IANA zone name such as "America/Bogota"`
		default:
			problem = option + ": " + problem
		}
		if !reported(field) {
			l.bad(field, problem, fix)
		}
	}
}

// connectorProblems re-paths source.Config.Validate's FieldErrors, which name the
// connector (connectors.NAME.field), to the file's connectors[i].field.
func (l *loader) connectorProblems(err error, name, path string) {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var fe *source.FieldError
		if !errors.As(e, &fe) {
			l.bad(path, e.Error(), "")
			continue
		}
		field := fe.Field
		switch {
		case field == "connectors[].name":
			field = path + ".name"
		case strings.HasPrefix(field, "connectors."+name):
			field = path + strings.TrimPrefix(field, "connectors."+name)
		}
		l.bad(field, fe.Problem, fe.Fix)
	}
}

// schedule reads a schedule, inheriting what it leaves out from base (nil: the
// connector's defaults, left zero so that package connector fills them).
func (l *loader) schedule(fs *fileSchedule, path string, base *source.ReportConfig, loc *time.Location, now time.Time) source.ReportConfig {
	var rc source.ReportConfig
	if base != nil {
		rc = *base
	}
	dur := func(key, text string, into *time.Duration) {
		if text == "" {
			return
		}
		d, err := time.ParseDuration(text)
		switch {
		case err != nil:
			l.bad(join(path, key), fmt.Sprintf("%q is not a duration", text), `write a Go duration such as "5m", "1h" or "1h30m"`)
		case d <= 0:
			l.bad(join(path, key), fmt.Sprintf("%q is not positive", text), "use a positive duration; leave the key out for the default (a zero would be taken as the default, not as none)")
		default:
			*into = d
		}
	}
	dur("interval", fs.Interval, &rc.Interval)
	if inherited := base != nil && fs.Interval == ""; !inherited && rc.Interval > 0 && rc.Interval < minInterval {
		// Reported here, on the field written, and dropped: the default's plan is then
		// checked, not one that blames daily_quota for a typo in the interval.
		l.bad(join(path, "interval"), fmt.Sprintf("%s is shorter than the minimum of %s", rc.Interval, shortDuration(minInterval)),
			fmt.Sprintf("use at least %s; Wolkvox suggests 5m (the default)", shortDuration(minInterval)))
		rc.Interval = 0
	}
	dur("lookback", fs.Lookback, &rc.Lookback)
	dur("settle", fs.Settle, &rc.Settle)
	dur("bucket", fs.Bucket, &rc.Bucket)
	if fs.Start != "" {
		t, err := parseStart(fs.Start, loc, now)
		if err != nil {
			l.bad(join(path, "start"), fmt.Sprintf("%q is not a start", fs.Start), `write an RFC 3339 instant ("2026-11-01T00:00:00-05:00"), a date ("2026-11-01", midnight in time_zone) or "today"`)
		} else if problem := checkInstant(t, now); problem != "" {
			l.bad(join(path, "start"), problem, fmt.Sprintf("give a start between %s and a year from now; leave start out to begin at the current time", earliestStart.Format(time.DateOnly)))
			t = time.Time{}
		}
		rc.Start = t
	}
	return rc
}

// parseStart reads a start: an RFC 3339 instant, a date (midnight in loc), or "today"
// (midnight in loc of the day now falls in).
func parseStart(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if strings.EqualFold(s, "today") {
		y, m, d := now.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("start %q: %w", s, errInvalidSettings)
	}
	return t, nil
}

// checkConnectors checks what involves several connectors: unique names.
func (l *loader) checkConnectors(s *Settings) {
	first := map[string]int{}
	for i := range s.Connectors {
		name := s.Connectors[i].Config.Name
		if name == "" {
			continue
		}
		if j, dup := first[name]; dup {
			l.bad(fmt.Sprintf("connectors[%d].name", i), fmt.Sprintf("%q is also the name of connectors[%d]", name, j), "give every connector its own name: it names its topics, offsets and transactional id")
			continue
		}
		first[name] = i
	}
}

func (l *loader) buildTopics(ft *fileTopics, t *TopicSettings, conns []ConnectorSettings) {
	t.Template = cmp.Or(ft.Template, sink.DefaultTopicTemplate)
	t.Offsets = cmp.Or(ft.Offsets, source.DefaultOffsetsTopic)
	t.DeadLetter = cmp.Or(ft.DeadLetter, source.DefaultDeadLetterTopic)
	t.Partitions, t.ReplicationFactor = -1, -1
	if ft.Partitions != nil {
		t.Partitions = *ft.Partitions
		switch {
		case t.Partitions == 0 || t.Partitions < -1:
			l.bad("topics.partitions", fmt.Sprintf("%d is not a partition count", t.Partitions), fmt.Sprintf("use 1..%d, or -1 for the broker's default", maxPartitions))
		case t.Partitions > maxPartitions:
			l.bad("topics.partitions", fmt.Sprintf("%d is above %d partitions a topic", t.Partitions, maxPartitions), fmt.Sprintf("use 1..%d (a report topic needs a handful), or -1 for the broker's default", maxPartitions))
		}
	}
	if ft.ReplicationFactor != nil {
		t.ReplicationFactor = *ft.ReplicationFactor
		if t.ReplicationFactor == 0 || t.ReplicationFactor < -1 {
			l.bad("topics.replication_factor", fmt.Sprintf("%d is not a replication factor", t.ReplicationFactor), "use a positive number, or -1 for the broker's default")
		}
	}
	t.Configs = maps.Clone(ft.Configs)
	for _, k := range slices.Sorted(maps.Keys(t.Configs)) {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t") {
			l.bad("topics.configs", fmt.Sprintf("%q is not a topic config name", k), "use Kafka topic config names such as retention.ms")
		}
	}
	valid := true
	for _, kn := range [][2]string{{"offsets", t.Offsets}, {"dead_letter", t.DeadLetter}} {
		if err := sink.ValidateTopic(kn[1]); err != nil {
			l.bad("topics."+kn[0], err.Error(), "use 1-249 characters from [a-zA-Z0-9._-]")
			valid = false
		}
	}
	if valid && t.Offsets == t.DeadLetter {
		l.bad("topics.dead_letter", "is the offsets topic", "give the dead-letter queue its own topic")
	}

	if _, err := sink.TopicName(t.Template, "c", "0", "r"); err != nil {
		l.bad("topics.template", err.Error(), "use the placeholders {connector}, {server} and {report}, e.g. wolkvox.{connector}.{report}")
		return
	}
	if !strings.Contains(t.Template, "{report}") {
		l.bad("topics.template", fmt.Sprintf("%q has no {report}", t.Template), "include {report}: each report has its own schema and needs its own topic")
		return
	}
	// Each connector's topics must be valid names, and two connectors must not write
	// the same report into one topic: their keys and offsets would mix.
	owner := map[string]int{}
	named := map[string]bool{}
	for i := range conns {
		c := &conns[i].Config
		if named[c.Name] {
			continue // a duplicate name, reported with the connector
		}
		named[c.Name] = true
		for _, r := range c.Reports {
			if r.API == "" || sink.ValidateTopic(c.Name) != nil {
				continue // reported with the connector
			}
			name, err := sink.TopicName(t.Template, c.Name, c.Server, r.API)
			if err != nil {
				l.bad("topics.template", fmt.Sprintf("for connectors[%d] (%s): %v", i, c.Name, err), "shorten the template or the connector name")
				return
			}
			if name == t.Offsets || name == t.DeadLetter {
				l.bad("topics.template", fmt.Sprintf("gives %s, the name of the offsets or dead-letter topic", name), "rename one of them")
				return
			}
			if j, ok := owner[name]; ok && j != i {
				l.bad("topics.template", fmt.Sprintf("writes %s of both connectors[%d] (%s) and connectors[%d] (%s) into %s", r.API, j, conns[j].Config.Name, i, c.Name, name), "include {connector} or {server} in the template")
				return
			}
			owner[name] = i
		}
	}
}

// checkTokens checks what connectors sharing a token must agree on, and that each
// token's steady-state calls fit its daily budget.
func (l *loader) checkTokens(s *Settings) {
	for _, g := range s.TokenGroups() {
		first := g.Connectors[0]
		agree := true
		for _, i := range g.Connectors[1:] {
			c := &s.Connectors[i]
			differ := func(key string, mine, theirs any) {
				agree = false
				l.bad(fmt.Sprintf("connectors[%d].%s", i, key), fmt.Sprintf("is %v but connectors[%d] (%s), which uses the same token, has %v: connectors sharing a token share one %s",
					mine, first, s.Connectors[first].Config.Name, theirs, map[string]string{"daily_quota": "daily budget", "quota_reset_hour": "daily reset", "max_in_flight": "limit of simultaneous calls"}[key]),
					fmt.Sprintf("give both %s: %v (the token's value), or give them separate tokens", key, theirs))
			}
			if c.Config.DailyQuota != g.DailyQuota {
				differ("daily_quota", c.Config.DailyQuota, g.DailyQuota)
			}
			if c.Config.QuotaResetHour != g.QuotaResetHour {
				differ("quota_reset_hour", c.Config.QuotaResetHour, g.QuotaResetHour)
			}
			if c.MaxInFlight != g.MaxInFlight {
				differ("max_in_flight", c.MaxInFlight, g.MaxInFlight)
			}
		}
		if !agree || g.DailyQuota <= 0 {
			continue
		}
		p := s.QuotaPlan(g)
		if p.Fits() {
			continue
		}
		who := g.Label(s)
		l.bad(fmt.Sprintf("connectors[%d].daily_quota", first), fmt.Sprintf("the reports on %s make %.0f calls a day in steady state, above the daily quota of %d",
			who, p.Total, g.DailyQuota),
			fmt.Sprintf("cut %.0f calls a day: a longer interval (10m instead of 5m halves a report's calls), a longer bucket for range reports, or fewer reports; raise daily_quota only if the token has more licenses", p.Total-float64(g.DailyQuota)))
	}
}
