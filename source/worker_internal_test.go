package source

import (
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
