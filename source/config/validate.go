package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/cluster"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
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
	// minProducerMemory is the smallest limits.producer_memory: two producer batches
	// (Kafka's 1 MB max.message.bytes), below which every window crawls through its
	// spool file one batch at a time.
	minProducerMemory = 2 << 20
	// minStallTimeout is the shortest limits.stall_timeout: one call may take 60 s at
	// the API and a commit some seconds, so under 30 s healthy reports would read
	// stalled (and /readyz not ready) on every slow answer.
	minStallTimeout = 30 * time.Second
	// minFutureTolerance is the shortest limits.future_tolerance: under a minute, a
	// server clock a few seconds ahead would count ordinary rows as future ones.
	minFutureTolerance = time.Minute
	// minInterval is the shortest steady-state interval: Wolkvox suggests a call every
	// 5 minutes, and under a minute a report spends its daily budget on nearly empty
	// windows (package source refuses it too).
	minInterval = time.Minute
	// maxPartitions bounds topics.partitions. Kafka sets no hard limit, but every
	// partition costs the brokers file handles, memory and leader elections (a broker
	// is comfortable with a few thousand), and a report topic gets nowhere near the
	// throughput that would need more: a larger value is a typo, and one near 2^31 makes
	// the broker refuse the topic only once the worker runs.
	maxPartitions = 10000
	// maxStartAhead is how far in the future a start may be; EarliestStart the earliest
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

// EarliestStart is the earliest start a report may have: 2000-01-01 UTC.
var EarliestStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckInstant says what is wrong with t as a start or end of a report's range, ""
// when nothing is: it must lie between EarliestStart and now plus maxStartAhead.
func CheckInstant(t, now time.Time) string {
	switch {
	case t.Before(EarliestStart):
		return fmt.Sprintf("%s is before %s", t.Format(time.DateOnly), EarliestStart.Format(time.DateOnly))
	case t.After(now.Add(maxStartAhead)):
		return fmt.Sprintf("%s is more than a year after now (%s)", t.Format(time.DateOnly), now.Format(time.DateOnly))
	}
	return ""
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
	s.Cluster = l.buildCluster(fc.Cluster)
	now := time.Now()
	if s.Clock != nil {
		c := s.Clock.FastClock()
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

// EnvKafkaBrokers, when set, replaces kafka.brokers (comma-separated host:port).
const EnvKafkaBrokers = "WOLKVOX_KAFKA_BROKERS"

func (l *loader) buildKafka(fk *fileKafka, k *Kafka) {
	// The environment (or run's --brokers, which sets it) replaces the file's brokers:
	// containers usually learn their Kafka that way. They are checked like the file's.
	if v := strings.TrimSpace(l.getenv(EnvKafkaBrokers)); v != "" {
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
	k.TransactionalIDPrefix = source.DefaultTxnIDPrefix
	if p := fk.TransactionalIDPrefix; p != nil {
		if !txnPrefixRE.MatchString(*p) {
			l.bad("kafka.transactional_id_prefix", fmt.Sprintf("%q is not a transactional ID prefix", *p), TxnPrefixFix+"; leave it out for the default "+source.DefaultTxnIDPrefix)
		}
		k.TransactionalIDPrefix = *p
	}
}

// txnPrefixRE is what a transactional ID prefix may hold: the characters of a connector
// name, so every transactional ID the worker makes reads plainly in the broker's tools.
var txnPrefixRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,100}$`)

// TxnPrefixFix is how to write a transactional ID prefix that [ValidTxnPrefix] takes.
const TxnPrefixFix = "use 1-100 letters, digits, '.', '_' or '-', e.g. prod-wolkvox-"

// ValidTxnPrefix reports whether p may be kafka.transactional_id_prefix (and the
// offsets command's --transactional-id-prefix).
func ValidTxnPrefix(p string) bool { return txnPrefixRE.MatchString(p) }

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

func (l *loader) buildTLS(ft *fileTLS, path string) TLS {
	t := TLS{Enabled: ft.Enabled, CAFile: l.resolve(ft.CAFile), CertFile: l.resolve(ft.CertFile),
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

func (l *loader) buildSASL(fs *fileSASL, s *SASL) {
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

func (l *loader) buildRegistry(fr *fileSchemaRegistry, r *SchemaRegistry) {
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

// EnvRESTAddress and EnvLogLevel, when set, replace rest.address and log.level (run's
// --rest-address and --log-level set them), for every command that reads the file, so
// that validate checks what run will use.
const (
	EnvRESTAddress = "WOLKVOX_REST_ADDRESS"
	EnvLogLevel    = "WOLKVOX_LOG_LEVEL"
)

func (l *loader) buildREST(fr *fileREST, r *REST) {
	r.Address = cmp.Or(fr.Address, DefaultRESTAddress)
	from := ""
	if v := strings.TrimSpace(l.getenv(EnvRESTAddress)); v != "" {
		r.Address, from = v, " (from "+EnvRESTAddress+" or --rest-address)"
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

func (l *loader) buildLog(fl *fileLog, s *Log) {
	level, from := fl.Level, ""
	if v := strings.TrimSpace(l.getenv(EnvLogLevel)); v != "" {
		level, from = v, " (from "+EnvLogLevel+" or --log-level)"
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
func DefaultLimits() Limits {
	return Limits{MaxBodyBytes: wolkvox.DefaultMaxBodyBytes, MaxRowBytes: wolkvox.DefaultMaxRowBytes,
		ProducerMemory: source.DefaultProducerMemory,
		StallTimeout:   source.DefaultStallTimeout, FutureTolerance: source.DefaultFutureTolerance}
}

func (l *loader) buildLimits(fl *fileLimits) Limits {
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
	if n, ok := size("producer_memory", fl.ProducerMemory, minProducerMemory); ok {
		lim.ProducerMemory = n
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

// Bounds of a cluster's session timeout: the broker's defaults for
// group.min.session.timeout.ms and group.max.session.timeout.ms, outside which it refuses
// a member.
const (
	minSessionTimeout = 6 * time.Second
	maxSessionTimeout = 5 * time.Minute
)

var groupRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,200}$`)

func (l *loader) buildCluster(fc *fileCluster) *Cluster {
	if fc == nil {
		return nil
	}
	const path = "cluster"
	c := &Cluster{Group: fc.Group, WorkerID: fc.WorkerID, AdvertisedURL: fc.AdvertisedURL,
		SessionTimeout: cluster.DefaultSessionTimeout, HeartbeatInterval: cluster.DefaultHeartbeatInterval}
	switch {
	case fc.Group == "":
		l.bad(join(path, "group"), "is missing", "name the Kafka group the workers share, the same in every worker's file: group: wolkvox-connect-prod")
	case !groupRE.MatchString(fc.Group):
		l.bad(join(path, "group"), fmt.Sprintf("%q is not a group name", fc.Group), "use 1-200 letters, digits, '.', '_' or '-'")
	}
	if len(fc.WorkerID) > 100 || strings.ContainsFunc(fc.WorkerID, func(r rune) bool { return r < ' ' }) {
		l.bad(join(path, "worker_id"), "is over 100 characters or holds control characters", "use a short name such as the host's")
	}
	if fc.AdvertisedURL != "" {
		if u, err := url.Parse(fc.AdvertisedURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.bad(join(path, "advertised_url"), fmt.Sprintf("%q is not an http(s) URL", fc.AdvertisedURL), "write where the other workers reach this worker's REST API: http://worker-1:8083")
		}
	}
	dur := func(key, text string, into *time.Duration) bool {
		if text == "" {
			return true
		}
		d, err := time.ParseDuration(text)
		if err != nil || d <= 0 {
			l.bad(join(path, key), fmt.Sprintf("%q is not a positive duration", text), `write a Go duration such as "10s"`)
			return false
		}
		*into = d
		return true
	}
	if dur("session_timeout", fc.SessionTimeout, &c.SessionTimeout) && (c.SessionTimeout < minSessionTimeout || c.SessionTimeout > maxSessionTimeout) {
		l.bad(join(path, "session_timeout"), fmt.Sprintf("%s is outside %s..%s, which the broker accepts by default", fc.SessionTimeout, shortDuration(minSessionTimeout), shortDuration(maxSessionTimeout)),
			"use 10s (a dead worker's connectors move after about this long), or change the broker's group.min/max.session.timeout.ms")
	}
	if dur("heartbeat_interval", fc.HeartbeatInterval, &c.HeartbeatInterval) && c.HeartbeatInterval > c.SessionTimeout/3 {
		l.bad(join(path, "heartbeat_interval"), fmt.Sprintf("%s is more than a third of session_timeout (%s)", shortDuration(c.HeartbeatInterval), shortDuration(c.SessionTimeout)),
			fmt.Sprintf("use at most %s, so that two lost heartbeats do not expel the worker", shortDuration(c.SessionTimeout/3)))
	}
	return c
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
		return 0, fmt.Errorf("size %q: %w", s, ErrInvalid)
	}
	unit, ok := sizeUnits[m[2]]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q: %w", s, m[2], ErrInvalid)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > (1<<62)/unit {
		return 0, fmt.Errorf("size %q: too large: %w", s, ErrInvalid)
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

func (l *loader) buildConnector(fc *fileConnector, path string, now time.Time) Connector {
	cs := Connector{
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
	full := cs.SourceConfig()
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
func (l *loader) clientProblems(cs *Connector, fc *fileConnector, path string) {
	_, err := wolkvox.NewClient(cs.SourceOpts()...)
	if err == nil {
		return
	}
	reported := func(field string) bool {
		return slices.ContainsFunc(l.problems, func(p Problem) bool { return p.Field == field })
	}
	for _, e := range joined(err) {
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

// joined lists the errors errors.Join put together, or err alone.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// connectorProblems re-paths source.Config.Validate's FieldErrors, which name the
// connector (connectors.NAME.field), to the file's connectors[i].field.
func (l *loader) connectorProblems(err error, name, path string) {
	for _, e := range joined(err) {
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
// connector's defaults, left zero so that package source fills them).
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
		t, err := ParseInstant(fs.Start, loc, now)
		if err != nil {
			l.bad(join(path, "start"), fmt.Sprintf("%q is not a start", fs.Start), `write an RFC 3339 instant ("2026-11-01T00:00:00-05:00"), a date ("2026-11-01", midnight in time_zone) or "today"`)
		} else if problem := CheckInstant(t, now); problem != "" {
			l.bad(join(path, "start"), problem, fmt.Sprintf("give a start between %s and a year from now; leave start out to begin at the current time", EarliestStart.Format(time.DateOnly)))
			t = time.Time{}
		}
		rc.Start = t
	}
	return rc
}

// ParseInstant reads an instant as the file's start and backfill's --from and --to
// take it: RFC 3339, a date (midnight in loc), or "today" (midnight of now's date in
// loc). Anything else wraps ErrInvalid.
func ParseInstant(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if strings.EqualFold(s, "today") {
		y, m, d := now.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-11-01T08:00:00-05:00), a date (2026-11-01) nor \"today\": %w", s, ErrInvalid)
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

func (l *loader) buildTopics(ft *fileTopics, t *Topics, conns []Connector) {
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
