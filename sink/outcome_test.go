package sink_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
)

// cutter is a dialer whose connections can lose the next EndTxn: either before the
// broker sees it (the commit did not happen) or after the broker answered it (the
// commit happened, the client never hears so). Both leave the outcome unknown to the
// client, which is what Commit must resolve.
type cutter struct {
	armed       atomic.Bool
	afterAnswer bool
	cuts        atomic.Int32 // EndTxn requests cut
	sent        atomic.Int32 // EndTxn requests the client tried to send
}

var errCut = errors.New("test: connection cut around EndTxn")

func (c *cutter) dial(ctx context.Context, network, host string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	return &cutConn{Conn: conn, c: c}, nil
}

type cutConn struct {
	net.Conn
	c *cutter

	mu       sync.Mutex
	dropping bool
	corr     uint32 // correlation ID of the EndTxn whose answer is dropped
}

// Write sees whole requests (franz-go writes each in one call): size, API key,
// version, correlation ID, ...
func (cc *cutConn) Write(b []byte) (int, error) {
	isEndTxn := len(b) >= 12 && int16(binary.BigEndian.Uint16(b[4:])) == int16(kmsg.EndTxn)
	if isEndTxn {
		cc.c.sent.Add(1)
	}
	// Before the broker: every EndTxn while armed, since franz-go safely resends a
	// request it could not write. After the answer: only the first.
	if isEndTxn && (!cc.c.afterAnswer && cc.c.armed.Load() || cc.c.afterAnswer && cc.c.armed.CompareAndSwap(true, false)) {
		cc.c.cuts.Add(1)
		if !cc.c.afterAnswer {
			cc.Conn.Close()
			return 0, errCut
		}
		cc.mu.Lock()
		cc.dropping, cc.corr = true, binary.BigEndian.Uint32(b[8:])
		cc.mu.Unlock()
	}
	return cc.Conn.Write(b)
}

// Read, once an EndTxn is marked, reads responses until that EndTxn's (so the broker
// has acted on it), then cuts the connection instead of delivering it.
func (cc *cutConn) Read(p []byte) (int, error) {
	cc.mu.Lock()
	dropping, corr := cc.dropping, cc.corr
	cc.mu.Unlock()
	if !dropping {
		return cc.Conn.Read(p)
	}
	for {
		var hdr [8]byte // size, correlation ID
		if _, err := io.ReadFull(cc.Conn, hdr[:]); err != nil {
			return 0, err
		}
		if _, err := io.CopyN(io.Discard, cc.Conn, int64(binary.BigEndian.Uint32(hdr[:]))-4); err != nil {
			return 0, err
		}
		if binary.BigEndian.Uint32(hdr[4:]) == corr {
			cc.Conn.Close()
			return 0, errCut
		}
	}
}

func TestCommitOutcomeUnknown(t *testing.T) {
	for _, tt := range []struct {
		name        string
		afterAnswer bool
	}{
		{"commit lost before the broker", false},
		{"commit answer lost after the broker committed", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
				t.Parallel()
				ctx := testCtx(t)
				e := newEnv(t, c.Seeds)
				cut := &cutter{afterAnswer: tt.afterAnswer}
				// No request retries: franz-go would otherwise resend the EndTxn on
				// a fresh connection and the broker would answer the retry.
				w := e.writer(t, sink.KafkaOpts(kgo.Dialer(cut.dial), kgo.RequestRetries(0)))

				b := e.batch(t, "window", 3)
				cut.armed.Store(true)
				err := w.Commit(ctx, b)
				cut.armed.Store(false)
				if cut.cuts.Load() == 0 || cut.sent.Load() != cut.cuts.Load() {
					t.Fatalf("%d of %d EndTxn requests were cut; the test needs every one cut", cut.cuts.Load(), cut.sent.Load())
				}
				if tt.afterAnswer {
					// Committed, and no EndTxn retry told the client so (checked
					// above): Commit must find it out, not ask for a retry that would
					// deliver the window twice.
					if err != nil {
						t.Fatalf("Commit = %v; want nil (the read-back finds the offset record)", err)
					}
				} else {
					wantKind(t, err, sink.ErrAborted)
					if err := w.Commit(ctx, b); err != nil {
						t.Fatalf("retry: %v", err)
					}
				}
				next := e.batch(t, "next", 1)
				if err := w.Commit(ctx, next); err != nil {
					t.Fatalf("Commit after the resolved one: %v", err)
				}
				for _, topic := range []string{e.eventsA, e.offsets} {
					got, want := committed(t, c.Seeds, topic), concat(values(b, topic), values(next, topic))
					if !slices.Equal(got, want) {
						t.Fatalf("%s: committed %q\nwant %q (each window exactly once)", topic, got, want)
					}
				}
			})
		})
	}
}
