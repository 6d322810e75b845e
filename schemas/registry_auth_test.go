package schemas

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

// TestRegistryAuthRefused: a registry answering 401 or 403 is ErrRegistryAuth (and
// ErrRegistry), for every call the package makes, and the error's text holds neither the
// password nor its Basic form, though the registry echoes the Authorization header in
// its body, as plain text or in a JSON message. The registry's answer stays reachable.
func TestRegistryAuthRefused(t *testing.T) {
	const user, password = "svc-wolkvox", "pa55-Registry-9d2f"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	rep := lookup(t, "chat_3")
	native := convertSample(t, rep)
	calls := map[string]func(t *testing.T, cl *sr.Client) error{
		"register": func(t *testing.T, cl *sr.Client) error {
			enc, err := NewEncoder(Registry(cl))
			if err != nil {
				t.Fatal(err)
			}
			_, err = enc.Encode(context.Background(), "t", rep, native, nil)
			return err
		},
		"look up pre-registered": func(t *testing.T, cl *sr.Client) error {
			enc, err := NewEncoder(Registry(cl), RequirePreRegistered(true))
			if err != nil {
				t.Fatal(err)
			}
			_, err = enc.Encode(context.Background(), "t", rep, native, nil)
			return err
		},
		"fetch by ID": func(t *testing.T, cl *sr.Client) error {
			dec, err := NewDecoder(Registry(cl))
			if err != nil {
				t.Fatal(err)
			}
			_, err = dec.Decode(context.Background(), []byte{0, 0, 0, 0, 7, 2})
			return err
		},
	}
	bodies := map[string]func(auth string) string{
		"plain": func(auth string) string { return "Unauthorized: " + auth },
		"json message": func(auth string) string {
			return fmt.Sprintf(`{"error_code":40101,"message":"bad credentials in %s"}`, auth)
		},
	}
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		for bodyName, body := range bodies {
			for callName, call := range calls {
				t.Run(fmt.Sprintf("%d %s %s", status, bodyName, callName), func(t *testing.T) {
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.WriteHeader(status)
						fmt.Fprint(w, body(r.Header.Get("Authorization")))
					}))
					defer srv.Close()
					cl, err := sr.NewClient(sr.URLs(srv.URL), sr.BasicAuth(user, password))
					if err != nil {
						t.Fatal(err)
					}
					err = call(t, cl)
					if !errors.Is(err, ErrRegistryAuth) || !errors.Is(err, ErrRegistry) || errors.Is(err, ErrNotRegistered) {
						t.Fatalf("err = %v, want ErrRegistryAuth", err)
					}
					var re *sr.ResponseError
					if !errors.As(err, &re) || re.StatusCode != status || !strings.Contains(string(re.Raw), basic) {
						t.Fatalf("the registry's answer is not reachable, or the test server did not echo: %#v", re)
					}
					for _, text := range []string{err.Error(), fmt.Sprintf("%v|%+v|%s", err, err, err)} {
						if strings.Contains(text, password) || strings.Contains(text, basic) {
							t.Fatalf("credentials in the error text: %s", text)
						}
					}
					if !strings.Contains(err.Error(), fmt.Sprint(status)) {
						t.Errorf("error %q does not give the status", err)
					}
				})
			}
		}
	}

	t.Run("other statuses stay plain ErrRegistry", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error_code":50001,"message":"store down"}`)
		}))
		defer srv.Close()
		cl, err := sr.NewClient(sr.URLs(srv.URL), sr.BasicAuth(user, password))
		if err != nil {
			t.Fatal(err)
		}
		if err := calls["register"](t, cl); !errors.Is(err, ErrRegistry) || errors.Is(err, ErrRegistryAuth) {
			t.Fatalf("err = %v, want ErrRegistry without ErrRegistryAuth", err)
		}
	})
}
