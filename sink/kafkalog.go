package sink

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"
)

// KafkaLogger adapts l for a franz-go client. franz-go logs every transaction, metadata
// refresh and connection at info; a worker logs one line per window at info, so the
// client's lines are kept only from warn up, unless l is at debug, where everything
// shows.
func KafkaLogger(l *slog.Logger) kgo.Logger {
	if l.Enabled(context.Background(), slog.LevelDebug) {
		return kslog.New(l)
	}
	return kslog.New(slog.New(minLevel{l.Handler(), slog.LevelWarn}))
}

// minLevel drops records below level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
