package config

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.yaml.in/yaml/v3"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// The testdata files set a virtual clock, as the test builds of the binary may; the
// production refusal is TestProductionRefusesClock in cmd/wolkvox-connect.
func init() { AllowVirtualClock() }

// testEnv is the environment the testdata and example files are checked with.
var testEnv = map[string]string{
	"WOLKVOX_TOKEN":      "tok-env-secret-1",
	"WOLKVOX_TOKEN_CO":   "tok-co-secret-2",
	"WOLKVOX_TOKEN_PE":   "tok-pe-secret-3",
	"SR_PASSWORD":        "sr-pass-secret-4",
	"WOLKVOX_REST_TOKEN": "rest-secret-5",
	"REST_SUFFIX":        "suffix-secret-6",
}

func getenv(name string) string { return testEnv[name] }

// want is one expected problem of a *.bad.yaml file, read from its "# want: FIELD | FIX"
// comment lines: the problem's field, and text its fix contains.
type want struct{ field, fix string }

func wantsOf(t *testing.T, data []byte) []want { t.Helper(); return linesOf(t, data, "# want:") }

// warningsOf reads the expected warnings of a *.good.yaml file from its "# warn: FIELD |
// FIX" lines.
func warningsOf(t *testing.T, data []byte) []want { t.Helper(); return linesOf(t, data, "# warn:") }

func linesOf(t *testing.T, data []byte, prefix string) []want {
	t.Helper()
	var ws []want
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
		if !ok {
			continue
		}
		field, fix, ok := strings.Cut(rest, "|")
		if !ok {
			t.Fatalf("malformed want line %q", line)
		}
		ws = append(ws, want{strings.TrimSpace(field), strings.TrimSpace(fix)})
	}
	return ws
}

// TestConfigFiles loads every testdata/*.good.yaml, which must pass, and every
// *.bad.yaml, which must fail with exactly the problems its want lines list, each with
// its field path, its fix and a line.
func TestConfigFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	var good, bad int
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s, err := Load(file, getenv)
			if strings.HasSuffix(file, ".good.yaml") {
				good++
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if len(s.Connectors) == 0 || len(s.Kafka.Brokers) == 0 {
					t.Fatalf("settings without connectors or brokers: %+v", s)
				}
				data, rerr := os.ReadFile(file)
				if rerr != nil {
					t.Fatal(rerr)
				}
				warns := warningsOf(t, data)
				for _, w := range warns {
					if !slices.ContainsFunc(s.Warnings, func(p Problem) bool { return p.Field == w.field && strings.Contains(p.Fix, w.fix) && p.Line > 0 }) {
						t.Errorf("no warning at %s, with a line, and a fix containing %q; warnings: %v", w.field, w.fix, s.Warnings)
					}
				}
				if len(s.Warnings) != len(warns) {
					t.Errorf("%d warnings, want %d: %v", len(s.Warnings), len(warns), s.Warnings)
				}
				return
			}
			bad++
			data, rerr := os.ReadFile(file)
			if rerr != nil {
				t.Fatal(rerr)
			}
			wants := wantsOf(t, data)
			if len(wants) == 0 {
				t.Fatalf("%s has no '# want:' line", file)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want a *Error", err, err)
			}
			if s != nil {
				t.Errorf("settings returned with problems")
			}
			if !errors.Is(err, ErrInvalid) || ce.File != file {
				t.Errorf("errors.Is(err, ErrInvalid) = %v, File = %q", errors.Is(err, ErrInvalid), ce.File)
			}
			var fe *source.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("errors.As(err, *source.FieldError) failed")
			}
			for _, w := range wants {
				i := slices.IndexFunc(ce.Problems, func(p Problem) bool { return p.Field == w.field && strings.Contains(p.Fix, w.fix) })
				if i < 0 {
					t.Errorf("no problem at %s with a fix containing %q", w.field, w.fix)
				}
			}
			if len(ce.Problems) != len(wants) {
				t.Errorf("%d problems, want %d", len(ce.Problems), len(wants))
			}
			if t.Failed() {
				t.Logf("problems:\n%v", err)
			}
		})
	}
	if good < 3 || bad < 25 {
		t.Errorf("%d good and %d bad files: the table lost files", good, bad)
	}
}

// TestFullSettings checks that every key of full.good.yaml lands where it belongs.
func TestFullSettings(t *testing.T) {
	s, err := Load("testdata/full.good.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string { return filepath.Join("testdata", p) }
	bogota, _ := time.LoadLocation("America/Bogota")
	clockStart := time.Date(2026, 11, 1, 8, 0, 0, 0, time.FixedZone("", -5*3600))
	// "today" is read on the demo clock; its origin is long past, so at speed 60 the
	// virtual date is far ahead: compute it the same way.
	vnow := (&Clock{Start: clockStart, Origin: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Speed: 60}).FastClock().Now()
	y, m, d := vnow.In(bogota).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, bogota)

	c := s.Connectors[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"brokers", s.Kafka.Brokers, []string{"kafka-1:9092", "10.0.0.2:9093"}},
		{"tls", s.Kafka.TLS, TLS{Enabled: true, CAFile: abs("tls/ca.pem"), CertFile: abs("tls/client.pem"), KeyFile: abs("tls/client-key.pem")}},
		{"sasl mechanism (upper-cased)", s.Kafka.SASL.Mechanism, "SCRAM-SHA-512"},
		{"sasl user", s.Kafka.SASL.Username, "connect"},
		{"sasl password from file, trimmed", s.Kafka.SASL.Password.Reveal(), "sasl-pass-from-file"},
		{"transactional id prefix", s.Kafka.TransactionalIDPrefix, "prod-wolkvox-"},
		{"the destination's transactional id prefix", s.Destination().TransactionalIDPrefix, "prod-wolkvox-"},
		{"registry url, trailing slash dropped", s.SchemaRegistry.URL, "https://registry:8081"},
		{"registry password from env", s.SchemaRegistry.Password.Reveal(), "sr-pass-secret-4"},
		{"registry pre-registered", s.SchemaRegistry.PreRegistered, true},
		{"registry tls", s.SchemaRegistry.TLS.CAFile, abs("tls/ca.pem")},
		{"topics", s.Topics, Topics{Template: "wv.{server}.{connector}.{report}", Partitions: 3, ReplicationFactor: 2,
			Configs: map[string]string{"retention.ms": "604800000", "compression.type": "zstd"}, Offsets: "my-offsets", DeadLetter: "my-dlq"}},
		{"rest address", s.REST.Address, ":9000"},
		{"rest token: $${ escapes, ${} expands", s.REST.Token.Reveal(), "static-${literal}-suffix-secret-6"},
		{"log", s.Log, Log{Level: slog.LevelDebug, Format: "json"}},
		{"limits, with units and in bytes", s.Limits, Limits{MaxBodyBytes: 256 << 20, MaxRowBytes: 1 << 20, ProducerMemory: 64 << 20, StallTimeout: 10 * time.Minute, FutureTolerance: 2 * time.Hour}},
		{"clock", *s.Clock, Clock{Start: clockStart, Origin: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Speed: 60}},
		{"name", c.Config.Name, "bogota"},
		{"server", c.Config.Server, "0040"},
		{"token from file", c.Token.Reveal(), "tok-from-file-777"},
		{"token kept out of Config", c.Config.Token.Reveal(), ""},
		{"token in SourceConfig()", c.SourceConfig().Token.Reveal(), "tok-from-file-777"},
		{"zone", c.Config.Location.String(), "America/Bogota"},
		{"quota", c.Config.DailyQuota, int64(3000)},
		{"reset hour", c.Config.QuotaResetHour, 5},
		{"base url", c.BaseURL, "http://127.0.0.1:8090"},
		{"max in flight", c.MaxInFlight, 2},
		{"reports", len(c.Config.Reports), 3},
		{"act_3 overrides interval", c.Config.Reports[0], source.ReportConfig{API: "act_3", Params: map[string]string{"cod_act": "cod_act2"},
			Interval: 10 * time.Minute, Lookback: 2 * time.Hour, Settle: 2 * time.Minute, Bucket: 30 * time.Minute, Start: today}},
		{"date start is midnight in the zone", c.Config.Reports[1].Start, time.Date(2026, 10, 15, 0, 0, 0, 0, bogota)},
		{"rfc3339 start", c.Config.Reports[2].Start, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)},
		{"bucket override", c.Config.Reports[2].Bucket, 24 * time.Hour},
		{"params kept", c.Config.Reports[2].Params, map[string]string{"services_time": "45"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

// TestDefaults checks what a minimal file leaves to the defaults.
func TestDefaults(t *testing.T) {
	s, err := Load("testdata/minimal.good.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Connectors[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"template", s.Topics.Template, source.DefaultTopicTemplate},
		{"partitions", s.Topics.Partitions, int32(-1)},
		{"replication", s.Topics.ReplicationFactor, int16(-1)},
		{"offsets", s.Topics.Offsets, source.DefaultOffsetsTopic},
		{"transactional id prefix", s.Kafka.TransactionalIDPrefix, source.DefaultTxnIDPrefix},
		{"dead letter", s.Topics.DeadLetter, source.DefaultDeadLetterTopic},
		{"rest", s.REST.Address, DefaultRESTAddress},
		{"rest token unset", s.REST.Token.IsSet(), false},
		{"log", s.Log, Log{Level: slog.LevelInfo, Format: "text"}},
		{"limits", s.Limits, Limits{MaxBodyBytes: 512 << 20, MaxRowBytes: 16 << 20, ProducerMemory: 16 << 20, StallTimeout: 5 * time.Minute, FutureTolerance: time.Hour}},
		{"clock", s.Clock, (*Clock)(nil)},
		{"registry", s.SchemaRegistry.URL, ""},
		{"zone", c.Config.Location.String(), DefaultTimeZone},
		{"max in flight", c.MaxInFlight, 1},
		{"base url", c.BaseURL, ""},
		// Zero schedule values are the connector's to fill, with its own defaults.
		{"schedule left to the connector", c.Config.Reports[0], source.ReportConfig{API: "diagram_13"}},
		{"token from env", c.Token.Reveal(), "tok-env-secret-1"},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

// TestSecretsNeverPrinted formats Settings every way a program might, and checks that
// no secret of full.good.yaml appears while each is still there to Reveal.
func TestSecretsNeverPrinted(t *testing.T) {
	s, err := Load("testdata/full.good.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]Secret{
		"tok-from-file-777":   s.Connectors[0].Token,
		"sasl-pass-from-file": s.Kafka.SASL.Password,
		"sr-pass-secret-4":    s.SchemaRegistry.Password,
		"suffix-secret-6":     s.REST.Token,
	}
	for text, sec := range secrets {
		if !strings.Contains(sec.Reveal(), text) {
			t.Fatalf("secret %q not loaded: Reveal = %q", text, sec.Reveal())
		}
	}
	jsonOut, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	yamlOut, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var logText, logJSON bytes.Buffer
	slog.New(slog.NewTextHandler(&logText, nil)).Info("settings", "s", s, "token", s.Connectors[0].Token)
	slog.New(slog.NewJSONHandler(&logJSON, nil)).Info("settings", "s", s, "token", s.Connectors[0].Token)
	outputs := map[string]string{
		"%v":       fmt.Sprintf("%v", s),
		"%+v":      fmt.Sprintf("%+v", *s),
		"%#v":      fmt.Sprintf("%#v", *s),
		"%v conns": fmt.Sprintf("%v", s.Connectors),
		"%v token": fmt.Sprintf("%v %+v %#v %q", s.Connectors[0].Token, s.Connectors[0], s.Connectors[0], s.REST.Token),
		"json":     string(jsonOut),
		"yaml":     string(yamlOut),
		"slog":     logText.String(),
		"slogjson": logJSON.String(),
	}
	for how, out := range outputs {
		for text := range secrets {
			if strings.Contains(out, text) {
				t.Errorf("%s shows secret %q:\n%s", how, text, out)
			}
		}
		if (how == "json" || how == "yaml" || how == "%v token") && !strings.Contains(out, source.Redacted) {
			t.Errorf("%s does not show %s:\n%s", how, source.Redacted, out)
		}
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "alpha", "B": "beta"}
	tests := []struct {
		in, want string
		problem  string // text of the expected problem, "" for none
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha"},
		{in: "x-${A}-${B}-y", want: "x-alpha-beta-y"},
		{in: "$${A}", want: "${A}"},
		{in: "$$${A}", want: "$${A}"},
		{in: "pa$$word$", want: "pa$$word$"},
		{in: "$A", want: "$A"},
		{in: "${UNSET}", problem: "UNSET, which is not set"},
		{in: "${A", problem: "without its closing"},
		{in: "${A-B}", problem: "not a variable reference"},
		{in: "${}", problem: "not a variable reference"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			l := &loader{getenv: func(k string) string { return env[k] }, lines: map[string]int{}, settled: map[string]bool{}}
			got, ok := l.expandString(tt.in, "f")
			if tt.problem == "" {
				if !ok || got != tt.want || len(l.problems) != 0 {
					t.Errorf("expandString(%q) = %q, %v, problems %v; want %q", tt.in, got, ok, l.problems, tt.want)
				}
				return
			}
			if ok || len(l.problems) != 1 || !strings.Contains(l.problems[0].Problem, tt.problem) || l.problems[0].Field != "f" {
				t.Errorf("expandString(%q): ok %v, problems %v; want one at f with %q", tt.in, ok, l.problems, tt.problem)
			}
		})
	}
}

func TestParseStart(t *testing.T) {
	lima, err := time.LoadLocation("America/Lima")
	if err != nil {
		t.Fatal(err)
	}
	// 03:00 UTC on 2 Nov is still 1 Nov in Lima (UTC-5).
	now := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"today", time.Date(2026, 11, 1, 0, 0, 0, 0, lima), true},
		{"TODAY", time.Date(2026, 11, 1, 0, 0, 0, 0, lima), true},
		{"2026-10-15", time.Date(2026, 10, 15, 0, 0, 0, 0, lima), true},
		{"2026-10-15T08:30:00Z", time.Date(2026, 10, 15, 8, 30, 0, 0, time.UTC), true},
		{"2026-10-15T08:30:00-05:00", time.Date(2026, 10, 15, 13, 30, 0, 0, time.UTC), true},
		{"2026-10-15 08:30:00", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseInstant(tt.in, lima, now)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseInstant(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseInstant(%q) error %v does not wrap ErrInvalid", tt.in, err)
		}
	}
}

func TestTokenGroupsAndPlan(t *testing.T) {
	s, err := Load("testdata/shared-token.good.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	groups := s.TokenGroups()
	wantGroups := []TokenGroup{
		{Connectors: []int{0, 1}, DailyQuota: 1000, MaxInFlight: 1},
		{Connectors: []int{2}, DailyQuota: 1000, MaxInFlight: 1},
	}
	if !reflect.DeepEqual(groups, wantGroups) {
		t.Fatalf("TokenGroups = %+v, want %+v", groups, wantGroups)
	}
	if got := groups[0].Label(s); got != "the token of a, b" {
		t.Errorf("Label = %q", got)
	}
	p := s.QuotaPlan(groups[0])
	// diagram_13 and chat_1 every 5m (288 each), chat_3 per 1h bucket (24).
	want := map[string]float64{"a/diagram_13": 288, "b/chat_1": 288, "b/chat_3": 24}
	if !reflect.DeepEqual(p.PerReport, want) || p.Total != 600 || p.Budget != 1000 || !p.Fits() {
		t.Errorf("QuotaPlan = %+v, want %v, total 600 of 1000", p, want)
	}
}

// TestKafkaOpts connects to in-process clusters, one requiring SCRAM-SHA-256 and one
// requiring TLS and SCRAM-SHA-512, with the options built from Settings, and checks
// that a wrong password or an unknown certificate authority is refused.
func TestKafkaOpts(t *testing.T) {
	saslOnly, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "connect", "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer saslOnly.Close()
	serverTLS, caFile := selfSignedTLS(t)
	withTLS, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(serverTLS), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "connect", "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer withTLS.Close()

	tests := []struct {
		name string
		k    Kafka
		ok   bool
	}{
		{"scram-256", Kafka{Brokers: saslOnly.ListenAddrs(),
			SASL: SASL{Mechanism: "SCRAM-SHA-256", Username: "connect", Password: NewSecret("right-password")}}, true},
		{"scram-256 wrong password", Kafka{Brokers: saslOnly.ListenAddrs(),
			SASL: SASL{Mechanism: "SCRAM-SHA-256", Username: "connect", Password: NewSecret("wrong-password")}}, false},
		{"tls and scram-512", Kafka{Brokers: withTLS.ListenAddrs(), TLS: TLS{Enabled: true, CAFile: caFile},
			SASL: SASL{Mechanism: "SCRAM-SHA-512", Username: "connect", Password: NewSecret("right-password")}}, true},
		{"tls with another CA", Kafka{Brokers: withTLS.ListenAddrs(), TLS: TLS{Enabled: true, CAFile: "testdata/tls/ca.pem"},
			SASL: SASL{Mechanism: "SCRAM-SHA-512", Username: "connect", Password: NewSecret("right-password")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := tt.k.Opts()
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(append(opts, kgo.RequestRetries(0))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cl.Ping(ctx); (err == nil) != tt.ok {
				t.Errorf("Ping = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// selfSignedTLS returns a server TLS config for 127.0.0.1 and the path of its
// certificate as a PEM file, to be trusted as the CA.
func selfSignedTLS(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kfake"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, caFile
}

func TestTLSConfig(t *testing.T) {
	tests := []struct {
		name    string
		tls     TLS
		certs   int
		roots   bool
		wantErr bool
	}{
		{name: "disabled", tls: TLS{CAFile: "testdata/tls/ca.pem"}},
		{name: "system roots", tls: TLS{Enabled: true}},
		{name: "ca", tls: TLS{Enabled: true, CAFile: "testdata/tls/ca.pem"}, roots: true},
		{name: "mtls", tls: TLS{Enabled: true, CAFile: "testdata/tls/ca.pem", CertFile: "testdata/tls/client.pem", KeyFile: "testdata/tls/client-key.pem"}, roots: true, certs: 1},
		{name: "ca not pem", tls: TLS{Enabled: true, CAFile: "testdata/secrets/token.txt"}, wantErr: true},
		{name: "key mismatch", tls: TLS{Enabled: true, CertFile: "testdata/tls/client.pem", KeyFile: "testdata/tls/ca.pem"}, wantErr: true},
		{name: "missing", tls: TLS{Enabled: true, CAFile: "testdata/tls/missing.pem"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := tt.tls.Config()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Config() error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil || !tt.tls.Enabled {
				if tc != nil {
					t.Errorf("Config() = %v with error %v or TLS disabled", tc, err)
				}
				return
			}
			if len(tc.Certificates) != tt.certs || (tc.RootCAs != nil) != tt.roots {
				t.Errorf("certificates %d, roots %v; want %d, %v", len(tc.Certificates), tc.RootCAs != nil, tt.certs, tt.roots)
			}
		})
	}
}

func TestRegistryOpts(t *testing.T) {
	none, err := SchemaRegistry{}.Opts("test")
	if err != nil || none != nil {
		t.Errorf("no registry: Opts = %v, %v; want nil, nil", none, err)
	}
	opts, err := SchemaRegistry{URL: "https://r:8081", Username: "u", Password: NewSecret("p"),
		TLS: TLS{Enabled: true, CAFile: "testdata/tls/ca.pem"}}.Opts("test")
	if err != nil || len(opts) != 4 { // URLs, UserAgent, BasicAuth, HTTPClient
		t.Errorf("Opts = %d options, %v; want 4", len(opts), err)
	}
	if _, err := (SchemaRegistry{URL: "https://r", TLS: TLS{Enabled: true, CAFile: "testdata/nope.pem"}}).Opts("test"); err == nil {
		t.Error("Opts with a missing CA file succeeded")
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	lg := Log{Level: slog.LevelWarn, Format: "json"}.Logger(&buf)
	lg.Info("dropped")
	lg.Warn("kept", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %q: %v", buf.String(), err)
	}
	if rec["msg"] != "kept" || rec["level"] != "WARN" {
		t.Errorf("record = %v", rec)
	}
}

func TestEditDistanceSuggestions(t *testing.T) {
	allowed := []string{"daily_quota", "name", "server", "token", "token_file", "time_zone"}
	tests := []struct{ in, want string }{
		{"tokn", "token"},
		{"Server", "server"},
		{"dailyquota", "daily_quota"},
		{"timezone", "time_zone"},
		{"completely_unrelated", ""},
	}
	for _, tt := range tests {
		if got := closest(tt.in, allowed); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseSettings feeds arbitrary files to Parse: it must never panic, and it
// returns either Settings or a *Error whose every problem names a field.
func FuzzParseSettings(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "../../deploy/examples/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("connectors: [{name: x, reports: [{api: act_3, params: {cod_act: ${A}}}]}]"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, getenv, "testdata")
		if err == nil {
			if s == nil {
				t.Fatal("nil settings and nil error")
			}
			return
		}
		var ce *Error
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("error %v (%T) is not a *Error with problems", err, err)
		}
		for _, p := range ce.Problems {
			if p.Field == "" || p.Problem == "" {
				t.Fatalf("problem without field or text: %#v", p.FieldError)
			}
		}
	})
}

// TestReadLimited checks that files the configuration points at are read only when
// they are small regular files: a FIFO or a device named by mistake must not block or
// flood the worker.
func TestReadLimited(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	big := filepath.Join(dir, "big")
	fifo := filepath.Join(dir, "fifo")
	if err := os.WriteFile(small, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), 101), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path     string
		want     string
		invalid  bool // the error wraps ErrInvalid
		notExist bool
	}{
		{path: small, want: "abc\n"},
		{path: big, invalid: true},
		{path: fifo, invalid: true},
		{path: dir, invalid: true},
		{path: "/dev/zero", invalid: true},
		{path: filepath.Join(dir, "missing"), notExist: true},
	}
	for _, tt := range tests {
		got, err := readLimited(tt.path, 100)
		switch {
		case tt.invalid && !errors.Is(err, ErrInvalid),
			tt.notExist && !errors.Is(err, fs.ErrNotExist),
			!tt.invalid && !tt.notExist && (err != nil || string(got) != tt.want):
			t.Errorf("readLimited(%s) = %q, %v", filepath.Base(tt.path), got, err)
		}
	}
}

// TestSettingsRedactor: the Redactor and the logger of the settings hide every secret
// of full.good.yaml, the registry's Basic credentials included, in text that came from
// elsewhere (an upstream's answer quoting them).
func TestSettingsRedactor(t *testing.T) {
	s, err := Load("testdata/full.good.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, secret string
	}{
		{"wolkvox token", "tok-from-file-777"},
		{"kafka sasl password", "sasl-pass-from-file"},
		{"registry password", "sr-pass-secret-4"},
		{"registry basic credentials", base64.StdEncoding.EncodeToString([]byte("sr-user:sr-pass-secret-4"))},
		{"rest token", "static-${literal}-suffix-secret-6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstream := "upstream said: bad credentials " + tt.secret + " (try again)"
			if got := s.Redactor().Redact(upstream); strings.Contains(got, tt.secret) || !strings.Contains(got, source.Redacted) {
				t.Errorf("Redact = %q", got)
			}
			for _, format := range []string{"text", "json"} {
				var buf bytes.Buffer
				s.Log.Format = format
				log, _ := s.Logger(&buf)
				log.Error(upstream, "err", errors.New(upstream), "body", upstream)
				if strings.Contains(buf.String(), tt.secret) || strings.Count(buf.String(), source.Redacted) != 3 {
					t.Errorf("%s log: %s", format, buf.String())
				}
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // -1: refused
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"512MiB", 512 << 20},
		{"16 MiB", 16 << 20},
		{"64KiB", 64 << 10},
		{"1GiB", 1 << 30},
		{"100B", 100},
		{" 2MiB ", 2 << 20},
		{"16MB", -1},
		{"16mib", -1},
		{"1.5MiB", -1},
		{"-1", -1},
		{"MiB", -1},
		{"", -1},
		{"99999999999999999999", -1},
		{"8589934592GiB", -1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			switch {
			case tt.want < 0 && err == nil:
				t.Errorf("parseSize(%q) = %d, want an error", tt.in, got)
			case tt.want >= 0 && (err != nil || got != tt.want):
				t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestLimitsFollowTheBody: a body limit below the default row limit lowers the row
// limit with it, rather than refusing a file that never set max_row_bytes.
func TestLimitsFollowTheBody(t *testing.T) {
	s, err := Parse([]byte(`kafka: {brokers: ["127.0.0.1:9092"]}
limits: {max_body_bytes: 4MiB}
connectors:
  - {name: a, server: "0040", token: x, daily_quota: 1000, reports: [{api: diagram_13}]}
`), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Limits.MaxBodyBytes != 4<<20 || s.Limits.MaxRowBytes != 4<<20 {
		t.Errorf("limits %+v, want both 4 MiB", s.Limits)
	}
}

// TestSettingsConnector: a connector is found by name, as the worker runs it (token,
// defaults and topics); no name picks a file's only connector; anything else lists the
// file's connectors.
func TestSettingsConnector(t *testing.T) {
	s, err := Load("testdata/shared-token.good.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Connector("b")
	if err != nil {
		t.Fatal(err)
	}
	if c.Config().Name != "b" || !c.Config().Token.IsSet() || c.Topics()["chat_1"] == "" || len(c.Topics()) != 2 {
		t.Errorf("Connector(b) = %+v, topics %v", c.Config(), c.Topics())
	}
	for _, name := range []string{"", "z"} {
		_, err := s.Connector(name)
		var ue *UnknownConnectorError
		if !errors.As(err, &ue) || !errors.Is(err, source.ErrUnknownConnector) || !slices.Equal(ue.Connectors, []string{"a", "b", "c"}) {
			t.Errorf("Connector(%q) error = %v, want an *UnknownConnectorError listing a, b, c", name, err)
		}
	}
	one, err := Load("testdata/minimal.good.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := one.Connector(""); err != nil || c.Config().Name != one.Connectors[0].Config.Name {
		t.Errorf("Connector(\"\") of a one-connector file = %v, %v", c, err)
	}
}

func TestClusterIdentity(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name:", err)
	}
	tests := []struct {
		name            string
		cluster         *Cluster
		rest            string
		wantID, wantURL string
	}{
		{name: "no cluster", rest: "127.0.0.1:8083"},
		{name: "given", cluster: &Cluster{WorkerID: "w-1", AdvertisedURL: "https://w-1:8443"}, rest: "0.0.0.0:8083", wantID: "w-1", wantURL: "https://w-1:8443"},
		{name: "from a REST address on every interface", cluster: &Cluster{}, rest: "0.0.0.0:8083",
			wantID: net.JoinHostPort(host, "8083"), wantURL: "http://" + net.JoinHostPort(host, "8083")},
		{name: "from a REST address naming a host", cluster: &Cluster{}, rest: "10.0.0.7:8083",
			wantID: net.JoinHostPort(host, "8083"), wantURL: "http://10.0.0.7:8083"},
		{name: "port 0: the port bound", cluster: &Cluster{}, rest: "127.0.0.1:0",
			wantID: net.JoinHostPort(host, "0"), wantURL: "http://127.0.0.1:41234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Settings{Cluster: tt.cluster, REST: REST{Address: tt.rest}}
			if id, u := s.WorkerID(), s.AdvertisedURL("127.0.0.1:41234"); id != tt.wantID || u != tt.wantURL {
				t.Errorf("WorkerID, AdvertisedURL = %q, %q; want %q, %q", id, u, tt.wantID, tt.wantURL)
			}
			if tt.cluster == nil {
				if m, err := s.Member(nil, nil, nil); m != nil || err != nil {
					t.Errorf("Member without a cluster block = %v, %v; want nil, nil", m, err)
				}
			}
		})
	}
}
