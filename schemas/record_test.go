package schemas

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// TestDecodeRecordJSON: the line of a record whose value decodes, of a tombstone, and
// of bytes in neither wire format.
func TestDecodeRecordJSON(t *testing.T) {
	ctx := context.Background()
	rep, ok := catalog.Lookup("agent_7")
	if !ok {
		t.Fatal("no report agent_7")
	}
	var conv Converter
	native, err := conv.Convert(rep, Row{{Key: "agent_id", Value: "1001"}, {Key: "date", Value: "2024-03-05"}}, testMeta(rep, "r1"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	value, err := enc.Encode(ctx, "t", rep, native, nil)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := dec.Decode(ctx, value)
	if err != nil {
		t.Fatal(err)
	}
	evJSON, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := dec.Decode(ctx, []byte("not avro"))
	if !errors.Is(werr, ErrWireFormat) {
		t.Fatalf("decoding bytes in neither format: %v, want ErrWireFormat", werr)
	}
	werrJSON, _ := json.Marshal(werr.Error())
	tests := []struct {
		name string
		rec  *kgo.Record
		want string
	}{
		{name: "decoded", rec: &kgo.Record{Topic: "t", Partition: 1, Offset: 7, Key: []byte("k"), Value: value,
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("first")}, {Key: "h", Value: []byte("last")}}},
			want: `{"topic":"t","partition":1,"offset":7,"key":"k","headers":{"h":"last"},"value":` + string(evJSON) + `}`},
		{name: "tombstone", rec: &kgo.Record{Topic: "t", Key: []byte("gone")},
			want: `{"topic":"t","partition":0,"offset":0,"key":"gone","headers":{},"value":null}`},
		{name: "neither wire format", rec: &kgo.Record{Topic: "t", Value: []byte("not avro")},
			want: `{"topic":"t","partition":0,"offset":0,"key":null,"headers":{},"value":null,` +
				`"error":` + string(werrJSON) + `,"raw":"bm90IGF2cm8="}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(dec.DecodeRecord(ctx, tt.rec))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
