package simulator

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"
)

// FuzzParseDate: parseDate accepts exactly the fourteen-digit dates that name a real
// instant, and formats them back to the same text.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"20260310150000", "2026031015000", "20260231000000", "2026-03-10 15:00", "", "99999999999999", "20261310000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseDate(s, bogota)
		if err != nil {
			return
		}
		if got := tm.In(bogota).Format(dateLayout); got != s {
			t.Fatalf("parseDate(%q) = %s, formats back as %q", s, tm, got)
		}
	})
}

// FuzzReportQuery: whatever the query string, the API answers one of its documented
// statuses with a JSON body whose code equals the status, and never panics.
func FuzzReportQuery(f *testing.F) {
	for _, q := range []string{
		"api=chat_1&date_ini=20260310080000&date_end=20260310090000",
		"api=agent_2&agent_id=1003&date_ini=20260310080000&date_end=20260310090000",
		"api=skill_1&skill_id=all&services_time=45&date_ini=20260301000000&date_end=20260310000000",
		"api=cdr_4&date_ini=20260310090000&date_end=20260310080000",
		"api=skill_5&skill_id=11&date_ini=20260309000000&date_end=20260310000001",
		"api=%00&date_ini=&date_end=",
	} {
		f.Add(q)
	}
	clk := NewVirtualClock(t0)
	s, err := New(WithClock(clk), DailyQuota(1<<30))
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		// Keep fuzzed windows short: a month of rows per input would make fuzzing slow
		// without exercising anything new.
		if from, err := parseDate(q.Get("date_ini"), bogota); err == nil {
			if to, err := parseDate(q.Get("date_end"), bogota); err == nil && to.Sub(from) > 6*time.Hour {
				return
			}
		}
		req := httptest.NewRequest(http.MethodGet, ReportsPath+"?"+q.Encode(), nil)
		req.Header.Set("wolkvox-token", DefaultToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !slices.Contains([]int{200, 400, 404}, rec.Code) {
			t.Fatalf("status %d for %q", rec.Code, raw)
		}
		e := decodeEnvelope(t, rec.Body.Bytes())
		if codeOf(e.Code) != rec.Code {
			t.Fatalf("code %v, status %d", e.Code, rec.Code)
		}
	})
}
