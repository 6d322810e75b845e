package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func headers(r *kgo.Record) map[string]string {
	m := make(map[string]string, len(r.Headers))
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

var (
	ws = time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("COT", -5*3600))
	we = ws.Add(5 * time.Minute)
)

func TestEventRecord(t *testing.T) {
	tests := []struct {
		name, schema string
		want         map[string]string
	}{
		{"with schema", "00000007", map[string]string{
			HeaderReport: "act_3", HeaderWindowStart: "2025-03-01T17:00:00Z", HeaderWindowEnd: "2025-03-01T17:05:00Z", HeaderSchema: "00000007"}},
		{"without schema", "", map[string]string{
			HeaderReport: "act_3", HeaderWindowStart: "2025-03-01T17:00:00Z", HeaderWindowEnd: "2025-03-01T17:05:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := EventRecord("wolkvox.c1.act_3", []byte("k"), []byte("v"), "act_3", ws, we, tt.schema)
			if r.Topic != "wolkvox.c1.act_3" || string(r.Key) != "k" || string(r.Value) != "v" {
				t.Fatalf("record = %+v", r)
			}
			if got := headers(r); fmt.Sprint(got) != fmt.Sprint(tt.want) || len(r.Headers) != len(tt.want) {
				t.Fatalf("headers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeadLetter(t *testing.T) {
	_, perr := strconv.Atoi("x")
	reason := fmt.Errorf("field duration: %w", perr)
	r := DeadLetter("dlq", []byte(`{"a":"1"}`), reason, "c1", "act_3", ws, we)
	want := map[string]string{
		HeaderError:       reason.Error(),
		HeaderErrorClass:  "*strconv.NumError",
		HeaderConnector:   "c1",
		HeaderReport:      "act_3",
		HeaderWindowStart: "2025-03-01T17:00:00Z",
		HeaderWindowEnd:   "2025-03-01T17:05:00Z",
	}
	if r.Topic != "dlq" || string(r.Key) != "c1/act_3" || string(r.Value) != `{"a":"1"}` {
		t.Fatalf("record = %s %s %s", r.Topic, r.Key, r.Value)
	}
	if got := headers(r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("headers = %v\nwant %v", got, want)
	}
}

type classed struct{ error }

func (classed) Class() string { return "avro-encode" }

func TestErrorClass(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"sentinel: its text", fmt.Errorf("open: %w", fs.ErrNotExist), "file does not exist"},
		{"unwrappable type kept, not its cause", &fs.PathError{Op: "open", Path: "p", Err: fs.ErrNotExist}, "*fs.PathError"},
		{"wrapped: innermost type wins", fmt.Errorf("a: %w", fmt.Errorf("b: %w", &strconv.NumError{Func: "Atoi", Num: "x", Err: strconv.ErrSyntax})), "*strconv.NumError"},
		{"Class method wins", fmt.Errorf("row 3: %w", classed{errors.New("bad")}), "avro-encode"},
		{"joined errors: the join's type", errors.Join(errors.New("a"), errors.New("b")), "*errors.joinError"},
		{"%w twice: the multi-wrapper's type", fmt.Errorf("%w %w", errors.New("a"), errors.New("b")), "*fmt.wrapErrors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorClass(tt.err); got != tt.want {
				t.Fatalf("ErrorClass = %q, want %q", got, tt.want)
			}
		})
	}
}
