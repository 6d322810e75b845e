package schemas

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// swappableRegistry is one URL in front of a registry the test can replace, as a
// registry with in-memory storage that restarts (Apicurio's default) looks to a client:
// the same address, none of the schemas. down makes it answer 503.
type swappableRegistry struct {
	srv  *httptest.Server
	mu   sync.Mutex
	cur  *srfake.Registry
	down bool
}

func newSwappableRegistry(t *testing.T) *swappableRegistry {
	t.Helper()
	s := &swappableRegistry{}
	s.restart()
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		cur, down := s.cur, s.down
		s.mu.Unlock()
		if down {
			http.Error(w, `{"error_code":50301,"message":"down"}`, http.StatusServiceUnavailable)
			return
		}
		cur.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// restart replaces the registry by an empty one and returns it.
func (s *swappableRegistry) restart() *srfake.Registry {
	r := srfake.NewRegistry()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = r
	return r
}

func (s *swappableRegistry) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// TestRegistryRefresh: an Encoder confirms each topic's schema ID with the registry
// again once RegistryRefresh has passed, so that a registry that lost its schemas (an
// in-memory registry restarted) gets them registered again within that interval, and
// the events carry the new ID, which it resolves, with a warning that names both IDs. A
// registry that cannot be reached at a refresh leaves the cached ID in use; a
// pre-registered schema that is gone fails with ErrNotRegistered.
func TestRegistryRefresh(t *testing.T) {
	ctx := context.Background()
	rep := lookup(t, "chat_3")
	native := convertSample(t, rep)
	idOf := func(t *testing.T, b []byte) int {
		t.Helper()
		id, _, err := (&sr.ConfluentHeader{}).DecodeID(b)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	const refresh = 50 * time.Millisecond

	t.Run("registers again", func(t *testing.T) {
		reg := newSwappableRegistry(t)
		var logs bytes.Buffer
		enc, err := NewEncoder(RegistryURLs(reg.srv.URL), RegistryRefresh(refresh),
			WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		first, err := enc.Encode(ctx, "t", rep, native, nil)
		if err != nil {
			t.Fatal(err)
		}
		oldID := idOf(t, first)
		fresh := reg.restart()
		// Another producer registers first in the new registry: the IDs shift.
		if _, _, err := fresh.RegisterSchema("other-value", sr.Schema{Schema: `"string"`}); err != nil {
			t.Fatal(err)
		}
		b, err := enc.Encode(ctx, "t", rep, native, nil)
		if err != nil || idOf(t, b) != oldID {
			t.Fatalf("within the refresh interval: id %d, %v; want the cached %d", idOf(t, b), err, oldID)
		}
		time.Sleep(refresh + 10*time.Millisecond)
		b, err = enc.Encode(ctx, "t", rep, native, nil)
		if err != nil {
			t.Fatal(err)
		}
		newID := idOf(t, b)
		ss, ok := fresh.GetSchema("t-value", 1)
		if !ok || ss.ID != newID || newID == oldID {
			t.Fatalf("after the refresh: events carry %d (before %d); the new registry holds %+v", newID, oldID, ss)
		}
		h, err := enc.SchemaHeader(ctx, "t", rep)
		if err != nil || !strings.HasSuffix(string(h.Value), "&id="+strconv.Itoa(newID)) {
			t.Errorf("SchemaHeader = %s, %v; want id %d", h.Value, err, newID)
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "previous_id="+strconv.Itoa(oldID)) ||
			!strings.Contains(logs.String(), "id="+strconv.Itoa(newID)) {
			t.Errorf("no warning naming both IDs:\n%s", logs.String())
		}
	})

	t.Run("registry down at a refresh", func(t *testing.T) {
		reg := newSwappableRegistry(t)
		enc, err := NewEncoder(RegistryURLs(reg.srv.URL), RegistryRefresh(refresh))
		if err != nil {
			t.Fatal(err)
		}
		first, err := enc.Encode(ctx, "t", rep, native, nil)
		if err != nil {
			t.Fatal(err)
		}
		reg.setDown(true)
		time.Sleep(refresh + 10*time.Millisecond)
		b, err := enc.Encode(ctx, "t", rep, native, nil)
		if err != nil || idOf(t, b) != idOf(t, first) {
			t.Fatalf("registry down at the refresh: %v; want the cached ID and no error", err)
		}
	})

	t.Run("pre-registered schema gone", func(t *testing.T) {
		reg := newSwappableRegistry(t)
		sc, _ := embeddedSet(t).Lookup("chat_3")
		reg.cur.SeedSchema("t-value", 1, 7, sr.Schema{Schema: sc.Text})
		enc, err := NewEncoder(RegistryURLs(reg.srv.URL), RegistryRefresh(refresh), RequirePreRegistered(true))
		if err != nil {
			t.Fatal(err)
		}
		if b, err := enc.Encode(ctx, "t", rep, native, nil); err != nil || idOf(t, b) != 7 {
			t.Fatalf("pre-registered: %v", err)
		}
		reg.restart()
		time.Sleep(refresh + 10*time.Millisecond)
		if _, err := enc.Encode(ctx, "t", rep, native, nil); !errors.Is(err, ErrNotRegistered) {
			t.Fatalf("after the registry lost the schema: %v, want ErrNotRegistered", err)
		}
	})
}
