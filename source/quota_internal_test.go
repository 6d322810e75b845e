package source

import (
	"testing"
	"time"
)

func TestQuotaPacesAndResets(t *testing.T) {
	loc := time.FixedZone("Bogota", -5*3600)
	q, err := NewQuota(240, 0, loc) // 10 calls an hour; two hours (20 calls) may be spent ahead
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	tests := []struct {
		name      string
		at        time.Time
		calls     int // calls attempted at that instant
		wantTaken int
		wantSpent bool
		wantUntil time.Time // when the last refused call may be made
	}{
		{"two hours ahead at midnight", day, 25, 20, false, day.Add(6 * time.Minute)},
		{"an hour later, six more", day.Add(time.Hour), 15, 10, false, day.Add(time.Hour + 6*time.Minute)},
		{"late in the day, the rest", day.Add(23 * time.Hour), 300, 210, true, day.AddDate(0, 0, 1)},
		{"after the reset, fresh", day.AddDate(0, 0, 1), 5, 5, false, time.Time{}},
	}
	for _, tt := range tests {
		taken := 0
		var until time.Time
		var spent bool
		for range tt.calls {
			u, s, ok := q.Take(tt.at)
			if ok {
				taken++
				continue
			}
			until, spent = u, s
		}
		if taken != tt.wantTaken || spent != tt.wantSpent || !until.Equal(tt.wantUntil) {
			t.Errorf("%s: took %d (spent %v, until %s), want %d (spent %v, until %s)", tt.name, taken, spent, until, tt.wantTaken, tt.wantSpent, tt.wantUntil)
		}
	}
	if used, budget := q.Usage(day.AddDate(0, 0, 1)); used != 5 || budget != 240 {
		t.Errorf("Usage = %d of %d, want 5 of 240", used, budget)
	}
	q.Exhausted(day.AddDate(0, 0, 1).Add(time.Hour))
	if _, spent, ok := q.Take(day.AddDate(0, 0, 1).Add(2 * time.Hour)); ok || !spent {
		t.Errorf("after the API said the quota is spent, Take = ok %v spent %v", ok, spent)
	}
}

// TestTakeUnpacedSpendsAheadNeverOver: a call that cannot wait (a transaction is open)
// is taken ahead of the pace line, counted so that paced calls wait for it, and refused
// only when the day's budget is spent or the API said so.
func TestTakeUnpacedSpendsAheadNeverOver(t *testing.T) {
	loc := time.FixedZone("Bogota", -5*3600)
	q, err := NewQuota(240, 0, loc)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	for range 20 { // the pace line's two hours ahead
		if _, _, ok := q.Take(day); !ok {
			t.Fatal("paced Take refused within the allowance")
		}
	}
	if _, spent, ok := q.Take(day); ok || spent {
		t.Fatalf("paced Take: ok %v spent %v, want a pace wait", ok, spent)
	}
	for i := range 220 {
		if _, ok := q.TakeUnpaced(day); !ok {
			t.Fatalf("TakeUnpaced refused call %d of the day's remaining 220", i+1)
		}
	}
	if until, ok := q.TakeUnpaced(day); ok || !until.Equal(day.AddDate(0, 0, 1)) {
		t.Fatalf("TakeUnpaced past the budget: ok %v until %s, want refused until the reset", ok, until)
	}
	if used, _ := q.Usage(day); used != 240 {
		t.Errorf("used %d, want the whole budget of 240", used)
	}
	next := day.AddDate(0, 0, 1)
	q.Exhausted(next)
	if _, ok := q.TakeUnpaced(next.Add(time.Hour)); ok {
		t.Error("TakeUnpaced after the API said the quota is spent")
	}
}
