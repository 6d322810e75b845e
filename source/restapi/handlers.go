package restapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/cluster"
)

type rootInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit,omitempty"`
	KafkaClusterID string `json:"kafka_cluster_id,omitempty"`
	// Group is this worker's group of workers (see Group): its members, the
	// generation, who runs what. Absent for a worker on its own.
	Group *cluster.View `json:"group,omitempty"`
}

func (s *Server) root(w http.ResponseWriter, r *http.Request) error {
	info := rootInfo{Version: s.cfg.version, Commit: s.cfg.commit}
	if s.cfg.group != nil {
		v := s.cfg.group.View()
		info.Group = &v
	}
	if id := s.clusterID.Load(); id != nil {
		info.KafkaClusterID = *id
	} else if s.cfg.clusterID != nil {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.requestTimeout)
		id, err := s.cfg.clusterID(ctx)
		cancel()
		if err == nil && id != "" {
			s.clusterID.Store(&id)
			info.KafkaClusterID = id
		} else if err != nil {
			s.log.Debug("Kafka cluster ID unknown", "err", err)
		}
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// list answers the connectors' names or, with ?expand=, Connect's map of name to
// status and info (see expandList).
func (s *Server) list(w http.ResponseWriter, r *http.Request) error {
	if expand := r.URL.Query()["expand"]; len(expand) > 0 {
		return s.expandList(w, r, expand)
	}
	s.listNames(w)
	return nil
}

func (s *Server) listNames(w http.ResponseWriter) {
	names := s.w.Names()
	if names == nil {
		names = []string{}
	}
	writeJSON(w, http.StatusOK, names)
}

// connectorInfo is Connect's ConnectorInfo (name, config as a map of strings, tasks,
// type) with two extensions: reports (the report keys, in task order) and topics (each
// report's topic, by key).
type connectorInfo struct {
	Name    string            `json:"name"`
	Config  map[string]string `json:"config"`
	Tasks   []taskID          `json:"tasks"`
	Type    string            `json:"type"`
	Reports []string          `json:"reports"`
	Topics  map[string]string `json:"topics"`
}

// connector returns the configuration and status of the connector the path names.
func (s *Server) connector(r *http.Request) (source.Config, source.Status, error) {
	name := r.PathValue("name")
	cfg, err := s.w.Config(name)
	if err != nil {
		return cfg, source.Status{}, err
	}
	st, err := s.w.Status(name)
	return cfg, st, err
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	cfg, st, err := s.connector(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewInfo(cfg, st))
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	cfg, st, err := s.connector(r)
	if err != nil {
		return err
	}
	s.topicsSeen.observe(st.Name, s.counts(st))
	writeJSON(w, http.StatusOK, s.viewStatus(st, cfg.Location))
	return nil
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request) error {
	if err := s.w.Pause(r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// resume lets a paused connector go on, and starts a stopped one again from its
// committed offsets: Kafka Connect's resume leaves STOPPED too.
func (s *Server) resume(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	st, err := s.w.Status(name)
	if err != nil {
		return err
	}
	if st.State == source.StateStopped {
		if err := s.restartBounded(r.Context(), name); err != nil {
			return err
		}
	} else if err := s.w.Resume(name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// stop answers once the connector stopped, or once StopTimeout elapsed: the stop is
// requested either way and completes on its own, so a slow one is still 202.
func (s *Server) stop(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.stopTimeout)
	defer cancel()
	switch err := s.w.Stop(ctx, name); {
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		s.log.Warn("connector still stopping after the stop timeout", "connector", name, "timeout", s.cfg.stopTimeout)
	case err != nil:
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// restart answers 204 for a plain restart and, as Kafka Connect does when includeTasks
// or onlyFailed is given, 202 with the status. With onlyFailed, the connector restarts
// only when it is FAILED or, with includeTasks too, when one of its tasks (reports) is:
// its reports restart together (see restartTask).
func (s *Server) restart(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	q := r.URL.Query()
	onlyFailed, err := boolParam(q.Get("onlyFailed"), "onlyFailed")
	if err != nil {
		return err
	}
	includeTasks, err := boolParam(q.Get("includeTasks"), "includeTasks")
	if err != nil {
		return err
	}
	st, err := s.w.Status(name)
	if err != nil {
		return err
	}
	failed := st.State == source.StateFailed
	if includeTasks {
		failed = failed || slices.ContainsFunc(st.Reports, func(rs source.ReportStatus) bool { return rs.State == source.StateFailed })
	}
	if !onlyFailed || failed {
		if err := s.restartBounded(r.Context(), name); err != nil {
			return err
		}
	}
	if !onlyFailed && !includeTasks {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	cfg, err := s.w.Config(name)
	if err != nil {
		return err
	}
	if st, err = s.w.Status(name); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, s.viewStatus(st, cfg.Location))
	return nil
}

func (s *Server) restartBounded(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.stopTimeout)
	defer cancel()
	err := s.w.Restart(ctx, name)
	if errors.Is(err, context.DeadlineExceeded) {
		return errorf(http.StatusInternalServerError, err, fmt.Sprintf(
			"connector %s did not stop within %s, so it was not started again; it is stopping now: see its status and try again", name, s.cfg.stopTimeout))
	}
	return err
}

func boolParam(v, name string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(http.StatusBadRequest, err, fmt.Sprintf("query parameter %s=%q is not a boolean", name, v))
	}
	return b, nil
}

func (s *Server) getOffsets(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.requestTimeout)
	defer cancel()
	entries, err := s.w.Offsets(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	view, err := viewOffsets(entries)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

type message struct {
	Message string `json:"message"`
}

func (s *Server) patchOffsets(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.maxBodyBytes))
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	if _, err := s.w.Config(name); err != nil {
		return err
	}
	changes, err := parseOffsets(name, body)
	if err != nil {
		return err
	}
	// Refuse a running connector before reading the offsets topic to plan.
	if err := s.w.RequireStopped(name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.requestTimeout)
	defer cancel()
	plan, err := s.w.PlanOffsets(ctx, name, changes, s.cfg.now())
	var unknown *source.UnknownPartitionError
	switch {
	case errors.As(err, &unknown):
		known := make([]string, len(unknown.Known))
		for i, k := range unknown.Known {
			known[i] = partitionJSON(k)
		}
		what := "is not a report of connector " + name
		if unknown.Reset {
			what = "is neither a report of connector " + name + " nor stored"
		}
		return errorf(http.StatusBadRequest, err, fmt.Sprintf("offsets[%d].partition %s %s; its reports are %s",
			unknown.Index, partitionJSON(unknown.Key), what, strings.Join(known, ", ")))
	case errors.Is(err, source.ErrFutureCursor):
		return errorf(http.StatusBadRequest, err, err.Error())
	case err != nil:
		return err
	}
	if err := s.w.ApplyOffsets(ctx, plan); err != nil {
		return err
	}
	s.log.Info("offsets altered", "connector", name, "changes", len(changes))
	writeJSON(w, http.StatusOK, message{"The offsets for this connector have been altered successfully"})
	return nil
}

func (s *Server) deleteOffsets(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := s.w.RequireStopped(name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.requestTimeout)
	defer cancel()
	plan, err := s.w.PlanOffsetReset(ctx, name, nil, s.cfg.now())
	if err != nil {
		return err
	}
	if err := s.w.ApplyOffsets(ctx, plan); err != nil {
		return err
	}
	s.log.Info("offsets reset", "connector", name, "reports", len(plan.Changes))
	writeJSON(w, http.StatusOK, message{"The offsets for this connector have been reset successfully"})
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

type notReady struct {
	Error
	Reasons []string `json:"reasons"`
}

// readyz is ready when no connector, and no report of one, is FAILED (see the package
// doc for why waits count as ready).
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) error {
	var reasons []string
	for _, name := range s.w.Names() {
		st, err := s.w.Status(name)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: status unavailable: %v", name, err))
			continue
		}
		if st.State == source.StateFailed {
			reasons = append(reasons, fmt.Sprintf("%s: FAILED: %s", name, st.LastError))
			continue
		}
		if st.State == source.StateStopped {
			continue // stopped on purpose: its reports' states are no longer live
		}
		if st.State == source.StateBackingOff && !st.NextRetry.IsZero() {
			reasons = append(reasons, fmt.Sprintf("%s: not started yet (next attempt %s): %s", name, st.NextRetry.Format(time.RFC3339), st.LastError))
			continue
		}
		for _, rs := range st.Reports {
			switch {
			case rs.State == source.StateFailed:
				reasons = append(reasons, fmt.Sprintf("%s: report %s FAILED: %s", name, rs.Key, rs.LastError))
			case rs.Stalled && rs.Activity != "":
				reasons = append(reasons, fmt.Sprintf("%s: report %s stalled %s since %s: %s", name, rs.Key, rs.Activity, rs.ActivitySince.Format(time.RFC3339), cmp.Or(rs.LastError, "no answer")))
			case rs.Stalled:
				reasons = append(reasons, fmt.Sprintf("%s: report %s failing since %s: %s", name, rs.Key, rs.FailingSince.Format(time.RFC3339), rs.LastError))
			}
		}
	}
	if len(reasons) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, notReady{
			Error:   Error{Code: http.StatusServiceUnavailable, Message: "not ready: " + strings.Join(reasons, "; ")},
			Reasons: reasons,
		})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// connectorState is Connect's ConnectorState (state in Connect's vocabulary,
// worker_id, trace while FAILED, version) with three extensions: wolkvox_state (the
// state in ours: BACKING_OFF and QUOTA_EXHAUSTED are RUNNING in Connect's), last_error
// and next_retry.
type connectorState struct {
	State        string       `json:"state"`
	WorkerID     string       `json:"worker_id"`
	Trace        string       `json:"trace,omitempty"`
	Version      string       `json:"version,omitempty"`
	WolkvoxState source.State `json:"wolkvox_state"`
	LastError    *string      `json:"last_error"`
	NextRetry    *string      `json:"next_retry"`
}

type quotaView struct {
	Used      int64 `json:"used"`
	Limit     int64 `json:"limit"`
	Remaining int64 `json:"remaining"`
	// Reserved is the day's count as kept in the offsets topic (source.Status.QuotaReserved).
	Reserved int64 `json:"reserved"`
}

// memoryView is source.Status.ProducerMemory and its limit, the worker's budget.
type memoryView struct {
	Held  int64 `json:"held_bytes"`
	Limit int64 `json:"limit_bytes"`
}

type reportView struct {
	Report         string       `json:"report"`
	Key            string       `json:"key"`
	Topic          string       `json:"topic"`
	State          source.State `json:"state"`
	LastError      *string      `json:"last_error"`
	NextPoll       *string      `json:"next_poll"`
	Cursor         *string      `json:"cursor"`
	LastSeen       *string      `json:"last_seen"`
	LagSeconds     *float64     `json:"lag_seconds"`
	Rows           int64        `json:"rows"`
	DeadLetters    int64        `json:"dead_letters"`
	Duplicates     int64        `json:"duplicates"`
	Windows        int64        `json:"windows"`
	Calls          int64        `json:"calls"`
	UpstreamErrors int64        `json:"upstream_errors"`
	Splits         int64        `json:"splits"`
	Commits        int64        `json:"commits"`
	Aborts         int64        `json:"aborts"`
	FutureRows     int64        `json:"future_rows"`
	Activity       *string      `json:"activity"`
	ActivitySince  *string      `json:"activity_since"`
	Stalled        bool         `json:"stalled"`
	FailingSince   *string      `json:"failing_since"`
}

// statusView is Connect's ConnectorStateInfo (name, connector, tasks, type) with two
// extensions: quota and reports, the per-report detail, reports[N] being task N.
type statusView struct {
	Name      string         `json:"name"`
	Connector connectorState `json:"connector"`
	Tasks     []taskState    `json:"tasks"`
	Type      string         `json:"type"`
	Quota     quotaView      `json:"quota"`
	// ProducerMemory: the records the connector buffers for Kafka, of the worker's
	// budget.
	ProducerMemory memoryView   `json:"producer_memory"`
	Reports        []reportView `json:"reports"`
}

// viewStatus renders a status with times in the operation's zone (RFC 3339, so with
// their offset) and null for what has not happened yet.
func (s *Server) viewStatus(st source.Status, loc *time.Location) statusView {
	now := s.cfg.now()
	if loc == nil {
		loc = time.UTC
	}
	v := statusView{
		Name: st.Name,
		Connector: connectorState{State: connectState(st.State), WorkerID: s.workerID(), Version: s.cfg.version,
			WolkvoxState: st.State, LastError: optString(st.LastError), NextRetry: optTime(st.NextRetry, loc)},
		Tasks:          make([]taskState, 0, len(st.Reports)),
		Type:           connectorType,
		Quota:          quotaView{Used: st.QuotaUsed, Limit: st.QuotaLimit, Remaining: max(st.QuotaLimit-st.QuotaUsed, 0), Reserved: st.QuotaReserved},
		ProducerMemory: memoryView{Held: st.ProducerMemory, Limit: st.ProducerMemoryLimit},
		Reports:        make([]reportView, 0, len(st.Reports)),
	}
	if st.State == source.StateFailed {
		v.Connector.Trace = st.LastError
	}
	for i, r := range st.Reports {
		v.Tasks = append(v.Tasks, s.viewTask(i, r))
		v.Reports = append(v.Reports, reportView{
			Report: r.Report, Key: r.Key, Topic: r.Topic, State: r.State,
			LastError: optString(r.LastError),
			NextPoll:  optTime(r.NextPoll, loc), Cursor: optTime(r.Cursor, loc), LastSeen: optTime(r.LastSeen, loc),
			LagSeconds: lagSeconds(r.LastSeen, now),
			Rows:       r.Rows, DeadLetters: r.DeadLetters, Duplicates: r.Duplicates, Windows: r.Windows,
			Calls: r.Calls, UpstreamErrors: r.UpstreamErrs, Splits: r.Splits, Commits: r.Commits, Aborts: r.Aborts,
			FutureRows: r.FutureRows, Activity: optString(r.Activity), ActivitySince: optTime(r.ActivitySince, loc),
			Stalled: r.Stalled, FailingSince: optTime(r.FailingSince, loc),
		})
	}
	return v
}

// lagSeconds is how far the newest delivered row is behind now, never negative (a
// clock a little behind the operation's must not show negative lag); nil before any
// row was delivered.
func lagSeconds(lastSeen, now time.Time) *float64 {
	if lastSeen.IsZero() {
		return nil
	}
	lag := max(now.Sub(lastSeen).Seconds(), 0)
	return &lag
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time, loc *time.Location) *string {
	if t.IsZero() {
		return nil
	}
	s := t.In(loc).Format(time.RFC3339)
	return &s
}

// RedactedToken is what GET /connectors/{name} shows instead of a connector's token.
const RedactedToken = "[redacted]"

type configView struct {
	Name           string             `json:"name"`
	Server         string             `json:"server"`
	Token          string             `json:"token"`
	TimeZone       string             `json:"time_zone"`
	DailyQuota     int64              `json:"daily_quota"`
	QuotaResetHour int                `json:"quota_reset_hour"`
	BaseURL        string             `json:"base_url,omitempty"`
	MaxInFlight    int                `json:"max_in_flight"`
	Reports        []reportConfigView `json:"reports"`
}

type reportConfigView struct {
	API      string            `json:"api"`
	Key      string            `json:"key"`
	Params   map[string]string `json:"params,omitempty"`
	Interval string            `json:"interval"`
	Lookback string            `json:"lookback"`
	Settle   string            `json:"settle"`
	Bucket   string            `json:"bucket"`
	Start    string            `json:"start,omitempty"`
}

// viewConfig renders a configuration with the names of the configuration file and
// without secrets: the token is replaced, a password in the base URL is masked.
func viewConfig(c source.Config) configView {
	v := configView{
		Name: c.Name, Server: c.Server, DailyQuota: c.DailyQuota, QuotaResetHour: c.QuotaResetHour,
		BaseURL: redactURL(c.BaseURL), MaxInFlight: max(c.MaxInFlight, 1), TimeZone: time.UTC.String(),
		Reports: make([]reportConfigView, 0, len(c.Reports)),
	}
	if c.Token.IsSet() {
		v.Token = RedactedToken
	}
	if c.Location != nil {
		v.TimeZone = c.Location.String()
	}
	for _, r := range c.Reports {
		rv := reportConfigView{
			API: r.API, Key: r.Key(), Params: maps.Clone(r.Params),
			Interval: r.Interval.String(), Lookback: r.Lookback.String(), Settle: r.Settle.String(), Bucket: r.Bucket.String(),
		}
		if !r.Start.IsZero() {
			rv.Start = r.Start.Format(time.RFC3339)
		}
		v.Reports = append(v.Reports, rv)
	}
	return v
}

func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return RedactedToken // unparseable: it could hide anything
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
		u.User = nil
		return strings.Replace(u.String(), "://", "://"+RedactedToken+"@", 1)
	}
	return u.String()
}
