package simulator

import (
	"fmt"
	"time"
)

// Faults is a fault plan. Rates are probabilities per call in [0,1], drawn from the seed
// and the call's sequence number, so a given seed injects the same faults into the same
// sequence of calls. At most one fault of the rate-driven kinds hits a call; they are
// tried in field order. Injected faults happen after the call was authenticated and
// charged to the quota and while it holds an in-flight slot, like a real server that
// fails while working; maintenance windows are the exception (see Maintenance).
type Faults struct {
	// Status500, Status502 and Status503 answer with that status and a JSON error body.
	Status500 float64 `json:"status_500,omitempty"`
	Status502 float64 `json:"status_502,omitempty"`
	Status503 float64 `json:"status_503,omitempty"`
	// Forbidden answers 403 with a message the documentation does not list; a client must
	// treat it as transient.
	Forbidden float64 `json:"forbidden,omitempty"`
	// MaintenanceRate answers 403 the way maintenance does (see Maintenance), at random.
	MaintenanceRate float64 `json:"maintenance_rate,omitempty"`
	// HTML200 and HTML500 answer with an HTML error page, with status 200 and 500.
	HTML200 float64 `json:"html_200,omitempty"`
	HTML500 float64 `json:"html_500,omitempty"`
	// Truncate sends a successful answer cut in the middle of its JSON: half the time with a
	// correct Content-Length (the connection then breaks: unexpected EOF), half the time
	// as a complete HTTP response whose JSON is incomplete.
	Truncate float64 `json:"truncate,omitempty"`
	// Hang makes the call wait until the client gives up (or the server closes), holding
	// its in-flight slot meanwhile: a call slower than any client timeout.
	Hang float64 `json:"hang,omitempty"`
	// Latency is real time added to every call before it answers.
	Latency time.Duration `json:"latency,omitempty"`
	// RetryAfter, when positive, is sent as a Retry-After header (whole seconds) on every
	// injected 403, 5xx and HTML 500.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// Maintenance lists virtual-time windows during which every call, authenticated or
	// not, answers HTTP 403 with the maintenance body and costs nothing (the server is
	// down before it can count).
	Maintenance []Window `json:"maintenance,omitempty"`
}

func (f *Faults) validate() error {
	rates := []float64{f.Status500, f.Status502, f.Status503, f.Forbidden, f.MaintenanceRate, f.HTML200, f.HTML500, f.Truncate, f.Hang}
	sum := 0.0
	for _, r := range rates {
		if r < 0 || r > 1 {
			return fmt.Errorf("%w: fault rate %v is outside [0,1]", ErrInvalidConfig, r)
		}
		sum += r
	}
	if sum > 1 {
		return fmt.Errorf("%w: fault rates add up to %v, more than 1", ErrInvalidConfig, sum)
	}
	if f.Latency < 0 || f.RetryAfter < 0 {
		return fmt.Errorf("%w: negative latency or retry-after", ErrInvalidConfig)
	}
	for _, w := range f.Maintenance {
		if !w.To.After(w.From) {
			return fmt.Errorf("%w: maintenance window %s..%s is empty", ErrInvalidConfig, w.From, w.To)
		}
	}
	return nil
}

// fault is what the plan decided for one call.
type fault int

const (
	faultNone fault = iota
	fault500
	fault502
	fault503
	faultForbidden
	faultMaintenance
	faultHTML200
	faultHTML500
	faultTruncate
	faultHang
)

// decide picks the fault for call number seq.
func (f *Faults) decide(seed int64, seq uint64) fault {
	u := unit(hash(uint64(seed), 0xfa017, seq))
	for i, r := range []float64{f.Status500, f.Status502, f.Status503, f.Forbidden, f.MaintenanceRate, f.HTML200, f.HTML500, f.Truncate, f.Hang} {
		if u < r {
			return fault(i + 1)
		}
		u -= r
	}
	return faultNone
}

func (f *Faults) inMaintenance(now time.Time) bool {
	for _, w := range f.Maintenance {
		if w.contains(now) {
			return true
		}
	}
	return false
}
