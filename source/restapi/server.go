package restapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// WorkerAPI is what the server needs of a worker; *source.Worker implements it. Its
// methods are called from request goroutines, concurrently.
type WorkerAPI interface {
	StatusSource
	Config(name string) (source.Config, error)
	Pause(name string) error
	Resume(name string) error
	Stop(ctx context.Context, name string) error
	Restart(ctx context.Context, name string) error
	Offsets(ctx context.Context, name string) ([]offsets.Entry, error)
	RequireStopped(name string) error
	PlanOffsets(ctx context.Context, name string, changes []source.OffsetChange, now time.Time) (*source.OffsetPlan, error)
	PlanOffsetReset(ctx context.Context, name string, reports []string, now time.Time) (*source.OffsetPlan, error)
	ApplyOffsets(ctx context.Context, plan *source.OffsetPlan) error
}

// StatusSource is the part of a worker that [Metrics] reads gauges from.
type StatusSource interface {
	Names() []string
	Status(name string) (source.Status, error)
}

var _ WorkerAPI = (*source.Worker)(nil)

// Server is the REST API of one worker. Handler serves it in-process; Serve listens on
// the configured address. A Server is safe for concurrent use; Serve may be called once.
type Server struct {
	w         WorkerAPI
	cfg       cfg
	log       *slog.Logger
	handler   http.Handler
	tokenHash [sha256.Size]byte
	clusterID atomic.Pointer[string]
	serving   atomic.Bool
	ready     chan struct{}
	bound     atomic.Pointer[string]
	// topicsSeen are the connectors' active topics (KIP-558).
	topicsSeen activeTopics
	logLevels  *logLevels // nil without the LogLevel option
}

// New builds the server over w. It validates the options and does no I/O; Serve
// listens.
func New(w WorkerAPI, opts ...Opt) (*Server, error) {
	c := defaultCfg()
	for _, o := range opts {
		o.apply(&c)
	}
	if w == nil {
		return nil, fmt.Errorf("%w: nil worker", ErrConfig)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	s := &Server{w: w, cfg: c, log: c.logger.With("component", "restapi"), ready: make(chan struct{})}
	if c.logLevel != nil {
		s.logLevels = &logLevels{level: c.logLevel}
	}
	if c.token != "" {
		s.tokenHash = sha256.Sum256([]byte(c.token))
	}
	reg := c.registry
	if c.metrics != nil {
		c.metrics.Watch(w)
		if reg == nil {
			reg = c.metrics.registry
		}
	}
	if reg == nil {
		// Without the worker reporting to a Metrics, only what can be read on a scrape is
		// served: no counters at all rather than counters stuck at zero.
		reg = prometheus.NewRegistry()
		err := errors.Join(
			reg.Register(collectors.NewGoCollector()),
			reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
			reg.Register(&statusCollector{src: w, now: c.now}),
		)
		if err != nil {
			return nil, fmt.Errorf("restapi: registering collectors: %w", err)
		}
	}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
	s.handler = s.logRequests(s.authenticate(s.routes(metrics)))
	return s, nil
}

// Handler returns the API as an http.Handler, authentication and logging included.
func (s *Server) Handler() http.Handler { return s.handler }

// Ready is closed once Serve has bound its listener (or failed to): from then on Addr
// returns the address actually listened on.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the address Serve listens on once Ready is closed (with the port chosen
// when the configured one was 0), and the configured address before.
func (s *Server) Addr() string {
	if a := s.bound.Load(); a != nil {
		return *a
	}
	return s.cfg.address
}

// ServeWhile serves the API while run (the worker's Run) runs, and ties their lives
// together: an API that cannot serve (its address taken) cancels run's context, and
// the end of run stops the API. It returns both errors, joined; the goroutine serving
// the API has ended when it returns.
func (s *Server) ServeWhile(ctx context.Context, run func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		err := s.Serve(ctx)
		if err != nil {
			cancel()
		}
		served <- err
	}()
	err := run(ctx)
	cancel()
	return errors.Join(err, <-served)
}

// Serve listens on the configured address and serves until ctx ends, then shuts down
// gracefully: it stops accepting, waits up to ShutdownTimeout for requests in flight,
// closes what is left and returns. It returns nil after a shutdown ctx asked for, and
// an error when it cannot listen or serving fails.
func (s *Server) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("restapi: Serve called more than once")
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.address)
	if err != nil {
		close(s.ready)
		return fmt.Errorf("restapi: listen on %s: %w", s.cfg.address, err)
	}
	addr := ln.Addr().String()
	s.bound.Store(&addr)
	close(s.ready)
	s.log.Info("REST API listening", "address", addr, "auth", s.cfg.token != "")

	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		// Stop and restart hold the answer until the connector stopped.
		WriteTimeout: max(s.cfg.stopTimeout, s.cfg.requestTimeout) + time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("restapi: serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	<-served // http.ErrServerClosed, now that Shutdown closed the listener
	if err != nil {
		return fmt.Errorf("restapi: shutdown: %w", err)
	}
	s.log.Info("REST API stopped")
	return nil
}

// handlerFunc is an endpoint; a returned error becomes the JSON error answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) routes(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	route := func(path string, methods map[string]handlerFunc, why ...string) {
		allowed := make([]string, 0, len(methods)+1)
		for m, h := range methods {
			if strings.Contains(path, "{name}") {
				h = s.forwarding(h)
			}
			mux.Handle(m+" "+path, s.serveFunc(h))
			allowed = append(allowed, m)
			if m == http.MethodGet {
				allowed = append(allowed, http.MethodHead) // ServeMux lets HEAD through GET
			}
		}
		slices.Sort(allowed)
		allow := strings.Join(allowed, ", ")
		// Any other method lands here: the method patterns above are more specific.
		mux.Handle(path, s.serveFunc(func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			msg := fmt.Sprintf("HTTP method %s is not supported for %s; use %s", r.Method, r.URL.Path, allow)
			if len(why) > 0 {
				msg += ": " + strings.Join(why, "; ")
			}
			return errorf(http.StatusMethodNotAllowed, nil, msg)
		}))
	}
	get := func(h handlerFunc) map[string]handlerFunc { return map[string]handlerFunc{http.MethodGet: h} }
	route("/{$}", get(s.root))
	route("/connectors", get(s.list), readOnlyConfig)
	route("/connectors/{name}", get(s.info), readOnlyConfig)
	route("/connectors/{name}/config", get(s.config), readOnlyConfig)
	route("/connectors/{name}/status", get(s.status))
	route("/connectors/{name}/tasks", get(s.tasks))
	route("/connectors/{name}/tasks/{task}/status", get(s.taskStatus))
	route("/connectors/{name}/tasks/{task}/restart", map[string]handlerFunc{http.MethodPost: s.restartTask})
	route("/connectors/{name}/topics", get(s.topics))
	route("/connectors/{name}/topics/reset", map[string]handlerFunc{http.MethodPut: s.resetTopics})
	route("/connector-plugins", get(s.plugins))
	route("/admin/loggers", get(s.loggers))
	route("/admin/loggers/{logger}", map[string]handlerFunc{http.MethodGet: s.getLogger, http.MethodPut: s.putLogger})
	route("/connectors/{name}/pause", map[string]handlerFunc{http.MethodPut: s.pause})
	route("/connectors/{name}/resume", map[string]handlerFunc{http.MethodPut: s.resume})
	route("/connectors/{name}/stop", map[string]handlerFunc{http.MethodPut: s.stop})
	route("/connectors/{name}/restart", map[string]handlerFunc{http.MethodPost: s.restart})
	route("/connectors/{name}/offsets", map[string]handlerFunc{
		http.MethodGet: s.getOffsets, http.MethodPatch: s.patchOffsets, http.MethodDelete: s.deleteOffsets,
	})
	route("/healthz", get(s.healthz))
	route("/readyz", get(s.readyz))
	route("/metrics", get(func(w http.ResponseWriter, r *http.Request) error {
		metrics.ServeHTTP(w, r)
		return nil
	}))
	mux.Handle("/", s.serveFunc(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, nil, fmt.Sprintf("no endpoint %s", r.URL.Path))
	}))
	return mux
}

func (s *Server) serveFunc(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError answers err as {"error_code","message"}: an *Error as it says, the
// worker's sentinels as Kafka Connect answers them, anything else 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *Error
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &apiErr):
	case errors.Is(err, source.ErrUnknownConnector):
		apiErr = errorf(http.StatusNotFound, err, fmt.Sprintf("Connector %s not found", r.PathValue("name")))
	case errors.Is(err, source.ErrNotStopped):
		apiErr = errorf(http.StatusConflict, err, fmt.Sprintf(
			"Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint", r.PathValue("name")))
	case errors.Is(err, source.ErrNotRunning):
		apiErr = errorf(http.StatusConflict, err, "the worker is not running: connectors cannot be restarted before it starts or after it stopped")
	case errors.As(err, &tooLarge):
		apiErr = errorf(http.StatusRequestEntityTooLarge, err, fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit))
	case errors.Is(err, context.DeadlineExceeded):
		apiErr = errorf(http.StatusInternalServerError, err, "Request timed out: "+err.Error())
	default:
		apiErr = errorf(http.StatusInternalServerError, err, err.Error())
	}
	apiErr.Message = s.cfg.redactor.Redact(apiErr.Message)
	if apiErr.Code >= 500 {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "status", apiErr.Code, "err", s.cfg.redactor.Redact(err.Error()))
	}
	answerError(w, apiErr)
}

// answerError writes apiErr, and tells the request log what was refused.
func answerError(w http.ResponseWriter, apiErr *Error) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.message = apiErr.Message
	}
	writeJSON(w, apiErr.Code, apiErr)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own response types get here; failing to marshal one is a bug.
		code = http.StatusInternalServerError
		b, _ = json.Marshal(&Error{Code: code, Message: "encoding the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// authenticate requires the bearer token, when one is set, on every path but the
// probes. Both sides are hashed first so the comparison takes the same time whatever
// the length of the token offered.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.cfg.token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wolkvox-connect"`)
			answerError(w, errorf(http.StatusUnauthorized, nil, "missing or invalid bearer token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status  int
	bytes   int
	message string // the error answered, if any
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests logs one line per request: reads at debug level, actions (every method
// but GET and HEAD: pause, resume, stop, restart, offset changes) at info, saying who
// (the remote address, and whether the bearer token was required), what, and the
// result. Never a header, so never the token.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr)}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			s.log.LogAttrs(r.Context(), slog.LevelDebug, "request", attrs...)
			return
		}
		result := "ok"
		if rec.status >= 400 {
			result = "refused: " + rec.message
		}
		attrs = append(attrs, slog.String("action", action(r.Method, r.URL.Path)),
			slog.Bool("authenticated", s.cfg.token != "" && rec.status != http.StatusUnauthorized), slog.String("result", result))
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "REST action", attrs...)
	})
}

// action names what a request asks of the worker: "restart alpha", "reset offsets of
// alpha", or the method and path when it is none of the known ones.
func action(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) == 3 && parts[0] == "connectors" {
		name, verb := parts[1], parts[2]
		switch {
		case verb == "offsets" && method == http.MethodDelete:
			return "reset offsets of " + name
		case verb == "offsets" && method == http.MethodPatch:
			return "alter offsets of " + name
		case verb == "pause" || verb == "resume" || verb == "stop" || verb == "restart":
			return verb + " " + name
		}
	}
	return method + " " + path
}
