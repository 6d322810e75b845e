package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testLogger() *slog.Logger {
	if os.Getenv("WOLKVOX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, h http.Handler, method, path, body, token string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// jsonEqual compares two JSON texts by value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("answer differs\n got: %s\nwant: %s", bytes.TrimSpace(got), want)
	}
}

// apiError decodes an error answer and checks it has the Kafka Connect shape.
func apiError(t *testing.T, a answer) Error {
	t.Helper()
	var e Error
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error answer is not {error_code, message}: %v\n%s", err, a.body)
	}
	if e.Code != a.status || e.Message == "" {
		t.Errorf("error answer %+v for HTTP %d: want error_code equal to the status and a message", e, a.status)
	}
	return e
}

const (
	alphaStatus = `{"name":"alpha","connector":{"state":"RUNNING","worker_id":"127.0.0.1:8083","version":"dev","wolkvox_state":"RUNNING","last_error":null,"next_retry":null},
"tasks":[{"id":0,"state":"RUNNING","worker_id":"127.0.0.1:8083","version":"dev"},{"id":1,"state":"RUNNING","worker_id":"127.0.0.1:8083","version":"dev"}],
"type":"source","quota":{"used":10,"limit":1000,"remaining":990,"reserved":20},"producer_memory":{"held_bytes":4096,"limit_bytes":16777216},
"reports":[
 {"report":"act_3","key":"act_3,cod_act=X","topic":"wolkvox.alpha.act_3","state":"RUNNING","last_error":null,
  "next_poll":"2026-11-20T12:04:00-05:00","cursor":"2026-11-20T11:59:00-05:00","last_seen":"2026-11-20T11:58:30-05:00","lag_seconds":90,
  "rows":120,"dead_letters":1,"duplicates":7,"windows":3,"calls":4,"upstream_errors":1,"splits":1,"commits":3,"aborts":1,
  "future_rows":0,"activity":null,"activity_since":null,"stalled":false,"failing_since":null},
 {"report":"diagram_13","key":"diagram_13","topic":"wolkvox.alpha.diagram_13","state":"BACKING_OFF","last_error":"wolkvox: 500",
  "next_poll":"2026-11-20T12:00:30-05:00","cursor":null,"last_seen":null,"lag_seconds":null,
  "rows":0,"dead_letters":0,"duplicates":0,"windows":0,"calls":0,"upstream_errors":0,"splits":0,"commits":0,"aborts":0,
  "future_rows":0,"activity":null,"activity_since":null,"stalled":false,"failing_since":null}]}`
	alphaInfo = `{"name":"alpha",
"config":` + alphaConfig + `,
"tasks":[{"connector":"alpha","task":0},{"connector":"alpha","task":1}],"type":"source",
"reports":["act_3,cod_act=X","diagram_13"],
"topics":{"act_3,cod_act=X":"wolkvox.alpha.act_3","diagram_13":"wolkvox.alpha.diagram_13"}}`
	alphaConfig = `{"connector.class":"github.com/wolkvox-connect/wolkvox-connect/source.Connector","tasks.max":"2",
 "name":"alpha","server":"0040","token":"[redacted]","time_zone":"COT","daily_quota":"1000","quota_reset_hour":"0",
 "base_url":"https://user:xxxxx@proxy.example:8443/wolkvox","max_in_flight":"1",
 "reports.0.api":"act_3","reports.0.key":"act_3,cod_act=X","reports.0.params.cod_act":"X","reports.0.interval":"5m0s","reports.0.lookback":"1h0m0s",
 "reports.0.settle":"1m0s","reports.0.bucket":"1h0m0s","reports.0.start":"2026-11-01T00:00:00-05:00",
 "reports.1.api":"diagram_13","reports.1.key":"diagram_13","reports.1.interval":"5m0s","reports.1.lookback":"1h0m0s","reports.1.settle":"1m0s","reports.1.bucket":"1h0m0s"}`
	alphaTasks = `[{"id":{"connector":"alpha","task":0},"config":{"api":"act_3","key":"act_3,cod_act=X","topic":"wolkvox.alpha.act_3","params.cod_act":"X",
  "interval":"5m0s","lookback":"1h0m0s","settle":"1m0s","bucket":"1h0m0s","start":"2026-11-01T00:00:00-05:00"}},
 {"id":{"connector":"alpha","task":1},"config":{"api":"diagram_13","key":"diagram_13","topic":"wolkvox.alpha.diagram_13",
  "interval":"5m0s","lookback":"1h0m0s","settle":"1m0s","bucket":"1h0m0s"}}]`
	betaChat3 = `{"partition":{"server":"0041","report":"chat_3"},"offset":{"version":1,"last_seen":"2026-11-20T15:00:00Z","window_end":"2026-11-20T16:00:00Z"}}`
)

var betaOffsets = fmt.Sprintf(`{"offsets":[{"partition":{"server":"0041","report":"chat_1"},"offset":null,"error":%q},%s]}`,
	fmt.Errorf("%w: version 9", offsets.ErrUnsupportedVersion).Error(), betaChat3)

func TestEndpoints(t *testing.T) {
	const chat3Key = `["beta",{"server":"0041","report":"chat_3"}]`
	const chat1Key = `["beta",{"server":"0041","report":"chat_1"}]`
	tests := []struct {
		name         string
		method, path string
		body         string
		stopErr      error
		wantStatus   int
		wantJSON     string // exact answer, when set
		wantError    bool   // an {error_code, message} answer
		wantAllow    string
		wantActions  []string
	}{
		{name: "list", method: "GET", path: "/connectors", wantStatus: 200, wantJSON: `["alpha","beta"]`},
		{name: "info redacts the token and the URL password", method: "GET", path: "/connectors/alpha", wantStatus: 200, wantJSON: alphaInfo},
		{name: "info of an unknown connector", method: "GET", path: "/connectors/nope", wantStatus: 404, wantJSON: `{"error_code":404,"message":"Connector nope not found"}`},
		{name: "status", method: "GET", path: "/connectors/alpha/status", wantStatus: 200, wantJSON: alphaStatus},
		{name: "status of an unknown connector", method: "GET", path: "/connectors/nope/status", wantStatus: 404, wantError: true},
		{name: "status by POST", method: "POST", path: "/connectors/alpha/status", wantStatus: 405, wantError: true, wantAllow: "GET, HEAD"},
		{name: "pause", method: "PUT", path: "/connectors/alpha/pause", wantStatus: 202, wantActions: []string{"pause alpha"}},
		{name: "pause by GET", method: "GET", path: "/connectors/alpha/pause", wantStatus: 405, wantError: true, wantAllow: "PUT"},
		{name: "pause unknown", method: "PUT", path: "/connectors/nope/pause", wantStatus: 404, wantError: true, wantActions: []string{"pause nope"}},
		{name: "resume a running connector", method: "PUT", path: "/connectors/alpha/resume", wantStatus: 202, wantActions: []string{"resume alpha"}},
		{name: "resume a stopped connector restarts it", method: "PUT", path: "/connectors/beta/resume", wantStatus: 202, wantActions: []string{"restart beta"}},
		{name: "stop", method: "PUT", path: "/connectors/alpha/stop", wantStatus: 202, wantActions: []string{"stop alpha"}},
		{name: "stop still under way after the timeout", method: "PUT", path: "/connectors/alpha/stop", stopErr: context.DeadlineExceeded, wantStatus: 202, wantActions: []string{"stop alpha"}},
		{name: "stop failing", method: "PUT", path: "/connectors/alpha/stop", stopErr: errors.New("boom"), wantStatus: 500, wantError: true, wantActions: []string{"stop alpha"}},
		{name: "restart", method: "POST", path: "/connectors/alpha/restart", wantStatus: 204, wantActions: []string{"restart alpha"}},
		{name: "restart by PUT", method: "PUT", path: "/connectors/alpha/restart", wantStatus: 405, wantError: true, wantAllow: "POST"},
		{name: "restart onlyFailed of a running connector", method: "POST", path: "/connectors/alpha/restart?onlyFailed=true", wantStatus: 202, wantJSON: alphaStatus},
		{name: "restart with a bad boolean", method: "POST", path: "/connectors/alpha/restart?onlyFailed=maybe", wantStatus: 400, wantError: true},
		{name: "restart that cannot stop in time", method: "POST", path: "/connectors/alpha/restart", stopErr: context.DeadlineExceeded, wantStatus: 500, wantError: true, wantActions: []string{"restart alpha"}},
		{name: "offsets", method: "GET", path: "/connectors/beta/offsets", wantStatus: 200, wantJSON: betaOffsets},
		{name: "offsets of an unknown connector", method: "GET", path: "/connectors/nope/offsets", wantStatus: 404, wantError: true},
		{name: "offsets by POST", method: "POST", path: "/connectors/beta/offsets", wantStatus: 405, wantError: true, wantAllow: "DELETE, GET, HEAD, PATCH"},
		{
			name: "patch a running connector", method: "PATCH", path: "/connectors/alpha/offsets",
			body:       `{"offsets":[{"partition":{"server":"0040","report":"diagram_13"},"offset":null}]}`,
			wantStatus: 409, wantJSON: `{"error_code":409,"message":"Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/alpha/stop' endpoint"}`,
		},
		{
			name: "patch sets a position", method: "PATCH", path: "/connectors/beta/offsets",
			body:       `{"offsets":[{"partition":{"report":"chat_3","server":"0041"},"offset":{"version":1,"window_end":"2026-11-19T00:00:00Z"}}]}`,
			wantStatus: 200, wantJSON: `{"message":"The offsets for this connector have been altered successfully"}`,
			wantActions: []string{"set " + chat3Key + " window_end=2026-11-19T00:00:00Z"},
		},
		{
			name: "patch refuses a window_end in the future", method: "PATCH", path: "/connectors/beta/offsets",
			body:       `{"offsets":[{"partition":{"report":"chat_3","server":"0041"},"offset":{"version":1,"window_end":"2026-11-21T00:00:00Z"}}]}`,
			wantStatus: 400, wantError: true,
		},
		{
			name: "patch resets a stored partition no longer configured", method: "PATCH", path: "/connectors/beta/offsets",
			body:       `{"offsets":[{"partition":{"server":"0041","report":"chat_1"},"offset":null}]}`,
			wantStatus: 200, wantActions: []string{"reset " + chat1Key},
			wantJSON: `{"message":"The offsets for this connector have been altered successfully"}`,
		},
		{
			name: "patch refuses a position for a partition not read", method: "PATCH", path: "/connectors/beta/offsets",
			body:       `{"offsets":[{"partition":{"server":"0041","report":"chat_1"},"offset":{"version":1}}]}`,
			wantStatus: 400, wantError: true,
		},
		{
			name: "patch refuses a reset of a partition neither read nor stored", method: "PATCH", path: "/connectors/beta/offsets",
			body:       `{"offsets":[{"partition":{"server":"0041","report":"chat_3","skill_id":"7"},"offset":null}]}`,
			wantStatus: 400, wantError: true,
		},
		{name: "patch with no body", method: "PATCH", path: "/connectors/beta/offsets", wantStatus: 400, wantError: true},
		{name: "patch an unknown connector", method: "PATCH", path: "/connectors/nope/offsets", body: `{"offsets":[]}`, wantStatus: 404, wantError: true},
		{
			name: "patch with a position of another version", method: "PATCH", path: "/connectors/beta/offsets",
			body:       `{"offsets":[{"partition":{"server":"0041","report":"chat_3"},"offset":{"version":2}}]}`,
			wantStatus: 400, wantError: true,
		},
		{name: "delete a running connector's offsets", method: "DELETE", path: "/connectors/alpha/offsets", wantStatus: 409, wantError: true},
		{
			name: "delete resets every stored report", method: "DELETE", path: "/connectors/beta/offsets", wantStatus: 200,
			wantJSON:    `{"message":"The offsets for this connector have been reset successfully"}`,
			wantActions: []string{"reset " + chat3Key, "reset " + chat1Key},
		},
		{name: "healthz", method: "GET", path: "/healthz", wantStatus: 200, wantJSON: `{"status":"ok"}`},
		{name: "readyz", method: "GET", path: "/readyz", wantStatus: 200, wantJSON: `{"status":"ready"}`},
		{name: "unknown path", method: "GET", path: "/connectors/alpha/tasks/0/config", wantStatus: 404, wantError: true},
		{name: "root by DELETE", method: "DELETE", path: "/", wantStatus: 405, wantError: true, wantAllow: "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := newFake()
			fw.stopErr = tt.stopErr
			srv, err := New(fw, Clock(func() time.Time { return fixedNow }), Logger(testLogger()))
			if err != nil {
				t.Fatal(err)
			}
			a := do(t, srv.Handler(), tt.method, tt.path, tt.body, "")
			if a.status != tt.wantStatus {
				t.Fatalf("%s %s: HTTP %d, want %d\n%s", tt.method, tt.path, a.status, tt.wantStatus, a.body)
			}
			if tt.wantJSON != "" {
				jsonEqual(t, a.body, tt.wantJSON)
			}
			if tt.wantError {
				apiError(t, a)
			}
			if len(a.body) > 0 && a.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q, want application/json", a.header.Get("Content-Type"))
			}
			if len(a.body) == 0 && tt.wantJSON != "" {
				t.Errorf("empty body")
			}
			if got := a.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
			if got := fw.Actions(); !slices.Equal(got, tt.wantActions) {
				t.Errorf("worker was asked %q, want %q", got, tt.wantActions)
			}
			if bytes.Contains(a.body, []byte(secretToken)) {
				t.Errorf("the answer contains the Wolkvox token: %s", a.body)
			}
		})
	}
}
