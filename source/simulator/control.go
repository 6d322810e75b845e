package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// The control API lets a test or a person steer a running simulator; see the package
// documentation for the endpoints. It needs no token and costs no quota.

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // the client may be gone
}

func controlError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// readControl decodes a control request body strictly, up to 1 MiB.
func readControl(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		controlError(w, http.StatusMethodNotAllowed, errors.New("GET only"))
		return
	}
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		var f Faults
		if err := readControl(r, &f); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetFaults(f); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		s.log.Info("faults set", "faults", f)
	default:
		controlError(w, http.StatusMethodNotAllowed, errors.New("GET or POST only"))
		return
	}
	writeJSON(w, http.StatusOK, s.Faults())
}

// clockRequest moves a VirtualClock: Set first, then Advance, then Speed.
type clockRequest struct {
	Set     *time.Time `json:"set,omitempty"`
	Advance string     `json:"advance,omitempty"` // a Go duration: "5m", "1h30m"
	Speed   *float64   `json:"speed,omitempty"`
}

type clockState struct {
	Now     time.Time `json:"now"`
	Local   string    `json:"local"`
	Speed   float64   `json:"speed"`
	Virtual bool      `json:"virtual"`
}

func (s *Server) serveClock(w http.ResponseWriter, r *http.Request) {
	vc, virtual := s.clock.(*VirtualClock)
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		if !virtual {
			controlError(w, http.StatusConflict, errors.New("the clock is the wall clock"))
			return
		}
		var req clockRequest
		if err := readControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		var adv time.Duration
		if req.Advance != "" {
			d, err := time.ParseDuration(req.Advance)
			if err != nil || d < 0 {
				controlError(w, http.StatusBadRequest, fmt.Errorf("%w: advance %q", ErrInvalidConfig, req.Advance))
				return
			}
			adv = d
		}
		if req.Set != nil {
			vc.Set(*req.Set)
		}
		vc.Advance(adv)
		if req.Speed != nil {
			vc.SetSpeed(*req.Speed)
		}
	default:
		controlError(w, http.StatusMethodNotAllowed, errors.New("GET or POST only"))
		return
	}
	now := s.clock.Now()
	st := clockState{Now: now, Local: now.In(s.loc).Format("2006-01-02 15:04:05"), Virtual: virtual, Speed: 1}
	if virtual {
		st.Speed = vc.Speed()
	}
	writeJSON(w, http.StatusOK, st)
}

// serveTruth answers GET /_sim/truth?api=…&from=…&to=…[&as_of=…][&bucket=1h][&param=…]
// with from, to and as_of as YYYYmmddHHiiss in the operation's zone (as_of defaults to
// now).
func (s *Server) serveTruth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tq := TruthQuery{Report: q.Get("api"), Params: url.Values{}, AsOf: s.clock.Now()}
	var err error
	if tq.From, err = parseDate(q.Get("from"), s.loc); err != nil {
		controlError(w, http.StatusBadRequest, fmt.Errorf("%w: %w", ErrBadQuery, err))
		return
	}
	if tq.To, err = parseDate(q.Get("to"), s.loc); err != nil {
		controlError(w, http.StatusBadRequest, fmt.Errorf("%w: %w", ErrBadQuery, err))
		return
	}
	if v := q.Get("as_of"); v != "" {
		if tq.AsOf, err = parseDate(v, s.loc); err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("%w: %w", ErrBadQuery, err))
			return
		}
	}
	if v := q.Get("bucket"); v != "" {
		if tq.Bucket, err = time.ParseDuration(v); err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("%w: %w", ErrBadQuery, err))
			return
		}
	}
	for k, vs := range q {
		switch k {
		case "api", "from", "to", "as_of", "bucket":
		default:
			tq.Params[k] = vs
		}
	}
	rows, err := s.Truth(tq)
	switch {
	case errors.Is(err, ErrUnknownReport):
		controlError(w, http.StatusNotFound, err)
	case err != nil:
		controlError(w, http.StatusBadRequest, err)
	default:
		writeJSON(w, http.StatusOK, rows)
	}
}
