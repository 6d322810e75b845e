package schemas

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// BenchmarkConvertEncode converts and encodes rows of the five seed reports, in turn,
// into one reused buffer: the per-row cost of the schemas stage of the pipeline.
func BenchmarkConvertEncode(b *testing.B) {
	type input struct {
		rep  *catalog.Report
		row  Row
		meta Meta
	}
	var inputs []input
	for _, api := range seedReports {
		rep := lookup(b, api)
		for variant := range 2 {
			row, _, _, _ := testRow(rep, variant)
			inputs = append(inputs, input{rep, row, testMeta(rep, "row")})
		}
	}
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
		b.Run(format.name, func(b *testing.B) {
			enc, err := NewEncoder(format.opts...)
			if err != nil {
				b.Fatal(err)
			}
			var c Converter
			ctx := context.Background()
			var buf []byte
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				in := inputs[i%len(inputs)]
				i++
				native, err := c.Convert(in.rep, in.row, in.meta)
				if err != nil {
					b.Fatal(err)
				}
				buf, err = enc.Encode(ctx, "wolkvox."+in.rep.API, in.rep, native, buf[:0])
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
