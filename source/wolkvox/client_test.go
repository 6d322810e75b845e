package wolkvox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testToken is distinctive so that a leak anywhere is found by a plain search.
const testToken = "wv-TOKEN-7f3c9a41e2d8b5"

var (
	winStart = time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC) // 08:00 in Bogota
	winEnd   = winStart.Add(5 * time.Minute)
)

// recorder is a Handler keeping the rows handed on since the last Reset.
type recorder struct {
	mu       sync.Mutex
	rows     []Row
	resets   int
	fail     error // returned by Row when set
	resetErr error // returned by Reset
}

func (r *recorder) Row(row Row) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.rows = append(r.rows, slices.Clone(row))
	return nil
}

func (r *recorder) Reset() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = nil
	r.resets++
	return r.resetErr
}

// logBuffer collects log output from any goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// response is one canned answer of a test server.
type response struct {
	status  int
	file    string // under testdata
	body    string // used when file is empty
	header  map[string]string
	handler http.HandlerFunc // overrides everything else
}

// script serves its responses in turn, repeating the last one, and records requests.
type script struct {
	t         testing.TB
	responses []response
	mu        sync.Mutex
	requests  []*http.Request
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, r.Clone(context.Background()))
	s.mu.Unlock()
	resp := s.responses[min(n, len(s.responses)-1)]
	if resp.handler != nil {
		resp.handler(w, r)
		return
	}
	body := []byte(resp.body)
	if resp.file != "" {
		body = fixture(s.t, resp.file)
	}
	for k, v := range resp.header {
		w.Header().Set(k, v)
	}
	if strings.HasSuffix(resp.file, ".html") {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(body)
}

func (s *script) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// harness is a test server and a client pointed at it.
type harness struct {
	srv    *httptest.Server
	script *script
	client *Client
	logs   *logBuffer
	mu     sync.Mutex
	calls  []Call
	waits  []time.Duration
}

func newHarness(t *testing.T, responses []response, opts ...Opt) *harness {
	t.Helper()
	h := &harness{script: &script{t: t, responses: responses}, logs: &logBuffer{}}
	h.srv = httptest.NewServer(h.script)
	t.Cleanup(h.srv.Close)
	base := []Opt{
		Server("0040"), Token(testToken), BaseURL(h.srv.URL),
		Backoff(time.Millisecond, 2*time.Millisecond, time.Minute),
		Logger(slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		OnCall(func(c Call) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.calls = append(h.calls, c)
		}),
		// Waits are recorded, not slept: retries are immediate and the waits observable.
		clientOpt{func(c *cfg) {
			c.sleep = func(ctx context.Context, d time.Duration) error {
				h.mu.Lock()
				defer h.mu.Unlock()
				h.waits = append(h.waits, d)
				return ctx.Err()
			}
		}},
	}
	c, err := NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	h.client = c
	return h
}

func (h *harness) read(t *testing.T, req Request) (Result, *recorder, error) {
	t.Helper()
	rec := &recorder{}
	res, err := h.client.Read(t.Context(), req, rec)
	return res, rec, err
}

var act3 = Request{Report: "act_3", Start: winStart, End: winEnd, Params: map[string]string{"cod_act": "VENTA"}}

func TestReadOutcomes(t *testing.T) {
	ok := response{status: 200, file: "diagram_13_code_string.json"}
	tests := []struct {
		name      string
		first     response // served once, or always when permanent
		permanent bool     // not retried: the first response is the last
		wantRows  int
		noData    bool
		wantErr   error // for permanent outcomes
		wantClass Class // of the first call
		resets    int
	}{
		{name: "success, code as string", first: ok, permanent: true, wantRows: 3, wantClass: ClassOK},
		{name: "success, code as number", first: response{status: 200, file: "act_3_code_number.json"}, permanent: true, wantRows: 2, wantClass: ClassOK},
		{name: "cdr_4 object data", first: response{status: 200, file: "cdr_4.json"}, permanent: true, wantRows: 5, wantClass: ClassOK},
		{name: "agent_5 nested", first: response{status: 200, file: "agent_5.json"}, permanent: true, wantRows: 3, wantClass: ClassOK},
		{name: "chat_1 key with a trailing space", first: response{status: 200, file: "chat_1.json"}, permanent: true, wantRows: 1, wantClass: ClassOK},
		{name: "data before code", first: response{status: 200, file: "data_before_code_ok.json"}, permanent: true, wantRows: 1, wantClass: ClassOK},
		{name: "404 Validate dates entered", first: response{status: 404, file: "nodata_404.json"}, permanent: true, noData: true, wantClass: ClassNoData},
		{name: "404 without body", first: response{status: 404}, permanent: true, noData: true, wantClass: ClassNoData},
		{name: "200 Validate dates entered", first: response{status: 200, file: "nodata_200_msg.json"}, permanent: true, noData: true, wantClass: ClassNoData},
		{name: "403 token limit", first: response{status: 403, file: "403_quota.json"}, permanent: true, wantErr: ErrQuotaExhausted, wantClass: ClassQuotaExhausted},
		{name: "403 validate token", first: response{status: 403, file: "403_validate_token.json"}, permanent: true, wantErr: ErrInvalidToken, wantClass: ClassInvalidToken},
		{name: "401", first: response{status: 401, file: "401.json"}, permanent: true, wantErr: ErrInvalidToken, wantClass: ClassInvalidToken},
		{name: "400 api does not exist", first: response{status: 400, file: "400_api.json"}, permanent: true, wantErr: ErrBadRequest, wantClass: ClassBadRequest},
		{name: "400 parameters required", first: response{status: 400, file: "400_params.json"}, permanent: true, wantErr: ErrBadRequest, wantClass: ClassBadRequest},
		{
			name: "error code after rows in a 200 body", first: response{status: 200, file: "data_before_code_error.json"},
			permanent: true, wantErr: ErrQuotaExhausted, wantClass: ClassQuotaExhausted, resets: 1,
		},
		{name: "403 simultaneous requests", first: response{status: 403, file: "403_simultaneous.json"}, wantRows: 3, wantClass: ClassTooManyRequests},
		{name: "403 maintenance page", first: response{status: 403, file: "403_maintenance.html"}, wantRows: 3, wantClass: ClassTransient},
		{name: "500", first: response{status: 500, file: "500.html"}, wantRows: 3, wantClass: ClassTransient},
		{name: "502 empty", first: response{status: 502}, wantRows: 3, wantClass: ClassTransient},
		{name: "redirect not followed", first: response{status: 302, header: map[string]string{"Location": "https://evil.example/"}}, wantRows: 3, wantClass: ClassTransient},
		{name: "HTML page with 200", first: response{status: 200, file: "html_200.html"}, wantRows: 3, wantClass: ClassTransient},
		{name: "truncated body", first: response{status: 200, file: "truncated.json"}, wantRows: 3, wantClass: ClassTransient, resets: 1},
		{name: "code 500 in a 200 body", first: response{status: 200, file: "code_500_in_200.json"}, wantRows: 3, wantClass: ClassTransient, resets: 1},
		{name: "no code", first: response{status: 200, body: `{"data":[{"a":"1"}]}`}, wantRows: 3, wantClass: ClassTransient, resets: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			responses := []response{tt.first}
			if !tt.permanent {
				responses = []response{tt.first, tt.first, ok}
			}
			h := newHarness(t, responses)
			res, rec, err := h.read(t, act3)
			wantCalls := 1
			if !tt.permanent {
				wantCalls = 3
			}
			if res.Calls != wantCalls || h.script.calls() != wantCalls {
				t.Fatalf("Calls = %d, server saw %d, want %d", res.Calls, h.script.calls(), wantCalls)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var re *ResponseError
				if !errors.As(err, &re) || re.Class != tt.wantClass || re.Report != "act_3" {
					t.Fatalf("err = %#v, want a *ResponseError of class %s", err, tt.wantClass)
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Rows != tt.wantRows || len(rec.rows) != tt.wantRows || res.NoData != tt.noData {
				t.Errorf("Result %+v with %d rows kept, want %d rows, NoData %v", res, len(rec.rows), tt.wantRows, tt.noData)
			}
			// Each failed attempt that handed rows on is Reset once.
			if wantResets := tt.resets * (wantCalls - 1 + boolInt(tt.permanent)); rec.resets != wantResets {
				t.Errorf("Reset called %d times, want %d", rec.resets, wantResets)
			}
			if len(h.calls) != wantCalls || h.calls[0].Class != tt.wantClass || h.calls[0].Attempt != 1 {
				t.Fatalf("OnCall got %+v, want %d calls, the first of class %s", h.calls, wantCalls, tt.wantClass)
			}
			if last := h.calls[len(h.calls)-1]; last.Class != ClassOK && last.Class != ClassNoData && last.Err == nil {
				t.Errorf("failed call reported without its error: %+v", last)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestReadSendsRequest(t *testing.T) {
	h := newHarness(t, []response{{status: 200, file: "act_3_code_number.json"}})
	if _, _, err := h.read(t, act3); err != nil {
		t.Fatal(err)
	}
	r := h.script.requests[0]
	tests := []struct{ what, got, want string }{
		{"method", r.Method, http.MethodGet},
		{"path", r.URL.Path, "/api/v2/reports_manager.php"},
		{"api", r.URL.Query().Get("api"), "act_3"},
		{"date_ini in Bogota", r.URL.Query().Get("date_ini"), "20260302080000"},
		{"date_end in Bogota", r.URL.Query().Get("date_end"), "20260302080500"},
		{"cod_act", r.URL.Query().Get("cod_act"), "VENTA"},
		{"wolkvox-token header", r.Header.Get("wolkvox-token"), testToken},
		{"wolkvox_server header", r.Header.Get("wolkvox_server"), "0040"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.what, tt.got, tt.want)
		}
	}
}

func TestReadLocation(t *testing.T) {
	h := newHarness(t, []response{{status: 200, file: "act_3_code_number.json"}}, Location(time.FixedZone("UTC-3", -3*3600)))
	if _, _, err := h.read(t, act3); err != nil {
		t.Fatal(err)
	}
	if got := h.script.requests[0].URL.Query().Get("date_ini"); got != "20260302100000" {
		t.Errorf("date_ini = %q, want the window start at UTC-3", got)
	}
}

func TestReadRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{"no report", Request{Start: winStart, End: winEnd}},
		{"report with a query in it", Request{Report: "act_3&x=1", Start: winStart, End: winEnd}},
		{"reversed window", Request{Report: "act_3", Start: winEnd, End: winStart}},
		{"end a nanosecond before start", Request{Report: "act_3", Start: winStart, End: winStart.Add(-time.Nanosecond)}},
		{"no start", Request{Report: "act_3", End: winEnd}},
		{"params override date_ini", Request{Report: "act_3", Start: winStart, End: winEnd, Params: map[string]string{"date_ini": "x"}}},
	}
	h := newHarness(t, []response{{status: 200, file: "act_3_code_number.json"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, err := h.read(t, tt.req)
			if !errors.Is(err, ErrBadRequest) || res.Calls != 0 {
				t.Fatalf("err = %v after %d calls, want ErrBadRequest before any call", err, res.Calls)
			}
		})
	}
	if n := h.script.calls(); n != 0 {
		t.Errorf("server saw %d calls", n)
	}
}

func TestReadTimeouts(t *testing.T) {
	// The server stalls until the client gives up: CallTimeout must cut the call,
	// whether the stall is before the headers or in the middle of the body.
	stallBeforeHeaders := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	stallInBody := func(w http.ResponseWriter, r *http.Request) {
		body := fixture(t, "diagram_13_code_string.json")
		w.WriteHeader(200)
		_, _ = w.Write(body[:len(body)*2/3]) // two rows and a half
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	tests := []struct {
		name   string
		stall  http.HandlerFunc
		resets int
	}{
		{"before the headers", stallBeforeHeaders, 0},
		{"in the body", stallInBody, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []response{{handler: tt.stall}, {status: 200, file: "diagram_13_code_string.json"}},
				CallTimeout(100*time.Millisecond))
			res, rec, err := h.read(t, act3)
			if err != nil {
				t.Fatal(err)
			}
			if res.Calls != 2 || res.Rows != 3 || len(rec.rows) != 3 || rec.resets != tt.resets {
				t.Fatalf("Result %+v, %d rows kept, %d resets; want 2 calls, 3 rows, %d resets", res, len(rec.rows), rec.resets, tt.resets)
			}
			first := h.calls[0]
			if first.Class != ClassTransient || !errors.Is(first.Err, context.DeadlineExceeded) || !errors.Is(first.Err, ErrTransient) {
				t.Errorf("first call %+v: want a transient timeout", first)
			}
		})
	}
}

func TestReadRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		dateIn     time.Duration // instead of retryAfter: an HTTP date this far ahead
		opts       []Opt
		want       time.Duration
	}{
		{name: "seconds honoured", retryAfter: "7", want: 7 * time.Second},
		{name: "HTTP date honoured", dateIn: time.Hour, opts: []Opt{RetryAfterCap(2 * time.Hour)}},
		{name: "capped", retryAfter: "3600", want: DefaultRetryAfterCap},
		{name: "capped by option", retryAfter: "3600", opts: []Opt{RetryAfterCap(30 * time.Second)}, want: 30 * time.Second},
		{name: "ignored when the cap is 0", retryAfter: "7", opts: []Opt{RetryAfterCap(0)}, want: 2 * time.Millisecond},
		{name: "garbage ignored", retryAfter: "soon", want: 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retryAfter := tt.retryAfter
			var date time.Time
			if tt.dateIn != 0 {
				// An HTTP date has one-second resolution: the header says exactly this instant.
				date = time.Now().Add(tt.dateIn).Truncate(time.Second)
				retryAfter = date.UTC().Format(http.TimeFormat)
			}
			busy := response{status: 403, file: "403_simultaneous.json", header: map[string]string{"Retry-After": retryAfter}}
			h := newHarness(t, []response{busy, {status: 200, file: "diagram_13_code_string.json"}}, tt.opts...)
			before := time.Now()
			if _, _, err := h.read(t, act3); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			if len(h.waits) != 1 {
				t.Fatalf("waited %v, want one wait", h.waits)
			}
			got := h.waits[0]
			if !date.IsZero() {
				// The client measures the date from when the answer arrived, during the read:
				// however slow the machine, the wait lies between these two bounds.
				if lo, hi := date.Sub(after), date.Sub(before); got < lo || got > hi {
					t.Errorf("waited %v, want %v..%v (until %s)", got, lo, hi, retryAfter)
				}
				return
			}
			// The backoff alone stays under its max.
			if got > tt.want || got < tt.want-time.Second {
				t.Errorf("waited %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadGivesUp(t *testing.T) {
	h := newHarness(t, []response{{status: 500, file: "500.html"}}, Backoff(time.Millisecond, time.Millisecond, time.Nanosecond))
	res, rec, err := h.read(t, act3)
	var re *ResponseError
	if !errors.Is(err, ErrTransient) || !errors.As(err, &re) || re.StatusCode != 500 {
		t.Fatalf("err = %v, want a transient *ResponseError with status 500", err)
	}
	if !bytes.Contains(re.Body, []byte("Allowed memory size")) {
		t.Errorf("Body = %q, want the start of the error page", re.Body)
	}
	if res.Calls != h.script.calls() || res.Calls < 1 || len(rec.rows) != 0 {
		t.Errorf("Result %+v, server saw %d, rows kept %d", res, h.script.calls(), len(rec.rows))
	}
}

func TestReadCanceled(t *testing.T) {
	t.Run("during a call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newHarness(t, []response{{handler: func(w http.ResponseWriter, r *http.Request) {
			cancel()
			<-r.Context().Done()
		}}})
		res, err := h.client.Read(ctx, act3, &recorder{})
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTransient) || res.Calls != 1 {
			t.Fatalf("err = %v after %d calls, want context.Canceled after 1", err, res.Calls)
		}
	})
	t.Run("while waiting to retry", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newHarness(t, []response{{status: 500, file: "500.html"}}, clientOpt{func(c *cfg) {
			c.sleep = func(context.Context, time.Duration) error {
				cancel()
				return context.Canceled
			}
		}})
		res, err := h.client.Read(ctx, act3, &recorder{})
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrTransient) || res.Calls != 1 {
			t.Fatalf("err = %v after %d calls, want context.Canceled and the last failure after 1", err, res.Calls)
		}
	})
	t.Run("before the call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		h := newHarness(t, []response{{status: 200, file: "act_3_code_number.json"}})
		res, err := h.client.Read(ctx, act3, &recorder{})
		if !errors.Is(err, context.Canceled) || res.Calls != 0 || h.script.calls() != 0 {
			t.Fatalf("err = %v after %d calls, want context.Canceled before any call", err, res.Calls)
		}
	})
}

func TestReadHandlerError(t *testing.T) {
	boom := errors.New("producer closed")
	h := newHarness(t, []response{{status: 200, file: "diagram_13_code_string.json"}})
	rec := &recorder{fail: boom}
	res, err := h.client.Read(t.Context(), act3, rec)
	if !errors.Is(err, boom) || res.Calls != 1 || rec.resets != 0 {
		t.Fatalf("err = %v, %d calls, %d resets; want the handler's error after 1 call, no Reset", err, res.Calls, rec.resets)
	}
	if h.calls[0].Class != ClassHandler {
		t.Errorf("call class %s, want %s", h.calls[0].Class, ClassHandler)
	}
}

// A handler that cannot take its rows back stops the read at the failed attempt: no
// retry, and the error says both why the attempt failed and why the rows stay.
func TestReadResetError(t *testing.T) {
	kept := errors.New("rows already in an open transaction")
	h := newHarness(t, []response{{status: 200, file: "truncated.json"}, {status: 200, file: "diagram_13_code_string.json"}})
	rec := &recorder{resetErr: kept}
	res, err := h.client.Read(t.Context(), act3, rec)
	if !errors.Is(err, kept) || !errors.Is(err, ErrTransient) || res.Calls != 1 || rec.resets != 1 {
		t.Fatalf("err = %v, %d calls, %d resets; want the Reset error and the truncation after 1 call and 1 Reset", err, res.Calls, rec.resets)
	}
	if h.script.calls() != 1 {
		t.Errorf("%d calls reached the server, want 1: no retry after a refused Reset", h.script.calls())
	}
}

// TestBeforeRetry: every retry is announced before it is sent, and a refusal stops the
// read without sending it (the caller spends a call of its budget per retry).
func TestBeforeRetry(t *testing.T) {
	spent := errors.New("budget spent")
	tests := []struct {
		name      string
		allow     int // retries the hook allows before refusing
		wantCalls int
		wantErr   error
		wantAsked int
	}{
		{name: "all allowed", allow: 10, wantCalls: 3, wantAsked: 2},
		{name: "second refused", allow: 1, wantCalls: 2, wantAsked: 2, wantErr: spent},
		{name: "first refused", allow: 0, wantCalls: 1, wantAsked: 1, wantErr: spent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := 0
			h := newHarness(t, []response{{status: 503}, {status: 503}, {status: 200, file: "diagram_13_code_string.json"}},
				BeforeRetry(func(ctx context.Context) error {
					asked++
					if asked > tt.allow {
						return spent
					}
					return nil
				}))
			res, _, err := h.read(t, act3)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && !errors.Is(err, ErrTransient) {
				t.Errorf("err = %v: want the last failure wrapped too", err)
			}
			if h.script.calls() != tt.wantCalls || res.Calls != tt.wantCalls || asked != tt.wantAsked {
				t.Errorf("server saw %d calls, Result.Calls %d, hook asked %d times; want %d, %d, %d",
					h.script.calls(), res.Calls, asked, tt.wantCalls, tt.wantCalls, tt.wantAsked)
			}
		})
	}
}

func TestNewClientOptions(t *testing.T) {
	lim, err := NewLimiter(2)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    []Opt
		wantOpt []string // option names the error must cite; none means valid
	}{
		{name: "minimal", opts: []Opt{Server("0040"), Token("t")}},
		{name: "everything", opts: []Opt{Server("0040"), Token("t"), BaseURL("http://127.0.0.1:8080/wolkvox/"),
			Location(time.UTC), HTTPClient(&http.Client{}), CallTimeout(time.Second), WithLimiter(lim),
			Backoff(time.Second, time.Minute, 0), RetryAfterCap(0), Logger(slog.New(slog.DiscardHandler)), OnCall(func(Call) {})}},
		{name: "nothing", wantOpt: []string{"Server", "Token"}},
		{name: "server not digits", opts: []Opt{Server("wv0040"), Token("t")}, wantOpt: []string{"Server"}},
		{name: "token with a newline", opts: []Opt{Server("0040"), Token("ab\ncd")}, wantOpt: []string{"Token"}},
		{name: "base without scheme", opts: []Opt{Server("0040"), Token("t"), BaseURL("wv0040.wolkvox.com")}, wantOpt: []string{"BaseURL"}},
		{name: "base with query", opts: []Opt{Server("0040"), Token("t"), BaseURL("https://h/?a=1")}, wantOpt: []string{"BaseURL"}},
		{name: "nil location", opts: []Opt{Server("0040"), Token("t"), Location(nil)}, wantOpt: []string{"Location"}},
		{name: "zero call timeout", opts: []Opt{Server("0040"), Token("t"), CallTimeout(0)}, wantOpt: []string{"CallTimeout"}},
		{name: "zero limiter", opts: []Opt{Server("0040"), Token("t"), WithLimiter(&Limiter{})}, wantOpt: []string{"WithLimiter"}},
		{name: "backoff max below initial", opts: []Opt{Server("0040"), Token("t"), Backoff(time.Minute, time.Second, 0)}, wantOpt: []string{"Backoff"}},
		{name: "negative cap", opts: []Opt{Server("0040"), Token("t"), RetryAfterCap(-1)}, wantOpt: []string{"RetryAfterCap"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.opts...)
			if len(tt.wantOpt) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				c.CloseIdleConnections()
				return
			}
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("err = %v, want ErrInvalidOption", err)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var oe *OptionError
				if !errors.As(e, &oe) {
					t.Fatalf("%v is not an *OptionError", e)
				}
				got = append(got, oe.Option)
			}
			if !slices.Equal(got, tt.wantOpt) {
				t.Errorf("options refused %q, want %q (%v)", got, tt.wantOpt, err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := NewClient(Server("0040"), Token("t"))
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.baseURL != "https://wv0040.wolkvox.com" {
		t.Errorf("base URL %q", c.cfg.baseURL)
	}
	if _, off := winStart.In(c.Location()).Zone(); off != -5*3600 {
		t.Errorf("default location %v is not UTC-5", c.Location())
	}
	if cap(c.cfg.limiter.slots) != 1 || c.cfg.callTimeout != DefaultCallTimeout {
		t.Errorf("limiter %d in flight, call timeout %v", cap(c.cfg.limiter.slots), c.cfg.callTimeout)
	}
}

func TestTokenInfo(t *testing.T) {
	tests := []struct {
		name    string
		resp    response
		want    TokenInfo
		wantErr error
	}{
		{name: "strings in a data object", resp: response{status: 200, body: `{"code":"200","error":null,"msg":"ok","data":{"token_limit":"3000","token_use_today":"1,214"}}`}, want: TokenInfo{Limit: 3000, UsedToday: 1214}},
		{name: "numbers in a data array", resp: response{status: 200, body: `{"code":200,"data":[{"token_limit":5000,"token_use_today":12}]}`}, want: TokenInfo{Limit: 5000, UsedToday: 12}},
		{name: "quota spent", resp: response{status: 403, file: "403_quota.json"}, wantErr: ErrQuotaExhausted},
		{name: "bad token", resp: response{status: 403, file: "403_validate_token.json"}, wantErr: ErrInvalidToken},
		{name: "missing fields", resp: response{status: 200, body: `{"code":200,"data":{}}`}, wantErr: ErrTransient},
		{name: "not found", resp: response{status: 404, file: "nodata_404.json"}, wantErr: ErrBadRequest},
		{name: "html", resp: response{status: 200, file: "html_200.html"}, wantErr: ErrTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []response{tt.resp})
			info, err := h.client.TokenInfo(t.Context())
			if h.script.calls() != 1 || len(h.calls) != 1 {
				t.Fatalf("%d calls, %d reported: want exactly one", h.script.calls(), len(h.calls))
			}
			if got := h.script.requests[0].URL.RequestURI(); got != "/api/v2/information.php?api=token_info" {
				t.Errorf("called %s", got)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || info != tt.want {
				t.Fatalf("TokenInfo() = %+v, %v; want %+v", info, err, tt.want)
			}
		})
	}
	if got := (TokenInfo{Limit: 3000, UsedToday: 3100}).Remaining(); got != 0 {
		t.Errorf("Remaining() = %d when over the limit, want 0", got)
	}
}

// TestTokenNeverLeaks makes every kind of failure, with a server that echoes the token
// back, and looks for the token in every error, log line and reported call.
func TestTokenNeverLeaks(t *testing.T) {
	echo := func(status, code int) response {
		return response{handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"code":%d,"error":"token %s","msg":"PLEASE VALIDATE TOKEN %s"}`, code, r.Header.Get("wolkvox-token"), r.Header.Get("wolkvox-token"))
		}}
	}
	var scenarios [][]response
	for _, f := range []string{"403_quota.json", "403_validate_token.json", "401.json", "400_api.json", "truncated.json", "html_200.html", "code_500_in_200.json"} {
		scenarios = append(scenarios, []response{{status: 200, file: f}})
	}
	scenarios = append(scenarios, []response{echo(403, 403)}, []response{echo(500, 500)}, []response{echo(200, 403)},
		[]response{{handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }}})

	var texts []string
	for i, sc := range scenarios {
		h := newHarness(t, sc, CallTimeout(50*time.Millisecond), Backoff(time.Millisecond, time.Millisecond, time.Nanosecond))
		_, _, err := h.read(t, act3)
		if err == nil {
			t.Fatalf("scenario %d did not fail", i)
		}
		_, infoErr := h.client.TokenInfo(t.Context())
		texts = append(texts, fmt.Sprintf("%v|%+v|%#v|%s", err, err, err, err), fmt.Sprintf("%v|%+v", infoErr, infoErr), h.logs.String())
		var re *ResponseError
		if errors.As(err, &re) {
			texts = append(texts, fmt.Sprintf("%+v %s", *re, re.Body))
		}
		for _, c := range h.calls {
			texts = append(texts, fmt.Sprintf("%+v %v", c, c.Err))
		}
		texts = append(texts, fmt.Sprintf("%v|%+v|%#v|%s", h.client, h.client, h.client, h.client))
	}

	// A dead server: the connection is refused.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	logs := &logBuffer{}
	c, err := NewClient(Server("0040"), Token(testToken), BaseURL(dead.URL), Backoff(time.Millisecond, time.Millisecond, time.Nanosecond),
		Logger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(t.Context(), act3, &recorder{})
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("refused connection: err = %v, want ErrTransient", err)
	}
	texts = append(texts, fmt.Sprintf("%v|%+v|%#v", err, err, err), logs.String())

	// Option errors.
	_, err = NewClient(Server("x"), Token(testToken+" \n"))
	texts = append(texts, fmt.Sprintf("%v|%+v", err, err))

	for _, s := range texts {
		if strings.Contains(s, testToken) {
			t.Fatalf("token leaked in: %s", s)
		}
	}
	if !strings.Contains(strings.Join(texts, ""), "[REDACTED]") {
		t.Error("the echoed token was neither found nor redacted: the test does not exercise echoing")
	}
}

// TestDefaultTransportReadsInLargeBuffers: the client's own transport reads the body
// 64 KiB at a time (net/http's default is 4 KiB, a read call per small chunk of a
// tens-of-MB answer: half the read calls of a 60,000-row window, measured), and a
// caller's own HTTP client keeps its transport.
func TestDefaultTransportReadsInLargeBuffers(t *testing.T) {
	c, err := NewClient(Token("t"), Server("0040"))
	if err != nil {
		t.Fatal(err)
	}
	if tr, ok := c.cfg.httpClient.Transport.(*http.Transport); !ok || tr.ReadBufferSize != readBufferSize {
		t.Fatalf("default transport %#v, want one reading %d bytes at a time", c.cfg.httpClient.Transport, readBufferSize)
	}
	own := &http.Transport{}
	c, err = NewClient(Token("t"), Server("0040"), HTTPClient(&http.Client{Transport: own}))
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.httpClient.Transport != own || own.ReadBufferSize != 0 {
		t.Fatal("a caller's transport was replaced or changed")
	}
}
