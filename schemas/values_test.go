package schemas

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0:00:00", 0, true},
		{"00:00:00", 0, true},
		{"1:02:03", 3723, true},
		{"01:02:03", 3723, true},
		{"125:00:00", 450000, true},
		{"  0:00:59 ", 59, true},
		{"-0:00:05", -5, true},
		{"999999999999999:59:59", 999999999999999*3600 + 3599, true},
		{"1:60:00", 0, false},
		{"1:00:60", 0, false},
		{"02:03", 0, false}, // MM:SS is ambiguous: refused
		{"1:2:03", 0, false},
		{"1:02:3", 0, false},
		{":02:03", 0, false},
		{"1:02:03.5", 0, false},
		{"abc", 0, false},
		{"1:02:03:04", 0, false},
		{"+1:02:03", 0, false},
		{"--", 0, false},
		{"1000000000000000:00:00", 0, false}, // 16 hour digits: refused before overflow
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParsePercentAndNumber(t *testing.T) {
	tests := []struct {
		in      string
		percent bool
		want    float64
		ok      bool
	}{
		{"34.64 %", true, 34.64, true},
		{"9,336.00 %", true, 9336, true},
		{"0.00 %", true, 0, true},
		{"100%", true, 100, true},
		{"12.5", true, 12.5, true},
		{"-3.25 %", true, -3.25, true},
		{"1,234,567.891 %", true, 1234567.891, true},
		{"%", true, 0, false},
		{"34,64 %", true, 0, false}, // decimal comma or thousands? refused
		{"1,23", false, 0, false},
		{"1234,567", false, 0, false},
		{",123", false, 0, false},
		{"1,234", false, 1234, true},
		{"3.5", false, 3.5, true},
		{".5", false, 0.5, true},
		{"5.", false, 5, true},
		{"-2e3", false, -2000, true},
		{"1e400", false, 0, false},
		{"NaN", false, 0, false},
		{"Inf", false, 0, false},
		{"1.2.3", false, 0, false},
		{"", false, 0, false},
		{"1 234", false, 0, false},
	}
	for _, tt := range tests {
		parse, name := parseNumber, "parseNumber"
		if tt.percent {
			parse, name = parsePercent, "parsePercent"
		}
		got, err := parse(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s(%q) = %v, %v; want %v, ok=%v", name, tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseWhole(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"12", 12, true},
		{" 12 ", 12, true},
		{"1,234", 1234, true},
		{"12.00", 12, true},
		{"-7", -7, true},
		{"+7", 7, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"9223372036854775808", 0, false},
		{"12.5", 0, false}, // refused, not rounded
		{"1e3", 0, false},
		{"abc", 0, false},
		{"12abc", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseWhole(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseWhole(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	bogota, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, layout string
		loc        *time.Location
		want       time.Time // UTC
		ok         bool
	}{
		{"2024-03-05 14:07:09", "", bogota, time.Date(2024, 3, 5, 19, 7, 9, 0, time.UTC), true},
		{"2024-03-05 14:07:09", time.DateTime, bogota, time.Date(2024, 3, 5, 19, 7, 9, 0, time.UTC), true},
		{"2024-03-05 14:07:09", time.DateTime, time.UTC, time.Date(2024, 3, 5, 14, 7, 9, 0, time.UTC), true},
		{"2024-03-05T14:07:09", "", bogota, time.Date(2024, 3, 5, 19, 7, 9, 0, time.UTC), true},
		{"2024-03-05 14:07", "", bogota, time.Date(2024, 3, 5, 19, 7, 0, 0, time.UTC), true},
		{"2024-03-05", "", bogota, time.Date(2024, 3, 5, 5, 0, 0, 0, time.UTC), true},
		{"2024-03-05 14:07:09.250", "", time.UTC, time.Date(2024, 3, 5, 14, 7, 9, 250e6, time.UTC), true},
		{"20240305", "20060102", bogota, time.Date(2024, 3, 5, 5, 0, 0, 0, time.UTC), true},
		{"2024-02-30 10:00:00", "", bogota, time.Time{}, false}, // impossible date
		{"2024-03-05 25:00:00", "", bogota, time.Time{}, false},
		{"2024-03-05T14:07:09", time.DateTime, bogota, time.Time{}, false}, // a layout is strict
		{"yesterday", "", bogota, time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseTimestamp(tt.in, tt.layout, tt.loc)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want.UnixMilli()) {
			t.Errorf("parseTimestamp(%q, %q) = %d, %v; want %d, ok=%v", tt.in, tt.layout, got, err, tt.want.UnixMilli(), tt.ok)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in, layout string
		want       int32
		ok         bool
	}{
		{"1970-01-01", "", 0, true},
		{"1970-01-02", "", 1, true},
		{"1969-12-31", "", -1, true},
		{"2024-03-05", "", 19787, true},
		{"20240305", "20060102", 19787, true},
		{"2024-02-29", "", 19782, true},
		{"2023-02-29", "", 0, false},
		{"2024-13-01", "", 0, false},
		{"2024-03-05 10:00:00", "", 0, false}, // a time would be lost: refused
	}
	for _, tt := range tests {
		got, err := parseDate(tt.in, tt.layout)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDate(%q, %q) = %d, %v; want %d, ok=%v", tt.in, tt.layout, got, err, tt.want, tt.ok)
		}
	}
}

func TestIsPlaceholder(t *testing.T) {
	for s, want := range map[string]bool{"": true, "-": true, "--": true, " - ": true, "---": false, "0": false, "n/a": false} {
		if got := isPlaceholder(s); got != want {
			t.Errorf("isPlaceholder(%q) = %v, want %v", s, got, want)
		}
	}
}

// formatDuration writes seconds the way Wolkvox does, for the fuzz round trip.
func formatDuration(secs int64) string {
	sign := ""
	if secs < 0 {
		sign, secs = "-", -secs
	}
	return fmt.Sprintf("%s%d:%02d:%02d", sign, secs/3600, secs/60%60, secs%60)
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1:02:03", "125:00:00", "00:00:00", "-0:00:05", "02:03", "1:60:00", "", "-", "99999999999999999999:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		secs, err := parseDuration(s)
		if err != nil {
			if secs != 0 {
				t.Fatalf("parseDuration(%q) failed but returned %d", s, secs)
			}
			return
		}
		// Whatever parses must be the canonical text's value: format and parse again.
		again, err := parseDuration(formatDuration(secs))
		if err != nil || again != secs {
			t.Fatalf("parseDuration(%q) = %d, but %q gives %d, %v", s, secs, formatDuration(secs), again, err)
		}
		if !strings.Contains(s, ":") {
			t.Fatalf("parseDuration(%q) accepted text without a colon", s)
		}
	})
}

func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"34.64 %", "9,336.00 %", "0 %", "%", "1,23 %", "-1e3%", "", "1,234,567.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parsePercent(s)
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("parsePercent(%q) = %v", s, v)
		}
		// The value does not depend on the "%" or the thousands separators.
		plain := strings.ReplaceAll(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), ",", "")
		w, err := parseNumber(plain)
		if err != nil || w != v {
			t.Fatalf("parsePercent(%q) = %v, but %q gives %v, %v", s, v, plain, w, err)
		}
	})
}
