package restapi

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/cluster"
)

// fixedView is a group in which each connector runs where owners says.
type fixedView struct{ members []cluster.MemberView }

func (v fixedView) View() cluster.View {
	return cluster.View{Group: "g", State: "STABLE", Members: v.members}
}

// TestForwardsToTheOwner: in a group, a request about a connector another worker runs
// is answered by that worker (auth header passed on, marked as forwarded, never
// forwarded twice); a connector no worker runs is a 409; one that runs here is answered
// here; GET / shows the group.
func TestForwardsToTheOwner(t *testing.T) {
	var seen []*http.Request
	owner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Clone(r.Context()))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"from":"owner"}`))
	}))
	defer owner.Close()

	fw := newFake()
	fw.conns["beta"].st.State = source.StateUnassigned
	view := fixedView{members: []cluster.MemberView{
		{WorkerID: "here", URL: "http://127.0.0.1:1", Connectors: []string{"alpha"}},
		{WorkerID: "there", URL: owner.URL, Connectors: []string{"beta"}},
	}}
	srv, err := New(fw, Group(view), WorkerID("here"), BearerToken(source.NewSecret("tok")))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()

	a := do(t, h, http.MethodPut, "/connectors/beta/pause", "", "tok")
	if a.status != http.StatusAccepted || string(a.body) != `{"from":"owner"}` {
		t.Fatalf("PUT beta/pause: %d %s, want the owner's 202", a.status, a.body)
	}
	if len(seen) != 1 || seen[0].URL.Path != "/connectors/beta/pause" || seen[0].Method != http.MethodPut ||
		seen[0].Header.Get("Authorization") != "Bearer tok" || seen[0].Header.Get(forwardedHeader) != "here" {
		t.Fatalf("the owner saw %+v", seen)
	}
	if slices.Contains(fw.actions, "pause beta") {
		t.Error("the worker that does not run beta paused it")
	}

	// Already forwarded once: answered here, whatever the view says.
	req := httptest.NewRequest(http.MethodGet, "/connectors/beta/status", nil)
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set(forwardedHeader, "there")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"UNASSIGNED"`) || len(seen) != 1 {
		t.Errorf("a forwarded request: %d %s, owner asked %d times; want the local UNASSIGNED status", rec.Code, rec.Body, len(seen))
	}

	// Runs here: answered here.
	if a := do(t, h, http.MethodGet, "/connectors/alpha/status", "", "tok"); a.status != http.StatusOK || len(seen) != 1 {
		t.Errorf("alpha/status: %d, owner asked %d times; want 200 from here", a.status, len(seen))
	}

	// Between owners: 409.
	srv2, err := New(fw, Group(fixedView{}), WorkerID("here"))
	if err != nil {
		t.Fatal(err)
	}
	if a := do(t, srv2.Handler(), http.MethodPut, "/connectors/beta/resume", "", ""); a.status != http.StatusConflict || !strings.Contains(string(a.body), "handed over") {
		t.Errorf("no owner: %d %s, want 409 saying it is being handed over", a.status, a.body)
	}

	if a := do(t, h, http.MethodGet, "/", "", "tok"); !strings.Contains(string(a.body), `"group":{"group":"g"`) || !strings.Contains(string(a.body), `"worker_id":"there"`) {
		t.Errorf("GET / = %s, want the group and its members", a.body)
	}
}
