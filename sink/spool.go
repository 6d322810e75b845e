package sink

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
)

// spool holds, in order, the records of a transaction that the producer had no room
// for: in memory while the writer's [Budget] has room for them, the rest in a
// temporary file. It lets Produce return at once whatever the broker's pace, so a
// caller reading an HTTP answer into a transaction never holds the answer open while
// Kafka is slow; Drain produces what waits, in the order it came. A record kept in
// memory keeps its share of the budget until it is produced (the producer gives it
// back when the broker answers) or the spool is dropped.
//
// Only a record's topic, key, value and headers are kept: those are all the
// transaction's records carry (the producer stamps the time when it buffers them).
type spool struct {
	dir    string
	budget *Budget

	mem []*kgo.Record

	file   *os.File // nil until the budget is full
	w      *bufio.Writer
	inFile int // records in the file
}

func (s *spool) len() int { return len(s.mem) + s.inFile }

// add keeps r after everything already spooled.
func (s *spool) add(r *kgo.Record) error {
	if s.file == nil && s.budget.tryTake(RecordMemory(r)) {
		s.mem = append(s.mem, r)
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "wolkvox-connect-spool-*")
		if err != nil {
			return fmt.Errorf("sink: spooling a record the producer has no room for: %w", err)
		}
		s.file, s.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	if err := writeSpooled(s.w, r); err != nil {
		return fmt.Errorf("sink: spooling a record to %s: %w", s.file.Name(), err)
	}
	s.inFile++
	return nil
}

// drain hands every spooled record to produce, in order, and empties the spool. A
// record from memory comes with its memory taken from the budget (reserved), which
// passes to produce; one from the file comes without.
func (s *spool) drain(produce func(r *kgo.Record, reserved bool) error) error {
	for i, r := range s.mem {
		s.mem[i] = nil // produce owns its memory now
		if err := produce(r, true); err != nil {
			s.mem = s.mem[i+1:]
			return err
		}
	}
	s.mem = s.mem[:0]
	if s.file == nil {
		return nil
	}
	defer s.close()
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("sink: spool %s: %w", s.file.Name(), err)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("sink: spool %s: %w", s.file.Name(), err)
	}
	r := bufio.NewReaderSize(s.file, 64<<10)
	for range s.inFile {
		rec, err := readSpooled(r)
		if err != nil {
			return fmt.Errorf("sink: reading spool %s back: %w", s.file.Name(), err)
		}
		if err := produce(rec, false); err != nil {
			return err
		}
	}
	return nil
}

// close drops whatever is spooled, giving its memory back, and removes the file.
func (s *spool) close() {
	for _, r := range s.mem {
		s.budget.give(RecordMemory(r))
	}
	clear(s.mem)
	s.mem = s.mem[:0]
	if s.file != nil {
		name := s.file.Name()
		s.file.Close()
		os.Remove(name)
		s.file, s.w, s.inFile = nil, nil, 0
	}
}

// recordBytes is what a record counts against the producer's MaxBufferedBytes.
func recordBytes(r *kgo.Record) int64 {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}

// The file holds each record as: topic, key, value, then the header count and each
// header's key and value, every field a uvarint length (or count) and its bytes. A key
// or value that was nil is written with length 0 and read back empty: the records
// spooled are events and dead letters, which always carry both.
func writeSpooled(w *bufio.Writer, r *kgo.Record) error {
	var buf [binary.MaxVarintLen64]byte
	field := func(b []byte) {
		w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(b)))])
		w.Write(b)
	}
	w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(r.Topic)))])
	w.WriteString(r.Topic)
	field(r.Key)
	field(r.Value)
	w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(r.Headers)))])
	for _, h := range r.Headers {
		w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(h.Key)))])
		w.WriteString(h.Key)
		field(h.Value)
	}
	// bufio.Writer keeps its first error and returns it from every later call.
	_, err := w.Write(nil)
	return err
}

// maxSpooledField bounds one field read back: nothing larger was written (a record is
// bounded by the topic's max.message.bytes, the offsets topic's 16 MiB at most).
const maxSpooledField = 64 << 20

var errSpoolCorrupt = errors.New("corrupt spool record")

func readSpooled(r *bufio.Reader) (*kgo.Record, error) {
	field := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > maxSpooledField {
			return nil, fmt.Errorf("%w: a field of %d bytes", errSpoolCorrupt, n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	topic, err := field()
	if err != nil {
		return nil, err
	}
	rec := &kgo.Record{Topic: string(topic)}
	if rec.Key, err = field(); err != nil {
		return nil, err
	}
	if rec.Value, err = field(); err != nil {
		return nil, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > maxSpooledField {
		return nil, fmt.Errorf("%w: %d headers", errSpoolCorrupt, n)
	}
	rec.Headers = make([]kgo.RecordHeader, 0, n)
	for range n {
		k, err := field()
		if err != nil {
			return nil, err
		}
		v, err := field()
		if err != nil {
			return nil, err
		}
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: string(k), Value: v})
	}
	return rec, nil
}
