package check

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

const (
	dashboardFile = "deploy/monitoring/grafana/wolkvox-connect.json"
	rulesFile     = "deploy/monitoring/prometheus/wolkvox-connect.rules.yaml"
	rulesTestFile = "deploy/monitoring/prometheus/wolkvox-connect.rules.test.yaml"
)

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// grafanaVars are the dashboard's template variables, replaced as Grafana would before
// a query is sent.
var grafanaVars = strings.NewReplacer(`$connector`, `.*`, `$__rate_interval`, `5m`)

// metricNames parses a PromQL expression and returns the metric names it selects.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Errorf("%q does not parse: %v", expr, err)
		return nil
	}
	var names []string
	parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// dashboardMetrics returns the metric names of every query of the dashboard.
func dashboardMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, p := range loadDashboard(t).Panels {
		for _, tg := range p.Targets {
			for _, n := range metricNames(t, grafanaVars.Replace(tg.Expr)) {
				names[n] = true
			}
		}
	}
	return names
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Record      string            `json:"record"`
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// ruleMetrics returns the metric names the rules read, and those they record.
func ruleMetrics(t *testing.T) (read, recorded map[string]bool, alerts []string) {
	t.Helper()
	var rf ruleFile
	if err := yaml.UnmarshalStrict(readFile(t, rulesFile), &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	read, recorded = map[string]bool{}, map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
			if r.Alert != "" {
				alerts = append(alerts, r.Alert)
			}
			for _, n := range metricNames(t, r.Expr) {
				read[n] = true
			}
		}
	}
	return read, recorded, alerts
}

// TestDashboard: the dashboard is well formed for Grafana (unique panel ids, a layout
// on the 24-column grid without overlaps, every query on the datasource variable and
// valid PromQL) and shows what operators asked for.
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	names := dashboardMetrics(t)
	ids := map[int]bool{}
	type cell struct{ x, y int }
	used := map[cell]string{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v is off the 24-column grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Errorf("panel %q overlaps %q at (%d,%d)", p.Title, other, x, y)
				}
				used[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 || p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: no query, or not on the ${datasource} variable", p.Title)
		}
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	tests := []struct {
		what   string
		metric string
	}{
		{"rows per report", "wolkvox_connect_rows_total"},
		{"lag per report", "wolkvox_connect_lag_seconds"},
		{"read lag per report", "wolkvox_connect_cursor_timestamp_seconds"},
		{"calls per token", "wolkvox_connect_calls_total"},
		{"quota used", "wolkvox_connect_quota_used_calls"},
		{"the day's budget line", "wolkvox_connect_quota_limit_calls"},
		{"errors by class", "wolkvox_connect_upstream_errors_total"},
		{"transaction rate", "wolkvox_connect_transactions_total"},
		{"dead letters", "wolkvox_connect_dead_letters_total"},
		{"report states", "wolkvox_connect_report_state"},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			if !names[tt.metric] {
				t.Errorf("no panel queries %s", tt.metric)
			}
		})
	}
	t.Run("variables", func(t *testing.T) {
		if d.UID == "" || d.SchemaVersion == 0 || !slices.Equal(vars, []string{"datasource", "connector"}) {
			t.Errorf("uid %q, schemaVersion %d, variables %v", d.UID, d.SchemaVersion, vars)
		}
	})
}

// promtool is the promtool make installs (PROMTOOL), pinned in the Makefile.
func promtool(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PROMTOOL")
	if p == "" {
		msg := "PROMTOOL is not set: make test-deploy installs promtool and sets it; without it promtool check rules and promtool test rules are not run"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// TestRulesPromtool runs promtool check rules (syntax, PromQL, lint: duplicate rules)
// and promtool test rules: for every alert, series that fire it and series that
// do not, and the recording rules' values.
func TestRulesPromtool(t *testing.T) {
	pt := promtool(t)
	_, _, alerts := ruleMetrics(t)
	tested := string(readFile(t, rulesTestFile))
	for _, a := range alerts {
		if !strings.Contains(tested, "alertname: "+a+"\n") {
			t.Errorf("%s has no test in %s", a, rulesTestFile)
		}
	}
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile}} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			cmd := exec.Command(pt, args...)
			cmd.Dir = repoRoot
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "SUCCESS") {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

// TestMonitoringMetricsExist runs the worker against the simulator (with injected
// HTTP 500s, so errors are counted) and the real broker, and checks that every metric
// the dashboard and the rules read is in its /metrics output: a renamed metric breaks
// this test, not a dashboard at 3 a.m.
func TestMonitoringMetricsExist(t *testing.T) {
	brokers := testKafka(t)
	want := dashboardMetrics(t)
	read, recorded, _ := ruleMetrics(t)
	for n := range read {
		want[n] = true
	}
	for n := range recorded {
		delete(want, n) // made by the rules themselves
	}
	if len(want) < 10 {
		t.Fatalf("only %d metric names found in the dashboard and rules", len(want))
	}
	connect, sim := builtBinaries(t)
	simAddr, rest := freeAddr(t), freeAddr(t)
	// Every call fails at first (so failed calls are counted, whatever the order of
	// the calls), until the first error shows in /metrics; then the faults are cleared
	// and the retries deliver.
	s := start(t, exec.Command(sim, "--addr", simAddr, "--fault-500", "1"))
	waitHTTP(t, s, "http://"+simAddr+"/_sim/stats", 200, 20*time.Second)
	cfg := string(readFile(t, "deploy/examples/simulator.yaml"))
	cfg = strings.Replace(cfg, "base_url: http://127.0.0.1:8089", "base_url: http://"+simAddr, 1)
	// A connector of its own each run: one with stored offsets would call nothing
	// until its next interval.
	cfg = strings.Replace(cfg, "- name: simulator", "- name: metrics-"+strconv.FormatInt(time.Now().UnixNano(), 36), 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w := start(t, exec.Command(connect, "run", "--config", path, "--brokers", brokers, "--rest-address", rest))
	deadline := time.Now().Add(2 * time.Minute)
	var missing []string
	faulty := true
	for {
		body := waitHTTP(t, w, "http://"+rest+"/metrics", 200, 30*time.Second)
		if faulty && strings.Contains(body, "\nwolkvox_connect_upstream_errors_total{") {
			resp, err := http.Post("http://"+simAddr+"/_sim/faults", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("clearing the simulator's faults: %s", resp.Status)
			}
			faulty = false
		}
		present := map[string]bool{}
		for _, line := range strings.Split(body, "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, _, _ := strings.Cut(line, "{")
			name, _, _ = strings.Cut(name, " ")
			present[name] = true
		}
		missing = missing[:0]
		for n := range want {
			if !present[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			slices.Sort(missing)
			t.Fatalf("metrics the dashboard or the rules read but the worker does not serve: %v", missing)
		}
		time.Sleep(time.Second)
	}
	t.Logf("all %d metric names of the dashboard and the rules are served", len(want))
}
