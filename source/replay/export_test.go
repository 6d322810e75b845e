package replay

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
)

// CancelAfter wraps out so that cancel is called once n rows were written to it: a
// replay interrupted at a known point.
func CancelAfter(out Output, n int, cancel context.CancelFunc) Output {
	return &cancelAfter{Output: out, n: n, cancel: cancel}
}

type cancelAfter struct {
	Output
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) write(ctx context.Context, rec *kgo.Record, dr *schemas.Record) error {
	if err := c.Output.write(ctx, rec, dr); err != nil {
		return err
	}
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return ctx.Err()
}
