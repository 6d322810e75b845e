package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	_ "time/tzdata" // every zone name works, even where the system has no zone database

	"go.yaml.in/yaml/v3"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// Limits on files the configuration points at: a secret is a line, a PEM bundle a few
// certificates. Anything larger is a mistake (a wrong path), not a secret.
const (
	maxSecretFile = 64 << 10
	maxPEMFile    = 1 << 20
)

// ErrInvalid is wrapped by every error about the configuration's content:
// *Error and the errors of the build methods (Opts, Config).
var ErrInvalid = errors.New("invalid configuration")

// Error is every problem found in a configuration file. It unwraps to
// ErrInvalid and to each problem's *source.FieldError, so errors.As finds
// the first one and errors.Is(err, ErrInvalid) holds.
type Error struct {
	File     string // the file's path; empty for Parse
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

// At is the problem as a compiler would print it: "FILE:LINE: field: problem (fix:
// ...)", "FILE: field: ..." when the line is unknown.
func (p Problem) At(file string) string { return p.at(file, "") }

// WarningAt is At for a warning: "FILE:LINE: warning: field: ...".
func (p Problem) WarningAt(file string) string { return p.at(file, "warning: ") }

func (p Problem) at(file, kind string) string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s%s", file, kind, p.FieldError.Error())
	}
	return fmt.Sprintf("%s:%d: %s%s", file, p.Line, kind, p.FieldError.Error())
}

func (e *Error) Error() string {
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

// Unwrap returns ErrInvalid and every problem's FieldError.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, len(e.Problems)+1)
	errs = append(errs, ErrInvalid)
	for _, p := range e.Problems {
		errs = append(errs, p.FieldError)
	}
	return errs
}

// Load reads and checks the configuration file at path; token_file and other
// relative paths in it are relative to the file's directory. getenv resolves ${NAME}
// references (os.Getenv in production). Problems with the content come back as one
// *Error listing every problem at once, each with its field path, its line and
// the fix. A file that cannot be read comes back wrapped: an *fs.PathError, or
// ErrInvalid for a file that is not regular or is over 4 MiB.
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
//	  transactional_id_prefix: wolkvox-connect-  # the default; + a connector's name = its transactional ID
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
//	cluster:                                     # omitted: this worker runs every connector
//	  group: wolkvox-connect-prod                # required here: the Kafka group of the workers
//	  worker_id: worker-1                        # default host:pid; shown in statuses
//	  advertised_url: http://worker-1:8083       # where the others reach this REST API
//	  session_timeout: 10s                       # 6s..5m: a dead worker's connectors move after it
//	  heartbeat_interval: 3s                     # at most a third of session_timeout
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
//   - cluster makes the worker one of a group sharing the connectors (package
//     source/cluster): every worker of a group runs the same file; the workers must
//     agree on the connectors, the topics and kafka.transactional_id_prefix, not on
//     brokers, REST, logging or limits.
//     session_timeout's bounds are the broker's defaults for group.min.session.timeout.ms
//     and group.max.session.timeout.ms.
//   - kafka.transactional_id_prefix begins every transactional ID the worker uses: each
//     connector's (prefix + name), its backfills' (prefix + "backfill-" + name), its
//     replays' and its tokens' quota ledgers'. Two deployments sharing one Kafka cluster
//     with connectors of the same name (staging beside production, two tenants) must
//     give different prefixes, or each one's start fences the other's transactions; the
//     offsets command takes it from the file too, so its changes fence the right
//     connector.
//   - limits is one top-level block, not a per-connector key: source.NewWorker gives
//     every connector one set of options, and the limits guard the process's memory and
//     health, which its connectors share. Sizes are whole bytes or binary units (KiB,
//     MiB, GiB); decimal units (MB) are refused rather than guessed at. A max_body_bytes
//     below the default row limit lowers max_row_bytes with it unless that is set.
func Load(path string, getenv func(string) string) (*Settings, error) {
	data, err := readLimited(path, 4<<20)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	s, err := Parse(data, getenv, filepath.Dir(path))
	var ce *Error
	if errors.As(err, &ce) {
		ce.File = path
	}
	return s, err
}

// Parse checks a configuration file's content and returns the Settings, or a
// *Error with every problem found. Relative paths in it (token_file, TLS files)
// resolve against baseDir ("" is the working directory). It never panics, whatever
// the input.
func Parse(data []byte, getenv func(string) string, baseDir string) (*Settings, error) {
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
	return nil, &Error{Problems: l.problems}
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
	Cluster        *fileCluster       `yaml:"cluster"`
	Connectors     []fileConnector    `yaml:"connectors"`
}

type fileCluster struct {
	Group             string `yaml:"group"`
	WorkerID          string `yaml:"worker_id"`
	AdvertisedURL     string `yaml:"advertised_url"`
	SessionTimeout    string `yaml:"session_timeout"`
	HeartbeatInterval string `yaml:"heartbeat_interval"`
}

type fileKafka struct {
	Brokers               []string `yaml:"brokers"`
	TLS                   fileTLS  `yaml:"tls"`
	SASL                  fileSASL `yaml:"sasl"`
	TransactionalIDPrefix *string  `yaml:"transactional_id_prefix"`
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
	ProducerMemory  string `yaml:"producer_memory"`
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
	if field == "" { // a key with an empty name: the line is all there is to point at
		field = fmt.Sprintf("(line %d)", line)
	}
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
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "config."):
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
		return nil, fmt.Errorf("%s: %w: not a regular file", path, ErrInvalid)
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
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrInvalid, max)
	}
	return data, nil
}

// secretValue resolves a value given inline or as a file. The error messages name the
// file, never its content.
func (l *loader) secretValue(path, key, inline, file string) Secret {
	switch {
	case inline != "" && file != "":
		l.bad(join(path, key), "is given both inline and as "+key+"_file", "keep one of "+key+" and "+key+"_file")
		l.settled[join(path, key)] = true
		return Secret{}
	case file != "":
		data, err := readLimited(l.resolve(file), maxSecretFile)
		if err != nil {
			l.bad(join(path, key+"_file"), fmt.Sprintf("cannot be read: %v", err), "give a readable file holding only the "+key+"; relative paths start at the configuration file's directory")
			l.settled[join(path, key)] = true
			return Secret{}
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			l.bad(join(path, key+"_file"), fmt.Sprintf("%s is empty", file), "write the "+key+" into the file")
			l.settled[join(path, key)] = true
		}
		return NewSecret(v)
	}
	return NewSecret(inline)
}
