package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bogota = func() *time.Location {
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		return time.FixedZone("America/Bogota", -5*3600)
	}
	return loc
}()

// t0 is a Tuesday afternoon in Bogota: business hours, full rate.
var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, bogota)

type harness struct {
	t     *testing.T
	srv   *Server
	clock *VirtualClock
	url   string
}

// newHarness starts a simulator on a virtual clock at t0 behind httptest.
func newHarness(t *testing.T, opts ...Opt) *harness {
	t.Helper()
	clk := NewVirtualClock(t0)
	s, err := New(append([]Opt{WithClock(clk), DailyQuota(1_000_000)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		hs.Close()
	})
	return &harness{t: t, srv: s, clock: clk, url: hs.URL}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// call makes one API call with token (none when empty) and the query given as
// alternating key, value strings.
func (h *harness) call(ctx context.Context, path, token string, kv ...string) (response, error) {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url+path+"?"+q.Encode(), nil)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("wolkvox-token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// report calls reports_manager.php with the default token.
func (h *harness) report(api string, from, to time.Time, kv ...string) response {
	h.t.Helper()
	args := append([]string{"api", api, "date_ini", from.In(bogota).Format(dateLayout), "date_end", to.In(bogota).Format(dateLayout)}, kv...)
	r, err := h.call(context.Background(), ReportsPath, DefaultToken, args...)
	if err != nil {
		h.t.Fatalf("call %s: %v", api, err)
	}
	return r
}

// envelopeOf decodes a success or error body.
type envelopeOf struct {
	Code  any             `json:"code"`
	Error any             `json:"error"`
	Msg   string          `json:"msg"`
	Data  json.RawMessage `json:"data"`
}

func decodeEnvelope(t *testing.T, b []byte) envelopeOf {
	t.Helper()
	var e envelopeOf
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("body is not JSON: %v: %.200s", err, b)
	}
	return e
}

// orderedRows flattens a data member into rows with keys in order, the way the
// connector's decoder does: objects of an array, members of an object (cdr_4, member
// name under "bucket"), nested arrays expanded with the parent's fields first.
func orderedRows(t *testing.T, data []byte, nestedField string) []Row {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var rows []Row
	tok := mustToken(t, dec)
	switch tok {
	case json.Delim('['):
		for dec.More() {
			parent, nested := readObject(t, dec, nestedField)
			if nested == nil {
				rows = append(rows, parent)
				continue
			}
			for _, n := range nested {
				rows = append(rows, append(append(Row{}, parent...), n...))
			}
		}
	case json.Delim('{'):
		for dec.More() {
			name := mustToken(t, dec).(string)
			obj, _ := readObject(t, dec, "")
			rows = append(rows, append(Row{{Key: "bucket", Value: name}}, obj...))
		}
	default:
		t.Fatalf("data starts with %v", tok)
	}
	return rows
}

func mustToken(t *testing.T, dec *json.Decoder) json.Token {
	t.Helper()
	tok, err := dec.Token()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok
}

func readObject(t *testing.T, dec *json.Decoder, nestedField string) (Row, []Row) {
	t.Helper()
	if d := mustToken(t, dec); d != json.Delim('{') {
		t.Fatalf("expected object, got %v", d)
	}
	var row Row
	var nested []Row
	for dec.More() {
		key := mustToken(t, dec).(string)
		if key == nestedField && nestedField != "" {
			mustToken(t, dec) // [
			nested = []Row{}
			for dec.More() {
				n, _ := readObject(t, dec, "")
				nested = append(nested, n)
			}
			mustToken(t, dec) // ]
			continue
		}
		switch v := mustToken(t, dec).(type) {
		case string:
			row = append(row, Cell{Key: key, Value: v})
		case json.Number:
			row = append(row, Cell{Key: key, Value: v.String(), Number: true})
		case nil:
			row = append(row, Cell{Key: key, Null: true})
		default:
			t.Fatalf("key %q: unexpected value %v", key, v)
		}
	}
	mustToken(t, dec) // }
	return row, nested
}

func keysOf(r Row) []string {
	k := make([]string, len(r))
	for i, c := range r {
		k[i] = c.Key
	}
	return k
}

func rowString(r Row) string {
	b, _ := json.Marshal(r) // Row of plain cells always marshals
	return string(b)
}

func (h *harness) truth(q TruthQuery) []TruthRow {
	h.t.Helper()
	rows, err := h.srv.Truth(q)
	if err != nil {
		h.t.Fatalf("Truth: %v", err)
	}
	return rows
}

func queryOf(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b
}

// codeOf reads code whether it came as a number or a string.
func codeOf(v any) int {
	switch c := v.(type) {
	case float64:
		return int(c)
	case string:
		n, err := strconv.Atoi(c)
		if err != nil {
			return -1
		}
		return n
	}
	return -1
}

// latest keeps the current version of every truth row.
func latest(rows []TruthRow) []TruthRow {
	return slices.DeleteFunc(slices.Clone(rows), func(r TruthRow) bool { return !r.Latest() })
}
