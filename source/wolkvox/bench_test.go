package wolkvox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// bodyGen streams a success body of n rows made by row, without ever holding more than
// one row.
type bodyGen struct {
	n, i int
	row  func(b []byte, i int) []byte
	buf  []byte
	off  int
	done bool
}

// newBodyGen makes rows shaped like act_3's, each padded by a comments value of pad bytes.
func newBodyGen(n, pad int) *bodyGen {
	comments := strings.Repeat("x", pad)
	return newRowsGen(n, func(b []byte, i int) []byte {
		return fmt.Appendf(b, `{"conn_id":"12462.0277.1782402643.%d","agent_id":"1045","agent_name":"LAURA GOMEZ",`+
			`"agent_dni":"52987654","skill_id":"301","date":"2026-03-02 08:21:07","cod_act":"VENTA",`+
			`"description_cod_act":"Venta efectiva","cod_act_2":"-","description_cod_act_2":"-","comments":"%s",`+
			`"type_interaction":"inbound","telephone":"3104567890","destiny":"3104567890","time":"0:04:12",`+
			`"hang_up":"agent","customer_id":"1032456789","campaign_id":"0"}`, i, comments)
	})
}

// newDiagram13Gen makes rows shaped like the simulator's diagram_13 (the report the
// end-to-end benchmark reads): nine short values, a fresh interaction per row.
func newDiagram13Gen(n int) *bodyGen {
	channels := []string{"voice", "chat-web", "chat-whatsapp", "chat-facebook"}
	return newRowsGen(n, func(b []byte, i int) []byte {
		return fmt.Appendf(b, `{"rp_id":"%d","conn_id":"10000.%04d.%d.00000","customer_id":"%d","channel":"%s",`+
			`"attempt":"%d","telephone":"%d","date":"2026-03-09 %02d:%02d:%02d","second_event":"%d","cod_opc_menu":"%s"}`,
			7000+i%3, (i*7919)%10000, 1773032802+i*37, 4000000000+i*104729, channels[i%len(channels)],
			1+i%10, 573000000000+i*15485863, i/3600%24, i/60%60, i%60, i%9, []string{"ALPHA", "2", "PULSE"}[i%3])
	})
}

func newRowsGen(n int, row func(b []byte, i int) []byte) *bodyGen {
	g := &bodyGen{n: n, row: row}
	g.buf = fmt.Appendf(nil, `{"code":"200","error":null,"msg":"%d records were found","data":[`, n)
	return g
}

func (g *bodyGen) Read(p []byte) (int, error) {
	for g.off == len(g.buf) {
		if g.done {
			return 0, io.EOF
		}
		g.buf, g.off = g.buf[:0], 0
		switch {
		case g.i == g.n:
			g.buf = append(g.buf, "]}"...)
			g.done = true
		default:
			if g.i > 0 {
				g.buf = append(g.buf, ',')
			}
			g.buf = g.row(g.buf, g.i)
			g.i++
		}
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

// BenchmarkDecode60k decodes a 60,000-row response (the API's most per call) held in
// memory, of act_3 rows ("decode") and of diagram_13 rows ("decode-diagram_13"), and
// tokenizes the first with the scanner decode uses and with encoding/json's
// Decoder.Token, which the scanner replaced ("tokens/...").
func BenchmarkDecode60k(b *testing.B) {
	body, err := io.ReadAll(newBodyGen(MaxRows, 40))
	if err != nil {
		b.Fatal(err)
	}
	d13, err := io.ReadAll(newDiagram13Gen(MaxRows))
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		body []byte
	}{{"decode", body}, {"decode-diagram_13", d13}} {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(tt.body)))
			b.ReportAllocs()
			for b.Loop() {
				env, err := decode(bytes.NewReader(tt.body), func(Row) error { return nil })
				if err != nil || env.rows != MaxRows {
					b.Fatalf("%d rows, %v", env.rows, err)
				}
			}
			b.ReportMetric(float64(MaxRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	tokens := func(b *testing.B, next func() error) {
		n := 0
		for {
			if err := next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n < MaxRows*20 { // about 38 tokens a row
			b.Fatalf("%d tokens", n)
		}
	}
	b.Run("tokens/scanner", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			s := newScanner(bytes.NewReader(body))
			tokens(b, func() error {
				if s.state == stTopDone {
					return io.EOF
				}
				_, err := s.next()
				return err
			})
		}
	})
	b.Run("tokens/encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			tokens(b, func() error { _, err := dec.Token(); return err })
		}
	})
}

// peakHeap decodes a generated body of n rows of about rowBytes each, streamed from an
// io.Reader, and returns the body's size and the peak live heap seen while decoding,
// sampled every 1,000 rows.
func peakHeap(t testing.TB, n, rowBytes int) (size int64, peak uint64) {
	t.Helper()
	const sampleEvery = 1000
	var ms runtime.MemStats
	runtime.GC()
	counter := &countingReader{r: newBodyGen(n, rowBytes-420)}
	rows := 0
	env, err := decode(counter, func(Row) error {
		if rows++; rows%sampleEvery == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil || env.rows != n {
		t.Fatalf("decoded %d of %d rows: %v", env.rows, n, err)
	}
	return counter.n, peak
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestDecodePeakHeap decodes a 256 MB, 60,000-row body generated on the fly and checks
// that the live heap stays a small fraction of it: rows are streamed, never gathered.
// With -short or -race it decodes 16 MB instead, to keep the suite fast.
func TestDecodePeakHeap(t *testing.T) {
	n, rowBytes := MaxRows, 256<<20/MaxRows
	if testing.Short() || raceEnabled {
		n = 4000
	}
	size, peak := peakHeap(t, n, rowBytes)
	t.Logf("decoded %d rows, %.1f MB, peak heap %.1f MB", n, float64(size)/(1<<20), float64(peak)/(1<<20))
	if limit := uint64(32 << 20); peak > limit {
		t.Errorf("peak heap %d bytes while decoding %d: want under %d", peak, size, limit)
	}
}
