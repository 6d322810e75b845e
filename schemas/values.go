package schemas

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse failures. They are wrapped in a *ConversionError, whose Reason says the same in
// words; tests and callers may match them with errors.Is.
var (
	errSyntax = errors.New("syntax")
	errRange  = errors.New("out of range")
)

// isPlaceholder reports whether a typed field's text means "no value": the API writes
// "-" and "--" for "not applicable" and "" for "nothing yet".
func isPlaceholder(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || s == "-" || s == "--"
}

// parseDuration reads a Wolkvox duration, "H:MM:SS", as whole seconds. Hours may have any
// number of digits and no padding ("1:02:03", "125:00:00"); minutes and seconds are two
// digits below 60. A leading "-" gives a negative duration, which an operation's clock
// corrections can produce; it is kept rather than rejected because it loses nothing.
// "MM:SS" is refused: "02:03" could as well be two hours three minutes, and a guess would
// be a silent error, while a refusal sends the row to the dead-letter topic.
func parseDuration(s string) (int64, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	h, rest, ok := strings.Cut(s, ":")
	if !ok || len(rest) != 5 || rest[2] != ':' || !allDigits(h) || len(h) > 15 {
		return 0, errSyntax
	}
	m, sec := rest[:2], rest[3:]
	if !allDigits(m) || !allDigits(sec) {
		return 0, errSyntax
	}
	hours, _ := strconv.ParseInt(h, 10, 64) // ≤ 15 digits: cannot overflow
	mins := int64(m[0]-'0')*10 + int64(m[1]-'0')
	secs := int64(sec[0]-'0')*10 + int64(sec[1]-'0')
	if mins > 59 || secs > 59 {
		return 0, errRange
	}
	total := hours*3600 + mins*60 + secs
	if neg {
		total = -total
	}
	return total, nil
}

// parsePercent reads "34.64 %" or "9,336.00 %" as 34.64 or 9336: the number as written,
// not a fraction. The "%" is optional, because a bare number means the same thing.
func parsePercent(s string) (float64, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	return parseNumber(s)
}

// parseNumber reads a decimal number: an optional sign, digits with optional thousands
// separators in groups of three ("1,234,567.5"), an optional fraction and exponent. A
// comma that does not separate groups of three ("34,64") is refused: it could be a
// decimal comma, and reading it either way might be wrong.
func parseNumber(s string) (float64, error) {
	n, ok := scanNumber(strings.TrimSpace(s), true)
	if !ok {
		return 0, errSyntax
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errRange
	}
	return f, nil
}

// parseWhole reads a whole number (counts, seconds, milliseconds), with the same
// thousands separators as parseNumber. A zero fraction ("12.00") is accepted because some
// reports print counts that way; any other fraction is refused rather than rounded.
func parseWhole(s string) (int64, error) {
	n, ok := scanNumber(strings.TrimSpace(s), false)
	if !ok {
		return 0, errSyntax
	}
	if i := strings.IndexByte(n, '.'); i >= 0 {
		if strings.Trim(n[i+1:], "0") != "" {
			return 0, errSyntax
		}
		n = n[:i]
	}
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return 0, errRange
	}
	return v, nil
}

// scanNumber checks the grammar of a decimal number and returns it without thousands
// separators and without a leading "+", ready for strconv. The text itself is returned
// when it has neither, which is the common case, so that reading it allocates nothing.
func scanNumber(s string, exponent bool) (string, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	// Integer part: plain digits, or 1-3 digits followed by ",ddd" groups.
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := i - start
	grouped := i < len(s) && s[i] == ','
	if grouped {
		if intDigits == 0 || intDigits > 3 {
			return "", false
		}
		for i < len(s) && s[i] == ',' {
			if i+4 > len(s) || !allDigits(s[i+1:i+4]) {
				return "", false
			}
			i += 4
		}
		if i < len(s) && isDigit(s[i]) {
			return "", false
		}
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracDigits = i - start
	}
	if intDigits == 0 && fracDigits == 0 {
		return "", false
	}
	if exponent && i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return "", false
		}
	}
	if i != len(s) {
		return "", false
	}
	s = strings.TrimPrefix(s, "+")
	if grouped {
		s = strings.ReplaceAll(s, ",", "") // the grammar put every comma between groups
	}
	return s, true
}

// timestampLayouts are tried, in order, for a timestamp field that has no layout of its
// own: the API's format first, then the forms seen in neighbouring systems. None carries
// an offset: the text is always the operation's local time.
var timestampLayouts = []string{
	time.DateTime,         // 2006-01-02 15:04:05 (fractional seconds accepted by time.Parse)
	"2006-01-02T15:04:05", // ISO without offset
	"2006-01-02 15:04",    // minutes only
	time.DateOnly,         // a day: its local midnight
}

// parseTimestamp reads local wall-clock text in loc and returns the instant in UTC
// milliseconds. With layout set, only that layout is accepted.
func parseTimestamp(s, layout string, loc *time.Location) (int64, error) {
	s = strings.TrimSpace(s)
	if layout != "" {
		t, err := ParseInLocation(layout, s, loc)
		if err != nil {
			return 0, err
		}
		return t.UnixMilli(), nil
	}
	var first error
	for _, l := range timestampLayouts {
		t, err := ParseInLocation(l, s, loc)
		if err == nil {
			return t.UnixMilli(), nil
		}
		if first == nil {
			first = err
		}
	}
	return 0, first
}

// ParseInLocation is time.ParseInLocation: the same Time for the same text, the same
// error for a bad one. For the API's two layouts, time.DateTime and time.DateOnly, text
// with exactly the layout's digits, every field in range, is read without time's layout
// interpreter, several times faster; anything else (a one-digit hour or a fraction,
// which time accepts, or an error, which time words) is time's to read
// (FuzzParseInLocation holds the two together).
func ParseInLocation(layout, value string, loc *time.Location) (time.Time, error) {
	if layout == time.DateTime || layout == time.DateOnly {
		if t, ok := civilTime(value, layout == time.DateTime, loc); ok {
			return t, nil
		}
	}
	return time.ParseInLocation(layout, value, loc)
}

// civilTime reads value in the layout time.DateTime, or time.DateOnly when clock is
// false, if it has exactly the layout's digits and every field is in range; then it is
// what time.ParseInLocation gives.
func civilTime(s string, clock bool, loc *time.Location) (time.Time, bool) {
	n := len(time.DateOnly)
	if clock {
		n = len(time.DateTime)
	}
	if len(s) != n || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	year, ok1 := digits4(s[0:4])
	month, ok2 := digits2(s[5:7])
	day, ok3 := digits2(s[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	hour, minute, sec := 0, 0, 0
	if clock {
		if s[10] != ' ' || s[13] != ':' || s[16] != ':' {
			return time.Time{}, false
		}
		var ok4, ok5, ok6 bool
		hour, ok4 = digits2(s[11:13])
		minute, ok5 = digits2(s[14:16])
		sec, ok6 = digits2(s[17:19])
		if !ok4 || !ok5 || !ok6 || hour > 23 || minute > 59 || sec > 59 {
			return time.Time{}, false
		}
	}
	// What time's parser returns once it has read the fields.
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc), true
}

func digits2(s string) (int, bool) {
	if !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func digits4(s string) (int, bool) {
	hi, ok1 := digits2(s[0:2])
	lo, ok2 := digits2(s[2:4])
	return hi*100 + lo, ok1 && ok2
}

// daysIn is the length of month m of year, as time counts it (the proleptic Gregorian
// calendar).
func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + int((m+m/8)%2)
}

// parseDate reads a calendar date ("2006-01-02", or layout when set) as days since
// 1970-01-01, the Avro date. A date has no time zone, so none is applied.
func parseDate(s, layout string) (int32, error) {
	if layout == "" {
		layout = time.DateOnly
	}
	s = strings.TrimSpace(s)
	var t time.Time
	var err error
	if layout == time.DateOnly {
		t, err = ParseInLocation(layout, s, time.UTC) // time.Parse's zone: the same, for a layout without one
	} else {
		t, err = time.Parse(layout, s)
	}
	if err != nil {
		return 0, err
	}
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400 // exact: midnight UTC
	if days < math.MinInt32 || days > math.MaxInt32 {
		return 0, errRange
	}
	return int32(days), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
