package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
)

// leveledLogger is s.Logger(w) with its level held in the returned LevelVar, which the
// REST API's PUT /admin/loggers/root changes at run time (restapi.LogLevel): the
// configured handler is built at the lowest level and level decides what passes.
func leveledLogger(s *config.Settings, w io.Writer) (*slog.Logger, *source.Redactor, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(s.Log.Level)
	all := s.Log
	all.Level = slog.LevelDebug
	red := s.Redactor()
	return slog.New(red.Handler(levelHandler{all.Logger(w).Handler(), level})), red, level
}

// levelHandler passes to h what is at level or above.
type levelHandler struct {
	h     slog.Handler
	level slog.Leveler
}

func (l levelHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.level.Level() && l.h.Enabled(ctx, lv)
}

func (l levelHandler) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }

func (l levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelHandler{l.h.WithAttrs(attrs), l.level}
}

func (l levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{l.h.WithGroup(name), l.level}
}
