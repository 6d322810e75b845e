package restapi

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// This file holds the routes and shapes that are Kafka Connect's REST entities
// (org.apache.kafka.connect.runtime.rest.entities, checked with Connect's own classes by
// deploy/check's TestConnectREST): ConnectorInfo, ConnectorStateInfo, TaskInfo,
// ActiveTopicsInfo, PluginInfo. The mapping onto a worker that has no tasks of its own:
//
//   - A task is a report: task N of a connector is its N-th report in the order of the
//     configuration file (the order of "reports" in the status, of "tasks" in the info).
//     The ids are stable while that order is; reordering reports renumbers them.
//   - Members Connect's entities do not have are extensions, each listed in the package
//     documentation; a client reading with Connect's classes ignores them.

// ConnectorClass is the connector's plugin class, as GET /connector-plugins lists it and
// as "connector.class" in a connector's configuration says: the Go type that runs it.
const ConnectorClass = "github.com/wolkvox-connect/wolkvox-connect/source.Connector"

// connectorType is Connect's ConnectorType of every connector here.
const connectorType = "source"

// connectState maps a state onto Kafka Connect's vocabulary (UNASSIGNED, RUNNING,
// PAUSED, STOPPED, FAILED, RESTARTING): our waits, BACKING_OFF and QUOTA_EXHAUSTED, are
// a running connector waiting, so RUNNING; the state itself stays in wolkvox_state
// (connector) and reports[].state (tasks).
func connectState(s source.State) string {
	switch s {
	case source.StateRunning, source.StatePaused, source.StateStopped, source.StateFailed:
		return string(s)
	case source.StateBackingOff, source.StateQuotaExhausted:
		return string(source.StateRunning)
	default:
		return "UNASSIGNED" // not started yet
	}
}

type taskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

type taskState struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	// Trace is the report's last error while it is FAILED, as Connect's trace is the
	// failed task's stack trace.
	Trace   string `json:"trace,omitempty"`
	Version string `json:"version,omitempty"`
}

type taskInfo struct {
	ID     taskID            `json:"id"`
	Config map[string]string `json:"config"`
}

// workerID is the worker_id of statuses: the WorkerID option or else the address the
// API listens on, as Connect's is its advertised host:port; on every interface
// (0.0.0.0, ::), the host's name stands for the address.
func (s *Server) workerID() string {
	if s.cfg.workerID != "" {
		return s.cfg.workerID
	}
	addr := s.Addr()
	host, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err == nil && (host == "" || ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil && name != "" {
			return net.JoinHostPort(name, port)
		}
	}
	return addr
}

// flatConfig is a connector's configuration as Connect has it, a map of strings: the
// configuration file's names, a report's under "reports.<task id>.", with
// "connector.class" and "tasks.max" (one task per report) added and the secrets hidden
// as GET /connectors/{name} always hid them.
func flatConfig(c source.Config) map[string]string {
	v := viewConfig(c)
	m := map[string]string{
		"connector.class":  ConnectorClass,
		"tasks.max":        strconv.Itoa(len(v.Reports)),
		"name":             v.Name,
		"server":           v.Server,
		"time_zone":        v.TimeZone,
		"daily_quota":      strconv.FormatInt(v.DailyQuota, 10),
		"quota_reset_hour": strconv.Itoa(v.QuotaResetHour),
		"max_in_flight":    strconv.Itoa(v.MaxInFlight),
	}
	if v.Token != "" {
		m["token"] = v.Token
	}
	if v.BaseURL != "" {
		m["base_url"] = v.BaseURL
	}
	for i, r := range v.Reports {
		for k, val := range reportConfig(r) {
			m["reports."+strconv.Itoa(i)+"."+k] = val
		}
	}
	return m
}

// reportConfig is one report's configuration as a map of strings, its parameters under
// "params.".
func reportConfig(r reportConfigView) map[string]string {
	m := map[string]string{
		"api": r.API, "key": r.Key, "interval": r.Interval, "lookback": r.Lookback, "settle": r.Settle, "bucket": r.Bucket,
	}
	if r.Start != "" {
		m["start"] = r.Start
	}
	for k, v := range r.Params {
		m["params."+k] = v
	}
	return m
}

func (s *Server) viewInfo(cfg source.Config, st source.Status) connectorInfo {
	info := connectorInfo{
		Name: cfg.Name, Config: flatConfig(cfg), Tasks: []taskID{}, Type: connectorType,
		Reports: []string{}, Topics: map[string]string{},
	}
	for i, rs := range st.Reports {
		info.Tasks = append(info.Tasks, taskID{Connector: cfg.Name, Task: i})
		info.Reports = append(info.Reports, rs.Key)
		info.Topics[rs.Key] = rs.Topic
	}
	return info
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) error {
	cfg, err := s.w.Config(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, flatConfig(cfg))
	return nil
}

// readOnlyConfig explains why a connector cannot be created, deleted or reconfigured
// through the API, as the 405 of those methods says.
const readOnlyConfig = "connectors are configured by the worker's configuration file (validated as a whole, with secrets from the environment), not through the REST API: edit the file and restart the worker"

func (s *Server) tasks(w http.ResponseWriter, r *http.Request) error {
	cfg, st, err := s.connector(r)
	if err != nil {
		return err
	}
	view := viewConfig(cfg)
	out := make([]taskInfo, 0, len(st.Reports))
	for i, rs := range st.Reports {
		tc := map[string]string{"topic": rs.Topic, "key": rs.Key, "api": rs.Report}
		if j := slices.IndexFunc(view.Reports, func(rc reportConfigView) bool { return rc.Key == rs.Key }); j >= 0 {
			maps.Copy(tc, reportConfig(view.Reports[j]))
		}
		out = append(out, taskInfo{ID: taskID{Connector: cfg.Name, Task: i}, Config: tc})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// task returns the status and report of the task the path names, or a 404 saying which
// tasks there are.
func (s *Server) task(r *http.Request) (source.Config, source.Status, int, error) {
	cfg, st, err := s.connector(r)
	if err != nil {
		return cfg, st, 0, err
	}
	raw := r.PathValue("task")
	id, err := strconv.Atoi(raw)
	if err != nil || id < 0 || id >= len(st.Reports) || strconv.Itoa(id) != raw {
		tasks := make([]string, len(st.Reports))
		for i, rs := range st.Reports {
			tasks[i] = strconv.Itoa(i) + " " + rs.Key
		}
		return cfg, st, 0, errorf(http.StatusNotFound, ErrUnknownTask, fmt.Sprintf(
			"Task %s-%s not found: connector %s has one task per report, numbered in the order of its configuration (%s)",
			cfg.Name, raw, cfg.Name, strings.Join(tasks, ", ")))
	}
	return cfg, st, id, nil
}

func (s *Server) taskStatus(w http.ResponseWriter, r *http.Request) error {
	_, st, id, err := s.task(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewTask(id, st.Reports[id]))
	return nil
}

// restartTask restarts the connector the task belongs to: its reports are read by one
// goroutine through one transactional producer, so none restarts alone. Every report
// goes on from its committed offsets, so nothing is lost or written twice.
func (s *Server) restartTask(w http.ResponseWriter, r *http.Request) error {
	cfg, _, _, err := s.task(r)
	if err != nil {
		return err
	}
	if err := s.restartBounded(r.Context(), cfg.Name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) viewTask(id int, rs source.ReportStatus) taskState {
	t := taskState{ID: id, State: connectState(rs.State), WorkerID: s.workerID(), Version: s.cfg.version}
	if rs.State == source.StateFailed {
		t.Trace = rs.LastError
	}
	return t
}

type pluginInfo struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version"`
}

// plugins lists the one connector plugin; connectorsOnly=false lists the same, as
// there are no converters, transformations or predicates to add.
func (s *Server) plugins(w http.ResponseWriter, r *http.Request) error {
	if _, err := boolParam(r.URL.Query().Get("connectorsOnly"), "connectorsOnly"); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, []pluginInfo{{Class: ConnectorClass, Type: connectorType, Version: s.cfg.version}})
	return nil
}

// expandList answers GET /connectors?expand=status&expand=info (also
// expand=status,info) with Connect's map of name to {"status": …, "info": …}. An
// expansion Connect does not know is ignored, as Connect ignores it.
func (s *Server) expandList(w http.ResponseWriter, r *http.Request, expand []string) error {
	var status, info bool
	for _, e := range expand {
		for part := range strings.SplitSeq(e, ",") {
			switch strings.TrimSpace(part) {
			case "status":
				status = true
			case "info":
				info = true
			}
		}
	}
	if !status && !info {
		s.listNames(w)
		return nil
	}
	out := map[string]map[string]any{}
	for _, name := range s.w.Names() {
		cfg, err := s.w.Config(name)
		if err != nil {
			continue // removed meanwhile
		}
		st, err := s.w.Status(name)
		if err != nil {
			continue
		}
		e := map[string]any{}
		if status {
			if remote, ok := s.remoteStatus(r.Context(), r, name); ok {
				e["status"] = remote // from the worker of the group that runs it
			} else {
				e["status"] = s.viewStatus(st, cfg.Location)
			}
		}
		if info {
			e["info"] = s.viewInfo(cfg, st)
		}
		out[name] = e
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// activeTopics are KIP-558's active topics: the topics a connector has written events
// to since the last reset of its active topics, or since the server was built. Connect
// keeps them in its status topic; here they are kept in memory, so a restart of the
// process resets them too.
//
// What a connector wrote is read from counts of rows delivered per report: those of
// the Metrics given with WithMetrics, which count across restarts of the connector,
// or else the status's rows, which start again from zero with each instance (a
// decrease is taken for a new instance). They are compared with the counts seen last:
// a report whose count grew has written to its topic. The offsets topic and the
// dead-letter topic, shared by every connector, are not listed.
type activeTopics struct {
	mu     sync.Mutex
	active map[string]map[string]bool  // connector → topic → written
	seen   map[string]map[string]int64 // connector → report key → rows seen last
}

type reportCount struct {
	key, topic string
	rows       int64
}

// observe records the counts of a connector's reports, and returns its active topics,
// sorted.
func (a *activeTopics) observe(connector string, counts []reportCount) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active == nil {
		a.active, a.seen = map[string]map[string]bool{}, map[string]map[string]int64{}
	}
	if a.active[connector] == nil {
		a.active[connector], a.seen[connector] = map[string]bool{}, map[string]int64{}
	}
	for _, c := range counts {
		last := a.seen[connector][c.key]
		if c.rows < last {
			last = 0 // a new instance counting from zero
		}
		if c.rows > last {
			a.active[connector][c.topic] = true
		}
		a.seen[connector][c.key] = c.rows
	}
	topics := slices.Sorted(maps.Keys(a.active[connector]))
	if topics == nil {
		topics = []string{}
	}
	return topics
}

// reset forgets a connector's active topics, counting from counts on.
func (a *activeTopics) reset(connector string, counts []reportCount) {
	a.observe(connector, counts)
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.active[connector])
}

// counts are the rows each report of st has delivered (see activeTopics).
func (s *Server) counts(st source.Status) []reportCount {
	out := make([]reportCount, 0, len(st.Reports))
	for _, rs := range st.Reports {
		n := rs.Rows
		if s.cfg.metrics != nil {
			n = s.cfg.metrics.delivered(st.Name, rs.Key)
		}
		out = append(out, reportCount{key: rs.Key, topic: rs.Topic, rows: n})
	}
	return out
}

type activeTopicsInfo struct {
	Topics []string `json:"topics"`
}

func (s *Server) topics(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	st, err := s.w.Status(name)
	if err != nil {
		return err
	}
	topics := s.topicsSeen.observe(name, s.counts(st))
	writeJSON(w, http.StatusOK, map[string]activeTopicsInfo{name: {Topics: topics}})
	return nil
}

// resetTopics empties the connector's active topics, in any state (as Connect allows
// when topic.tracking.allow.reset is on, its default), answering 202 as Connect does.
func (s *Server) resetTopics(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	st, err := s.w.Status(name)
	if err != nil {
		return err
	}
	s.topicsSeen.reset(name, s.counts(st))
	w.WriteHeader(http.StatusAccepted)
	return nil
}
