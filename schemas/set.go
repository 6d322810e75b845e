package schemas

import (
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/linkedin/goavro/v2"
)

//go:generate go run ./internal/genschemas

// avroFS holds the generated schemas: avro/<api>.avsc (current) and
// avro/history/<api>.v<N>.avsc (every version ever generated, the current one included).
// The directory is embedded whole, with its README, so that an empty catalog still builds.
//
//go:embed avro
var avroFS embed.FS

// Dir is where the generated schemas live, relative to this package.
const Dir = "avro"

// Version is one generation of a report's schema, as kept under avro/history.
type Version struct {
	// Number counts from 1.
	Number int
	// Text is the .avsc file as written.
	Text string
	// Canonical is the Avro Parsing Canonical Form (see CanonicalForm): what identifies
	// the schema on the wire; docs and custom attributes are not part of it.
	Canonical string
	// Fingerprint is the CRC-64-AVRO (Rabin) fingerprint of Canonical, the one Avro
	// single-object encoding carries.
	Fingerprint uint64

	compiled *compiled
}

// Schema is the current schema of one report, with its history.
type Schema struct {
	// Report is the report's api name, e.g. "diagram_13".
	Report string
	// Name is the record's full name, e.g. "com.wolkvox.reports.Diagram13".
	Name string
	// Text is the .avsc file: what a registry gets and `schemas show` prints.
	Text string
	// Canonical and Fingerprint are as in Version.
	Canonical   string
	Fingerprint uint64
	// Versions are the kept generations, oldest first; when the history is up to date
	// the last one has the current Canonical form.
	Versions []Version

	compiled *compiled
	// lastSize is the size of the last event encoded with it: an Encoder reserves that
	// much (and an eighth more) at once, rather than growing a short dst step by step
	// through goavro's appends.
	lastSize atomic.Int64
}

// Set is a collection of report schemas, indexed by report, record name and fingerprint.
// It is immutable (each schema's codecs are compiled at its first use: see compiled) and
// safe for concurrent use.
type Set struct {
	byReport map[string]*Schema
	byName   map[string]*Schema
	// byFingerprint covers current schemas and every history version, so that old events
	// still decode; goavro's own (non-standard) fingerprints are indexed too, so that
	// events from producers that use goavro's SingleFromNative decode as well.
	byFingerprint map[uint64]fingerprinted
	// orphans are reports that have history but no current schema (a removed report).
	orphans map[string][]Version
}

type fingerprinted struct {
	report, name string
	compiled     *compiled
}

// compiled is a schema text's goavro codecs, built at first use. Load compiles every
// schema to check it, then keeps only its text: a worker streaming a few reports would
// otherwise hold the codecs of the whole catalog, every report and every version of its
// history: the embedded set took 6.9 MiB of live heap compiled, 0.8 MiB not (and a
// history version that is the current schema shares its text and codecs).
type compiled struct {
	text string
	// record is set for a current schema: its fields are compiled too, for EncodeNative.
	record bool

	once   sync.Once
	whole  *goavro.Codec
	fields []recordField
}

// compile checks that text compiles and returns it to be compiled again at first use,
// with goavro's own fingerprint of it (which Load indexes too).
func compile(text string, record bool) (*compiled, uint64, error) {
	codec, err := goavro.NewCodec(text)
	if err != nil {
		return nil, 0, err
	}
	return &compiled{text: text, record: record}, codec.Rabin, nil
}

// build compiles c once, for whichever goroutine uses it first.
func (c *compiled) build() {
	c.once.Do(func() {
		codec, err := goavro.NewCodec(c.text)
		if err != nil {
			panic(fmt.Sprintf("schemas: a schema that compiled at Load does not compile again: %v", err))
		}
		c.whole = codec
		if c.record {
			c.fields = recordFields(c.text)
		}
	})
}

// codec is the schema's record codec. Load compiled the same text, so it is never nil.
func (c *compiled) codec() *goavro.Codec {
	c.build()
	return c.whole
}

// fieldCodecs are a current schema's fields for EncodeNative (nil: it uses the codec).
func (c *compiled) fieldCodecs() []recordField {
	c.build()
	return c.fields
}

var embedded = sync.OnceValues(func() (*Set, error) {
	sub, err := fs.Sub(avroFS, Dir)
	if err != nil {
		return nil, fmt.Errorf("schemas: embedded files: %w", err)
	}
	return Load(sub)
})

// Embedded returns the schemas compiled into the binary (generated from the catalog by
// go generate). It fails only if the checked-in files are broken, which tests rule out.
func Embedded() (*Set, error) { return embedded() }

// Load reads a schema tree laid out like avro/: <api>.avsc at the root and
// history/<api>.v<N>.avsc below it. Other files are ignored. Every schema must compile
// and name its report in the "wolkvox.report" attribute, matching its file name.
func Load(fsys fs.FS) (*Set, error) {
	s := &Set{
		byReport:      map[string]*Schema{},
		byName:        map[string]*Schema{},
		byFingerprint: map[uint64]fingerprinted{},
		orphans:       map[string][]Version{},
	}
	current, err := fs.Glob(fsys, "*.avsc")
	if err != nil {
		return nil, fmt.Errorf("schemas: listing schemas: %w", err)
	}
	for _, file := range current {
		api := strings.TrimSuffix(file, ".avsc")
		text, name, canon, c, rabin, err := readSchema(fsys, file, api, true)
		if err != nil {
			return nil, err
		}
		sc := &Schema{Report: api, Name: name, Text: text, Canonical: canon, Fingerprint: fingerprint(canon), compiled: c}
		if other, dup := s.byName[name]; dup {
			return nil, fmt.Errorf("%w: reports %s and %s share the record name %s", ErrCatalog, other.Report, api, name)
		}
		s.byReport[api], s.byName[name] = sc, sc
		s.index(fingerprinted{api, name, c}, sc.Fingerprint, rabin)
	}

	history, err := fs.Glob(fsys, "history/*.avsc")
	if err != nil {
		return nil, fmt.Errorf("schemas: listing history: %w", err)
	}
	versions := map[string][]Version{}
	for _, file := range history {
		base := strings.TrimSuffix(path.Base(file), ".avsc")
		i := strings.LastIndex(base, ".v")
		n := 0
		if i > 0 {
			n, _ = strconv.Atoi(base[i+2:])
		}
		if n < 1 {
			return nil, fmt.Errorf("%w: history file %s is not named <api>.v<N>.avsc", ErrCatalog, file)
		}
		api := base[:i]
		text, name, canon, c, rabin, err := readSchema(fsys, file, api, false)
		if err != nil {
			return nil, err
		}
		fp := fingerprint(canon)
		versions[api] = append(versions[api], Version{Number: n, Text: text, Canonical: canon, Fingerprint: fp, compiled: c})
		s.index(fingerprinted{api, name, c}, fp, rabin)
	}
	for api, vs := range versions {
		slices.SortFunc(vs, func(a, b Version) int { return cmp.Compare(a.Number, b.Number) })
		for i, v := range vs {
			if v.Number != i+1 {
				return nil, fmt.Errorf("%w: history of %s skips from v%d to v%d", ErrCatalog, api, i, v.Number)
			}
		}
		if sc, ok := s.byReport[api]; ok {
			for i := range vs {
				if vs[i].Text == sc.Text {
					// The current version, kept once (with its codecs, once compiled).
					vs[i].Text, vs[i].compiled = sc.Text, sc.compiled
				}
			}
			sc.Versions = vs
		} else {
			s.orphans[api] = vs
		}
	}
	return s, nil
}

// index records a schema under its fingerprint and goavro's variant of it, unless already
// known (the current schema is indexed first and wins over its identical history version).
func (s *Set) index(f fingerprinted, fp, rabin uint64) {
	for _, k := range []uint64{fp, rabin} {
		if _, ok := s.byFingerprint[k]; !ok {
			s.byFingerprint[k] = f
		}
	}
}

// readSchema reads and compiles one .avsc file and checks it belongs to api; record
// says whether it is a current schema (see compiled).
func readSchema(fsys fs.FS, file, api string, record bool) (text, name, canon string, c *compiled, rabin uint64, err error) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return "", "", "", nil, 0, fmt.Errorf("schemas: reading %s: %w", file, err)
	}
	var head struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		Report    string `json:"wolkvox.report"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return "", "", "", nil, 0, fmt.Errorf("%w: %s is not a JSON schema: %w", ErrCatalog, file, err)
	}
	if head.Report != api {
		return "", "", "", nil, 0, fmt.Errorf("%w: %s names report %q, its file name says %q", ErrCatalog, file, head.Report, api)
	}
	text = string(b)
	c, rabin, err = compile(text, record)
	if err != nil {
		return "", "", "", nil, 0, fmt.Errorf("%w: %s does not compile: %w", ErrCatalog, file, err)
	}
	canon, err = CanonicalForm(text)
	if err != nil {
		return "", "", "", nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	name = head.Name
	if head.Namespace != "" && !strings.Contains(name, ".") {
		name = head.Namespace + "." + name
	}
	return text, name, canon, c, rabin, nil
}

// Lookup returns the current schema of a report.
func (s *Set) Lookup(api string) (*Schema, bool) {
	sc, ok := s.byReport[api]
	return sc, ok
}

// All returns every current schema, sorted by report name.
func (s *Set) All() []*Schema {
	out := make([]*Schema, 0, len(s.byReport))
	for _, sc := range s.byReport {
		out = append(out, sc)
	}
	slices.SortFunc(out, func(a, b *Schema) int { return cmp.Compare(a.Report, b.Report) })
	return out
}

// Len is the number of reports with a current schema.
func (s *Set) Len() int { return len(s.byReport) }

// byFP returns the report, record name and codec of a fingerprint, current or historic.
func (s *Set) byFP(fp uint64) (fingerprinted, bool) {
	f, ok := s.byFingerprint[fp]
	return f, ok
}
