package schemas

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is a Kafka record with its value decoded, the form tail prints as one JSON
// line: {"topic","partition","offset","key","headers","value"}, value printed by
// [Event.MarshalJSON]. A value that does not decode prints as "value":null with
// "error" and its bytes in "raw" (base64); a tombstone as "value":null alone.
type Record struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       *string           `json:"key"`     // null for a record without a key
	Headers   map[string]string `json:"headers"` // a repeated header keeps its last value
	Value     *Event            `json:"value"`
	Error     string            `json:"error,omitempty"` // why Raw did not decode
	Raw       []byte            `json:"raw,omitempty"`
}

// DecodeRecord decodes r's value (see [Decoder.Decode]) into a Record. It does not
// fail: a value that does not decode is kept in Raw with the reason in Error, so that a
// reader shows it and goes on.
func (d *Decoder) DecodeRecord(ctx context.Context, r *kgo.Record) *Record {
	rec := &Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Headers: make(map[string]string, len(r.Headers))}
	if r.Key != nil {
		k := string(r.Key)
		rec.Key = &k
	}
	// Last wins, as in most consumers' header maps.
	for _, h := range r.Headers {
		rec.Headers[h.Key] = string(h.Value)
	}
	if r.Value == nil {
		return rec
	}
	ev, err := d.Decode(ctx, r.Value)
	if err != nil {
		rec.Error, rec.Raw = err.Error(), r.Value
		return rec
	}
	rec.Value = ev
	return rec
}
