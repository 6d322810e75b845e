package main

import (
	"io"
	"sync"
)

// console serializes everything a command writes to the terminal while goroutines run:
// a status line (a progress bar) redrawn in place, and log lines. On a terminal the
// status line is lifted off before each log line and put back after it, so logs scroll
// above it instead of being cut into by the next redraw; elsewhere the status is a line
// of its own, like any other. It is safe for concurrent use: the drawing loop and the
// logger's goroutines share it, and no two writes interleave. slog handlers write a
// record with one Write, so log lines stay whole.
type console struct {
	mu  sync.Mutex
	w   io.Writer
	tty bool
	// status is the status line on screen (terminal only), "" when none is.
	status string
}

func newConsole(w io.Writer, tty bool) *console { return &console{w: w, tty: tty} }

// clearLine is carriage return plus ANSI erase-to-end-of-line.
const clearLine = "\r\x1b[K"

// Write writes p, whole lines, above the status line.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == "" {
		return c.w.Write(p)
	}
	io.WriteString(c.w, clearLine)
	n, err := c.w.Write(p)
	io.WriteString(c.w, c.status)
	return n, err
}

// Status shows line as the status: redrawn in place on a terminal, printed as a line
// elsewhere.
func (c *console) Status(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tty {
		io.WriteString(c.w, line+"\n")
		return
	}
	io.WriteString(c.w, clearLine+line)
	c.status = line
}

// EndStatus leaves the status line on screen, ends it, and stops redrawing it.
func (c *console) EndStatus() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status != "" {
		io.WriteString(c.w, "\n")
		c.status = ""
	}
}
