package schemas

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

func convertSample(t testing.TB, rep *catalog.Report) map[string]any {
	t.Helper()
	row, _, _, _ := testRow(rep, 0)
	var c Converter
	native, err := c.Convert(rep, row, testMeta(rep, "row-1"))
	if err != nil {
		t.Fatal(err)
	}
	return native
}

// countRequests counts registry requests by "METHOD path-prefix".
func countRequests(reg *srfake.Registry) func(method, prefix string) int64 {
	var mu sync.Mutex
	counts := map[string]*atomic.Int64{}
	reg.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range []string{"/subjects/", "/schemas/ids/"} {
			if strings.HasPrefix(r.URL.Path, p) {
				k := r.Method + " " + p
				if counts[k] == nil {
					counts[k] = new(atomic.Int64)
				}
				counts[k].Add(1)
			}
		}
		return false
	})
	return func(method, prefix string) int64 {
		mu.Lock()
		defer mu.Unlock()
		if c := counts[method+" "+prefix]; c != nil {
			return c.Load()
		}
		return 0
	}
}

func TestSingleObjectFormat(t *testing.T) {
	rep := lookup(t, "diagram_13")
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := embeddedSet(t).Lookup(rep.API)
	prefix := []byte("keep")
	b, err := enc.Encode(context.Background(), "any", rep, convertSample(t, rep), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("keep\xC3\x01")) {
		t.Fatalf("encoding does not append C3 01 to dst: % x", b[:min(len(b), 8)])
	}
	want := make([]byte, 8)
	for i := range want {
		want[i] = byte(sc.Fingerprint >> (8 * i))
	}
	if !bytes.Equal(b[6:14], want) {
		t.Errorf("fingerprint bytes % x, want % x (little-endian %016x)", b[6:14], want, sc.Fingerprint)
	}
	h, err := enc.SchemaHeader(context.Background(), "any", rep)
	if err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(string(h.Value))
	if err != nil || h.Key != HeaderKey || q.Get("name") != sc.Name || q.Get("fingerprint") != fmt.Sprintf("%016x", sc.Fingerprint) || q.Has("id") {
		t.Errorf("SchemaHeader = %s=%s", h.Key, h.Value)
	}
	// A value that does not fit is ErrEncode, and dst is returned unchanged.
	bad := convertSample(t, rep)
	bad[FieldRowID] = 42
	out, err := enc.Encode(context.Background(), "any", rep, bad, prefix)
	if !errors.Is(err, ErrEncode) || !bytes.Equal(out, prefix) {
		t.Errorf("Encode(bad) = % x, %v; want dst and ErrEncode", out, err)
	}
	if _, err := enc.Encode(context.Background(), "any", &catalog.Report{API: "nope_1"}, bad, nil); !errors.Is(err, ErrUnknownReport) {
		t.Errorf("Encode(unknown report) = %v, want ErrUnknownReport", err)
	}
}

func TestConfluentRegistersOncePerTopic(t *testing.T) {
	ctx := context.Background()
	reg := srfake.New()
	defer reg.Close()
	count := countRequests(reg)
	enc, err := NewEncoder(RegistryURLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	rep := lookup(t, "chat_3")
	native := convertSample(t, rep)

	var wg sync.WaitGroup
	results := make([][]byte, 16)
	errs := make([]error, 16)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = enc.Encode(ctx, "wolkvox.chat_3", rep, native, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	if n := count(http.MethodPost, "/subjects/"); n != 1 {
		t.Errorf("%d registrations for one topic, want 1", n)
	}
	id, rest, err := (&sr.ConfluentHeader{}).DecodeID(results[0])
	if err != nil || len(rest) == 0 {
		t.Fatalf("not Confluent framed: % x", results[0][:5])
	}
	sc, _ := embeddedSet(t).Lookup("chat_3")
	ss, ok := reg.GetSchema("wolkvox.chat_3-value", 1)
	if !ok || ss.ID != id {
		t.Fatalf("subject wolkvox.chat_3-value holds %+v, events carry id %d", ss, id)
	}
	h, err := enc.SchemaHeader(ctx, "wolkvox.chat_3", rep)
	if err != nil || !strings.Contains(string(h.Value), "&id="+strconv.Itoa(id)) {
		t.Errorf("SchemaHeader = %s, %v", h.Value, err)
	}
	// A second topic is a second subject; a topic cannot change report.
	if _, err := enc.Encode(ctx, "other", rep, native, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(http.MethodPost, "/subjects/"); n != 2 {
		t.Errorf("%d registrations for two topics, want 2", n)
	}
	other := lookup(t, "diagram_13")
	if _, err := enc.Encode(ctx, "other", other, convertSample(t, other), nil); !errors.Is(err, ErrTopicReport) {
		t.Errorf("Encode of another report on a topic = %v, want ErrTopicReport", err)
	}

	// The decoder fetches each ID once.
	dec, err := NewDecoder(RegistryURLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ev, err := dec.Decode(ctx, results[0])
		if err != nil {
			t.Fatal(err)
		}
		if ev.SchemaID != id || ev.Report != "chat_3" || ev.Fingerprint != sc.Fingerprint {
			t.Errorf("Decode = report %q id %d fingerprint %016x; want chat_3, %d, %016x", ev.Report, ev.SchemaID, ev.Fingerprint, id, sc.Fingerprint)
		}
	}
	if n := count(http.MethodGet, "/schemas/ids/"); n != 1 {
		t.Errorf("%d schema fetches for one ID, want 1", n)
	}
}

func TestRequirePreRegistered(t *testing.T) {
	ctx := context.Background()
	reg := srfake.New()
	defer reg.Close()
	rep := lookup(t, "chat_3")
	native := convertSample(t, rep)
	enc, err := NewEncoder(RegistryURLs(reg.URL()), RequirePreRegistered(true))
	if err != nil {
		t.Fatal(err)
	}
	_, err = enc.Encode(ctx, "wolkvox.chat_3", rep, native, nil)
	if !errors.Is(err, ErrNotRegistered) || !strings.Contains(err.Error(), `"wolkvox.chat_3-value"`) || !strings.Contains(err.Error(), "schemas show chat_3") {
		t.Fatalf("Encode before registration = %v; want ErrNotRegistered naming the subject and the fix", err)
	}
	if reg.SubjectExists("wolkvox.chat_3-value") {
		t.Fatal("RequirePreRegistered registered the schema")
	}
	sc, _ := embeddedSet(t).Lookup("chat_3")
	id, _, err := reg.RegisterSchema("wolkvox.chat_3-value", sr.Schema{Schema: sc.Text})
	if err != nil {
		t.Fatal(err)
	}
	b, err := enc.Encode(ctx, "wolkvox.chat_3", rep, native, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := (&sr.ConfluentHeader{}).DecodeID(b); got != id {
		t.Errorf("event carries id %d, registered %d", got, id)
	}
}

// TestRegistryRefusals: a registry that refuses the client (a wrong password, a
// certificate from an unknown CA) is ErrRegistry, and the same registry works with a
// client built as the worker builds it (sr.BasicAuth, sr.HTTPClient), given to Registry.
func TestRegistryRefusals(t *testing.T) {
	ctx := context.Background()
	rep := lookup(t, "chat_3")
	native := convertSample(t, rep)
	encodeWith := func(t *testing.T, opts ...sr.ClientOpt) error {
		t.Helper()
		cl, err := sr.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := NewEncoder(Registry(cl))
		if err != nil {
			t.Fatal(err)
		}
		_, err = enc.Encode(ctx, "t", rep, native, nil)
		return err
	}

	t.Run("basic auth", func(t *testing.T) {
		reg := srfake.New(srfake.WithAuth("Basic " + base64.StdEncoding.EncodeToString([]byte("svc:s3cret"))))
		defer reg.Close()
		if err := encodeWith(t, sr.URLs(reg.URL()), sr.BasicAuth("svc", "wrong")); !errors.Is(err, ErrRegistry) {
			t.Errorf("wrong password: %v, want ErrRegistry", err)
		}
		if err := encodeWith(t, sr.URLs(reg.URL()), sr.BasicAuth("svc", "s3cret")); err != nil {
			t.Errorf("right password: %v", err)
		}
	})

	t.Run("tls", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(srfake.NewRegistry().Handler())
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
		srv.StartTLS()
		defer srv.Close()
		if err := encodeWith(t, sr.URLs(srv.URL)); !errors.Is(err, ErrRegistry) {
			t.Errorf("unknown CA: %v, want ErrRegistry", err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		defer tr.CloseIdleConnections()
		if err := encodeWith(t, sr.URLs(srv.URL), sr.HTTPClient(&http.Client{Transport: tr})); err != nil {
			t.Errorf("trusted CA: %v", err)
		}
	})
}

func TestOptionsValidate(t *testing.T) {
	cl, err := sr.NewClient(sr.URLs("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]Opt{
		"client and urls":        {Registry(cl), RegistryURLs("http://x")},
		"pre-registered, no reg": {RequirePreRegistered(true)},
		"nil logger":             {WithLogger(nil)},
	}
	for name, opts := range tests {
		if _, err := NewEncoder(opts...); err == nil {
			t.Errorf("%s: NewEncoder accepted the options", name)
		}
		if _, err := NewDecoder(opts...); err == nil {
			t.Errorf("%s: NewDecoder accepted the options", name)
		}
	}
}

func TestDecoderRejects(t *testing.T) {
	ctx := context.Background()
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	rep := lookup(t, "chat_3")
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	good, err := enc.Encode(ctx, "t", rep, convertSample(t, rep), nil)
	if err != nil {
		t.Fatal(err)
	}
	unknownFP := append([]byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, good[10:]...)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrWireFormat},
		{"json", []byte(`{"a":1}`), ErrWireFormat},
		{"truncated body", good[:len(good)-3], ErrWireFormat},
		{"trailing bytes", append(append([]byte{}, good...), 0), ErrWireFormat},
		{"unknown fingerprint", unknownFP, ErrUnknownReport},
		{"confluent without registry", []byte{0, 0, 0, 0, 1, 2}, ErrRegistry},
	}
	for _, tt := range tests {
		if _, err := dec.Decode(ctx, tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: Decode = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestDecoderReadsOldVersions(t *testing.T) {
	// An event written with a kept version still decodes after the schema moved on.
	set := loadFixture(t, "evolved")
	sc, _ := set.Lookup("diagram_13")
	v1 := sc.Versions[0]
	rep := lookup(t, "diagram_13")
	body, err := v1.compiled.codec().BinaryFromNative(nil, convertSample(t, rep))
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte{0xC3, 0x01}, le64bytes(v1.Fingerprint)...)
	dec, err := NewDecoder(WithSchemas(set))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := dec.Decode(context.Background(), append(b, body...))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Report != "diagram_13" || ev.Fingerprint != v1.Fingerprint || ev.Values()[FieldRowID] != "row-1" {
		t.Errorf("Decode = %+v", ev)
	}
}

func le64bytes(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}
