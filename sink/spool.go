package sink

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

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
	budget *share

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
	recycle(r) // the file holds it now
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
	r := newSpoolReader(bufio.NewReaderSize(s.file, 64<<10))
	for range s.inFile {
		rec, err := r.read()
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

// spoolReader reads records back from a spool file. A record costs three allocations
// (the record, its headers, one block for its bytes) however many fields it has, and
// the topic and header names, the same on every record, are kept once: twenty
// connectors catching up at once send most rows through their spool files.
type spoolReader struct {
	r       *bufio.Reader
	names   map[string]string
	scratch []byte
	ends    []int // where each field ends in scratch
}

func newSpoolReader(r *bufio.Reader) *spoolReader {
	return &spoolReader{r: r, names: make(map[string]string)}
}

// field reads one length-prefixed field onto scratch.
func (sr *spoolReader) field() error {
	n, err := binary.ReadUvarint(sr.r)
	if err != nil {
		return err
	}
	if n > maxSpooledField {
		return fmt.Errorf("%w: a field of %d bytes", errSpoolCorrupt, n)
	}
	start := len(sr.scratch)
	sr.scratch = slices.Grow(sr.scratch, int(n))[:start+int(n)]
	if _, err := io.ReadFull(sr.r, sr.scratch[start:]); err != nil {
		return err
	}
	sr.ends = append(sr.ends, len(sr.scratch))
	return nil
}

// name returns field i of scratch as a string, kept once.
func (sr *spoolReader) name(i int) string {
	b := sr.bytes(sr.scratch, i)
	if s, ok := sr.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(sr.names) < maxSpoolNames {
		sr.names[s] = s
	}
	return s
}

// maxSpoolNames bounds the names kept: a transaction writes to a few topics and its
// records carry a handful of header names.
const maxSpoolNames = 256

// bytes returns field i of block (scratch, or its copy).
func (sr *spoolReader) bytes(block []byte, i int) []byte {
	start := 0
	if i > 0 {
		start = sr.ends[i-1]
	}
	return block[start:sr.ends[i]:sr.ends[i]]
}

func (sr *spoolReader) read() (*kgo.Record, error) {
	sr.scratch, sr.ends = sr.scratch[:0], sr.ends[:0]
	for range 3 { // topic, key, value
		if err := sr.field(); err != nil {
			return nil, err
		}
	}
	n, err := binary.ReadUvarint(sr.r)
	if err != nil {
		return nil, err
	}
	if n > maxSpooledField {
		return nil, fmt.Errorf("%w: %d headers", errSpoolCorrupt, n)
	}
	for range 2 * n {
		if err := sr.field(); err != nil {
			return nil, err
		}
	}
	block := slices.Clone(sr.scratch)
	if block == nil {
		block = []byte{} // empty fields read back empty, not nil (a nil value is a tombstone)
	}
	rec := &kgo.Record{Topic: sr.name(0), Key: sr.bytes(block, 1), Value: sr.bytes(block, 2)}
	if n > 0 {
		rec.Headers = make([]kgo.RecordHeader, n)
		for i := range rec.Headers {
			rec.Headers[i] = kgo.RecordHeader{Key: sr.name(3 + 2*i), Value: sr.bytes(block, 4+2*i)}
		}
	}
	return rec, nil
}
