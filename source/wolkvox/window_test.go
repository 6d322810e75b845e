package wolkvox

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/source/simulator"
)

// TestReadOneSecondWindow: a window's ends are both inclusive, whole seconds, so
// Start == End asks for one second; against the simulator over HTTP it returns exactly
// the rows of that second, as a wider window shows them.
func TestReadOneSecondWindow(t *testing.T) {
	bogota, err := time.LoadLocation("America/Bogota")
	if err != nil {
		bogota = time.FixedZone("America/Bogota", -5*3600)
	}
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, bogota) // a Tuesday afternoon: busy
	sim, err := simulator.New(simulator.WithClock(simulator.NewVirtualClock(now)), simulator.Location(bogota),
		simulator.DailyQuota(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := sim.Close(); err != nil {
			t.Error(err)
		}
	})
	c, err := NewClient(Server(simulator.DefaultServer), Token(simulator.DefaultToken), BaseURL(srv.URL), Location(bogota))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	read := func(start, end time.Time) []Row {
		t.Helper()
		rec := &recorder{}
		res, err := c.Read(t.Context(), Request{Report: "diagram_13", Start: start, End: end}, rec)
		if err != nil || res.Capped {
			t.Fatalf("%v..%v: Result %+v, err %v", start, end, res, err)
		}
		return rec.rows
	}
	wide := read(now.Add(-2*time.Hour), now.Add(-time.Hour))
	if len(wide) < 10 {
		t.Fatalf("only %d rows in an hour", len(wide))
	}
	checked := 0
	for _, pick := range []int{0, len(wide) / 2, len(wide) - 1} {
		date, _ := wide[pick].Get("date")
		at, err := time.ParseInLocation("2006-01-02 15:04:05", date, bogota)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range wide {
			if d, _ := r.Get("date"); d == date {
				want = append(want, rowJSON(t, r))
			}
		}
		var got []string
		for _, r := range read(at, at) {
			got = append(got, rowJSON(t, r))
		}
		if !slices.Equal(got, want) {
			t.Errorf("window [%s, %s] answered\n%q\nwant\n%q", date, date, got, want)
		}
		checked += len(got)
	}
	if checked < 3 {
		t.Errorf("%d rows checked", checked)
	}
}

func rowJSON(t *testing.T, r Row) string {
	t.Helper()
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
