package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnvVar names the real broker for integration tests: a comma-separated list of host:port
// seeds, as printed by deploy/local/kafka.sh env. It is the only knob; there is no default
// address, so a test never talks to a broker nobody chose.
const EnvVar = "WOLKVOX_TEST_KAFKA"

// Cluster names: the subtest names [Clusters] uses, and the values of [Cluster.Name].
const (
	NameFake = "kfake"
	NameReal = "kafka"
)

// skipReason is printed when a test is skipped for lack of a broker; it says how to get one.
const skipReason = EnvVar + " is unset: start a broker with deploy/local/kafka.sh start " +
	`and export its address (eval "$(deploy/local/kafka.sh env)"), or run make test`

// pingTimeout bounds the one reachability check per process and broker address.
const pingTimeout = 15 * time.Second

// Real returns the seed brokers named by [EnvVar].
//
// When the variable is unset or empty it calls t.Skip with the reason and the command that
// starts a broker, except when the environment variable CI is true (as strconv.ParseBool
// reads it: "true", "1", ...), where it fails the test instead: on CI a missing broker is a
// broken pipeline, not a reason to pass. A malformed value, or a broker that does not
// answer a metadata request within 15 s, fails the test; the reachability check runs once
// per process and address, so a stopped broker costs one timeout, not one per test.
func Real(t testing.TB) []string {
	t.Helper()
	return realSeeds(t, os.Getenv, pingOnce)
}

// realSeeds is [Real] with its environment and network made replaceable for tests.
func realSeeds(t testing.TB, getenv func(string) string, ping func(context.Context, []string) error) []string {
	t.Helper()
	v := strings.TrimSpace(getenv(EnvVar))
	if v == "" {
		if ci, _ := strconv.ParseBool(getenv("CI")); ci {
			t.Fatalf("%s (CI=%s: integration tests must not be skipped on CI)", skipReason, getenv("CI"))
		}
		t.Skip(skipReason)
	}
	seeds, err := ParseSeeds(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", EnvVar, v, err)
	}
	if err := ping(context.Background(), seeds); err != nil {
		t.Fatalf("%s=%q: no broker answers (is it still running? deploy/local/kafka.sh status): %v", EnvVar, v, err)
	}
	return seeds
}

// pings caches one reachability result per seed list for the life of the process.
var pings sync.Map // string -> func() error

func pingOnce(ctx context.Context, seeds []string) error {
	key := strings.Join(seeds, ",")
	f, _ := pings.LoadOrStore(key, sync.OnceValue(func() error { return ping(ctx, seeds) }))
	return f.(func() error)()
}

func ping(ctx context.Context, seeds []string) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return fmt.Errorf("kafkatest: client for %v: %w", seeds, err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("kafkatest: ping %v: %w", seeds, err)
	}
	return nil
}

// Fake starts an in-process kfake cluster with one broker on a free 127.0.0.1 port and
// returns its seeds; t.Cleanup closes it. opts are applied after the defaults, so they may
// override them. Unlike the real broker, kfake compacts active segments too and only when
// log.cleaner.backoff.ms elapses (1 h unless set with kfake.BrokerConfigs).
func Fake(t testing.TB, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// Cluster is one Kafka a test body runs against.
type Cluster struct {
	// Name is NameFake or NameReal; it is also the subtest's name.
	Name string
	// Seeds are the bootstrap addresses.
	Seeds []string
}

// Real reports whether c is the real broker, for the few assertions that differ (for
// example anything timing-dependent, such as when compaction happens).
func (c Cluster) Real() bool { return c.Name == NameReal }

// Clusters runs body twice, as the subtests "kfake" (a fresh [Fake] cluster built with
// fakeOpts) and "kafka" (the [Real] broker, so that subtest skips or fails exactly as Real
// does). The body may call t.Parallel.
//
// It takes a function rather than returning an iterator on purpose: t.Skip and t.Fatal end
// the goroutine with runtime.Goexit, which inside a range-over-func loop body is a runtime
// panic ("range function continued iteration after loop body exit").
func Clusters(t *testing.T, body func(t *testing.T, c Cluster), fakeOpts ...kfake.Opt) {
	t.Helper()
	t.Run(NameFake, func(t *testing.T) {
		body(t, Cluster{Name: NameFake, Seeds: Fake(t, fakeOpts...)})
	})
	t.Run(NameReal, func(t *testing.T) {
		body(t, Cluster{Name: NameReal, Seeds: Real(t)})
	})
}

// Client returns a client for seeds built with opts; t.Cleanup closes it.
func Client(t testing.TB, seeds []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: new client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// CreateTopic creates topic with the given partition count, the broker's default
// replication factor and configs (nil for none), and fails the test if that does not
// succeed within 30 s. A topic that already exists is an error: names come from [Topic].
func CreateTopic(t testing.TB, seeds []string, topic string, partitions int32, configs map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatalf("kafkatest: new client: %v", err)
	}
	defer cl.Close()
	var cfg map[string]*string
	if configs != nil {
		cfg = make(map[string]*string, len(configs))
		for k, v := range configs {
			cfg[k] = kadm.StringPtr(v)
		}
	}
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, -1, cfg, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		if errors.Is(err, kerr.TopicAlreadyExists) {
			t.Fatalf("kafkatest: topic %q already exists: name it with kafkatest.Topic", topic)
		}
		t.Fatalf("kafkatest: create topic %q: %v", topic, err)
	}
}
