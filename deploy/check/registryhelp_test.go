package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
)

// registry is the real Schema Registry the suite runs against (make test starts Apicurio
// Registry with deploy/local/registry.sh and sets WOLKVOX_TEST_REGISTRY to
// http://USER:PASSWORD@HOST:PORT/apis/ccompat/v7).
type registry struct {
	URL            string // the Confluent-compatible base URL, without user info
	User, Password string
}

// testRegistry is the real registry, or a skip (outside CI) or a failure (under CI=true)
// when WOLKVOX_TEST_REGISTRY is not set, as testKafka does for the broker. It sets the
// registry's global compatibility to BACKWARD, Confluent's default (Apicurio's is NONE).
func testRegistry(t *testing.T) registry {
	t.Helper()
	raw := os.Getenv("WOLKVOX_TEST_REGISTRY")
	if raw == "" {
		msg := `WOLKVOX_TEST_REGISTRY is not set: run deploy/local/registry.sh start and eval "$(deploy/local/registry.sh env)" (make test does)`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		t.Fatalf("WOLKVOX_TEST_REGISTRY is not http://USER:PASSWORD@HOST:PORT/PATH: %v", err)
	}
	r := registry{User: u.User.Username()}
	r.Password, _ = u.User.Password()
	u.User = nil
	r.URL = strings.TrimSuffix(u.String(), "/")
	if status, body := r.do(t, http.MethodPut, "/config", `{"compatibility":"BACKWARD"}`); status != http.StatusOK {
		t.Fatalf("PUT /config: %d %s", status, body)
	}
	return r
}

// client is a franz-go registry client with the registry's credentials.
func (r registry) client(t *testing.T) *sr.Client {
	t.Helper()
	return r.clientAs(t, r.User, r.Password)
}

func (r registry) clientAs(t *testing.T, user, password string) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(r.URL), sr.BasicAuth(user, password),
		sr.HTTPClient(&http.Client{Timeout: 15 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// do sends one request with the registry's credentials and returns the status and body.
func (r registry) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(r.User, r.Password)
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// register POSTs a schema under a subject, as the README's curl line does, and returns
// its ID.
func (r registry) register(t *testing.T, subject, schema string) int {
	t.Helper()
	var req bytes.Buffer
	if err := json.NewEncoder(&req).Encode(map[string]string{"schema": schema}); err != nil {
		t.Fatal(err)
	}
	status, body := r.do(t, http.MethodPost, "/subjects/"+url.PathEscape(subject)+"/versions", req.String())
	var ans struct{ ID int }
	if err := json.Unmarshal([]byte(body), &ans); status != http.StatusOK || err != nil || ans.ID == 0 {
		t.Fatalf("registering %s: %d %s", subject, status, body)
	}
	return ans.ID
}

// String hides the password, should a registry ever be printed.
func (r registry) String() string { return fmt.Sprintf("%s (user %s)", r.URL, r.User) }

// privateRegistry starts a registry of its own (deploy/local/registry.sh with an
// instance name), for a test that restarts it without disturbing the shared one; the
// test's cleanup stops it. It needs what the shared one needs, so it runs where
// WOLKVOX_TEST_REGISTRY is set (and is then built already).
func privateRegistry(t *testing.T) (registry, func()) {
	t.Helper()
	testRegistry(t)
	instance := fmt.Sprintf("test%d", time.Now().UnixNano())
	env := append(os.Environ(), "REGISTRY_INSTANCE="+instance)
	script := "deploy/local/registry.sh"
	var raw string // stdout's URL; run's output has the script's log lines too
	for _, line := range strings.Split(run(t, 3*time.Minute, env, script, "start"), "\n") {
		if strings.HasPrefix(line, "http://") {
			raw = line
		}
	}
	t.Cleanup(func() { run(t, time.Minute, env, script, "stop") })
	t.Setenv("WOLKVOX_TEST_REGISTRY", raw)
	reg := testRegistry(t)
	restart := func() {
		t.Helper()
		run(t, 3*time.Minute, env, script, "restart")
		// A fresh registry is NONE again: Confluent's default first, as testRegistry does.
		if status, body := reg.do(t, http.MethodPut, "/config", `{"compatibility":"BACKWARD"}`); status != http.StatusOK {
			t.Fatalf("PUT /config: %d %s", status, body)
		}
	}
	return reg, restart
}
