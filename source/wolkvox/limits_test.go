package wolkvox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rowsBody builds a 200 body: head is everything before the rows (without the opening
// brace), rows are the data elements, tail follows data (without the closing brace).
func rowsBody(head string, rows []string, tail string) string {
	var b strings.Builder
	b.WriteString("{")
	if head != "" {
		b.WriteString(head + ",")
	}
	b.WriteString(`"data":[` + strings.Join(rows, ",") + "]")
	if tail != "" {
		b.WriteString("," + tail)
	}
	b.WriteString("}")
	return b.String()
}

// flatRows returns n small distinct rows.
func flatRows(n int) []string {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"conn_id":"c.%d","agent_id":"1045"}`, i)
	}
	return rows
}

const ok200 = `"code":"200","error":null`

func msgHead(msg string) string { return ok200 + `,"msg":` + fmt.Sprintf("%q", msg) }

// endless streams a 200 body whose data never ends: row after row, each from rowFn,
// until the client goes away. It counts the rows it wrote.
type endless struct {
	head  string
	rowFn func(i int) string
	mu    sync.Mutex
	wrote int
}

func (e *endless) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if _, err := io.WriteString(w, "{"+e.head+`,"data":[`); err != nil {
		return
	}
	for i := 0; r.Context().Err() == nil; i++ {
		sep := ","
		if i == 0 {
			sep = ""
		}
		if _, err := io.WriteString(w, sep+e.rowFn(i)); err != nil {
			return
		}
		e.mu.Lock()
		e.wrote++
		e.mu.Unlock()
	}
}

// oversizeRecorder is a recorder that takes oversize rows.
type oversizeRecorder struct {
	recorder
	over []OversizeRow
	err  error // returned by Oversize when set
}

func (r *oversizeRecorder) Oversize(o OversizeRow) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.over = append(r.over, o)
	return nil
}

func (r *oversizeRecorder) Reset() error {
	err := r.recorder.Reset()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.over = nil
	return err
}

var _ OversizeHandler = (*oversizeRecorder)(nil)

// TestReadRowCap: a body of more rows than the cap is read only up to cap+1 rows; at
// the cap, or with a msg stating more than the cap, the result is Capped.
func TestReadRowCap(t *testing.T) {
	const rowCap = 5
	tests := []struct {
		name       string
		body       string
		wantRows   int
		wantCapped bool
		wantStated int
		wantErr    error
	}{
		{name: "under the cap", body: rowsBody(msgHead("4 records were found"), flatRows(4), ""), wantRows: 4, wantStated: 4},
		{name: "exactly the cap", body: rowsBody(msgHead("5 records were found"), flatRows(5), ""), wantRows: 5, wantCapped: true, wantStated: 5},
		{name: "over the cap", body: rowsBody(msgHead("50 records were found"), flatRows(50), ""), wantRows: rowCap + 1, wantCapped: true, wantStated: 50},
		{name: "msg states more than the cap", body: rowsBody(msgHead("61000 records were found"), flatRows(3), ""), wantRows: 3, wantCapped: true, wantStated: 61000},
		{name: "over the cap, data before code", body: rowsBody("", flatRows(50), msgHead("50 records were found")), wantRows: rowCap + 1, wantCapped: true, wantStated: 50},
		{name: "over the cap, error code after data", body: rowsBody("", flatRows(50), `"code":403,"error":"FORBIDDEN","msg":"TOKEN LIMIT EXCEEDED"`), wantErr: ErrQuotaExhausted},
		{name: "over the cap, error code before data", body: rowsBody(`"code":403,"error":"FORBIDDEN","msg":"TOKEN LIMIT EXCEEDED"`, flatRows(50), ""), wantErr: ErrQuotaExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []response{{status: 200, body: tt.body}}, RowCap(rowCap))
			res, rec, err := h.read(t, act3)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || len(rec.rows) != 0 || rec.resets != 1 {
					t.Fatalf("err = %v, %d rows kept, %d resets; want %v, rows Reset", err, len(rec.rows), rec.resets, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != tt.wantRows || len(rec.rows) != tt.wantRows || res.Capped != tt.wantCapped || res.Stated != tt.wantStated {
				t.Errorf("Result %+v with %d rows kept; want %d rows, Capped %v, Stated %d", res, len(rec.rows), tt.wantRows, tt.wantCapped, tt.wantStated)
			}
			if h.calls[0].Stated != tt.wantStated {
				t.Errorf("Call.Stated = %d, want %d", h.calls[0].Stated, tt.wantStated)
			}
		})
	}
}

// TestReadEndlessBodyStopsAtCap: an endless 200 body ends the read at cap+1 rows, Capped,
// instead of growing without end.
func TestReadEndlessBodyStopsAtCap(t *testing.T) {
	rowCap := MaxRows
	if raceEnabled || testing.Short() {
		rowCap = 2000
	}
	srv := &endless{head: msgHead("records were found"), rowFn: func(i int) string {
		return fmt.Sprintf(`{"conn_id":"12462.0277.1782402643.%d","agent_id":"1045","comments":"%s"}`, i, strings.Repeat("x", 100))
	}}
	h := newHarness(t, []response{{handler: srv.ServeHTTP}}, RowCap(rowCap), CallTimeout(time.Minute))
	done := make(chan struct{})
	var (
		res Result
		rec *recorder
		err error
	)
	go func() {
		defer close(done)
		res, rec, err = h.read(t, act3)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Read did not stop on an endless body")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !res.Capped || res.Rows != rowCap+1 || len(rec.rows) != rowCap+1 || res.Calls != 1 || res.Stated != -1 {
		t.Fatalf("Result %+v with %d rows kept; want Capped, %d rows, 1 call, Stated -1", res, len(rec.rows), rowCap+1)
	}
}

// TestReadMaxBodyBytes: a 200 body past MaxBodyBytes fails as transient with
// ErrBodyTooLarge and its rows are Reset; one of exactly MaxBodyBytes is read.
func TestReadMaxBodyBytes(t *testing.T) {
	body := rowsBody(msgHead("40 records were found"), flatRows(40), "")
	tests := []struct {
		name    string
		max     int64
		wantErr bool
	}{
		{name: "one byte over", max: int64(len(body)) - 1, wantErr: true},
		{name: "far over", max: 100, wantErr: true},
		{name: "exactly at the limit", max: int64(len(body))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []response{{status: 200, body: body}}, MaxBodyBytes(tt.max),
				Backoff(time.Millisecond, time.Millisecond, time.Nanosecond))
			res, rec, err := h.read(t, act3)
			if !tt.wantErr {
				if err != nil || res.Rows != 40 {
					t.Fatalf("Result %+v, err %v; want 40 rows", res, err)
				}
				return
			}
			var re *ResponseError
			if !errors.Is(err, ErrBodyTooLarge) || !errors.Is(err, ErrTransient) || !errors.As(err, &re) || re.Class != ClassTransient {
				t.Fatalf("err = %v, want a transient *ResponseError wrapping ErrBodyTooLarge", err)
			}
			if len(rec.rows) != 0 || (h.calls[0].Rows > 0) != (rec.resets > 0) {
				t.Errorf("%d rows kept, %d resets after %d rows handed on", len(rec.rows), rec.resets, h.calls[0].Rows)
			}
		})
	}
	t.Run("retried", func(t *testing.T) {
		big := rowsBody(msgHead("4000 records were found"), flatRows(4000), "")
		h := newHarness(t, []response{{status: 200, body: big}, {status: 200, body: body}}, MaxBodyBytes(int64(len(body))))
		res, rec, err := h.read(t, act3)
		if err != nil || res.Rows != 40 || len(rec.rows) != 40 || res.Calls != 2 || rec.resets != 1 {
			t.Fatalf("Result %+v, %d rows kept, %d resets, err %v; want the retry's 40 rows after one Reset", res, len(rec.rows), rec.resets, err)
		}
		if c := h.calls[0]; c.Class != ClassTransient || !errors.Is(c.Err, ErrBodyTooLarge) {
			t.Errorf("first call %+v, want transient ErrBodyTooLarge", c)
		}
	})
}

// TestReadOversizeRow: a row over MaxRowBytes goes to an OversizeHandler, with the start
// of its text and its size, and the read goes on; without one the attempt fails.
func TestReadOversizeRow(t *testing.T) {
	const maxRow = 1 << 10
	huge := fmt.Sprintf(`{"conn_id":"c.big","comments":"%s","agent_id":"1"}`, strings.Repeat("y", 200<<10))
	slightly := fmt.Sprintf(`{"conn_id":"c.big","comments":"%s"}`, strings.Repeat("z", maxRow)) // detected when it closes
	manyCells := "{" + strings.Repeat(`"k":"v",`, 300) + `"last":"1"}`                          // no long token
	nested := fmt.Sprintf(`{"agent_name":"A","status_x_hour":[{"hour":"08:00","x":"%s"},{"hour":"09:00"}]}`, strings.Repeat("n", 4<<10))
	rows := func(mid string) []string { return []string{flatRows(2)[0], mid, flatRows(2)[1]} }
	tests := []struct {
		name     string
		body     string
		oversize string // the row that must come out as oversize
		rowCap   int
	}{
		{name: "long string", body: rowsBody(msgHead("3 records were found"), rows(huge), ""), oversize: huge},
		{name: "just over, read whole", body: rowsBody(msgHead("3 records were found"), rows(slightly), ""), oversize: slightly},
		{name: "many short cells", body: rowsBody(msgHead("3 records were found"), rows(manyCells), ""), oversize: manyCells},
		{name: "nested parent", body: rowsBody(msgHead("3 records were found"), rows(nested), ""), oversize: nested},
		{name: "escapes and brackets in strings", body: rowsBody(msgHead("3 records were found"),
			rows(`{"a":"`+strings.Repeat(`\"}]{[\\`, 8000)+`","b":[{"c":"}"}]}`), ""), oversize: `{"a":"` + strings.Repeat(`\"}]{[\\`, 8000) + `","b":[{"c":"}"}]}`},
		{name: "single-row object data", body: `{` + msgHead("1 records were found") + `,"data":` + huge + `}`, oversize: huge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []response{{status: 200, body: tt.body}}, MaxRowBytes(maxRow))
			rec := &oversizeRecorder{}
			res, err := h.client.Read(t.Context(), act3, rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.over) != 1 || res.Oversize != 1 || res.Rows != len(rec.rows)+1 {
				t.Fatalf("Result %+v, %d rows, %d oversize; want one oversize row counted in Rows", res, len(rec.rows), len(rec.over))
			}
			o := rec.over[0]
			want := tt.oversize[:min(len(tt.oversize), oversizePrefix)]
			if o.Bytes != int64(len(tt.oversize)) || !bytes.Equal(o.Prefix, []byte(want)) {
				t.Errorf("OversizeRow of %d bytes, prefix %.40q (%d bytes); want %d bytes, prefix %.40q (%d bytes)",
					o.Bytes, o.Prefix, len(o.Prefix), len(tt.oversize), want, len(want))
			}
		})
	}

	t.Run("cdr_4 bucket", func(t *testing.T) {
		bucket := fmt.Sprintf(`{"calls":"%s"}`, strings.Repeat("9", 2*maxRow))
		body := `{"code":200,"msg":"3 records were found","data":{"a":{"calls":"1"},"b":` + bucket + `,"c":{"calls":"3"}}}`
		h := newHarness(t, []response{{status: 200, body: body}}, MaxRowBytes(maxRow))
		rec := &oversizeRecorder{}
		res, err := h.client.Read(t.Context(), act3, rec)
		if err != nil || res.Rows != 3 || len(rec.rows) != 2 || len(rec.over) != 1 || rec.over[0].Bytes != int64(len(bucket)) {
			t.Fatalf("Result %+v, err %v, rows %v, oversize %+v", res, err, rec.rows, rec.over)
		}
		if v, _ := rec.rows[1].Get("calls"); v != "3" {
			t.Errorf("row after the oversize bucket: %v", rec.rows[1])
		}
	})

	t.Run("oversize rows count for the cap", func(t *testing.T) {
		body := rowsBody(msgHead("9 records were found"), []string{huge, huge, huge, huge}, "")
		h := newHarness(t, []response{{status: 200, body: body}}, MaxRowBytes(maxRow), RowCap(2))
		rec := &oversizeRecorder{}
		res, err := h.client.Read(t.Context(), act3, rec)
		if err != nil || !res.Capped || res.Rows != 3 || len(rec.over) != 3 {
			t.Fatalf("Result %+v, err %v, %d oversize; want Capped after 3", res, err, len(rec.over))
		}
	})

	failing := []struct {
		name    string
		body    string
		handler Handler
		wantErr error
		notErr  error
	}{
		{name: "no OversizeHandler", body: rowsBody(msgHead("3 records were found"), rows(huge), ""), handler: &recorder{}, wantErr: ErrRowTooLarge},
		{name: "msg too long", body: rowsBody(msgHead(strings.Repeat("m", 4*maxRow)), rows(`{"a":"1"}`), ""), handler: &oversizeRecorder{}, wantErr: ErrRowTooLarge},
		{name: "body ends inside the oversize row", body: rowsBody(msgHead("3 records were found"), rows(huge), "")[:100<<10], handler: &oversizeRecorder{},
			wantErr: errMalformed, notErr: ErrRowTooLarge},
	}
	for _, tt := range failing {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []response{{status: 200, body: tt.body}}, MaxRowBytes(maxRow), Backoff(time.Millisecond, time.Millisecond, time.Nanosecond))
			_, err := h.client.Read(t.Context(), act3, tt.handler)
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrTransient) || (tt.notErr != nil && errors.Is(err, tt.notErr)) {
				t.Fatalf("err = %v, want transient %v", err, tt.wantErr)
			}
		})
	}

	t.Run("Oversize error stops the read", func(t *testing.T) {
		boom := errors.New("dead-letter topic unavailable")
		h := newHarness(t, []response{{status: 200, body: rowsBody(msgHead("3 records were found"), rows(huge), "")}}, MaxRowBytes(maxRow))
		rec := &oversizeRecorder{err: boom}
		res, err := h.client.Read(t.Context(), act3, rec)
		if !errors.Is(err, boom) || res.Calls != 1 || rec.resets != 0 || h.calls[0].Class != ClassHandler {
			t.Fatalf("err = %v, %d calls, %d resets, class %s; want the handler's error at once", err, res.Calls, rec.resets, h.calls[0].Class)
		}
	})
}

// TestReadCountMismatch: a 200 whose msg states more records than data holds is a
// failed answer, retried; one stating fewer, or none, is accepted.
func TestReadCountMismatch(t *testing.T) {
	good := rowsBody(msgHead("3 records were found"), flatRows(3), "")
	tests := []struct {
		name       string
		body       string
		mismatch   bool
		wantRows   int
		wantStated int
	}{
		{name: "empty data array", body: rowsBody(msgHead("4017 records were found"), nil, ""), mismatch: true, wantStated: 4017},
		{name: "null data", body: `{` + msgHead("4017 records were found") + `,"data":null}`, mismatch: true, wantStated: 4017},
		{name: "no data at all", body: `{` + msgHead("12 records were found") + `}`, mismatch: true, wantStated: 12},
		{name: "fewer rows, with a comma", body: rowsBody(msgHead("  1,172 records were are found"), flatRows(1171), ""), mismatch: true, wantStated: 1172},
		{name: "msg after data", body: rowsBody(ok200, flatRows(2), `"msg":"3 records were found"`), mismatch: true, wantStated: 3},
		{name: "as many rows", body: good, wantRows: 3, wantStated: 3},
		{name: "more rows than stated", body: rowsBody(msgHead("1 records were found"), flatRows(3), ""), wantRows: 3, wantStated: 1},
		{name: "zero records stated", body: rowsBody(msgHead("0 records were found"), nil, ""), wantStated: 0},
		{name: "no count in msg", body: rowsBody(msgHead("Information found for the current month"), nil, ""), wantStated: -1},
		{name: "no msg", body: rowsBody(ok200, flatRows(2), ""), wantRows: 2, wantStated: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []response{{status: 200, body: tt.body}, {status: 200, body: good}})
			res, rec, err := h.read(t, act3)
			if err != nil {
				t.Fatal(err)
			}
			first := h.calls[0]
			if first.Stated != tt.wantStated {
				t.Errorf("Call.Stated = %d, want %d", first.Stated, tt.wantStated)
			}
			if !tt.mismatch {
				if res.Calls != 1 || res.Rows != tt.wantRows || res.Stated != tt.wantStated || res.Capped {
					t.Fatalf("Result %+v, want %d rows, Stated %d in one call", res, tt.wantRows, tt.wantStated)
				}
				return
			}
			if first.Class != ClassTransient || !errors.Is(first.Err, ErrCountMismatch) || !errors.Is(first.Err, ErrTransient) {
				t.Fatalf("first call %+v: want transient ErrCountMismatch", first)
			}
			if msg := first.Err.Error(); !strings.Contains(msg, fmt.Sprint(tt.wantStated)) || !strings.Contains(msg, fmt.Sprintf("holds %d rows", first.Rows)) {
				t.Errorf("error %q does not name both counts", msg)
			}
			if res.Calls != 2 || res.Rows != 3 || len(rec.rows) != 3 || rec.resets != boolInt(first.Rows > 0) || res.Stated != 3 {
				t.Errorf("Result %+v, %d rows kept, %d resets; want the retry's 3 rows", res, len(rec.rows), rec.resets)
			}
		})
	}

	t.Run("giving up keeps the sentinel", func(t *testing.T) {
		h := newHarness(t, []response{{status: 200, body: rowsBody(msgHead("4017 records were found"), flatRows(2), "")}},
			Backoff(time.Millisecond, time.Millisecond, 5*time.Millisecond))
		res, rec, err := h.read(t, act3)
		var re *ResponseError
		if !errors.Is(err, ErrCountMismatch) || !errors.Is(err, ErrTransient) || !errors.As(err, &re) || re.Msg != "4017 records were found" {
			t.Fatalf("err = %v, want ErrCountMismatch in a *ResponseError", err)
		}
		if res.Calls < 1 || len(rec.rows) != 0 || rec.resets != res.Calls {
			t.Errorf("Result %+v, %d rows kept, %d resets", res, len(rec.rows), rec.resets)
		}
	})
}

func TestStatedCount(t *testing.T) {
	tests := []struct {
		msg  string
		want int // -1: no count
	}{
		{"1172 records were found", 1172},
		{"  2 records were are found", 2},
		{"1 record was found", 1},
		{"\t60000 RECORDS WERE FOUND", 60000},
		{"1,172 records were found", 1172},
		{"1,234,567 records", 1234567},
		{"0 records were found", 0},
		{"99999999999999999999999 records were found", math.MaxInt},
		{"12 records.", 12},
		{"Information found for the current month", -1},
		{"Validate dates entered", -1},
		{"", -1},
		{"x records were are found", -1},
		{"records were found: 12", -1},
		{"found 12 records", -1},
		{"12 recordsfound", -1},
		{"12records were found", -1},
		{"1,17 records were found", -1},
		{"1172,5 records were found", -1},
		{"-3 records were found", -1},
		{"１２ records were found", -1}, // full-width digits
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			got, ok := StatedCount(tt.msg)
			if !ok {
				got = -1
			}
			if got != tt.want || ok != (tt.want >= 0) {
				t.Errorf("StatedCount(%q) = %d, %v; want %d", tt.msg, got, ok, tt.want)
			}
		})
	}
}

// FuzzStatedCount: StatedCount never panics, reads back any count written the ways
// the API writes it, and reads a count only from a msg whose first word is its digits.
func FuzzStatedCount(f *testing.F) {
	for _, s := range []string{"1172 records were found", "  2 records were are found", "Information found for the current month",
		"1,172 records", "", "9999999999999999999999 records", "12 recordsx"} {
		f.Add(s, uint32(7))
	}
	f.Fuzz(func(t *testing.T, msg string, n uint32) {
		if got, ok := StatedCount(msg); ok {
			digits := strings.TrimLeft(msg, " \t\r\n\f\v")
			if got < 0 || digits == "" || digits[0] < '0' || digits[0] > '9' {
				t.Fatalf("StatedCount(%q) = %d from a msg not starting with digits", msg, got)
			}
		}
		for _, form := range []string{"%d records were found", "  %d records were are found", "%d record", "%d RECORDS"} {
			s := fmt.Sprintf(form, n) + " " + msg
			if got, ok := StatedCount(s); !ok || got != int(n) {
				t.Fatalf("StatedCount(%q) = %d, %v; want %d", s, got, ok, n)
			}
		}
		grouped := groupThousands(uint64(n)) + " records were found"
		if got, ok := StatedCount(grouped); !ok || got != int(n) {
			t.Fatalf("StatedCount(%q) = %d, %v; want %d", grouped, got, ok, n)
		}
	})
}

// groupThousands writes n with commas between groups of three digits.
func groupThousands(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestLimitErrorsRedactToken: the failures added with the limits (a count mismatch, a
// body too large, a row too large) keep the token out of errors, logs and calls when
// the server echoes it in msg and in the body.
func TestLimitErrorsRedactToken(t *testing.T) {
	echo := func(rows int, pad int) response {
		return response{handler: func(w http.ResponseWriter, r *http.Request) {
			tok := r.Header.Get("wolkvox-token")
			fmt.Fprintf(w, `{"code":"200","error":"%s","msg":"4017 records were found for %s","data":[`, tok, tok)
			for i := range rows {
				if i > 0 {
					fmt.Fprint(w, ",")
				}
				fmt.Fprintf(w, `{"token":"%s","pad":"%s"}`, tok, strings.Repeat("p", pad))
			}
			fmt.Fprint(w, "]}")
		}}
	}
	tests := []struct {
		name    string
		resp    response
		opts    []Opt
		wantErr error
	}{
		{name: "count mismatch", resp: echo(2, 0), wantErr: ErrCountMismatch},
		{name: "body too large", resp: echo(100, 100), opts: []Opt{MaxBodyBytes(2000)}, wantErr: ErrBodyTooLarge},
		{name: "row too large", resp: echo(3, 5000), opts: []Opt{MaxRowBytes(1000)}, wantErr: ErrRowTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []response{tt.resp}, append([]Opt{Backoff(time.Millisecond, time.Millisecond, time.Nanosecond)}, tt.opts...)...)
			_, _, err := h.read(t, act3)
			var re *ResponseError
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &re) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			texts := []string{fmt.Sprintf("%v|%+v|%#v", err, err, err), fmt.Sprintf("%+v %s", *re, re.Body), h.logs.String()}
			for _, c := range h.calls {
				texts = append(texts, fmt.Sprintf("%+v %v", c, c.Err))
			}
			all := strings.Join(texts, "\n")
			if strings.Contains(all, testToken) {
				t.Fatalf("token leaked: %s", all)
			}
			if !strings.Contains(all, "[REDACTED]") {
				t.Error("the echoed token was neither found nor redacted")
			}
		})
	}
}
