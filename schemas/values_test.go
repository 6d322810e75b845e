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

// timeOnlyTimestamp and timeOnlyDate are parseTimestamp and parseDate as they were
// before ParseInLocation, time's parser alone: the reference the fast path must match.
func timeOnlyTimestamp(s, layout string, loc *time.Location) (int64, error) {
	s = strings.TrimSpace(s)
	layouts := timestampLayouts
	if layout != "" {
		layouts = []string{layout}
	}
	var first error
	for _, l := range layouts {
		t, err := time.ParseInLocation(l, s, loc)
		if err == nil {
			return t.UnixMilli(), nil
		}
		if first == nil {
			first = err
		}
	}
	return 0, first
}

func timeOnlyDate(s, layout string) (int32, error) {
	if layout == "" {
		layout = time.DateOnly
	}
	t, err := time.Parse(layout, strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
	if days < math.MinInt32 || days > math.MaxInt32 {
		return 0, errRange
	}
	return int32(days), nil
}

// FuzzParseInLocation holds ParseInLocation, and parseTimestamp and parseDate which
// use it, to exactly what time's parser gives: the same Time, instant or day, the same
// error text (dead letters carry it), in zones with and without daylight saving time.
func FuzzParseInLocation(f *testing.F) {
	for _, s := range []string{"2024-03-05 14:07:09", "2024-02-29 23:59:59", "2023-02-29 00:00:00", "2024-13-01 00:00:00",
		"2024-03-05 24:00:00", "2024-03-05 23:60:00", "2024-03-05 23:59:60", "2024-03-05 9:07:09", "2024-03-05 14:07:09.5",
		"0000-01-01 00:00:00", "9999-12-31 23:59:59", "2024-03-10 02:30:00", "2024-11-03 01:30:00", "2024-03-31 02:30:00",
		"2024-03-05", "2024-3-05", "2024-03-05T14:07:09", "2024-03-05 14:07", " 2024-03-05 14:07:09 ", "+024-03-05 14:07:09",
		"2024-03-05 14:07:0a", "2024-03-05 -1:07:09", "٢٠٢٤-03-05 14:07:09", ""} {
		f.Add(s)
	}
	var zones []*time.Location
	for _, name := range []string{"America/Bogota", "America/New_York", "Europe/London", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			f.Fatal(err)
		}
		zones = append(zones, loc)
	}
	zones = append(zones, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		for _, loc := range zones {
			for _, layout := range []string{time.DateTime, time.DateOnly, "2006-01-02T15:04:05"} {
				got, err := ParseInLocation(layout, s, loc)
				want, wantErr := time.ParseInLocation(layout, s, loc)
				if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) { // == : the same wall clock, instant and Location
					t.Fatalf("ParseInLocation(%q, %q, %s) = %v, %v; time gives %v, %v", layout, s, loc, got, err, want, wantErr)
				}
			}
			for _, layout := range []string{"", time.DateTime, time.DateOnly} {
				got, err := parseTimestamp(s, layout, loc)
				want, wantErr := timeOnlyTimestamp(s, layout, loc)
				if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Fatalf("parseTimestamp(%q, %q, %s) = %d, %v; time gives %d, %v", s, layout, loc, got, err, want, wantErr)
				}
			}
		}
		for _, layout := range []string{"", time.DateOnly, "20060102"} {
			got, err := parseDate(s, layout)
			want, wantErr := timeOnlyDate(s, layout)
			if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("parseDate(%q, %q) = %d, %v; time gives %d, %v", s, layout, got, err, want, wantErr)
			}
		}
	})
}

// scanNumberBuilt is scanNumber as it was, building its result byte by byte: the
// reference for the version that returns the text itself when it can.
func scanNumberBuilt(s string, exponent bool) (string, bool) {
	var b strings.Builder
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		if s[i] == '-' {
			b.WriteByte('-')
		}
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := i - start
	b.WriteString(s[start:i])
	if i < len(s) && s[i] == ',' {
		if intDigits == 0 || intDigits > 3 {
			return "", false
		}
		for i < len(s) && s[i] == ',' {
			if i+4 > len(s) || !allDigits(s[i+1:i+4]) {
				return "", false
			}
			b.WriteString(s[i+1 : i+4])
			i += 4
		}
		if i < len(s) && isDigit(s[i]) {
			return "", false
		}
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		b.WriteByte('.')
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracDigits = i - start
		b.WriteString(s[start:i])
	}
	if intDigits == 0 && fracDigits == 0 {
		return "", false
	}
	if exponent && i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		b.WriteByte('e')
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			b.WriteByte(s[i])
			i++
		}
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return "", false
		}
		b.WriteString(s[start:i])
	}
	if i != len(s) {
		return "", false
	}
	return b.String(), true
}

// FuzzScanNumber holds scanNumber to the byte-by-byte version it replaced: the same
// verdict, and the same text but for the exponent's letter, whose case strconv ignores.
func FuzzScanNumber(f *testing.F) {
	for _, s := range []string{"12", "-7", "+7", "1,234,567.5", "1,2", "12,345", ",123", "1.", ".5", "1e3", "1E+3", "-1.5e-3", "+", "1,234e5", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, exponent := range []bool{false, true} {
			got, ok := scanNumber(s, exponent)
			want, wantOK := scanNumberBuilt(s, exponent)
			if ok != wantOK || strings.ReplaceAll(got, "E", "e") != want {
				t.Fatalf("scanNumber(%q, %t) = %q, %t; before it gave %q, %t", s, exponent, got, ok, want, wantOK)
			}
		}
	})
}

// BenchmarkParseInLocation reads a row's local time with ParseInLocation and with
// time.ParseInLocation, which it stands for.
func BenchmarkParseInLocation(b *testing.B) {
	for _, p := range []struct {
		name  string
		parse func(layout, value string, loc *time.Location) (time.Time, error)
	}{{"schemas", ParseInLocation}, {"time", time.ParseInLocation}} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.parse(time.DateTime, "2026-03-09 14:07:09", bogota); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
