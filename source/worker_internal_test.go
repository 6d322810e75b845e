package source

import (
	"context"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
)

// TestWorkerGivesItsConnectorsOneBudget: the connectors of a worker draw on one
// producer budget, of DefaultProducerMemory unless ProducerMemory gives one; a budget
// per connector would multiply the worker's memory by its connectors.
func TestWorkerGivesItsConnectorsOneBudget(t *testing.T) {
	configs := []Config{}
	for _, name := range []string{"a", "b", "c"} {
		configs = append(configs, Config{Name: name, Server: "0040", Token: NewSecret("token-" + name), DailyQuota: 1000,
			Location: time.UTC, BaseURL: "http://127.0.0.1:1", Reports: []ReportConfig{{API: "diagram_13"}}})
	}
	given := sink.NewBudget(3 << 20)
	for name, tc := range map[string]struct {
		opts  []Opt
		limit int64
	}{
		"default": {limit: DefaultProducerMemory},
		"given":   {opts: []Opt{ProducerMemory(given)}, limit: given.Limit()},
	} {
		t.Run(name, func(t *testing.T) {
			w, err := NewWorker(configs, append(tc.opts, WriteTo(Destination{Seeds: []string{"127.0.0.1:1"}}))...)
			if err != nil {
				t.Fatal(err)
			}
			first := w.entries[0].conn.opts.producerMemory
			if first == nil || first.Limit() != tc.limit || (name == "given" && first != given) {
				t.Fatalf("connector a draws on %v, want a budget of %d", first, tc.limit)
			}
			for _, e := range w.entries[1:] {
				if b := e.conn.opts.producerMemory; b != first {
					t.Errorf("connector %s draws on a budget of its own", e.cfg.Name)
				}
				if st := e.conn.Status(); st.ProducerMemoryLimit != tc.limit || st.ProducerMemory != 0 {
					t.Errorf("connector %s's status: %d of %d bytes, want 0 of %d", e.cfg.Name, st.ProducerMemory, st.ProducerMemoryLimit, tc.limit)
				}
			}
		})
	}
}

// TestWorkerRunDoesNotStartAnAssignedConnectorAgain: in a group, the member's first
// Assign can come while Run is still going through its connectors (startAll). A
// connector Assign started must not be started again: one Connector would run twice,
// two pollers sharing its reports' state. The test puts the worker where Run is then:
// its context set, Assign done, the connectors not gone through yet.
func TestWorkerRunDoesNotStartAnAssignedConnectorAgain(t *testing.T) {
	var configs []Config
	for _, name := range []string{"a", "b"} {
		configs = append(configs, Config{Name: name, Server: "0040", Token: NewSecret("token-" + name), DailyQuota: 1000,
			Location: time.UTC, BaseURL: "http://127.0.0.1:1", Reports: []ReportConfig{{API: "diagram_13"}}})
	}
	// Nothing answers there: the started connector backs off, opening its writer.
	w, err := NewWorker(configs, Assigned(), WriteTo(Destination{Seeds: []string{"127.0.0.1:1"}}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		w.wg.Wait()
		w.closeQuotas()
	}()
	w.mu.Lock()
	w.runCtx = ctx
	w.mu.Unlock()
	if err := w.Assign(ctx, []string{"b"}); err != nil {
		t.Fatal(err)
	}
	b := w.entries[1]
	w.mu.Lock()
	started := b.done
	w.mu.Unlock()
	if started == nil {
		t.Fatal("Assign did not start b")
	}
	w.startAll()
	w.mu.Lock()
	again, a := b.done != started, w.entries[0].done != nil
	w.mu.Unlock()
	if again {
		t.Error("Run started b a second time after Assign had started it")
	}
	if a {
		t.Error("Run started a, which is not assigned here")
	}
}
