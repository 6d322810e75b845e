package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitInFlight polls the counters until n calls of the default token are in flight.
// It waits for a state, not for a duration: the test's deadline bounds it.
func waitInFlight(t *testing.T, s *Server, n int) {
	t.Helper()
	for s.Stats().Tokens[DefaultToken].InFlight != n {
		time.Sleep(time.Millisecond)
	}
}

// TestSimultaneousLimit: two calls of one token may be in flight; a third is refused
// with the documented 403, and costs quota like any call.
func TestSimultaneousLimit(t *testing.T) {
	h := newHarness(t, WithFaults(Faults{Hang: 1}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			_, err := h.call(ctx, ReportsPath, DefaultToken, "api", "chat_1", "date_ini", "20260310080000", "date_end", "20260310090000")
			if !errors.Is(err, context.Canceled) {
				t.Errorf("hung call ended with %v, want context.Canceled", err)
			}
		})
	}
	waitInFlight(t, h.srv, 2)
	r, err := h.call(context.Background(), ReportsPath, DefaultToken, "api", "chat_1", "date_ini", "20260310080000", "date_end", "20260310090000")
	if err != nil {
		t.Fatal(err)
	}
	e := decodeEnvelope(t, r.body)
	if r.status != 403 || e.Msg != MsgSimultaneous {
		t.Errorf("third call: %d %q", r.status, e.Msg)
	}
	cancel()
	wg.Wait()
	waitInFlight(t, h.srv, 0)
	st := h.srv.Stats().Tokens[DefaultToken]
	if st.MaxInFlight != 2 || st.QuotaUsed != 3 || st.ByStatus[0] != 2 || st.ByStatus[403] != 1 {
		t.Errorf("stats: max in flight %d, quota used %d, by status %v", st.MaxInFlight, st.QuotaUsed, st.ByStatus)
	}
}

// TestConcurrentCallsNeverExceedTwo hammers one token from many goroutines.
func TestConcurrentCallsNeverExceedTwo(t *testing.T) {
	h := newHarness(t, WithFaults(Faults{Latency: 2 * time.Millisecond}))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				r, err := h.call(context.Background(), ReportsPath, DefaultToken, "api", "chat_3", "date_ini", "20260310080000", "date_end", "20260310090000")
				if err != nil {
					t.Error(err)
					return
				}
				if r.status != 200 && r.status != 403 {
					t.Errorf("status %d", r.status)
				}
			}
		})
	}
	wg.Wait()
	st := h.srv.Stats().Tokens[DefaultToken]
	if st.MaxInFlight > 2 || st.Calls != 40 || st.ByStatus[200]+st.ByStatus[403] != 40 {
		t.Errorf("max in flight %d, calls %d, by status %v", st.MaxInFlight, st.Calls, st.ByStatus)
	}
}

// TestQuota: every call costs one, token_info included; a spent token answers TOKEN
// LIMIT EXCEEDED at no cost until the reset hour, local time.
func TestQuota(t *testing.T) {
	h := newHarness(t, DailyQuota(3), QuotaResetHour(6))
	tokenInfo := func() (int, map[string]string) {
		r, err := h.call(context.Background(), InformationPath, DefaultToken, "api", "token_info")
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Data map[string]string `json:"data"`
		}
		if r.status == 200 {
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
		}
		return r.status, body.Data
	}
	if st, d := tokenInfo(); st != 200 || d["token_limit"] != "3" || d["token_use_today"] != "1" {
		t.Fatalf("token_info: %d %v", st, d)
	}
	h.report("chat_99", t0.Add(-time.Hour), t0) // an error still costs
	if st, d := tokenInfo(); st != 200 || d["token_use_today"] != "3" {
		t.Fatalf("token_info: %d %v", st, d)
	}
	for range 2 {
		r := h.report("chat_1", t0.Add(-time.Hour), t0)
		if e := decodeEnvelope(t, r.body); r.status != 403 || e.Msg != MsgQuota {
			t.Fatalf("spent token: %d %q", r.status, e.Msg)
		}
	}
	st := h.srv.Stats().Tokens[DefaultToken]
	if st.QuotaUsed != 3 || st.QuotaRemaining != 0 || st.RefusedQuota != 2 {
		t.Fatalf("stats %+v", st)
	}
	// 15:00 → 05:59 next day is the same quota day; 06:00 starts a new one.
	h.clock.Set(time.Date(2026, 3, 11, 5, 59, 59, 0, bogota))
	if r := h.report("chat_1", t0.Add(-time.Hour), t0); r.status != 403 {
		t.Fatalf("before the reset hour: %d", r.status)
	}
	h.clock.Set(time.Date(2026, 3, 11, 6, 0, 0, 0, bogota))
	if r := h.report("chat_1", t0.Add(-time.Hour), t0); r.status != 200 {
		t.Fatalf("after the reset hour: %d %s", r.status, r.body)
	}
	if st := h.srv.Stats().Tokens[DefaultToken]; st.QuotaUsed != 1 || st.RefusedQuota != 3 {
		t.Errorf("after reset: %+v", st)
	}
}

// TestFaults checks each injected fault with a plan that always fires it.
func TestFaults(t *testing.T) {
	maintenance := Window{From: t0.Add(-time.Minute), To: t0.Add(time.Minute)}
	tests := []struct {
		name   string
		faults Faults
		status int
		check  func(t *testing.T, r response, err error)
	}{
		{"500", Faults{Status500: 1, RetryAfter: 1500 * time.Millisecond}, 500, func(t *testing.T, r response, _ error) {
			if r.header.Get("Retry-After") != "2" || codeOf(decodeEnvelope(t, r.body).Code) != 500 {
				t.Errorf("Retry-After %q body %s", r.header.Get("Retry-After"), r.body)
			}
		}},
		{"502 html", Faults{Status502: 1}, 502, htmlBody},
		{"503", Faults{Status503: 1}, 503, func(t *testing.T, r response, _ error) {
			if codeOf(decodeEnvelope(t, r.body).Code) != 503 || r.header.Get("Retry-After") != "" {
				t.Errorf("Retry-After %q without RetryAfter, body %s", r.header.Get("Retry-After"), r.body)
			}
		}},
		{"unknown 403", Faults{Forbidden: 1}, 403, func(t *testing.T, r response, _ error) {
			if m := decodeEnvelope(t, r.body).Msg; m == MsgQuota || m == MsgBadToken || m == MsgSimultaneous {
				t.Errorf("a documented msg: %q", m)
			}
		}},
		{"maintenance at random", Faults{MaintenanceRate: 1}, 403, htmlBody},
		{"maintenance window", Faults{Maintenance: []Window{maintenance}}, 403, htmlBody},
		{"html 200", Faults{HTML200: 1}, 200, htmlBody},
		{"html 500", Faults{HTML500: 1}, 500, htmlBody},
		{"truncated", Faults{Truncate: 1}, 200, func(t *testing.T, r response, err error) {
			var v any
			if err == nil && json.Unmarshal(r.body, &v) == nil {
				t.Errorf("a complete body came through: %.100s", r.body)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, WithFaults(tc.faults))
			r, err := h.call(context.Background(), ReportsPath, DefaultToken, "api", "chat_1", "date_ini", "20260310080000", "date_end", "20260310090000")
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatal(err)
			}
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			if tc.check != nil {
				tc.check(t, r, err)
			}
			st := h.srv.Stats().Tokens[DefaultToken]
			wantCost := 1
			if tc.name == "maintenance window" {
				wantCost = 0
			}
			if st.QuotaUsed != wantCost {
				t.Errorf("quota used %d, want %d", st.QuotaUsed, wantCost)
			}
		})
	}
}

// TestLatency: Latency delays every answer by real time, and the answer is the normal one.
func TestLatency(t *testing.T) {
	const latency = 80 * time.Millisecond
	h := newHarness(t, WithFaults(Faults{Latency: latency}))
	start := time.Now()
	r := h.report("chat_1", t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	if elapsed := time.Since(start); elapsed < latency || r.status != 200 {
		t.Errorf("answered %d after %s, want 200 after at least %s", r.status, elapsed, latency)
	}
}

func htmlBody(t *testing.T, r response, _ error) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); len(r.body) == 0 || r.body[0] != '<' || !strings.HasPrefix(ct, "text/html") {
		t.Errorf("not an HTML page: %s %.60s", ct, r.body)
	}
}

// TestFaultsAreDeterministic: the same seed injects faults into the same calls.
func TestFaultsAreDeterministic(t *testing.T) {
	sequence := func(seed int64) []int {
		h := newHarness(t, Seed(seed), WithFaults(Faults{Status500: 0.2, Status503: 0.2}))
		var out []int
		for range 30 {
			out = append(out, h.report("chat_3", t0.Add(-2*time.Hour), t0.Add(-time.Hour)).status)
		}
		return out
	}
	a, b, c := sequence(1), sequence(1), sequence(2)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Errorf("seed 1: %v and %v; seed 2: %v", a, b, c)
	}
}

// TestStartClose runs the simulator on a real listener and stops it with ctx, releasing
// a hung call.
func TestStartClose(t *testing.T) {
	s, err := New(WithFaults(Faults{Hang: 1}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("second Start: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+ReportsPath+"?api=chat_1", nil)
		req.Header.Set("wolkvox-token", DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for s.Stats().Tokens[DefaultToken].InFlight != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("a hung call got an answer")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
