package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

func TestBearerToken(t *testing.T) {
	const token = "rest-token-1"
	srv, err := New(newFake(), BearerToken(source.NewSecret(token)), Logger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		path       string
		header     string // Authorization
		wantStatus int
	}{
		{"no header", "/connectors", "", 401},
		{"wrong token", "/connectors", "Bearer rest-token-2", 401},
		{"token prefix only", "/connectors", "Bearer rest-token", 401},
		{"basic scheme", "/connectors", "Basic cmVzdC10b2tlbi0x", 401},
		{"right token", "/connectors", "Bearer " + token, 200},
		{"scheme is case-insensitive", "/connectors", "bearer " + token, 200},
		{"metrics need it too", "/metrics", "", 401},
		{"metrics with it", "/metrics", "Bearer " + token, 200},
		{"unknown paths are not revealed", "/nope", "", 401},
		{"healthz stays open", "/healthz", "", 200},
		{"readyz stays open", "/readyz", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == 401 {
				apiError(t, answer{status: rec.Code, body: rec.Body.Bytes()})
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
		})
	}
}

func TestRoot(t *testing.T) {
	var calls atomic.Int32
	clusterID := func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			return "", errors.New("no broker yet")
		}
		return "cluster-abc", nil
	}
	srv, err := New(newFake(), Version("v1.2.3"), Commit("0123456789ab-dirty"), KafkaClusterID(clusterID))
	if err != nil {
		t.Fatal(err)
	}
	want := rootInfo{Version: "v1.2.3", Commit: "0123456789ab-dirty"}
	// The ID is left out while unknown, then looked up once and remembered.
	for i, id := range []string{"", "cluster-abc", "cluster-abc"} {
		a := do(t, srv.Handler(), "GET", "/", "", "")
		if a.status != 200 {
			t.Fatalf("GET / #%d: HTTP %d", i, a.status)
		}
		want.KafkaClusterID = id
		wantJSON, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, a.body, string(wantJSON))
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("cluster ID looked up %d times, want 2", n)
	}
}

func TestReadyz(t *testing.T) {
	fw := newFake()
	fw.conns["alpha"].st.Reports[1].State = source.StateFailed
	fw.conns["alpha"].st.Reports[1].LastError = "bad request"
	fw.conns["beta"].st.State = source.StateFailed
	fw.conns["beta"].st.LastError = "token refused"
	srv, err := New(fw)
	if err != nil {
		t.Fatal(err)
	}
	a := do(t, srv.Handler(), "GET", "/readyz", "", "")
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("HTTP %d, want 503", a.status)
	}
	var got notReady
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatal(err)
	}
	want := []string{"alpha: report diagram_13 FAILED: bad request", "beta: FAILED: token refused"}
	if !slices.Equal(got.Reasons, want) || got.Code != 503 || got.Message == "" {
		t.Errorf("got %+v, want reasons %q", got, want)
	}

	// Stalls and a start that keeps failing are not ready either; a plain wait is.
	since := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	fw = newFake()
	alpha := &fw.conns["alpha"].st
	alpha.Reports[0].Activity, alpha.Reports[0].ActivitySince, alpha.Reports[0].Stalled = "committing", since, true
	alpha.Reports[1].FailingSince, alpha.Reports[1].Stalled = since, true
	beta := &fw.conns["beta"].st
	beta.State, beta.NextRetry, beta.LastError = source.StateBackingOff, since, "starting: dial tcp: connection refused"
	if srv, err = New(fw); err != nil {
		t.Fatal(err)
	}
	a = do(t, srv.Handler(), "GET", "/readyz", "", "")
	got = notReady{}
	if err := json.Unmarshal(a.body, &got); err != nil || a.status != http.StatusServiceUnavailable {
		t.Fatalf("HTTP %d, %v", a.status, err)
	}
	want = []string{
		"alpha: report act_3,cod_act=X stalled committing since 2026-11-20T12:00:00Z: no answer",
		"alpha: report diagram_13 failing since 2026-11-20T12:00:00Z: wolkvox: 500",
		"beta: not started yet (next attempt 2026-11-20T12:00:00Z): starting: dial tcp: connection refused",
	}
	if !slices.Equal(got.Reasons, want) {
		t.Errorf("reasons\n%q\nwant\n%q", got.Reasons, want)
	}
	fw = newFake() // diagram_13 backing off, not for long: ready
	if srv, err = New(fw); err != nil {
		t.Fatal(err)
	}
	if a = do(t, srv.Handler(), "GET", "/readyz", "", ""); a.status != http.StatusOK {
		t.Errorf("a short backoff: HTTP %d, want 200: %s", a.status, a.body)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		w    WorkerAPI
		opts []Opt
	}{
		{"nil worker", nil, nil},
		{"address without port", newFake(), []Opt{Address("localhost")}},
		{"token with a newline", newFake(), []Opt{BearerToken(source.NewSecret("abc\n"))}},
		{"nil logger", newFake(), []Opt{Logger(nil)}},
		{"nil clock", newFake(), []Opt{Clock(nil)}},
		{"zero stop timeout", newFake(), []Opt{StopTimeout(0)}},
		{"negative request timeout", newFake(), []Opt{RequestTimeout(-time.Second)}},
		{"zero body cap", newFake(), []Opt{MaxBodyBytes(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.w, tt.opts...); !errors.Is(err, ErrConfig) {
				t.Errorf("New: %v, want ErrConfig", err)
			}
		})
	}
}

func TestServe(t *testing.T) {
	srv, err := New(newFake(), Address("127.0.0.1:0"), Logger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	<-srv.Ready()
	resp, err := http.Get("http://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz: HTTP %d", resp.StatusCode)
	}
	if err := srv.Serve(ctx); err == nil {
		t.Error("a second Serve succeeded")
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve after cancel: %v, want nil", err)
	}
	http.DefaultClient.CloseIdleConnections()

	// A port already taken: Serve fails at once, and Ready is closed all the same.
	holder, err := New(newFake(), Address("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	held := make(chan error, 1)
	go func() { held <- holder.Serve(ctx2) }()
	<-holder.Ready()
	taken, err := New(newFake(), Address(holder.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	if err := taken.Serve(context.Background()); err == nil {
		t.Error("Serve on a taken port succeeded")
	}
	<-taken.Ready()
	cancel2()
	if err := <-held; err != nil {
		t.Error(err)
	}
}

// TestServeWhile: the API and the work live and die together. An API that cannot serve
// stops the work; the end of the work stops the API; both errors come back.
func TestServeWhile(t *testing.T) {
	holder, err := New(newFake(), Address("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	held := make(chan error, 1)
	go func() { held <- holder.Serve(ctx) }()
	<-holder.Ready()
	defer func() {
		cancel()
		if err := <-held; err != nil {
			t.Error(err)
		}
	}()

	taken, err := New(newFake(), Address(holder.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	err = taken.ServeWhile(context.Background(), func(ctx context.Context) error {
		<-ctx.Done() // stopped by the API that could not listen
		return nil
	})
	if err == nil {
		t.Error("ServeWhile on a taken port: nil error, want the listen error")
	}

	free, err := New(newFake(), Address("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	workErr := errors.New("worker ended")
	err = free.ServeWhile(context.Background(), func(context.Context) error {
		<-free.Ready()
		return workErr
	})
	if !errors.Is(err, workErr) {
		t.Errorf("ServeWhile after the work ended: %v, want its error (and the API stopped)", err)
	}
}
