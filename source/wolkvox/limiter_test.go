package wolkvox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewLimiter(t *testing.T) {
	tests := []struct {
		inFlight int
		ok       bool
	}{{-1, false}, {0, false}, {1, true}, {2, true}, {3, false}}
	for _, tt := range tests {
		l, err := NewLimiter(tt.inFlight)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidOption)) {
			t.Errorf("NewLimiter(%d) error %v, want ok %v", tt.inFlight, err, tt.ok)
		}
		if tt.ok && cap(l.slots) != tt.inFlight {
			t.Errorf("NewLimiter(%d) has %d slots", tt.inFlight, cap(l.slots))
		}
	}
}

func TestLimiterAcquireCanceled(t *testing.T) {
	l, err := NewLimiter(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.acquire(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire on a full limiter with a cancelled ctx = %v", err)
	}
	l.release()
	if err := l.acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire on a free limiter with a cancelled ctx = %v, want the ctx error first", err)
	}
}

// inFlightServer counts the calls it is serving at once and keeps the maximum.
type inFlightServer struct {
	now, peak atomic.Int64
	entered   chan struct{} // receives one value per call entering, when not nil
	release   chan struct{} // calls wait on it, when not nil
}

func (s *inFlightServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.release != nil {
		<-s.release
	}
	_, _ = w.Write([]byte(`{"code":"200","error":null,"msg":"1 records were found","data":[{"a":"1"}]}`))
}

// TestLimiterShared runs many reads from several goroutines through two clients sharing
// one Limiter, and checks at the server that no more than its capacity were in flight.
func TestLimiterShared(t *testing.T) {
	for _, inFlight := range []int{1, 2} {
		t.Run(fmt.Sprintf("inFlight=%d", inFlight), func(t *testing.T) {
			srv := &inFlightServer{}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			lim, err := NewLimiter(inFlight)
			if err != nil {
				t.Fatal(err)
			}
			var clients []*Client
			for range 2 {
				c, err := NewClient(Server("0040"), Token(testToken), BaseURL(ts.URL), WithLimiter(lim))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.CloseIdleConnections)
				clients = append(clients, c)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 8*10)
			for g := range 8 {
				wg.Go(func() {
					for range 10 {
						if _, err := clients[g%2].Read(t.Context(), act3, &recorder{}); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if p := srv.peak.Load(); p > int64(inFlight) || p < 1 {
				t.Fatalf("%d calls in flight at once, limiter allows %d", p, inFlight)
			}
		})
	}
}

// TestLimiterReachesCapacity shows that a Limiter of 2 does let two calls overlap: both
// are held inside the server until each has entered.
func TestLimiterReachesCapacity(t *testing.T) {
	srv := &inFlightServer{entered: make(chan struct{}), release: make(chan struct{})}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	lim, err := NewLimiter(2)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(Server("0040"), Token(testToken), BaseURL(ts.URL), WithLimiter(lim), CallTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := c.Read(t.Context(), act3, &recorder{}); err != nil {
				t.Error(err)
			}
		})
	}
	<-srv.entered
	<-srv.entered // two calls are inside the server at once
	if got := srv.now.Load(); got != 2 {
		t.Errorf("%d calls in flight, want 2", got)
	}
	close(srv.release)
	<-srv.entered // the third, let in once a slot was released
	wg.Wait()
	if p := srv.peak.Load(); p != 2 {
		t.Errorf("peak %d calls in flight, want 2", p)
	}
}
