package restapi

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
)

// kafkaMetrics shares one kprom.Metrics between every client built with its hooks.
//
// kprom is written for one client per Metrics: its OnNewClient creates and registers
// the metric vectors anew (a second client panics on the duplicate registration, and
// races with the first on the vectors), its OnClientClosed unregisters them, and its
// buffered-records gauges read the one client it was given. The worker opens several
// clients, some briefly, so here kprom is built without a registry, initialised by the
// first client only and never told of closes; this type registers as the collector,
// and replaces the buffered gauges with sums over the clients still open. Counters are
// summed over all clients, which is what a dashboard of the worker wants.
type kafkaMetrics struct {
	ns    string
	prom  *kprom.Metrics
	ready atomic.Bool // prom's vectors exist; hooks before that are dropped

	mu      sync.Mutex
	clients map[*kgo.Client]struct{}

	bufferedProduceRecords, bufferedProduceBytes, bufferedFetchRecords, bufferedFetchBytes *prometheus.Desc
}

var (
	_ kgo.HookNewClient           = (*kafkaMetrics)(nil)
	_ kgo.HookClientClosed        = (*kafkaMetrics)(nil)
	_ kgo.HookBrokerConnect       = (*kafkaMetrics)(nil)
	_ kgo.HookBrokerDisconnect    = (*kafkaMetrics)(nil)
	_ kgo.HookBrokerWrite         = (*kafkaMetrics)(nil)
	_ kgo.HookBrokerRead          = (*kafkaMetrics)(nil)
	_ kgo.HookBrokerE2E           = (*kafkaMetrics)(nil)
	_ kgo.HookBrokerThrottle      = (*kafkaMetrics)(nil)
	_ kgo.HookProduceBatchWritten = (*kafkaMetrics)(nil)
	_ kgo.HookFetchBatchRead      = (*kafkaMetrics)(nil)
)

func newKafkaMetrics(ns string) *kafkaMetrics {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(ns+"_"+name, help, nil, nil) }
	return &kafkaMetrics{
		ns:                     ns,
		prom:                   kprom.NewMetrics(ns, kprom.Registry(nil)),
		clients:                map[*kgo.Client]struct{}{},
		bufferedProduceRecords: d("buffered_produce_records", "Records buffered in the open clients, ready to be produced."),
		bufferedProduceBytes:   d("buffered_produce_bytes", "Bytes buffered in the open clients, ready to be produced."),
		bufferedFetchRecords:   d("buffered_fetch_records", "Records buffered in the open clients, ready to be consumed."),
		bufferedFetchBytes:     d("buffered_fetch_bytes", "Bytes buffered in the open clients, ready to be consumed."),
	}
}

func (k *kafkaMetrics) OnNewClient(cl *kgo.Client) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.clients[cl] = struct{}{}
	if !k.ready.Load() {
		k.prom.OnNewClient(cl)
		k.ready.Store(true)
	}
}

func (k *kafkaMetrics) OnClientClosed(cl *kgo.Client) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.clients, cl)
}

func (k *kafkaMetrics) OnBrokerConnect(meta kgo.BrokerMetadata, d time.Duration, c net.Conn, err error) {
	if k.ready.Load() {
		k.prom.OnBrokerConnect(meta, d, c, err)
	}
}

func (k *kafkaMetrics) OnBrokerDisconnect(meta kgo.BrokerMetadata, c net.Conn) {
	if k.ready.Load() {
		k.prom.OnBrokerDisconnect(meta, c)
	}
}

func (k *kafkaMetrics) OnBrokerWrite(meta kgo.BrokerMetadata, key int16, n int, wait, write time.Duration, err error) {
	if k.ready.Load() {
		k.prom.OnBrokerWrite(meta, key, n, wait, write, err)
	}
}

func (k *kafkaMetrics) OnBrokerRead(meta kgo.BrokerMetadata, key int16, n int, wait, read time.Duration, err error) {
	if k.ready.Load() {
		k.prom.OnBrokerRead(meta, key, n, wait, read, err)
	}
}

func (k *kafkaMetrics) OnBrokerE2E(meta kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if k.ready.Load() {
		k.prom.OnBrokerE2E(meta, key, e2e)
	}
}

func (k *kafkaMetrics) OnBrokerThrottle(meta kgo.BrokerMetadata, d time.Duration, after bool) {
	if k.ready.Load() {
		k.prom.OnBrokerThrottle(meta, d, after)
	}
}

func (k *kafkaMetrics) OnProduceBatchWritten(meta kgo.BrokerMetadata, topic string, p int32, m kgo.ProduceBatchMetrics) {
	if k.ready.Load() {
		k.prom.OnProduceBatchWritten(meta, topic, p, m)
	}
}

func (k *kafkaMetrics) OnFetchBatchRead(meta kgo.BrokerMetadata, topic string, p int32, m kgo.FetchBatchMetrics) {
	if k.ready.Load() {
		k.prom.OnFetchBatchRead(meta, topic, p, m)
	}
}

// Describe sends nothing: kprom's vectors appear with the first client, so this is an
// unchecked collector.
func (k *kafkaMetrics) Describe(chan<- *prometheus.Desc) {}

func (k *kafkaMetrics) Collect(ch chan<- prometheus.Metric) {
	if !k.ready.Load() {
		return
	}
	inner := make(chan prometheus.Metric)
	go func() { // owned here: ends when kprom has sent everything
		defer close(inner)
		k.prom.Collect(inner)
	}()
	buffered := `fqName: "` + k.ns + `_buffered_`
	for m := range inner {
		if !strings.Contains(m.Desc().String(), buffered) {
			ch <- m
		}
	}
	var pr, pb, fr, fb int64
	k.mu.Lock()
	for cl := range k.clients {
		pr += cl.BufferedProduceRecords()
		pb += cl.BufferedProduceBytes()
		fr += cl.BufferedFetchRecords()
		fb += cl.BufferedFetchBytes()
	}
	k.mu.Unlock()
	for _, g := range []struct {
		d *prometheus.Desc
		v int64
	}{{k.bufferedProduceRecords, pr}, {k.bufferedProduceBytes, pb}, {k.bufferedFetchRecords, fr}, {k.bufferedFetchBytes, fb}} {
		ch <- prometheus.MustNewConstMetric(g.d, prometheus.GaugeValue, float64(g.v))
	}
}
