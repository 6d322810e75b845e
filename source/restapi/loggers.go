package restapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RootLogger is the one logger /admin/loggers knows: the process's log level, the
// *slog.LevelVar given with the LogLevel option. Kafka Connect has a logger per Java
// namespace; a Go process logs through one handler, so there is one level to set.
const RootLogger = "root"

// logLevels is what /admin/loggers reads and changes.
type logLevels struct {
	level *slog.LevelVar
	mu    sync.Mutex
	// modified is when PUT last set the level (Connect's last_modified, milliseconds
	// since the epoch); nil while the level is the one the process started with.
	modified *int64
}

// levelNames are the levels PUT accepts (any case), as Connect (log4j) spells them.
var levelNames = map[string]slog.Level{
	"DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo, "WARN": slog.LevelWarn, "ERROR": slog.LevelError,
}

type loggerLevel struct {
	Level        string `json:"level"`
	LastModified *int64 `json:"last_modified"`
}

func levelName(l slog.Level) string {
	for name, v := range levelNames {
		if v == l {
			return name
		}
	}
	return l.String() // set by the program itself to something in between
}

// levels returns the LogLevel option's levels, or the 404 of a server built without it.
func (s *Server) levels() (*logLevels, error) {
	if s.logLevels == nil {
		return nil, errorf(http.StatusNotFound, ErrUnknownLogger,
			"this worker's log level cannot be changed at run time (the server was built without restapi.LogLevel)")
	}
	return s.logLevels, nil
}

func (l *logLevels) view() loggerLevel {
	l.mu.Lock()
	defer l.mu.Unlock()
	return loggerLevel{Level: levelName(l.level.Level()), LastModified: l.modified}
}

// loggers answers Connect's map of logger name to {"level", "last_modified"}.
func (s *Server) loggers(w http.ResponseWriter, _ *http.Request) error {
	l, err := s.levels()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]loggerLevel{RootLogger: l.view()})
	return nil
}

func (s *Server) logger(r *http.Request) (*logLevels, error) {
	l, err := s.levels()
	if err != nil {
		return nil, err
	}
	if name := r.PathValue("logger"); name != RootLogger {
		return nil, errorf(http.StatusNotFound, ErrUnknownLogger, fmt.Sprintf(
			"Logger %s not found: this worker has one logger, %q, the level of everything it logs", name, RootLogger))
	}
	return l, nil
}

func (s *Server) getLogger(w http.ResponseWriter, r *http.Request) error {
	l, err := s.logger(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l.view())
	return nil
}

// putLogger sets the level from {"level": "DEBUG"} and answers, as Connect does, the
// list of loggers changed (scope=worker, the default) or 204 (scope=cluster: this
// worker is the whole cluster). The change is logged at the higher of the old and new
// levels, so it shows whichever way it goes.
func (s *Server) putLogger(w http.ResponseWriter, r *http.Request) error {
	l, err := s.logger(r)
	if err != nil {
		return err
	}
	scope := r.URL.Query().Get("scope")
	if scope != "" && !strings.EqualFold(scope, "worker") && !strings.EqualFold(scope, "cluster") {
		return errorf(http.StatusBadRequest, nil, fmt.Sprintf("query parameter scope=%q: use worker or cluster", scope))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.maxBodyBytes))
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	var req struct {
		Level *string `json:"level"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	names := "DEBUG, INFO, WARN or ERROR"
	if err := dec.Decode(&req); err != nil || req.Level == nil {
		return errorf(http.StatusBadRequest, err, fmt.Sprintf(`the body is not {"level": "..."} with a level of %s`, names))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, err, "the body has data after its JSON object")
	}
	level, ok := levelNames[strings.ToUpper(strings.TrimSpace(*req.Level))]
	if !ok {
		return errorf(http.StatusBadRequest, nil, fmt.Sprintf("level %q: use %s", *req.Level, names))
	}
	l.mu.Lock()
	old := l.level.Level()
	l.level.Set(level)
	now := time.Now().UnixMilli() // the wall clock, even under a virtual one
	l.modified = &now
	l.mu.Unlock()
	s.log.Log(r.Context(), max(old, level), "log level changed", "logger", RootLogger, "from", levelName(old), "to", levelName(level))
	if strings.EqualFold(scope, "cluster") {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, []string{RootLogger})
	return nil
}
