package wolkvox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestScannerBuffersBounded feeds the decoder bodies built to grow each of the
// scanner's buffers and checks that none grows past its bound: the read buffer past
// maxValue+1 (or its first size), the open containers past maxDepth, the interned keys
// past maxInterned keys of maxInternedLen bytes, the unescaping scratch past a few times
// maxValue.
func TestScannerBuffersBounded(t *testing.T) {
	const maxValue = 8 << 10
	long := strings.Repeat("k", 64<<10)
	var manyKeys strings.Builder
	manyKeys.WriteString(`{"code":"200","data":[`)
	for i := range 6000 {
		if i > 0 {
			manyKeys.WriteString(",")
		}
		fmt.Fprintf(&manyKeys, `{"%s%d":"1","k%d":"2"}`, strings.Repeat("q", 300), i, i)
	}
	manyKeys.WriteString(`]}`)
	tests := []struct {
		name     string
		body     string
		wantErr  error // nil: decodes
		tooLarge bool  // the error is a *tooLargeError outside rows
	}{
		{name: "long key outside rows", body: `{"` + long + `":1}`, wantErr: ErrRowTooLarge, tooLarge: true},
		{name: "long key in a buffer", body: `{"` + long[:maxValue+10] + `":1}`, wantErr: ErrRowTooLarge, tooLarge: true},
		{name: "long number", body: `{"code":1` + strings.Repeat("0", 64<<10) + `}`, wantErr: ErrRowTooLarge, tooLarge: true},
		{name: "long number in a buffer", body: `{"code":1` + strings.Repeat("0", maxValue+10) + `}`, wantErr: ErrRowTooLarge, tooLarge: true},
		{name: "long compound value of short tokens", body: `{"error":[` + strings.Repeat("1,", 64<<10) + `1]}`, wantErr: ErrRowTooLarge, tooLarge: true},
		{name: "long whitespace", body: `{"code":` + strings.Repeat(" ", 256<<10) + `200}`},
		{name: "deep nesting", body: `{"x":` + strings.Repeat("[", 3*maxDepth) + strings.Repeat("]", 3*maxDepth) + `}`, wantErr: errMalformed},
		{name: "long escaped string in a row", body: `{"code":"200","data":[{"a":"` + strings.Repeat(`\u00e9\ud83d\ude00`, 4<<10) + `"}]}`, wantErr: ErrRowTooLarge},
		{name: "invalid UTF-8 in a row", body: "{\"code\":\"200\",\"data\":[{\"a\":\"" + strings.Repeat("\xff", maxValue-20) + "\"}]}"},
		{name: "many long keys", body: manyKeys.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &decoder{lex: newScannerMax(strings.NewReader(tt.body), maxValue), emit: func(Row) error { return nil },
				lim: limits{maxRowBytes: maxValue}}
			err := d.body()
			if tt.wantErr == nil && err != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var tl *tooLargeError
			if tt.tooLarge && (!errors.As(err, &tl) || tl.inRow) {
				t.Errorf("err = %v, want a *tooLargeError outside rows", err)
			}
			s := d.lex
			if n := len(s.buf); n > max(initialBuf, maxValue+1) {
				t.Errorf("read buffer of %d bytes", n)
			}
			if n := cap(s.stack); n > 2*maxDepth {
				t.Errorf("stack of %d", n)
			}
			if n := cap(s.scratch); n > 8*maxValue {
				t.Errorf("scratch of %d bytes", n)
			}
			if len(s.keys) > maxInterned {
				t.Errorf("%d interned keys", len(s.keys))
			}
			for k := range s.keys {
				if len(k) > maxInternedLen {
					t.Fatalf("interned a key of %d bytes", len(k))
				}
			}
		})
	}
}

// FuzzDecodeLimits decodes each body twice, without limits and with a small
// MaxRowBytes, a small row cap and an oversize function, and checks how the two agree:
// the rows handed on under limits are the unlimited decode's rows in order with some
// left out (the oversize ones) and the tail cut (the cap); oversize rows are longer than
// the limit and their prefix is the start of a JSON object no longer than 64 KiB.
// testdata/fuzz/FuzzDecodeLimits keeps the inputs that once failed it.
func FuzzDecodeLimits(f *testing.F) {
	for _, s := range []string{
		`{"code":"200","data":[{"a":"1"},{"a":"` + strings.Repeat("x", 100) + `"},{"b":"2"}]}`,
		`{"code":200,"data":{"k":{"v":"` + strings.Repeat("y", 80) + `"},"l":{"v":"1"}}}`,
		`{"code":200,"data":[{"n":[{"a":"1"},{"a":"2"}],"m":"` + strings.Repeat("\\\"", 40) + `"}]}`,
		`{"data":[{"a":"1"},{"a":"2"},{"a":"3"}],"code":"200"}`,
		`{"code":"200","msg":"` + strings.Repeat("m", 90) + `","data":[]}`,
	} {
		f.Add([]byte(s), uint8(64), uint8(2))
	}
	f.Fuzz(func(t *testing.T, body []byte, maxRow, rowCap uint8) {
		var all []Row
		_, errAll := decode(bytes.NewReader(body), func(r Row) error {
			all = append(all, slices.Clone(r))
			return nil
		})
		var (
			got  []Row
			over []OversizeRow
		)
		lim := limits{rowCap: int(rowCap), maxRowBytes: int(maxRow) + 1, oversize: func(o OversizeRow) error {
			over = append(over, o)
			return nil
		}}
		env, err := decodeLimits(bytes.NewReader(body), lim, func(r Row) error {
			got = append(got, slices.Clone(r))
			return nil
		})
		if env.rows != len(got)+len(over) || env.oversize != len(over) {
			t.Fatalf("counted %d rows (%d oversize), handed on %d and %d", env.rows, env.oversize, len(got), len(over))
		}
		if lim.rowCap > 0 && env.rows > lim.rowCap+1 {
			t.Fatalf("%d rows handed on past the cap of %d", env.rows, lim.rowCap)
		}
		for _, o := range over {
			if o.Bytes <= int64(lim.maxRowBytes) || len(o.Prefix) > oversizePrefix || int64(len(o.Prefix)) > o.Bytes || len(o.Prefix) == 0 || o.Prefix[0] != '{' {
				t.Fatalf("oversize row of %d bytes, prefix %q, limit %d", o.Bytes, o.Prefix, lim.maxRowBytes)
			}
		}
		if errAll != nil {
			return // the unlimited decode failed: the limited one may fail anywhere, or skip past it
		}
		var tl *tooLargeError
		switch {
		case err == nil, errors.Is(err, errCapped):
		case errors.As(err, &tl) && !tl.inRow: // a value outside the rows over the limit
		default:
			t.Fatalf("a body decoded without limits fails with them: %v", err)
		}
		// got must be a subsequence of all.
		j := 0
		for _, r := range got {
			for j < len(all) && !reflect.DeepEqual(all[j], r) {
				j++
			}
			if j == len(all) {
				t.Fatalf("row %v handed on under limits is not among the rows, in order", r)
			}
			j++
		}
		// Past the cap with no code seen yet, the body is read to its end without handing
		// rows on: no error, but not every row.
		capped := lim.rowCap > 0 && env.rows > lim.rowCap
		if err == nil && !capped && len(over) == 0 && !reflect.DeepEqual(got, all) && !(len(got) == 0 && len(all) == 0) {
			t.Fatalf("without oversize rows nor cap the rows differ:\n%v\n%v", got, all)
		}
		if err == nil && len(over) == 0 && !json.Valid(body) {
			t.Fatalf("invalid JSON accepted")
		}
	})
}
