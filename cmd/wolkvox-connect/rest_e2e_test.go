package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// restClient drives a worker process's REST API.
type restClient struct {
	t    *testing.T
	base string
}

func (c restClient) do(method, path string, want int) []byte {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, body)
	}
	return body
}

type statusDoc struct {
	Connector struct {
		State string `json:"state"`
	} `json:"connector"`
	Reports []struct {
		Report string `json:"report"`
		State  string `json:"state"`
		Rows   int64  `json:"rows"`
		Calls  int64  `json:"calls"`
	} `json:"reports"`
}

func (c restClient) status(name string) statusDoc {
	c.t.Helper()
	var st statusDoc
	if err := json.Unmarshal(c.do("GET", "/connectors/"+name+"/status", 200), &st); err != nil {
		c.t.Fatal(err)
	}
	return st
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

var restAddrRE = regexp.MustCompile(`REST API listening.*address=(\S+)`)

// TestRESTEndToEnd starts the run binary against the real broker and the simulator and
// drives it the way an operator does: status and metrics, pause and resume, stop, reset
// of the offsets while stopped, restart.
func TestRESTEndToEnd(t *testing.T) {
	seeds := kafkatest.Real(t)
	e := newE2E(t, seeds, e2eOptions{speed: 120, quota: 100000, simOpts: []simulator.Opt{simulator.DailyQuota(100000)}})
	e.launch()
	var api restClient
	waitFor(t, "the REST API to listen", 30*time.Second, func() bool {
		m := restAddrRE.FindStringSubmatch(e.logs.String())
		if m != nil {
			api = restClient{t: t, base: "http://" + m[1]}
		}
		return m != nil
	})
	if got := string(api.do("GET", "/connectors", 200)); got != fmt.Sprintf("[%q]\n", e.name) && got != fmt.Sprintf("[%q]", e.name) {
		t.Fatalf("GET /connectors = %s", got)
	}
	info := string(api.do("GET", "/connectors/"+e.name, 200))
	if strings.Contains(info, simulator.DefaultToken) {
		t.Fatalf("the connector's config shows its token: %s", info)
	}

	rows := func() (n int64) {
		for _, r := range api.status(e.name).Reports {
			n += r.Rows
		}
		return n
	}
	waitFor(t, "rows to be delivered", 60*time.Second, func() bool { return rows() > 0 })
	waitFor(t, "every report to commit a window", 60*time.Second, func() bool { return len(e.positions()) == 5 })
	metrics := string(api.do("GET", "/metrics", 200))
	if !regexp.MustCompile(`wolkvox_connect_rows_total\{connector="` + regexp.QuoteMeta(e.name) + `",report="diagram_13"\} [1-9]`).MatchString(metrics) {
		t.Errorf("/metrics has no rows delivered for diagram_13:\n%s", grepLines(metrics, "wolkvox_connect_rows_total"))
	}

	api.do("PUT", "/connectors/"+e.name+"/pause", 202)
	waitFor(t, "PAUSED", 30*time.Second, func() bool { return api.status(e.name).Connector.State == "PAUSED" })
	time.Sleep(500 * time.Millisecond) // a window already in flight finishes its call and commit
	calls := e.sim.Stats().Tokens[simulator.DefaultToken].Calls
	time.Sleep(3 * time.Second) // at 120×, six virtual minutes: every report would be due
	if now := e.sim.Stats().Tokens[simulator.DefaultToken].Calls; now != calls {
		t.Errorf("the paused connector made %d calls", now-calls)
	}
	api.do("PUT", "/connectors/"+e.name+"/resume", 202)
	waitFor(t, "calls after resume", 30*time.Second, func() bool {
		return e.sim.Stats().Tokens[simulator.DefaultToken].Calls > calls && api.status(e.name).Connector.State == "RUNNING"
	})

	api.do("PUT", "/connectors/"+e.name+"/stop", 202)
	waitFor(t, "STOPPED", 30*time.Second, func() bool { return api.status(e.name).Connector.State == "STOPPED" })
	var offs struct {
		Offsets []json.RawMessage `json:"offsets"`
	}
	if err := json.Unmarshal(api.do("GET", "/connectors/"+e.name+"/offsets", 200), &offs); err != nil {
		t.Fatal(err)
	}
	if len(offs.Offsets) != 5 {
		t.Fatalf("GET offsets: %d entries, want 5", len(offs.Offsets))
	}
	api.do("DELETE", "/connectors/"+e.name+"/offsets", 200)
	if got := e.positions(); len(got) != 0 {
		t.Fatalf("after DELETE offsets the topic still holds %d positions", len(got))
	}
	api.do("POST", "/connectors/"+e.name+"/restart", 204)
	waitFor(t, "RUNNING after restart", 30*time.Second, func() bool { return api.status(e.name).Connector.State == "RUNNING" })
	waitFor(t, "new offsets after the reset", 60*time.Second, func() bool { return len(e.positions()) == 5 })
	e.stop()
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
