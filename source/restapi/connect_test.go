package restapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// hostname is the worker_id of a server on every interface.
var hostname = func() string {
	h, err := os.Hostname()
	if err != nil {
		panic(err)
	}
	return h
}()

// TestConnectRoutes holds the Kafka Connect routes to their answers on the fake
// worker: Connect's shapes, its error shape for what is not there, and what was asked
// of the worker.
func TestConnectRoutes(t *testing.T) {
	failReport := func(f *fakeWorker) {
		f.conns["alpha"].st.Reports[1].State = source.StateFailed
		f.conns["alpha"].st.Reports[1].LastError = "wolkvox: token refused"
	}
	tests := []struct {
		name         string
		method, path string
		body         string
		opts         []Opt
		setup        func(*fakeWorker)
		wantStatus   int
		wantJSON     string // exact answer, when set
		wantError    string // an {error_code, message} answer whose message contains this
		wantAllow    string
		wantActions  []string
	}{
		{name: "config", method: "GET", path: "/connectors/alpha/config", wantStatus: 200, wantJSON: alphaConfig},
		{name: "config of an unknown connector", method: "GET", path: "/connectors/nope/config", wantStatus: 404, wantError: "Connector nope not found"},
		{name: "config is read-only", method: "PUT", path: "/connectors/alpha/config", body: `{"server":"1"}`, wantStatus: 405, wantAllow: "GET, HEAD", wantError: "configuration file"},
		{name: "no connector is created", method: "POST", path: "/connectors", body: `{"name":"x","config":{}}`, wantStatus: 405, wantAllow: "GET, HEAD", wantError: "configuration file"},
		{name: "no connector is deleted", method: "DELETE", path: "/connectors/alpha", wantStatus: 405, wantAllow: "GET, HEAD", wantError: "configuration file"},
		{name: "tasks", method: "GET", path: "/connectors/alpha/tasks", wantStatus: 200, wantJSON: alphaTasks},
		{name: "tasks of an unknown connector", method: "GET", path: "/connectors/nope/tasks", wantStatus: 404, wantError: "Connector nope not found"},
		{name: "task status", method: "GET", path: "/connectors/alpha/tasks/0/status", wantStatus: 200, wantJSON: `{"id":0,"state":"RUNNING","worker_id":"127.0.0.1:8083","version":"dev"}`},
		{name: "a backing-off report is a running task", method: "GET", path: "/connectors/alpha/tasks/1/status", wantStatus: 200, wantJSON: `{"id":1,"state":"RUNNING","worker_id":"127.0.0.1:8083","version":"dev"}`},
		{
			name: "a failed report is a failed task with its error as trace", method: "GET", path: "/connectors/alpha/tasks/1/status", setup: failReport,
			wantStatus: 200, wantJSON: `{"id":1,"state":"FAILED","worker_id":"127.0.0.1:8083","version":"dev","trace":"wolkvox: token refused"}`,
		},
		{name: "task status with WorkerID", method: "GET", path: "/connectors/alpha/tasks/0/status", opts: []Opt{WorkerID("connect-0.wolkvox:8083")}, wantStatus: 200, wantJSON: `{"id":0,"state":"RUNNING","worker_id":"connect-0.wolkvox:8083","version":"dev"}`},
		{name: "task status on every interface", method: "GET", path: "/connectors/alpha/tasks/0/status", opts: []Opt{Address("0.0.0.0:8083")}, wantStatus: 200, wantJSON: `{"id":0,"state":"RUNNING","worker_id":"` + hostname + `:8083","version":"dev"}`},
		{name: "unknown task id", method: "GET", path: "/connectors/alpha/tasks/2/status", wantStatus: 404, wantError: "Task alpha-2 not found: connector alpha has one task per report, numbered in the order of its configuration (0 act_3,cod_act=X, 1 diagram_13)"},
		{name: "task id not a number", method: "GET", path: "/connectors/alpha/tasks/x/status", wantStatus: 404, wantError: "Task alpha-x not found"},
		{name: "task id with a leading zero", method: "GET", path: "/connectors/alpha/tasks/01/status", wantStatus: 404, wantError: "Task alpha-01 not found"},
		{name: "negative task id", method: "GET", path: "/connectors/alpha/tasks/-1/status", wantStatus: 404, wantError: "Task alpha--1 not found"},
		{name: "task of an unknown connector", method: "GET", path: "/connectors/nope/tasks/0/status", wantStatus: 404, wantError: "Connector nope not found"},
		{name: "task restart restarts the connector", method: "POST", path: "/connectors/alpha/tasks/1/restart", wantStatus: 204, wantActions: []string{"restart alpha"}},
		{name: "restart of an unknown task", method: "POST", path: "/connectors/alpha/tasks/7/restart", wantStatus: 404, wantError: "Task alpha-7 not found"},
		{name: "task restart by GET", method: "GET", path: "/connectors/alpha/tasks/0/restart", wantStatus: 405, wantAllow: "POST", wantError: "not supported"},
		{name: "active topics", method: "GET", path: "/connectors/alpha/topics", wantStatus: 200, wantJSON: `{"alpha":{"topics":["wolkvox.alpha.act_3"]}}`},
		{name: "active topics of a connector that wrote nothing", method: "GET", path: "/connectors/beta/topics", wantStatus: 200, wantJSON: `{"beta":{"topics":[]}}`},
		{name: "active topics of an unknown connector", method: "GET", path: "/connectors/nope/topics", wantStatus: 404, wantError: "Connector nope not found"},
		{name: "topics reset", method: "PUT", path: "/connectors/alpha/topics/reset", wantStatus: 202},
		{name: "topics reset of an unknown connector", method: "PUT", path: "/connectors/nope/topics/reset", wantStatus: 404, wantError: "Connector nope not found"},
		{name: "topics reset by POST", method: "POST", path: "/connectors/alpha/topics/reset", wantStatus: 405, wantAllow: "PUT", wantError: "not supported"},
		{name: "plugins", method: "GET", path: "/connector-plugins", wantStatus: 200, wantJSON: `[{"class":"github.com/wolkvox-connect/wolkvox-connect/source.Connector","type":"source","version":"dev"}]`},
		{name: "plugins not only connectors", method: "GET", path: "/connector-plugins?connectorsOnly=false", opts: []Opt{Version("1.2.3")}, wantStatus: 200, wantJSON: `[{"class":"github.com/wolkvox-connect/wolkvox-connect/source.Connector","type":"source","version":"1.2.3"}]`},
		{name: "plugins with a bad boolean", method: "GET", path: "/connector-plugins?connectorsOnly=perhaps", wantStatus: 400, wantError: "connectorsOnly"},
		{name: "loggers", method: "GET", path: "/admin/loggers", wantStatus: 200, wantJSON: `{"root":{"level":"INFO","last_modified":null}}`},
		{name: "root logger", method: "GET", path: "/admin/loggers/root", wantStatus: 200, wantJSON: `{"level":"INFO","last_modified":null}`},
		{name: "unknown logger", method: "GET", path: "/admin/loggers/org.apache.kafka.connect", wantStatus: 404, wantError: "Logger org.apache.kafka.connect not found"},
		{name: "set the level", method: "PUT", path: "/admin/loggers/root", body: `{"level":"debug"}`, wantStatus: 200, wantJSON: `["root"]`},
		{name: "set the level cluster-wide", method: "PUT", path: "/admin/loggers/root?scope=cluster", body: `{"level":"WARN"}`, wantStatus: 204},
		{name: "set the level of an unknown logger", method: "PUT", path: "/admin/loggers/kafka", body: `{"level":"WARN"}`, wantStatus: 404, wantError: "Logger kafka not found"},
		{name: "a level slog has not", method: "PUT", path: "/admin/loggers/root", body: `{"level":"TRACE"}`, wantStatus: 400, wantError: `level "TRACE": use DEBUG, INFO, WARN or ERROR`},
		{name: "a body without level", method: "PUT", path: "/admin/loggers/root", body: `{"lvl":"INFO"}`, wantStatus: 400, wantError: `the body is not {"level": "..."}`},
		{name: "an unknown scope", method: "PUT", path: "/admin/loggers/root?scope=everywhere", body: `{"level":"INFO"}`, wantStatus: 400, wantError: "scope"},
		{name: "loggers by DELETE", method: "DELETE", path: "/admin/loggers/root", wantStatus: 405, wantAllow: "GET, HEAD, PUT", wantError: "not supported"},
		{
			name: "restart onlyFailed leaves a running connector with a failed report", method: "POST", path: "/connectors/alpha/restart?onlyFailed=true",
			setup: failReport, wantStatus: 202,
		},
		{
			name: "restart onlyFailed and includeTasks restarts for a failed report", method: "POST", path: "/connectors/alpha/restart?onlyFailed=true&includeTasks=true",
			setup: failReport, wantStatus: 202, wantActions: []string{"restart alpha"},
		},
		{
			name: "a failed connector's status", method: "GET", path: "/connectors/beta/status",
			setup: func(f *fakeWorker) {
				f.conns["beta"].st.State = source.StateFailed
				f.conns["beta"].st.LastError = "kafka: fenced"
				f.conns["beta"].st.Reports[0].State = source.StateRunning
			},
			wantStatus: 200,
			wantJSON: `{"name":"beta","connector":{"state":"FAILED","worker_id":"127.0.0.1:8083","version":"dev","trace":"kafka: fenced","wolkvox_state":"FAILED","last_error":"kafka: fenced","next_retry":null},
"tasks":[{"id":0,"state":"RUNNING","worker_id":"127.0.0.1:8083","version":"dev"}],"type":"source","quota":{"used":2000,"limit":2000,"remaining":0,"reserved":0},"producer_memory":{"held_bytes":0,"limit_bytes":0},
"reports":[{"report":"chat_3","key":"chat_3","topic":"wolkvox.beta.chat_3","state":"RUNNING","last_error":null,"next_poll":null,"cursor":null,"last_seen":null,"lag_seconds":null,
 "rows":0,"dead_letters":0,"duplicates":0,"windows":0,"calls":0,"upstream_errors":0,"splits":0,"commits":0,"aborts":0,"future_rows":0,"activity":null,"activity_since":null,"stalled":false,"failing_since":null}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := newFake()
			if tt.setup != nil {
				tt.setup(fw)
			}
			level := new(slog.LevelVar)
			opts := append([]Opt{Clock(func() time.Time { return fixedNow }), Logger(testLogger()), LogLevel(level)}, tt.opts...)
			srv, err := New(fw, opts...)
			if err != nil {
				t.Fatal(err)
			}
			a := do(t, srv.Handler(), tt.method, tt.path, tt.body, "")
			if a.status != tt.wantStatus {
				t.Fatalf("%s %s: HTTP %d, want %d\n%s", tt.method, tt.path, a.status, tt.wantStatus, a.body)
			}
			if tt.wantJSON != "" {
				jsonEqual(t, a.body, tt.wantJSON)
			}
			if tt.wantError != "" {
				if e := apiError(t, a); !strings.Contains(e.Message, tt.wantError) {
					t.Errorf("message %q, want it to contain %q", e.Message, tt.wantError)
				}
			}
			if tt.wantJSON == "" && tt.wantError == "" && tt.wantStatus != 202 && len(a.body) > 0 {
				t.Errorf("HTTP %d with a body: %s", a.status, a.body)
			}
			if got := a.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
			if got := fw.Actions(); !slices.Equal(got, tt.wantActions) {
				t.Errorf("worker was asked %q, want %q", got, tt.wantActions)
			}
			if bytes.Contains(a.body, []byte(secretToken)) {
				t.Errorf("the answer contains the Wolkvox token: %s", a.body)
			}
		})
	}
}

// TestExpand: ?expand=status and ?expand=info answer Connect's map of name to the very
// answers of /status and /connectors/{name}; both together, repeated or with a comma;
// an expansion Connect does not know is ignored.
func TestExpand(t *testing.T) {
	srv, err := New(newFake(), Clock(func() time.Time { return fixedNow }), Logger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	one := func(path string) json.RawMessage {
		t.Helper()
		a := do(t, h, "GET", path, "", "")
		if a.status != 200 {
			t.Fatalf("GET %s: HTTP %d %s", path, a.status, a.body)
		}
		return json.RawMessage(bytes.TrimSpace(a.body))
	}
	status := map[string]json.RawMessage{"alpha": one("/connectors/alpha/status"), "beta": one("/connectors/beta/status")}
	info := map[string]json.RawMessage{"alpha": one("/connectors/alpha"), "beta": one("/connectors/beta")}
	want := func(withStatus, withInfo bool) string {
		out := map[string]map[string]json.RawMessage{}
		for _, name := range []string{"alpha", "beta"} {
			out[name] = map[string]json.RawMessage{}
			if withStatus {
				out[name]["status"] = status[name]
			}
			if withInfo {
				out[name]["info"] = info[name]
			}
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		query string
		want  string
	}{
		{"?expand=status", want(true, false)},
		{"?expand=info", want(false, true)},
		{"?expand=status&expand=info", want(true, true)},
		{"?expand=info,status", want(true, true)},
		{"?expand=status&expand=everything", want(true, false)},
		{"?expand=everything", `["alpha","beta"]`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			jsonEqual(t, one("/connectors"+tt.query), tt.want)
		})
	}
}

// TestActiveTopics: a topic is active once its report delivered rows since the last
// reset, read from the status's counts or, given, from Metrics' (which outlive a
// restart of the connector).
func TestActiveTopics(t *testing.T) {
	const alphaAct3, alphaDiagram = "wolkvox.alpha.act_3", "wolkvox.alpha.diagram_13"
	setRows := func(f *fakeWorker, i int, rows int64) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.conns["alpha"].st.Reports[i].Rows = rows
	}
	type step struct {
		do    func(*fakeWorker, *Metrics)
		reset bool     // PUT .../topics/reset after do
		want  []string // the active topics then
	}
	tests := []struct {
		name        string
		withMetrics bool
		steps       []step
	}{
		{name: "from the status", steps: []step{
			{want: []string{alphaAct3}}, // act_3 has delivered 120 rows
			{do: func(f *fakeWorker, _ *Metrics) { setRows(f, 1, 4) }, want: []string{alphaAct3, alphaDiagram}},
			{reset: true, want: []string{}},
			{want: []string{}}, // nothing new
			{do: func(f *fakeWorker, _ *Metrics) { setRows(f, 1, 5) }, want: []string{alphaDiagram}},
			{reset: true, want: []string{}},
			// A new instance counts from zero: fewer rows than seen, but some.
			{do: func(f *fakeWorker, _ *Metrics) { setRows(f, 0, 3) }, want: []string{alphaAct3}},
		}},
		{name: "from Metrics", withMetrics: true, steps: []step{
			{want: []string{}}, // Metrics counts from when it was built
			{do: func(_ *fakeWorker, m *Metrics) { m.Window("alpha", "diagram_13", source.WindowStats{Rows: 2}) }, want: []string{alphaDiagram}},
			{reset: true, want: []string{}},
			// A restart's counters from zero do not matter; a window with no rows is no write.
			{do: func(f *fakeWorker, m *Metrics) {
				setRows(f, 0, 0)
				m.Window("alpha", "act_3,cod_act=X", source.WindowStats{})
			}, want: []string{}},
			{do: func(_ *fakeWorker, m *Metrics) { m.Window("beta", "chat_3", source.WindowStats{Rows: 9}) }, want: []string{}},
			{do: func(_ *fakeWorker, m *Metrics) { m.Window("alpha", "act_3,cod_act=X", source.WindowStats{Rows: 1}) }, want: []string{alphaAct3}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := newFake()
			opts := []Opt{Clock(func() time.Time { return fixedNow }), Logger(testLogger())}
			var m *Metrics
			if tt.withMetrics {
				var err error
				if m, err = NewMetrics(prometheus.NewRegistry()); err != nil {
					t.Fatal(err)
				}
				opts = append(opts, WithMetrics(m))
			}
			srv, err := New(fw, opts...)
			if err != nil {
				t.Fatal(err)
			}
			h := srv.Handler()
			for i, st := range tt.steps {
				if st.do != nil {
					st.do(fw, m)
				}
				if st.reset {
					if a := do(t, h, "PUT", "/connectors/alpha/topics/reset", "", ""); a.status != 202 || len(a.body) != 0 {
						t.Fatalf("step %d: reset: HTTP %d %s, want 202 without a body", i, a.status, a.body)
					}
				}
				a := do(t, h, "GET", "/connectors/alpha/topics", "", "")
				if a.status != 200 {
					t.Fatalf("step %d: HTTP %d %s", i, a.status, a.body)
				}
				want, err := json.Marshal(map[string]map[string][]string{"alpha": {"topics": st.want}})
				if err != nil {
					t.Fatal(err)
				}
				jsonEqual(t, a.body, string(want))
			}
		})
	}
}

// TestLogLevelAtRunTime: PUT /admin/loggers/root changes what the logger built on the
// LogLevel option's LevelVar writes, at once, and GET says the new level and when it
// was set.
func TestLogLevelAtRunTime(t *testing.T) {
	var buf bytes.Buffer
	level := new(slog.LevelVar) // INFO
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
	srv, err := New(newFake(), Logger(log), LogLevel(level))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	logged := func() string {
		s := buf.String()
		buf.Reset()
		return s
	}
	put := func(lvl string) {
		t.Helper()
		if a := do(t, h, "PUT", "/admin/loggers/root", `{"level":"`+lvl+`"}`, ""); a.status != 200 {
			t.Fatalf("PUT %s: HTTP %d %s", lvl, a.status, a.body)
		}
	}

	do(t, h, "GET", "/connectors/alpha/status", "", "")
	if got := logged(); got != "" {
		t.Errorf("at INFO a read logged %q, want nothing (reads are logged at debug)", got)
	}
	before := time.Now().UnixMilli()
	put("DEBUG")
	if got := logged(); !strings.Contains(got, `level=INFO msg="log level changed" component=restapi logger=root from=INFO to=DEBUG`) {
		t.Errorf("the change logged %q", got)
	}
	do(t, h, "GET", "/connectors/alpha/status", "", "")
	if got := logged(); !strings.Contains(got, "level=DEBUG msg=request component=restapi method=GET path=/connectors/alpha/status status=200") {
		t.Errorf("at DEBUG a read logged %q, want its debug line", got)
	}
	var lv struct {
		Level        string `json:"level"`
		LastModified *int64 `json:"last_modified"`
	}
	if err := json.Unmarshal(do(t, h, "GET", "/admin/loggers/root", "", "").body, &lv); err != nil {
		t.Fatal(err)
	}
	if lv.Level != "DEBUG" || lv.LastModified == nil || *lv.LastModified < before || *lv.LastModified > time.Now().UnixMilli() {
		t.Errorf("root logger %+v, want DEBUG modified in [%d, now]", lv, before)
	}
	logged() // the GET's own debug line

	put("ERROR")
	if got := logged(); !strings.Contains(got, `level=ERROR msg="log level changed" component=restapi logger=root from=DEBUG to=ERROR`) {
		t.Errorf("the change logged %q, want it at ERROR, the higher level", got)
	}
	do(t, h, "PUT", "/connectors/alpha/pause", "", "") // an action: logged at info
	if got := logged(); got != "" {
		t.Errorf("at ERROR an action logged %q, want nothing", got)
	}
	put("info")
	logged()
	do(t, h, "PUT", "/connectors/alpha/pause", "", "")
	if got := logged(); !strings.Contains(got, `msg="REST action"`) {
		t.Errorf("at INFO again an action logged %q, want its line", got)
	}
}

// TestLoggersWithoutLogLevel: without the LogLevel option the level cannot change, and
// every /admin/loggers route says so with a 404.
func TestLoggersWithoutLogLevel(t *testing.T) {
	srv, err := New(newFake(), Logger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/admin/loggers", ""}, {"GET", "/admin/loggers/root", ""}, {"PUT", "/admin/loggers/root", `{"level":"DEBUG"}`},
	} {
		a := do(t, srv.Handler(), r.method, r.path, r.body, "")
		if a.status != 404 {
			t.Errorf("%s %s: HTTP %d, want 404", r.method, r.path, a.status)
			continue
		}
		if e := apiError(t, a); !strings.Contains(e.Message, "restapi.LogLevel") {
			t.Errorf("%s %s: %q, want it to name the missing option", r.method, r.path, e.Message)
		}
	}
}
