package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConsole checks what reaches the screen: on a terminal a log line lifts the status
// block off and puts it back, and a new block replaces the old; elsewhere each status is
// printed as it comes.
func TestConsole(t *testing.T) {
	const up1, up2 = "\x1b[1F\x1b[J", "\x1b[2F\x1b[J"
	tests := []struct {
		name string
		tty  bool
		do   func(c *Console)
		want string
	}{
		{"tty: log above the bar", true, func(c *Console) {
			c.Show("[##..] 50%\n")
			fmt.Fprint(c, "level=INFO msg=window\n")
			c.Show("[####] 100%\n")
			c.Keep()
		}, "[##..] 50%\n" + up1 + "level=INFO msg=window\n" + "[##..] 50%\n" + up1 + "[####] 100%\n"},
		{"tty: a table", true, func(c *Console) {
			c.Show("a\nb\n")
			fmt.Fprint(c, "log\n")
			c.Clear()
			fmt.Fprint(c, "final\n")
		}, "a\nb\n" + up2 + "log\na\nb\n" + up2 + "final\n"},
		{"tty: no status yet", true, func(c *Console) { fmt.Fprint(c, "a\n") }, "a\n"},
		{"tty: after Keep, logs are plain", true, func(c *Console) {
			c.Show("bar\n")
			c.Keep()
			fmt.Fprint(c, "b\n")
		}, "bar\nb\n"},
		{"not a tty: lines", false, func(c *Console) {
			c.Show("bar 1\n")
			fmt.Fprint(c, "log\n")
			c.Show("bar 2\n")
			c.Keep()
		}, "bar 1\nlog\nbar 2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			c := New(&b, tt.tty)
			tt.do(c)
			if b.String() != tt.want {
				t.Errorf("wrote %q, want %q", b.String(), tt.want)
			}
		})
	}
}

// TestConsoleConcurrent: a drawing loop and loggers on other goroutines share one plain
// buffer; under -race nothing races, and every line comes out whole.
func TestConsoleConcurrent(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(fmt.Sprint("tty=", tty), func(t *testing.T) {
			var b bytes.Buffer
			c := New(&b, tty)
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 200 {
						fmt.Fprintf(c, "log g%d i%03d end\n", g, i)
					}
				})
			}
			wg.Go(func() {
				for i := range 200 {
					c.Show(fmt.Sprintf("bar %03d end\n", i))
				}
			})
			wg.Wait()
			c.Keep()
			logs := 0
			for _, line := range strings.Split(strings.ReplaceAll(b.String(), "\x1b[1F\x1b[J", "\n"), "\n") {
				if line == "" {
					continue
				}
				if !strings.HasSuffix(line, " end") || strings.Count(line, "end") != 1 {
					t.Fatalf("garbled line %q", line)
				}
				if strings.HasPrefix(line, "log ") {
					logs++
				}
			}
			if logs != 800 {
				t.Errorf("%d log lines, want 800", logs)
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	env := func(term string) func(string) string { return func(string) string { return term } }
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(&bytes.Buffer{}, env("xterm")) || IsTerminal(f, env("xterm")) {
		t.Error("a buffer or a regular file is not a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !IsTerminal(tty, env("xterm")) || IsTerminal(tty, env("dumb")) {
			t.Error("/dev/tty: a terminal unless TERM=dumb")
		}
	}
}

// TestWatch: work runs to its end while the status shows; a status asking to stop
// cancels work, and Watch returns what work returned, its goroutine ended.
func TestWatch(t *testing.T) {
	var b bytes.Buffer
	c := New(&b, true)
	release := make(chan struct{})
	shown := 0
	err := c.Watch(context.Background(), time.Millisecond, func(context.Context) error {
		<-release
		return errors.New("done")
	}, func() (string, bool) {
		if shown++; shown == 3 {
			close(release)
		}
		return fmt.Sprintf("tick %d\n", shown), false
	})
	if err == nil || err.Error() != "done" || shown < 3 || !strings.Contains(b.String(), "tick 3\n") {
		t.Errorf("Watch = %v after %d statuses, output %q", err, shown, b.String())
	}

	err = New(&b, false).Watch(context.Background(), time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}, func() (string, bool) { return "failed\n", true })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a status asking to stop: Watch = %v, want work cancelled", err)
	}
}
