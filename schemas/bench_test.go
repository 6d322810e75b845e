package schemas

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// benchInput is one row of a benchmark, with its report and meta.
type benchInput struct {
	rep   *catalog.Report
	row   Row
	meta  Meta
	topic string
}

// seedInputs are two rows of each of the five seed reports, with unknown keys, nulls and
// placeholders (testRow): every code path of Convert.
func seedInputs(b *testing.B) []benchInput {
	var inputs []benchInput
	for _, api := range seedReports {
		rep := lookup(b, api)
		for variant := range 2 {
			row, _, _, _ := testRow(rep, variant)
			inputs = append(inputs, benchInput{rep, row, testMeta(rep, "row"), "wolkvox." + api})
		}
	}
	return inputs
}

// diagram13Inputs are rows of diagram_13 as the API sends them (the report the
// end-to-end benchmark reads): every key known, a fresh interaction per row, the low
// cardinality columns (routing point, channel, menu option) repeating.
func diagram13Inputs(b *testing.B) []benchInput {
	rep := lookup(b, "diagram_13")
	channels := []string{"voice", "chat-web", "chat-whatsapp", "chat-facebook"}
	inputs := make([]benchInput, 64)
	for i := range inputs {
		conn := fmt.Sprintf("10000.%04d.%d.00000", (i*7919)%10000, 1773032802+i*37)
		row := Row{{Key: "rp_id", Value: fmt.Sprint(7000 + i%3)}, {Key: "conn_id", Value: conn},
			{Key: "customer_id", Value: fmt.Sprint(4000000000 + i*104729)}, {Key: "channel", Value: channels[i%len(channels)]},
			{Key: "attempt", Value: fmt.Sprint(1 + i%10)}, {Key: "telephone", Value: fmt.Sprint(573000000000 + i*15485863)},
			{Key: "date", Value: fmt.Sprintf("2026-03-09 %02d:%02d:%02d", i/60%24, i%60, (i*13)%60)},
			{Key: "second_event", Value: fmt.Sprint(i % 9)}, {Key: "cod_opc_menu", Value: []string{"ALPHA", "2", "PULSE"}[i%3]}}
		if i%10 == 9 {
			row[4].Value = "-"
		}
		inputs[i] = benchInput{rep, row, testMeta(rep, conn+"|"+row[7].Value+"|"+row[8].Value), "wolkvox.diagram_13"}
	}
	return inputs
}

// benchSets are the row sets every schemas benchmark runs on.
var benchSets = []struct {
	name   string
	inputs func(*testing.B) []benchInput
}{{"seed-reports", seedInputs}, {"diagram_13", diagram13Inputs}}

// nativePerReport keeps a Native per report, as a connector does.
type nativePerReport map[*catalog.Report]*Native

func (m nativePerReport) of(rep *catalog.Report) *Native {
	n, ok := m[rep]
	if !ok {
		n = new(Native)
		m[rep] = n
	}
	return n
}

// BenchmarkConvert converts rows, in turn, each report's into its own Native: the
// per-row cost of Converter.Fill.
func BenchmarkConvert(b *testing.B) {
	for _, set := range benchSets {
		b.Run(set.name, func(b *testing.B) {
			inputs := set.inputs(b)
			var c Converter
			natives := nativePerReport{}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				in := inputs[i%len(inputs)]
				i++
				if err := c.Fill(natives.of(in.rep), in.rep, in.row, in.meta); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode encodes converted rows, in turn, in the single-object format: the
// per-row cost of Encoder.Encode, goavro's included, into one reused buffer
// ("<rows>") and into a new one per row ("<rows>-fresh-buffer"), as a record needs.
func BenchmarkEncode(b *testing.B) {
	enc, err := NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, set := range benchSets {
		for _, fresh := range []bool{false, true} {
			name := set.name
			if fresh {
				name += "-fresh-buffer"
			}
			b.Run(name, func(b *testing.B) {
				inputs := set.inputs(b)
				var c Converter
				natives := make([]map[string]any, len(inputs))
				for i, in := range inputs {
					if natives[i], err = c.Convert(in.rep, in.row, in.meta); err != nil {
						b.Fatal(err)
					}
				}
				var buf []byte
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					in := inputs[i%len(inputs)]
					if fresh {
						buf = nil
					}
					if buf, err = enc.Encode(ctx, in.topic, in.rep, natives[i%len(inputs)], buf[:0]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkConvertEncode converts and encodes rows, in turn, into one reused buffer:
// the per-row cost of the schemas stage of the pipeline, in both wire formats, encoded
// as a connector does (encode=native: EncodeNative) and through the event's map and
// goavro's record codec (encode=map: Encode).
func BenchmarkConvertEncode(b *testing.B) {
	reg := srfake.New()
	defer reg.Close()
	rcl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range []struct {
		name string
		opts []Opt
	}{{"single-object", nil}, {"confluent", []Opt{Registry(rcl)}}} {
		for _, set := range benchSets {
			for _, path := range []string{"native", "map"} {
				b.Run(format.name+"/"+set.name+"/encode="+path, func(b *testing.B) {
					inputs := set.inputs(b)
					enc, err := NewEncoder(format.opts...)
					if err != nil {
						b.Fatal(err)
					}
					var c Converter
					natives := nativePerReport{}
					ctx := context.Background()
					var buf []byte
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						in := inputs[i%len(inputs)]
						i++
						n := natives.of(in.rep)
						if err := c.Fill(n, in.rep, in.row, in.meta); err != nil {
							b.Fatal(err)
						}
						if path == "native" {
							buf, err = enc.EncodeNative(ctx, in.topic, in.rep, n, buf[:0])
						} else {
							buf, err = enc.Encode(ctx, in.topic, in.rep, n.Event(), buf[:0])
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		}
	}
}
