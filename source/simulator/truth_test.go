package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// TestTruthMatchesAPI: for detail reports, a read of a settled window returns exactly
// the latest truth rows; a consumer polling every 5 minutes with a lookback collects
// every truth identity; aggregates read bucket by bucket equal the truth.
func TestTruthMatchesAPI(t *testing.T) {
	h := newHarness(t, Edits(0.2, 10*time.Minute))
	from, to := t0.Add(-2*time.Hour), t0.Add(-time.Hour)
	for _, api := range []string{"cdr_1", "diagram_13", "chat_2", "campaign_9", "agent_10"} {
		t.Run(api, func(t *testing.T) {
			rep, _ := catalog.Lookup(api)
			params := paramsFor(rep)
			truth := latest(h.truth(TruthQuery{Report: api, Params: values(params), From: from, To: to, AsOf: t0}))
			rows := orderedRows(t, decodeEnvelope(t, h.report(api, from, to.Add(-time.Second), params...).body).Data, rep.NestedField)
			if len(rows) != len(truth) {
				t.Fatalf("%d rows served, %d in truth", len(rows), len(truth))
			}
			served := map[string]bool{}
			for _, r := range rows {
				served[rowString(r)] = true
			}
			for _, tr := range truth {
				if !served[rowString(tr.Row)] {
					t.Fatalf("truth row not served: %s", rowString(tr.Row))
				}
			}
		})
	}
}

// TestTruthVersions: a consumer that polls a sliding window every 5 minutes sees every
// identity, and the latest version of each; truth versions are ordered in time.
func TestTruthVersions(t *testing.T) {
	h := newHarness(t, LateRows(0.3, 10*time.Minute), Edits(0.5, 5*time.Minute))
	start := t0
	seen := map[string]string{} // identity → last row seen
	for now := start.Add(5 * time.Minute); now.Before(start.Add(2 * time.Hour)); now = now.Add(5 * time.Minute) {
		h.clock.Set(now)
		lo := now.Add(-time.Hour) // one hour of lookback
		if lo.Before(start) {
			lo = start
		}
		rows := orderedRows(t, decodeEnvelope(t, h.report("act_3", lo, now, "cod_act", "x").body).Data, "")
		for _, r := range rows {
			id, _ := r.Get("conn_id")
			seen[`["`+id+`"]`] = rowString(r)
		}
	}
	asOf := start.Add(2*time.Hour - 5*time.Minute)
	all := h.truth(TruthQuery{Report: "act_3", Params: url.Values{"cod_act": {"x"}}, From: start, To: asOf.Add(-time.Hour), AsOf: asOf})
	var edited int
	for _, tr := range all {
		if tr.Version > 0 {
			edited++
		}
		if !tr.Latest() && !tr.SupersededAt.After(tr.At) {
			t.Fatalf("version %d of %s superseded at %s, before it appeared at %s", tr.Version, tr.Identity, tr.SupersededAt, tr.At)
		}
		if got, ok := seen[tr.Identity]; !ok {
			t.Fatalf("identity %s never served", tr.Identity)
		} else if tr.Latest() && got != rowString(tr.Row) {
			t.Fatalf("latest version of %s:\n served %s\n truth  %s", tr.Identity, got, rowString(tr.Row))
		}
	}
	if edited == 0 {
		t.Error("no edited rows in truth")
	}
}

// TestAggregateTruth: a closed bucket read once settled equals the truth, and it
// changes while it fills.
func TestAggregateTruth(t *testing.T) {
	h := newHarness(t, LateRows(0.5, 10*time.Minute))
	bucket := t0.Add(-2 * time.Hour)
	for _, tc := range []struct {
		api    string
		bucket time.Duration
	}{{"chat_3", time.Hour}, {"agent_8", time.Hour}, {"skill_4_2", 10 * time.Minute}, {"cdr_4", 30 * time.Minute}} {
		t.Run(tc.api, func(t *testing.T) {
			rep, _ := catalog.Lookup(tc.api)
			params := paramsFor(rep)
			end := bucket.Add(tc.bucket)
			truth := h.truth(TruthQuery{Report: tc.api, Params: values(params), From: bucket, To: end, AsOf: t0, Bucket: tc.bucket})
			if len(truth) == 0 {
				t.Fatal("no truth rows")
			}
			rows := orderedRows(t, decodeEnvelope(t, h.report(tc.api, bucket, end.Add(-time.Second), params...).body).Data, rep.NestedField)
			got, want := make([]string, len(rows)), make([]string, len(truth))
			for i, r := range rows {
				got[i] = rowString(r)
			}
			for i, r := range truth {
				want[i] = rowString(r.Row)
				if !r.At.Equal(end.Add(10 * time.Minute)) {
					t.Errorf("settled at %s, want %s", r.At, end.Add(10*time.Minute))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("served\n%s\ntruth\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// While the bucket was filling, the same read answered something else.
			h.clock.Set(end.Add(time.Minute))
			if filling := h.report(tc.api, bucket, end.Add(-time.Second), params...).body; bytes.Contains(filling, []byte(want[0])) && len(rows) > 1 {
				t.Errorf("the bucket was already final a minute after its end")
			}
			h.clock.Set(t0)
		})
	}
	if _, err := h.srv.Truth(TruthQuery{Report: "chat_3", From: bucket, To: t0, AsOf: t0, Bucket: 7 * time.Minute}); !errors.Is(err, ErrBadQuery) {
		t.Errorf("a 7 minute bucket: %v", err)
	}
	if _, err := h.srv.Truth(TruthQuery{Report: "nope", From: bucket, To: t0, AsOf: t0}); !errors.Is(err, ErrUnknownReport) {
		t.Errorf("unknown report: %v", err)
	}
}

func values(kv []string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestControlAPI drives faults, the clock, stats and truth over HTTP.
func TestControlAPI(t *testing.T) {
	h := newHarness(t)
	post := func(path, body string) (int, []byte) {
		resp, err := http.Post(h.url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(t, resp)
	}
	get := func(path string) (int, []byte) {
		resp, err := http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(t, resp)
	}
	if st, b := post("/_sim/faults", `{"status_503": 1, "retry_after": 2000000000}`); st != 200 {
		t.Fatalf("post faults: %d %s", st, b)
	}
	if r := h.report("chat_1", t0.Add(-time.Hour), t0); r.status != 503 || r.header.Get("Retry-After") != "2" {
		t.Errorf("after posting faults: %d %q", r.status, r.header.Get("Retry-After"))
	}
	if st, _ := post("/_sim/faults", `{"status_503": 2}`); st != 400 {
		t.Errorf("a rate of 2 was accepted: %d", st)
	}
	if st, _ := post("/_sim/faults", `{"bogus": 1}`); st != 400 {
		t.Errorf("an unknown field was accepted: %d", st)
	}
	if st, _ := post("/_sim/faults", `{}`); st != 200 {
		t.Errorf("clearing faults: %d", st)
	}
	if st, b := post("/_sim/clock", `{"advance": "90m"}`); st != 200 || !h.clock.Now().Equal(t0.Add(90*time.Minute)) {
		t.Errorf("advance: %d %s, now %s", st, b, h.clock.Now())
	}
	st, b := get("/_sim/stats")
	var stats Stats
	if err := json.Unmarshal(b, &stats); st != 200 || err != nil {
		t.Fatalf("stats: %d %v", st, err)
	}
	if ts := stats.Tokens[DefaultToken]; ts.Calls != 1 || ts.ByStatus[503] != 1 {
		t.Errorf("stats over HTTP: %+v", ts)
	}
	st, b = get("/_sim/truth?api=chat_3&from=20260310130000&to=20260310140000&bucket=30m")
	var rows []TruthRow
	if err := json.Unmarshal(b, &rows); st != 200 || err != nil || len(rows) == 0 {
		t.Errorf("truth: %d %v %.200s", st, err, b)
	}
	if st, _ := get("/_sim/truth?api=nope&from=20260310130000&to=20260310140000"); st != 404 {
		t.Errorf("truth of an unknown report: %d", st)
	}
	if st, _ := get("/_sim/truth?api=chat_3&from=yesterday&to=20260310140000"); st != 400 {
		t.Errorf("truth with a bad date: %d", st)
	}
}

// TestControlClockNeedsVirtual: the wall clock cannot be moved.
func TestControlClockNeedsVirtual(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.URL()+"/_sim/clock", "application/json", strings.NewReader(`{"advance":"1h"}`))
	if err != nil {
		t.Fatal(err)
	}
	if readAll(t, resp); resp.StatusCode != http.StatusConflict {
		t.Errorf("status %d", resp.StatusCode)
	}
}
