package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Messages of the documented answers, exactly as the API sends them.
const (
	MsgNoAPI        = "THE API YOU WANT TO CONSULT DOES NOT EXIST"
	MsgParams       = "SOME PARAMETERS ARE REQUIRED"
	MsgNoToken      = "PLEASE ENTER THE WOLKVOX-TOKEN"
	MsgQuota        = "TOKEN LIMIT EXCEEDED"
	MsgSimultaneous = "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)"
	MsgBadToken     = "PLEASE VALIDATE TOKEN"
	MsgDates        = "Validate dates entered"
	// MsgForbiddenOther is the undocumented 403 the Forbidden fault sends.
	MsgForbiddenOther = "ACCESS DENIED"
)

// Paths served.
const (
	ReportsPath     = "/api/v2/reports_manager.php"
	InformationPath = "/api/v2/information.php"
)

// dateLayout is date_ini and date_end's format, YYYYmmddHHiiss.
const dateLayout = "20060102150405"

// Server is a simulated Wolkvox server. Create it with New; serve Handler yourself or
// call Start. It is safe for concurrent use.
type Server struct {
	cfg     cfg
	clock   Clock
	log     *slog.Logger
	models  map[string]*model
	gps     map[string]*genParams
	served  map[string]bool // nil: every catalog report
	loc     *time.Location
	seq     atomic.Uint64 // call sequence number, drives fault decisions
	handler http.Handler

	mu      sync.Mutex
	faults  Faults
	tokens  map[string]*tokenState
	unauth  map[int]int64 // calls without a valid token, by status
	started bool

	done     chan struct{} // closed by stop: hung calls return, the ctx watcher exits
	stopOnce sync.Once
	wg       sync.WaitGroup // the serve goroutine and the ctx watcher
	httpSrv  *http.Server
	url      string
}

type tokenState struct {
	server      string
	day         int64
	used        int
	calls       int64
	byStatus    map[int]int64
	inFlight    int
	maxInFlight int
	// refused counts calls refused because the quota was spent: a well-behaved client
	// makes none.
	refused int64
}

// New builds a Server. It fails with ErrInvalidConfig when an option is out of range.
func New(opts ...Opt) (*Server, error) {
	c := defaultCfg()
	for _, o := range opts {
		o.apply(&c)
	}
	if len(c.tokens) == 0 {
		c.tokens[DefaultToken] = DefaultServer
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.clock == nil {
		c.clock = WallClock()
	}
	reports := catalog.All()
	s := &Server{
		cfg: c, clock: c.clock, log: c.logger.With("component", "simulator"), loc: c.loc,
		models: map[string]*model{}, gps: map[string]*genParams{}, faults: c.faults,
		tokens: map[string]*tokenState{}, unauth: map[int]int64{}, done: make(chan struct{}),
	}
	for i := range reports {
		r := &reports[i]
		rate, ok := c.rates[r.API]
		if !ok {
			rate = c.defaultRate
		}
		s.models[r.API] = compile(r, c.seed, rate)
		s.gps[r.API] = &genParams{loc: c.loc, flat: c.flat, lateFraction: c.lateFraction, maxLate: c.maxLate,
			editFraction: c.editFraction, maxEditDelay: c.maxEditDelay, bursts: map[int64]int{}}
	}
	for _, b := range c.bursts {
		gp, ok := s.gps[b.Report]
		if !ok {
			return nil, fmt.Errorf("%w: burst for unknown report %q", ErrInvalidConfig, b.Report)
		}
		gp.bursts[floorDiv(b.Minute.Unix(), 60)] += b.Rows
	}
	if c.only != nil {
		s.served = map[string]bool{}
		for _, api := range c.only {
			if _, ok := s.models[api]; !ok {
				return nil, fmt.Errorf("%w: Reports names unknown report %q", ErrInvalidConfig, api)
			}
			s.served[api] = true
		}
	}
	for tok, srv := range c.tokens {
		s.tokens[tok] = &tokenState{server: srv, byStatus: map[int]int64{}}
	}
	mux := http.NewServeMux()
	mux.HandleFunc(ReportsPath, s.serveAPI)
	mux.HandleFunc(InformationPath, s.serveAPI)
	mux.HandleFunc("/_sim/stats", s.serveStats)
	mux.HandleFunc("/_sim/faults", s.serveFaults)
	mux.HandleFunc("/_sim/clock", s.serveClock)
	mux.HandleFunc("/_sim/truth", s.serveTruth)
	s.handler = mux
	return s, nil
}

// Handler returns the HTTP handler of the API and of the control endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on the Addr option (127.0.0.1:0 by default) and serves until Close is
// called or ctx is done. It returns once the listener is open, so URL is usable.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	if s.started {
		return ErrClosed
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.addr)
	if err != nil {
		return fmt.Errorf("simulator: listen on %s: %w", s.cfg.addr, err)
	}
	s.started = true
	s.url = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			s.stop()
		case <-s.done:
		}
	}()
	s.log.Info("listening", "url", s.url)
	return nil
}

// URL returns the base URL ("http://127.0.0.1:port") once Start succeeded.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops serving, releases hung calls and waits for the server's goroutines. It is
// safe to call more than once, and on a server that was never started.
func (s *Server) Close() error {
	err := s.stop()
	s.wg.Wait()
	return err
}

func (s *Server) stop() error {
	var err error
	s.stopOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		srv := s.httpSrv
		s.mu.Unlock()
		if srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err = srv.Shutdown(ctx); err != nil {
			err = errors.Join(err, srv.Close())
		}
	})
	return err
}

// SetFaults replaces the fault plan.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return nil
}

// Faults returns the current fault plan.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// quotaDay numbers the quota day now falls in: days change at the reset hour, local time.
func (s *Server) quotaDay(now time.Time) int64 {
	lt := now.In(s.loc).Add(-time.Duration(s.cfg.resetHour) * time.Hour)
	return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// answer is what a call produced before it is written.
type answer struct {
	status     int
	body       []byte
	html       bool
	retryAfter bool
	truncate   bool
}

func jsonError(status int, errText, msg string) answer {
	return answer{status: status, body: errorBody(status, errText, msg)}
}

const maintenancePage = `<!DOCTYPE html><html><head><title>Mantenimiento</title></head><body><h1>Estamos en mantenimiento</h1><p>wolkvox volverá en unos minutos.</p></body></html>`

func htmlPage(status int) answer {
	return answer{status: status, html: true, body: fmt.Appendf(nil,
		`<!DOCTYPE html><html><head><title>%d %s</title></head><body><h1>%s</h1><hr><address>Apache Server</address></body></html>`,
		status, http.StatusText(status), http.StatusText(status))}
}

// serveAPI serves reports_manager.php and information.php: the order of checks is
// maintenance, token presence, token validity, quota, in-flight limit, injected fault,
// then the request itself. See the package documentation for what each costs.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	token := r.Header.Get("wolkvox-token")
	s.mu.Lock()
	faults := s.faults
	ts := s.tokens[token]
	if ts != nil {
		if srv := r.Header.Get("wolkvox_server"); srv != "" && srv != ts.server {
			ts = nil
		}
	}
	var a answer
	switch {
	case faults.inMaintenance(now):
		a = answer{status: http.StatusForbidden, html: true, body: []byte(maintenancePage), retryAfter: true}
	case token == "":
		a = jsonError(http.StatusUnauthorized, "UNAUTHORIZED", MsgNoToken)
	case ts == nil:
		a = jsonError(http.StatusForbidden, "FORBIDDEN", MsgBadToken)
	}
	if a.status != 0 {
		if ts != nil {
			ts.calls++
			ts.byStatus[a.status]++
		} else {
			s.unauth[a.status]++
		}
		s.mu.Unlock()
		s.write(w, a, faults)
		return
	}
	if day := s.quotaDay(now); day != ts.day {
		ts.day, ts.used = day, 0
	}
	ts.calls++
	if ts.used >= s.cfg.dailyQuota {
		ts.refused++
		ts.byStatus[http.StatusForbidden]++
		s.mu.Unlock()
		s.write(w, jsonError(http.StatusForbidden, "FORBIDDEN", MsgQuota), faults)
		return
	}
	ts.used++
	if ts.inFlight >= s.cfg.maxInFlight {
		ts.byStatus[http.StatusForbidden]++
		s.mu.Unlock()
		s.write(w, jsonError(http.StatusForbidden, "FORBIDDEN", MsgSimultaneous), faults)
		return
	}
	ts.inFlight++
	ts.maxInFlight = max(ts.maxInFlight, ts.inFlight)
	s.mu.Unlock()

	a = s.call(r, ts, faults)
	s.mu.Lock()
	ts.inFlight--
	ts.byStatus[a.status]++
	s.mu.Unlock()
	if a.status == 0 {
		// Nobody is waiting for an answer (or the server is closing): drop the connection
		// rather than let net/http send an empty 200.
		panic(http.ErrAbortHandler)
	}
	s.write(w, a, faults)
}

// call runs one authenticated, admitted call while it holds its in-flight slot. A zero
// status means the client gave up (or the server closed) before an answer.
func (s *Server) call(r *http.Request, ts *tokenState, faults Faults) answer {
	ctx := r.Context()
	if faults.Latency > 0 {
		t := time.NewTimer(faults.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return answer{}
		case <-s.done:
			return answer{}
		}
	}
	f := faults.decide(s.cfg.seed, s.seq.Add(1))
	switch f {
	case fault500:
		return withRetry(jsonError(500, "INTERNAL SERVER ERROR", "AN UNEXPECTED ERROR OCCURRED"))
	case fault502:
		return withRetry(htmlPage(502))
	case fault503:
		return withRetry(jsonError(503, "SERVICE UNAVAILABLE", "SERVICE TEMPORARILY UNAVAILABLE"))
	case faultForbidden:
		return withRetry(jsonError(403, "FORBIDDEN", MsgForbiddenOther))
	case faultMaintenance:
		return answer{status: http.StatusForbidden, html: true, body: []byte(maintenancePage), retryAfter: true}
	case faultHTML200:
		a := htmlPage(500)
		a.status = http.StatusOK
		return a
	case faultHTML500:
		return withRetry(htmlPage(500))
	case faultHang:
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		return answer{}
	}
	var a answer
	if r.URL.Path == InformationPath {
		a = s.information(r.URL.Query(), ts)
	} else {
		a = s.report(r.URL.Query(), s.clock.Now())
	}
	a.truncate = f == faultTruncate && a.status == http.StatusOK
	return a
}

func withRetry(a answer) answer { a.retryAfter = true; return a }

func (s *Server) write(w http.ResponseWriter, a answer, faults Faults) {
	h := w.Header()
	if a.html {
		h.Set("Content-Type", "text/html; charset=UTF-8")
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	if a.retryAfter && faults.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((faults.RetryAfter+time.Second-1)/time.Second)))
	}
	body := a.body
	if a.truncate {
		cut := len(body) / 2
		// Alternate between a broken connection (declared length longer than what is
		// sent) and a well-formed HTTP response carrying half a JSON document.
		if len(body)%2 == 0 {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		body = body[:cut]
	} else {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it
}

// information serves information.php: token_info, and the agents, skills and campaigns
// dimension tables of the simulated operation.
func (s *Server) information(q url.Values, ts *tokenState) answer {
	switch q.Get("api") {
	case "token_info":
		s.mu.Lock()
		used := ts.used
		s.mu.Unlock()
		data := appendCells(nil, []Cell{
			{Key: "token_limit", Value: strconv.Itoa(s.cfg.dailyQuota)},
			{Key: "token_use_today", Value: strconv.Itoa(used)},
		})
		return answer{status: http.StatusOK, body: envelope(true, "Token information", data)}
	case "agents", "skills", "campaigns":
		kind := strings.TrimSuffix(q.Get("api"), "s")
		var rows []Row
		for i := range entityCard[kind] {
			r := Row{{Key: kind + "_id", Value: entityValue(kind, kind, "id", i, uint64(s.cfg.seed))}}
			if kind != "campaign" {
				r = append(r, Cell{Key: kind + "_name", Value: entityValue(kind, kind, "name", i, uint64(s.cfg.seed))})
			}
			rows = append(rows, r)
		}
		data, n := shapeData(&catalog.Report{Shape: catalog.ShapeArray}, 0, rows, len(rows))
		return answer{status: http.StatusOK, body: envelope(true, fmt.Sprintf("%d records were found", n), data)}
	}
	return jsonError(http.StatusBadRequest, "BAD REQUEST", MsgNoAPI)
}

// report serves reports_manager.php for a call admitted at now.
func (s *Server) report(q url.Values, now time.Time) answer {
	api := q.Get("api")
	m, ok := s.models[api]
	switch {
	case !ok:
		return jsonError(http.StatusBadRequest, "BAD REQUEST", MsgNoAPI)
	case s.served != nil && !s.served[api]:
		return jsonError(http.StatusNotFound, "NOT FOUND", MsgDates)
	}
	if q.Get("date_ini") == "" || q.Get("date_end") == "" {
		return jsonError(http.StatusBadRequest, "BAD REQUEST", MsgParams)
	}
	for _, p := range m.rep.Params {
		if p.Required && strings.TrimSpace(q.Get(p.Name)) == "" {
			return jsonError(http.StatusBadRequest, "BAD REQUEST", MsgParams)
		}
	}
	from, to, ok := s.window(m, q.Get("date_ini"), q.Get("date_end"))
	if !ok {
		return jsonError(http.StatusNotFound, "NOT FOUND", MsgDates)
	}
	qr := newQuery(m, q, from, to, now, s.gps[api], s.cfg.lenient)
	rows := qr.rows(s.cfg.maxRows)
	data, n := shapeData(m.rep, m.nParent, rows, s.cfg.maxRows)
	if n == 0 {
		return jsonError(http.StatusNotFound, "NOT FOUND", MsgDates)
	}
	// How code and msg are spelled varies like on the live API, but is fixed per request
	// so the same window answers the same bytes until its data change.
	vh := hash(uint64(s.cfg.seed), m.rh, uint64(from.Unix()), uint64(to.Unix()), strHash(q.Encode()))
	var msg string
	switch {
	case m.rep.Kind == catalog.RangeAggregate && vh%7 == 0:
		msg = "Information found for the current month"
	case vh%5 == 1:
		msg = fmt.Sprintf("%d records were are found", n)
	case vh%5 == 2:
		msg = fmt.Sprintf("  %d records were found", n)
	default:
		msg = fmt.Sprintf("%d records were found", n)
	}
	return answer{status: http.StatusOK, body: envelope(vh>>8%2 == 0, msg, data)}
}

// window parses and checks date_ini and date_end: both YYYYmmddHHiiss in the operation's
// zone, date_end not before date_ini, the range no longer than the report's maximum.
func (s *Server) window(m *model, ini, end string) (time.Time, time.Time, bool) {
	from, err1 := parseDate(ini, s.loc)
	to, err2 := parseDate(end, s.loc)
	if err1 != nil || err2 != nil || to.Before(from) {
		return time.Time{}, time.Time{}, false
	}
	maxWin := m.rep.MaxWindow()
	if maxWin <= 0 {
		maxWin = 31 * 24 * time.Hour
	}
	return from, to, to.Sub(from) <= maxWin
}

// parseDate reads YYYYmmddHHiiss strictly: fourteen digits, a real calendar time.
func parseDate(s string, loc *time.Location) (time.Time, error) {
	if len(s) != len(dateLayout) || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return time.Time{}, fmt.Errorf("date %q is not YYYYmmddHHiiss", s)
	}
	t, err := time.ParseInLocation(dateLayout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: %w", s, err)
	}
	return t, nil
}

// rows returns the rows a call sees: detail rows in time order, or aggregate rows. At
// most limit+1 detail rows are produced (shapeData truncates); nested reports need every
// row, since truncation counts their parents.
func (q *query) rows(limit int) []Row {
	if q.m.rep.Kind != catalog.Detail {
		return q.aggregate()
	}
	var rows []Row
	q.detail(func(_ *event, _ int, r Row) bool {
		rows = append(rows, r)
		return q.m.rep.Shape == catalog.ShapeNested || len(rows) <= limit
	})
	return rows
}

// TokenStats are one token's counters.
type TokenStats struct {
	Server string `json:"server"`
	// Calls counts every call presenting this token, whatever its answer.
	Calls int64 `json:"calls"`
	// ByStatus counts calls by HTTP status; 0 counts calls whose client gave up first.
	ByStatus map[int]int64 `json:"by_status"`
	// QuotaUsed and QuotaRemaining are for the current quota day.
	QuotaUsed      int `json:"quota_used"`
	QuotaLimit     int `json:"quota_limit"`
	QuotaRemaining int `json:"quota_remaining"`
	// RefusedQuota counts calls made while the quota was spent (answered TOKEN LIMIT
	// EXCEEDED): a well-behaved connector makes none.
	RefusedQuota int64 `json:"refused_quota"`
	InFlight     int   `json:"in_flight"`
	MaxInFlight  int   `json:"max_in_flight"`
}

// Stats are the server's counters.
type Stats struct {
	Tokens map[string]TokenStats `json:"tokens"`
	// Unauthenticated counts calls without a valid token (and maintenance answers to
	// them), by status.
	Unauthenticated map[int]int64 `json:"unauthenticated"`
	// Calls is the number of calls that reached fault injection (the sequence number).
	Calls uint64    `json:"calls"`
	Now   time.Time `json:"now"`
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	now := s.clock.Now()
	day := s.quotaDay(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Tokens: map[string]TokenStats{}, Unauthenticated: map[int]int64{}, Calls: s.seq.Load(), Now: now}
	for tok, ts := range s.tokens {
		used := ts.used
		if ts.day != day {
			used = 0
		}
		byStatus := make(map[int]int64, len(ts.byStatus))
		for k, v := range ts.byStatus {
			byStatus[k] = v
		}
		st.Tokens[tok] = TokenStats{Server: ts.server, Calls: ts.calls, ByStatus: byStatus,
			QuotaUsed: used, QuotaLimit: s.cfg.dailyQuota, QuotaRemaining: max(s.cfg.dailyQuota-used, 0),
			RefusedQuota: ts.refused, InFlight: ts.inFlight, MaxInFlight: ts.maxInFlight}
	}
	for k, v := range s.unauth {
		st.Unauthenticated[k] = v
	}
	return st
}
