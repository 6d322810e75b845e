package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseSeeds(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil: an error wrapping ErrInvalidSeeds
	}{
		{in: "127.0.0.1:9092", want: []string{"127.0.0.1:9092"}},
		{in: " 127.0.0.1:1 , localhost:65535 ", want: []string{"127.0.0.1:1", "localhost:65535"}},
		{in: "[::1]:9092", want: []string{"[::1]:9092"}},
		{in: ""},
		{in: "   "},
		{in: "127.0.0.1"},
		{in: ":9092"},
		{in: "127.0.0.1:0"},
		{in: "127.0.0.1:65536"},
		{in: "127.0.0.1:+1"},
		{in: "127.0.0.1:9092,"},
		{in: "127.0.0.1:9092,,127.0.0.1:9093"},
		{in: "::1:9092"},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			got, err := ParseSeeds(tt.in)
			if tt.want == nil {
				if !errors.Is(err, ErrInvalidSeeds) {
					t.Fatalf("ParseSeeds(%q) = %q, %v; want an error wrapping ErrInvalidSeeds", tt.in, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseSeeds(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzParseSeeds checks that every accepted value is a non-empty list of host:port entries
// with a valid port, and that parsing is idempotent on its own output.
func FuzzParseSeeds(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9092", "a:1,b:2", "[::1]:9092", "", ",", "x:0", " h:65535 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seeds, err := ParseSeeds(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSeeds) {
				t.Fatalf("ParseSeeds(%q) error %v does not wrap ErrInvalidSeeds", s, err)
			}
			return
		}
		if len(seeds) == 0 || len(seeds) != strings.Count(s, ",")+1 {
			t.Fatalf("ParseSeeds(%q) = %q: want one seed per comma-separated entry", s, seeds)
		}
		again, err := ParseSeeds(strings.Join(seeds, ","))
		if err != nil || !slices.Equal(again, seeds) {
			t.Fatalf("ParseSeeds(ParseSeeds(%q)) = %q, %v; want %q", s, again, err, seeds)
		}
	})
}

func TestUniqueName(t *testing.T) {
	tests := []struct {
		test, suffix string
		n            uint64
		want         string
	}{
		{test: "TestX", n: 1, want: "wvt-TestX-" + runToken + "-1"},
		{test: "TestX/kafka/sub_test", suffix: "data a", n: 7, want: "wvt-TestX-kafka-sub_test-data-a-" + runToken + "-7"},
		{test: "Test.dots..and/slashes", n: 2, want: "wvt-Test-dots-and-slashes-" + runToken + "-2"},
		{test: "Ünïcode✓", suffix: "", n: 3, want: "wvt-n-code-" + runToken + "-3"},
		{test: "///", suffix: "...", n: 4, want: "wvt-" + runToken + "-4"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := uniqueName(tt.test, tt.suffix, tt.n); got != tt.want {
				t.Fatalf("uniqueName(%q, %q, %d) = %q; want %q", tt.test, tt.suffix, tt.n, got, tt.want)
			}
		})
	}

	long := uniqueName(strings.Repeat("T", 1000), "suffix", 99)
	if len(long) != maxTopicLen || !strings.HasSuffix(long, "-"+runToken+"-99") {
		t.Fatalf("long name %q (len %d): want exactly %d characters ending in the unique tail", long, len(long), maxTopicLen)
	}
}

// FuzzUniqueName checks that any test name and suffix give a legal Kafka topic name that
// keeps the unique tail.
func FuzzUniqueName(f *testing.F) {
	f.Add("TestA/b c", "x.y", uint64(1))
	f.Add(strings.Repeat("é", 300), "", uint64(18446744073709551615))
	f.Fuzz(func(t *testing.T, test, suffix string, n uint64) {
		got := uniqueName(test, suffix, n)
		if len(got) > maxTopicLen {
			t.Fatalf("uniqueName(%q, %q, %d) = %q: %d characters, Kafka allows %d", test, suffix, n, got, len(got), maxTopicLen)
		}
		if !strings.HasPrefix(got, namePrefix+"-") || !strings.HasSuffix(got, "-"+runToken+"-"+strconv.FormatUint(n, 10)) {
			t.Fatalf("uniqueName(%q, %q, %d) = %q: want prefix %q and the unique tail", test, suffix, n, got, namePrefix)
		}
		for _, r := range got {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				t.Fatalf("uniqueName(%q, %q, %d) = %q: illegal character %q", test, suffix, n, got, r)
			}
		}
	})
}

func TestTopicAndTransactionalIDAreUnique(t *testing.T) {
	a, b, id := Topic(t), Topic(t, "data"), TransactionalID(t)
	if a == b || a == id || b == id {
		t.Fatalf("names collide: %q %q %q", a, b, id)
	}
	for _, name := range []string{a, b, id} {
		if !strings.HasPrefix(name, "wvt-TestTopicAndTransactionalIDAreUnique-") {
			t.Errorf("%q does not name its test", name)
		}
	}
	if !strings.Contains(b, "-data-") || !strings.Contains(id, "-txn-") {
		t.Errorf("suffixes missing: %q, %q", b, id)
	}
}

// recordingTB stands in for *testing.T so Real's skip and failure paths can be observed:
// Skip and Fatalf record their message and end the goroutine like the real ones do.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestRealGate(t *testing.T) {
	errDown := errors.New("connection refused")
	tests := []struct {
		name    string
		env     map[string]string
		pingErr error
		// exactly one of these is set: the seeds returned, or a substring of the message
		// Real skipped or failed with.
		want       []string
		wantSkip   string
		wantFailed string
	}{
		{name: "unset skips", env: map[string]string{}, wantSkip: "WOLKVOX_TEST_KAFKA is unset: start a broker with deploy/local/kafka.sh start"},
		{name: "blank skips", env: map[string]string{EnvVar: "  "}, wantSkip: "WOLKVOX_TEST_KAFKA is unset"},
		{name: "CI=false skips", env: map[string]string{"CI": "false"}, wantSkip: "WOLKVOX_TEST_KAFKA is unset"},
		{name: "unset fails on CI", env: map[string]string{"CI": "true"}, wantFailed: "must not be skipped on CI"},
		{name: "CI=1 fails too", env: map[string]string{"CI": "1"}, wantFailed: "WOLKVOX_TEST_KAFKA is unset"},
		{name: "malformed fails", env: map[string]string{EnvVar: "localhost"}, wantFailed: `WOLKVOX_TEST_KAFKA="localhost"`},
		{name: "unreachable fails", env: map[string]string{EnvVar: "127.0.0.1:1"}, pingErr: errDown, wantFailed: "connection refused"},
		{name: "set returns seeds", env: map[string]string{EnvVar: "127.0.0.1:9092, 127.0.0.1:9093", "CI": "true"}, want: []string{"127.0.0.1:9092", "127.0.0.1:9093"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pinged []string
			rec := &recordingTB{}
			var got []string
			done := make(chan struct{})
			go func() {
				defer close(done)
				got = realSeeds(rec, func(k string) string { return tt.env[k] }, func(_ context.Context, seeds []string) error {
					pinged = seeds
					return tt.pingErr
				})
			}()
			<-done
			switch {
			case tt.wantSkip != "":
				if !strings.Contains(rec.skipped, tt.wantSkip) || rec.failed != "" {
					t.Fatalf("skipped %q, failed %q; want a skip containing %q", rec.skipped, rec.failed, tt.wantSkip)
				}
			case tt.wantFailed != "":
				if !strings.Contains(rec.failed, tt.wantFailed) || rec.skipped != "" {
					t.Fatalf("failed %q, skipped %q; want a failure containing %q", rec.failed, rec.skipped, tt.wantFailed)
				}
			default:
				if rec.skipped != "" || rec.failed != "" || !slices.Equal(got, tt.want) || !slices.Equal(pinged, tt.want) {
					t.Fatalf("got %q (pinged %q, skipped %q, failed %q); want %q", got, pinged, rec.skipped, rec.failed, tt.want)
				}
			}
		})
	}
}
