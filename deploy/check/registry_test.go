package check

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// countingTransport counts the requests a registry client sends, by "METHOD /first-segment".
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	path := strings.TrimPrefix(r.URL.Path, "/apis/ccompat/v7")
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	c.mu.Lock()
	c.n[r.Method+" /"+first]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// TestRegistry runs the Confluent wire format against a real Schema Registry (Apicurio
// Registry, through its Confluent-compatible API, with basic auth), what the schemas
// tests prove against franz-go's srfake: every report's schema registers, once per topic
// however many goroutines encode at once, under <topic>-value, with the ID the events
// and their header carry; a fresh Decoder fetches each writer schema by ID and reads the
// event back as written, with the fingerprint of our .avsc. Apicurio's differences are
// allowed for here (its default compatibility NONE is set to BACKWARD first; a schema
// missing under an existing subject is 40401, not 40403), not in the worker.
func TestRegistry(t *testing.T) {
	reg := testRegistry(t)
	ctx := context.Background()
	set, err := schemas.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	prefix := kafkatest.Topic(t)
	var conv schemas.Converter
	sample := func(t *testing.T, rep *catalog.Report, variant int) map[string]any {
		t.Helper()
		native, err := conv.Convert(rep, sampleRow(rep, variant, loc), schemas.Meta{
			Server: "0040", Report: rep.API, RowID: fmt.Sprintf("%s-%d", rep.API, variant), Location: loc,
			WindowStart: time.Date(2024, 3, 5, 19, 0, 0, 0, time.UTC), WindowEnd: time.Date(2024, 3, 5, 19, 5, 0, 0, time.UTC),
			ReadAt: time.Date(2024, 3, 5, 19, 5, 2, 345e6, time.UTC),
		})
		if err != nil {
			t.Fatal(err)
		}
		return native
	}

	t.Run("every report", func(t *testing.T) {
		counter := &countingTransport{n: map[string]int{}}
		cl, err := sr.NewClient(sr.URLs(reg.URL), sr.BasicAuth(reg.User, reg.Password),
			sr.HTTPClient(&http.Client{Timeout: 15 * time.Second, Transport: counter}))
		if err != nil {
			t.Fatal(err)
		}
		enc, err := schemas.NewEncoder(schemas.Registry(cl))
		if err != nil {
			t.Fatal(err)
		}
		dec, err := schemas.NewDecoder(schemas.Registry(reg.client(t)))
		if err != nil {
			t.Fatal(err)
		}
		reports := catalog.All()
		for _, rep := range reports {
			topic := prefix + "." + rep.API
			sc, _ := set.Lookup(rep.API)
			var schema any
			if err := json.Unmarshal([]byte(sc.Text), &schema); err != nil {
				t.Fatal(err)
			}
			for variant := range 2 {
				native := sample(t, &rep, variant)
				// Eight goroutines encode the topic's first events at once.
				events := make([][]byte, 8)
				errs := make([]error, 8)
				var wg sync.WaitGroup
				for i := range events {
					wg.Go(func() { events[i], errs[i] = enc.Encode(ctx, topic, &rep, native, nil) })
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatalf("%s: %v", rep.API, err)
				}
				id, _, err := (&sr.ConfluentHeader{}).DecodeID(events[0])
				if err != nil {
					t.Fatalf("%s: not Confluent framed: %v", rep.API, err)
				}
				for _, ev := range events[1:] {
					if other, _, _ := (&sr.ConfluentHeader{}).DecodeID(ev); other != id {
						t.Fatalf("%s: events of one topic carry IDs %d and %d", rep.API, id, other)
					}
				}
				h, err := enc.SchemaHeader(ctx, topic, &rep)
				if err != nil || !strings.HasSuffix(string(h.Value), "&id="+strconv.Itoa(id)) {
					t.Errorf("%s: SchemaHeader %s, %v; events carry id %d", rep.API, h.Value, err, id)
				}
				ev, err := dec.Decode(ctx, events[0])
				if err != nil {
					t.Fatalf("%s: decoding with the schema fetched by ID %d: %v", rep.API, id, err)
				}
				if ev.Report != rep.API || ev.SchemaID != id || ev.Fingerprint != sc.Fingerprint {
					t.Errorf("%s: decoded as report %q, id %d, fingerprint %016x; want id %d, fingerprint %016x",
						rep.API, ev.Report, ev.SchemaID, ev.Fingerprint, id, sc.Fingerprint)
				}
				want, err1 := typedNative(schema, native)
				got, err2 := typedNative(schema, ev.Native)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s row %d: read back %s (%v), wrote %s (%v)", rep.API, variant, mustJSON(t, got), err2, mustJSON(t, want), err1)
				}
			}
			// The subject's latest version is the schema the events name.
			status, body := reg.do(t, http.MethodGet, "/subjects/"+url.PathEscape(topic+"-value")+"/versions/latest", "")
			var latest struct{ ID, Version int }
			if err := json.Unmarshal([]byte(body), &latest); status != http.StatusOK || err != nil || latest.Version != 1 {
				t.Errorf("%s: GET versions/latest: %d %s", rep.API, status, body)
			}
			if h, err := enc.SchemaHeader(ctx, topic, &rep); err != nil || !strings.HasSuffix(string(h.Value), "&id="+strconv.Itoa(latest.ID)) {
				t.Errorf("%s: the subject's latest is ID %d, the header %s (%v)", rep.API, latest.ID, h.Value, err)
			}
		}
		if n := counter.count("POST /subjects"); n != len(reports) {
			t.Errorf("%d registrations for %d topics, want one each", n, len(reports))
		}
		t.Logf("%d reports registered, written and read back through the registry", len(reports))
	})

	t.Run("pre-registered", func(t *testing.T) {
		rep, _ := catalog.Lookup("diagram_13")
		sc, _ := set.Lookup("diagram_13")
		native := sample(t, rep, 0)
		enc, err := schemas.NewEncoder(schemas.Registry(reg.client(t)), schemas.RequirePreRegistered(true))
		if err != nil {
			t.Fatal(err)
		}
		topic := prefix + ".pre"
		// No subject at all.
		_, err = enc.Encode(ctx, topic, rep, native, nil)
		if !errors.Is(err, schemas.ErrNotRegistered) || !strings.Contains(err.Error(), topic+"-value") {
			t.Fatalf("subject missing: %v, want ErrNotRegistered naming the subject", err)
		}
		// A subject holding another schema: not registered either (Apicurio answers
		// 40401 here, Confluent 40403; the Encoder takes both). A registering Encoder is
		// refused there, the subject being BACKWARD (Apicurio: 409, error_code 0).
		other, _ := set.Lookup("chat_3")
		otherTopic := prefix + ".pre-other"
		reg.register(t, otherTopic+"-value", other.Text)
		if _, err := enc.Encode(ctx, otherTopic, rep, native, nil); !errors.Is(err, schemas.ErrNotRegistered) {
			t.Fatalf("subject with another schema: %v, want ErrNotRegistered", err)
		}
		registering, err := schemas.NewEncoder(schemas.Registry(reg.client(t)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = registering.Encode(ctx, otherTopic, rep, native, nil)
		var re *sr.ResponseError
		if !errors.Is(err, schemas.ErrRegistry) || errors.Is(err, schemas.ErrRegistryAuth) || !errors.As(err, &re) || re.StatusCode != http.StatusConflict {
			t.Fatalf("registering an incompatible schema: %v, want ErrRegistry with the registry's 409", err)
		}
		// Registered as the README says: the Encoder finds it, and never registers.
		id := reg.register(t, topic+"-value", sc.Text)
		b, err := enc.Encode(ctx, topic, rep, native, nil)
		if err != nil {
			t.Fatalf("after registering: %v", err)
		}
		if got, _, _ := (&sr.ConfluentHeader{}).DecodeID(b); got != id {
			t.Errorf("the event carries ID %d, the registry gave %d", got, id)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		rep, _ := catalog.Lookup("chat_3")
		native := sample(t, rep, 0)
		good, err := schemas.NewEncoder(schemas.Registry(reg.client(t)))
		if err != nil {
			t.Fatal(err)
		}
		event, err := good.Encode(ctx, prefix+".creds", rep, native, nil)
		if err != nil {
			t.Fatal(err)
		}
		const wrong = "Wr0ng-Registry-Pa55"
		for _, cred := range []struct{ name, user, password string }{
			{"wrong password", reg.User, wrong},
			{"unknown user", "nobody", wrong},
			{"no credentials", "", ""},
		} {
			cl := reg.clientAs(t, cred.user, cred.password)
			if cred.user == "" {
				var err error
				if cl, err = sr.NewClient(sr.URLs(reg.URL), sr.HTTPClient(&http.Client{Timeout: 15 * time.Second})); err != nil {
					t.Fatal(err)
				}
			}
			calls := map[string]func() error{
				"register": func() error {
					enc, err := schemas.NewEncoder(schemas.Registry(cl))
					if err != nil {
						t.Fatal(err)
					}
					_, err = enc.Encode(ctx, prefix+".creds2", rep, native, nil)
					return err
				},
				"look up pre-registered": func() error {
					enc, err := schemas.NewEncoder(schemas.Registry(cl), schemas.RequirePreRegistered(true))
					if err != nil {
						t.Fatal(err)
					}
					_, err = enc.Encode(ctx, prefix+".creds", rep, native, nil)
					return err
				},
				"fetch by ID": func() error {
					dec, err := schemas.NewDecoder(schemas.Registry(cl))
					if err != nil {
						t.Fatal(err)
					}
					_, err = dec.Decode(ctx, event)
					return err
				},
			}
			for name, call := range calls {
				err := call()
				if !errors.Is(err, schemas.ErrRegistryAuth) || !errors.Is(err, schemas.ErrRegistry) || errors.Is(err, schemas.ErrNotRegistered) {
					t.Errorf("%s, %s: %v; want ErrRegistryAuth", cred.name, name, err)
					continue
				}
				var re *sr.ResponseError
				if !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s, %s: the registry's answer %#v, want a 401", cred.name, name, re)
				}
				if text := fmt.Sprintf("%v %+v", err, err); strings.Contains(text, wrong) || strings.Contains(text, reg.Password) {
					t.Errorf("%s, %s: a password in the error: %s", cred.name, name, text)
				}
			}
		}
	})
}

// TestRegistryRestart restarts the real registry (one of its own) while a connector
// writes to the real broker in the Confluent format: Apicurio's storage is in memory, so
// every schema and ID is gone and IDs start again at 1. The connector rides it out
// (no report fails, every window commits), and within RegistryRefresh (2 s here, a
// minute by default) registers the schema again and writes the new ID, warning with
// both. The events written before keep the old ID, which the registry no longer
// resolves to this report's schema: what consumers of them see, and why a production
// registry needs persistent storage. Every event with the new ID decodes.
func TestRegistryRestart(t *testing.T) {
	reg, restart := privateRegistry(t)
	brokers := testKafka(t)
	bogota, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	prefix := kafkatest.Topic(t)
	// Another subject first, so that the report's ID before the restart is not 1.
	reg.register(t, prefix+".pad-value", `"string"`)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	enc, err := schemas.NewEncoder(schemas.Registry(reg.client(t)), schemas.RegistryRefresh(2*time.Second), schemas.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now().In(bogota).Add(-2 * time.Hour).Truncate(time.Hour)
	clock := source.FastClock{Origin: time.Now(), Start: start.Add(time.Hour), Speed: 60}
	sim, err := simulator.New(simulator.Seed(5), simulator.WithClock(clock), simulator.Location(bogota), simulator.Reports("diagram_13"),
		simulator.DefaultRowsPerMinute(6), simulator.DailyQuota(100000))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg := source.Config{
		Name: prefix, Server: simulator.DefaultServer, Token: source.NewSecret(simulator.DefaultToken), Location: bogota,
		DailyQuota: 100000, BaseURL: sim.URL(),
		Reports: []source.ReportConfig{{API: "diagram_13", Start: start, Interval: time.Minute, Lookback: 10 * time.Minute, Settle: 10 * time.Second}},
	}
	dest := source.Destination{Seeds: []string{brokers}, TopicTemplate: prefix + ".{report}", OffsetsTopic: prefix + ".offsets",
		DeadLetterTopic: prefix + ".dlq", TransactionalIDPrefix: prefix + "-"}
	c, err := source.New(cfg, source.WriteTo(dest), source.WithClock(clock), source.Encoder(enc),
		source.SourceOpts(wolkvox.Backoff(10*time.Millisecond, 100*time.Millisecond, time.Minute)),
		source.MaxBackoff(time.Second), source.Logger(logger))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	topic := prefix + ".diagram_13"

	// idsOnTopic counts the committed events by schema ID.
	idsOnTopic := func() map[int]int {
		t.Helper()
		ids := map[int]int{}
		rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer rcancel()
		if err := sink.ReadCommitted(rctx, []kgo.Opt{kgo.SeedBrokers(brokers)}, []string{topic}, func(r *kgo.Record) bool {
			id, _, err := (&sr.ConfluentHeader{}).DecodeID(r.Value)
			if err != nil {
				t.Fatalf("offset %d: not Confluent framed: %v", r.Offset, err)
			}
			ids[id]++
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	waitIDs := func(what string, cond func(map[int]int) bool) map[int]int {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			select {
			case err := <-errc:
				t.Fatalf("Run ended: %v", err)
			default:
			}
			ids := idsOnTopic()
			if cond(ids) {
				return ids
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: events by ID %v; status %+v", what, ids, c.Status())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	before := waitIDs("the first events", func(ids map[int]int) bool { return len(ids) > 0 })
	if len(before) != 1 {
		t.Fatalf("events by ID before the restart: %v", before)
	}
	var oldID int
	for id := range before {
		oldID = id
	}

	restart()
	after := waitIDs("events with a new ID", func(ids map[int]int) bool { return len(ids) == 2 })
	var newID int
	for id := range after {
		if id != oldID {
			newID = id
		}
	}
	windows := c.Status().Reports[0].Windows
	waitIDs("more windows after the new ID", func(map[int]int) bool { return c.Status().Reports[0].Windows > windows+2 })
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, r := range c.Status().Reports {
		if r.State == source.StateFailed {
			t.Errorf("%s failed: %s", r.Key, r.LastError)
		}
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "previous_id="+strconv.Itoa(oldID)) {
		t.Errorf("no warning naming the previous ID %d:\n%s", oldID, tail(logs.String(), 20))
	}

	// Every event with the new ID decodes; one with the old ID no longer does as diagram_13.
	dec, err := schemas.NewDecoder(schemas.Registry(reg.client(t)))
	if err != nil {
		t.Fatal(err)
	}
	var decoded, stale, lost int
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	if err := sink.ReadCommitted(rctx, []kgo.Opt{kgo.SeedBrokers(brokers)}, []string{topic}, func(r *kgo.Record) bool {
		id, _, _ := (&sr.ConfluentHeader{}).DecodeID(r.Value)
		ev, err := dec.Decode(context.Background(), r.Value)
		switch {
		case id == newID && (err != nil || ev.Report != "diagram_13"):
			t.Errorf("offset %d, new ID %d: %v", r.Offset, id, err)
		case id == newID:
			decoded++
		case err == nil && ev.Report == "diagram_13":
			t.Errorf("offset %d: the old ID %d still resolves to diagram_13 after the restart: the test proves nothing", r.Offset, id)
		case err != nil && !errors.Is(err, schemas.ErrRegistry) && !errors.Is(err, schemas.ErrWireFormat):
			t.Errorf("offset %d, old ID %d: %v", r.Offset, id, err)
		case err != nil:
			lost++
		default:
			stale++ // the old ID now names another schema
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if decoded == 0 || lost+stale == 0 {
		t.Errorf("%d events decode with the new ID, %d with the old do not: want both", decoded, lost+stale)
	}
	t.Logf("ID %d before the restart (%d events), %d after (%d events, all decode); the old ID: %d events unresolvable, %d resolving to another schema",
		oldID, after[oldID], newID, decoded, lost, stale)
}

// workerStatus is the part of GET /connectors/{name}/status the registry tests read.
type workerStatus struct {
	Reports []struct {
		Report    string `json:"report"`
		State     string `json:"state"`
		LastError string `json:"last_error"`
		Rows      int64  `json:"rows"`
	} `json:"reports"`
}

// startRegistryWorker runs the real worker (the binary) reading diagram_13 from the
// simulator into the real broker, in the Confluent format with the real registry, as
// user with $SR_PASSWORD=password; it returns the worker, its connector's name, REST
// address and configuration file.
func startRegistryWorker(t *testing.T, reg registry, password string, preRegistered bool) (w *process, name, rest, config string) {
	t.Helper()
	brokers := testKafka(t)
	connect, sim := builtBinaries(t)
	simAddr := freeAddr(t)
	rest = freeAddr(t)
	s := start(t, exec.Command(sim, "--addr", simAddr))
	waitHTTP(t, s, "http://"+simAddr+"/_sim/stats", 200, 20*time.Second)
	name = "registry-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg := fmt.Sprintf(`schema_registry: {url: %q, username: %q, password: "${SR_PASSWORD}", pre_registered: %t}
topics: {template: "wolkvox.{connector}.{report}", partitions: 1, offsets: %s.offsets, dead_letter: %s.dlq}
log: {level: info, format: text}
connectors:
  - name: %s
    server: "0040"
    base_url: http://%s
    token: sim-token
    daily_quota: 1000
    defaults: {interval: 5m, lookback: 1h, settle: 1m, start: %q}
    reports: [{api: diagram_13}]
`, reg.URL, reg.User, preRegistered, name, name, name, simAddr, time.Now().Add(-3*time.Hour).Format(time.RFC3339))
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(connect, "run", "--config", path, "--brokers", brokers, "--rest-address", rest)
	cmd.Env = append(os.Environ(), "SR_PASSWORD="+password, "WOLKVOX_CONNECT_CONFIG=")
	w = start(t, cmd)
	waitHTTP(t, w, "http://"+rest+"/healthz", 200, 30*time.Second)
	return w, name, rest, path
}

// waitStatus polls the connector's status until cond holds, and returns its body.
func waitStatus(t *testing.T, w *process, rest, name string, timeout time.Duration, cond func(workerStatus) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		body := waitHTTP(t, w, "http://"+rest+"/connectors/"+name+"/status", 200, 10*time.Second)
		var st workerStatus
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("status %q: %v", body, err)
		}
		if cond(st) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("the status did not get there within %s: %s", timeout, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRegistryWorker runs the real worker against the real registry. Wrong
// credentials: the report fails for good (FAILED, not backing off) saying the registry
// refused the credentials, and neither the password nor its Basic form shows in the
// logs, the status or /readyz. pre_registered: true with the subject missing: the
// report backs off naming the subject and how to register it, writes nothing, and once
// the schema is registered (the README's way) it delivers, with that ID in every event.
func TestRegistryWorker(t *testing.T) {
	reg := testRegistry(t)

	t.Run("wrong credentials", func(t *testing.T) {
		const wrong = "Wr0ng-Worker-Pa55word"
		w, name, rest, _ := startRegistryWorker(t, reg, wrong, false)
		status := waitStatus(t, w, rest, name, 90*time.Second, func(st workerStatus) bool {
			return len(st.Reports) == 1 && st.Reports[0].State == "FAILED"
		})
		if !strings.Contains(status, schemas.ErrRegistryAuth.Error()) {
			t.Errorf("the status does not say the registry refused the credentials: %s", status)
		}
		_, readyz, _ := get("http://" + rest + "/readyz")
		basic := base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + wrong))
		for what, out := range map[string]string{"logs": w.out.String(), "status": status, "readyz": readyz} {
			for _, secret := range []string{wrong, basic} {
				if strings.Contains(out, secret) {
					t.Errorf("the %s show %q:\n%s", what, secret, tail(out, 30))
				}
			}
		}
	})

	t.Run("pre-registered", func(t *testing.T) {
		w, name, rest, config := startRegistryWorker(t, reg, reg.Password, true)
		subject := "wolkvox." + name + ".diagram_13-value"
		status := waitStatus(t, w, rest, name, 90*time.Second, func(st workerStatus) bool {
			return len(st.Reports) == 1 && st.Reports[0].LastError != ""
		})
		var st workerStatus
		if err := json.Unmarshal([]byte(status), &st); err != nil {
			t.Fatal(err)
		}
		if r := st.Reports[0]; r.State != "BACKING_OFF" || r.Rows != 0 || !strings.Contains(r.LastError, subject) ||
			!strings.Contains(r.LastError, "register it") {
			t.Errorf("subject missing: state %s, %d rows, last_error %q; want BACKING_OFF, no rows, naming %s", r.State, r.Rows, r.LastError, subject)
		}
		id := reg.register(t, subject, string(readFile(t, "schemas/avro/diagram_13.avsc")))
		waitStatus(t, w, rest, name, 2*time.Minute, func(st workerStatus) bool {
			return len(st.Reports) == 1 && st.Reports[0].Rows > 0
		})
		ids := map[int]int{}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sink.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(testKafka(t))}, []string{"wolkvox." + name + ".diagram_13"}, func(r *kgo.Record) bool {
			got, _, err := (&sr.ConfluentHeader{}).DecodeID(r.Value)
			if err != nil {
				t.Fatalf("offset %d: not Confluent framed: %v", r.Offset, err)
			}
			ids[got]++
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 || ids[id] == 0 {
			t.Errorf("events by schema ID: %v, want all with the registered %d", ids, id)
		}

		// wolkvox-connect tail decodes them with the same configuration's registry.
		connect, _ := builtBinaries(t)
		env := append(os.Environ(), "SR_PASSWORD="+reg.Password, "WOLKVOX_KAFKA_BROKERS="+testKafka(t), "WOLKVOX_CONNECT_CONFIG=")
		out := run(t, time.Minute, env, connect, "tail", "--config", config, "--report", "diagram_13", "--from-beginning", "-n", "3")
		var lines int
		for _, line := range strings.Split(out, "\n") {
			if !strings.HasPrefix(line, "{") {
				continue
			}
			lines++
			var ev struct {
				Value map[string]any `json:"value"`
				Error string         `json:"error"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Error != "" || ev.Value["wv_report"] != "diagram_13" {
				t.Errorf("tail printed %s (%v)", line, err)
			}
		}
		if lines != 3 {
			t.Errorf("tail printed %d events, want 3:\n%s", lines, out)
		}
	})
}
