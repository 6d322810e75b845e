// Package console draws a live status on a terminal while goroutines log: a [Console]
// keeps a status block (a progress bar, a table) on the last lines of the screen,
// redrawn in place, and lifts it off before each log line so that logs scroll above it
// instead of being cut into by the next redraw. Elsewhere (a pipe, a file, CI) a status
// is printed as plain lines. [IsTerminal] tells the two apart. The demo's table and the
// backfill's progress bar both use it.
package console

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Console serializes a status block and log lines on one writer. It is safe for
// concurrent use: a drawing loop and the logger's goroutines share it, and no two writes
// interleave. slog handlers write a record with one Write, so log lines stay whole.
type Console struct {
	mu  sync.Mutex
	w   io.Writer
	tty bool
	// drawn is the block on screen (terminal only), "" when none is.
	drawn string
}

// New returns a console writing to w; tty redraws in place (see [IsTerminal]).
func New(w io.Writer, tty bool) *Console { return &Console{w: w, tty: tty} }

// Terminal reports whether the console redraws in place.
func (c *Console) Terminal() bool { return c.tty }

// Write writes p, whole log lines, above the status block.
func (c *Console) Write(p []byte) (int, error) { return c.above(c.w, p) }

// Above returns a writer to w whose writes lift the status block off first and put it
// back after: for logs on another stream of the same terminal (stderr, while the
// status is on stdout).
func (c *Console) Above(w io.Writer) io.Writer { return aboveWriter{c, w} }

type aboveWriter struct {
	c *Console
	w io.Writer
}

func (a aboveWriter) Write(p []byte) (int, error) { return a.c.above(a.w, p) }

func (c *Console) above(w io.Writer, p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.drawn == "" {
		return w.Write(p)
	}
	io.WriteString(c.w, erase(c.drawn))
	n, err := w.Write(p)
	io.WriteString(c.w, c.drawn)
	return n, err
}

// Show makes block (lines, each ending in a newline) the status: on a terminal it
// replaces the block on screen; elsewhere it is printed after what came before.
func (c *Console) Show(block string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tty {
		io.WriteString(c.w, block)
		return
	}
	io.WriteString(c.w, erase(c.drawn)+block)
	c.drawn = block
}

// Keep leaves the status block on screen as it is and stops redrawing it: what is
// written next goes below it.
func (c *Console) Keep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drawn = ""
}

// Clear erases the status block from the screen.
func (c *Console) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.w, erase(c.drawn))
	c.drawn = ""
}

// plainEvery is how often Watch prints a status off a terminal, where every block stays
// on screen: often enough to show progress, rarely enough not to flood a log.
const plainEvery = 5 * time.Second

// Watch runs work until it returns and, meanwhile, shows status every interval on a
// terminal (every 5 s elsewhere). status returns the block to show and whether to stop:
// then work's context is cancelled and Watch waits for it. Watch returns work's error;
// the last block stays on screen as the caller leaves it ([Console.Keep],
// [Console.Clear]). The goroutine running work is Watch's: it has ended when Watch
// returns.
func (c *Console) Watch(ctx context.Context, interval time.Duration, work func(context.Context) error, status func() (block string, stop bool)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- work(ctx) }()
	t := time.NewTicker(interval)
	defer t.Stop()
	every := max(1, int(plainEvery/interval))
	for tick := 1; ; tick++ {
		select {
		case err := <-done:
			return err
		case <-t.C:
		}
		block, stop := status()
		if c.tty || tick%every == 0 {
			c.Show(block)
		}
		if stop {
			cancel()
			return <-done
		}
	}
}

// erase is the escape sequence that erases block, drawn last: move to the start of its
// first line (ANSI CPL), clear to the end of the screen (ED).
func erase(block string) string {
	n := strings.Count(block, "\n")
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("\x1b[%dF\x1b[J", n)
}

// IsTerminal reports whether w is a terminal that redraws in place: a character device,
// unless TERM is "dumb".
func IsTerminal(w io.Writer, getenv func(string) string) bool {
	f, ok := w.(*os.File)
	if !ok || getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
