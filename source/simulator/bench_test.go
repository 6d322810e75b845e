package simulator

import (
	"net/url"
	"testing"
	"time"
)

// BenchmarkDetailDay measures answering one day of a 24-field detail report (chat_1).
func BenchmarkDetailDay(b *testing.B) {
	s, err := New(WithClock(NewVirtualClock(t0)))
	if err != nil {
		b.Fatal(err)
	}
	q := url.Values{"api": {"chat_1"}, "date_ini": {"20260309000000"}, "date_end": {"20260309235959"}}
	b.ReportAllocs()
	for b.Loop() {
		a := s.report(q, t0)
		b.SetBytes(int64(len(a.body)))
	}
}

// BenchmarkAggregateMonth measures a 31-day range aggregate (agent_1).
func BenchmarkAggregateMonth(b *testing.B) {
	s, err := New(WithClock(NewVirtualClock(t0)))
	if err != nil {
		b.Fatal(err)
	}
	from := t0.AddDate(0, 0, -31).Format(dateLayout)
	q := url.Values{"api": {"agent_1"}, "date_ini": {from}, "date_end": {t0.Add(-time.Second).Format(dateLayout)}}
	b.ReportAllocs()
	for b.Loop() {
		s.report(q, t0)
	}
}
