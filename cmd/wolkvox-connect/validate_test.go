package main

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

// TestValidateExamples checks that both deploy/examples files pass validate given the
// variables they reference, that their plans fit, and that no secret is printed.
func TestValidateExamples(t *testing.T) {
	tests := []struct {
		file  string
		plans []string
	}{
		{"one-operation.yaml", []string{
			"quota plan for the token of bogota (resets at 00:00 America/Bogota)",
			// diagram_13 and diagram_4 every 5m, act_3 every 10m, diagram_1_3 per
			// hour, chat_3 per day: the figure the file's closing comment quotes.
			"745 of 3000 calls/day",
		}},
		{"several-operations.yaml", []string{
			"quota plan for the token of bogota, bogota-chat",
			"bogota-chat/chat_1",
			"quota plan for the token of lima (resets at 00:00 America/Lima)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "deploy", "examples", tt.file)
			code, out, errOut := runCLI(t, testEnv, "validate", "--config", path)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			for _, want := range append([]string{"config OK: " + path, "  fits: "}, tt.plans...) {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for _, v := range testEnv {
				if strings.Contains(out+errOut, v) {
					t.Errorf("output shows the secret %q", v)
				}
			}
		})
	}
}

// TestValidateExamplesNeedTheirVariables checks that an example run without its
// variables names each missing one.
func TestValidateExamplesNeedTheirVariables(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "examples", "several-operations.yaml")
	code, out, _ := runCLI(t, nil, "validate", "--config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, v := range []string{"WOLKVOX_TOKEN_CO", "WOLKVOX_TOKEN_PE", "SR_PASSWORD", "WOLKVOX_REST_TOKEN"} {
		if !strings.Contains(out, "export "+v) {
			t.Errorf("output does not name %s:\n%s", v, out)
		}
	}
}

func TestValidateCommand(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		noneOutput bool
	}{
		{name: "good", args: []string{"--config", configdata + "minimal.good.yaml"}, code: 0,
			stdout: []string{"config OK: " + configdata + "minimal.good.yaml (1 connector(s), 1 report(s))", "bogota/diagram_13", "288 of 3000 calls/day"}},
		{name: "short flag", args: []string{"-c", configdata + "shared-token.good.yaml"}, code: 0,
			stdout: []string{"quota plan for the token of a, b", "600 of 1000", "quota plan for the token of c"}},
		{name: "quota does not fit", args: []string{"--config", configdata + "quota.bad.yaml"}, code: 1,
			stdout: []string{configdata + "quota.bad.yaml:7: connectors[0].daily_quota: the reports on the token of bogota make 576 calls a day", "fix: cut 76 calls a day"},
			stderr: []string{configdata + "quota.bad.yaml: 1 problem(s)"}},
		{name: "several problems, one per line", args: []string{"--config", configdata + "unknown-key.bad.yaml"}, code: 1,
			stdout: []string{
				configdata + "unknown-key.bad.yaml:5: kafka.broker: unknown key (fix: did you mean brokers?",
				configdata + "unknown-key.bad.yaml:9: connectors[0].tokn: unknown key (fix: did you mean token?",
			},
			stderr: []string{"4 problem(s)"}},
		{name: "file without line", args: []string{"--config", configdata + "no-connectors.bad.yaml"}, code: 1,
			stdout: []string{configdata + "no-connectors.bad.yaml: connectors: is empty"}},
		{name: "missing file", args: []string{"--config", "testdata/nope.yaml"}, code: 1,
			stderr: []string{"configuration: stat testdata/nope.yaml: no such file or directory"}, noneOutput: true},
		{name: "no config", args: nil, code: 2, stderr: []string{"--config FILE is required", "--help"}, noneOutput: true},
		{name: "extra argument", args: []string{"--config", configdata + "minimal.good.yaml", "more"}, code: 2, stderr: []string{`unexpected argument "more"`}, noneOutput: true},
		{name: "unknown flag", args: []string{"--conf", "x"}, code: 2, stderr: []string{"unknown flag: --conf"}, noneOutput: true},
		{name: "help", args: []string{"--help"}, code: 0, stdout: []string{"Usage: wolkvox-connect validate --config FILE [--probe]", "-c, --config", "--probe", "Example:\n  WOLKVOX_TOKEN=... wolkvox-connect validate --config deploy/examples/one-operation.yaml --probe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, testEnv, append([]string{"validate"}, tt.args...)...)
			if tt.noneOutput && out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			checkCLI(t, code, out, errOut, tt.code, tt.stdout, tt.stderr)
		})
	}
}

// TestValidateProbe runs validate --probe against a fake Wolkvox answering token_info,
// and checks what is printed for a good token, a rejected one, a spent quota and a
// daily_quota above the token's limit: one call per connector, never the token.
func TestValidateProbe(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const token = "probe-token-s3cr3t"
	tests := []struct {
		name   string
		status int
		body   string
		code   int
		stdout []string
	}{
		{"ok", 200, `{"code":200,"error":null,"msg":"Information found","data":{"token_limit":"3000","token_use_today":"12"}}`, 0,
			[]string{"config OK", "probe bogota: token_limit 3000, token_use_today 12 (2988 left today)"}},
		{"invalid token", 403, `{"code":403,"error":"FORBIDDEN","msg":"PLEASE VALIDATE TOKEN"}`, 1,
			[]string{"probe bogota: FAILED (invalid_token): ", "PLEASE VALIDATE TOKEN", "fix: check the token"}},
		{"quota spent", 403, `{"code":403,"error":"FORBIDDEN","msg":"TOKEN LIMIT EXCEEDED"}`, 1,
			[]string{"probe bogota: FAILED (quota_exhausted)", "wait for the daily reset"}},
		{"maintenance", 403, `<html>maintenance</html>`, 1,
			[]string{"probe bogota: FAILED (transient)", "try again later"}},
		{"limit below daily_quota", 200, `{"code":"200","error":null,"msg":"ok","data":{"token_limit":"1000","token_use_today":"0"}}`, 1,
			[]string{"token_limit 1000", "connectors[0].daily_quota: 3000 is above the token's limit of 1000 calls a day (fix: set daily_quota: 1000)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if r.URL.Path != "/api/v2/information.php" || r.URL.Query().Get("api") != "token_info" ||
					r.Header.Get("wolkvox-token") != token || r.Header.Get("wolkvox_server") != "0040" {
					http.Error(w, "unexpected request "+r.URL.String(), http.StatusTeapot)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			cfg := filepath.Join(t.TempDir(), "probe.yaml")
			yaml := fmt.Sprintf(`kafka: {brokers: ["127.0.0.1:9092"]}
connectors:
  - name: bogota
    server: "0040"
    token: ${WOLKVOX_TOKEN}
    daily_quota: 3000
    base_url: %s
    reports: [{api: diagram_13}]
`, srv.URL)
			if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, map[string]string{"WOLKVOX_TOKEN": token}, "validate", "--config", cfg, "--probe")
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls to the API, want 1: a probe costs one call", n)
			}
			if strings.Contains(out+errOut, token) {
				t.Errorf("output shows the token")
			}
			if tt.code != 0 && !strings.Contains(errOut, "the configuration is valid, but 1 probe failed: connector bogota") {
				t.Errorf("stderr does not say which probe failed")
			}
			if strings.Contains(errOut, "configuration has problems") {
				t.Errorf("stderr blames the configuration for a probe")
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
			}
		})
	}
}

// TestValidateConfigFromEnvironment checks that WOLKVOX_CONNECT_CONFIG stands for
// --config, as it does for run.
func TestValidateConfigFromEnvironment(t *testing.T) {
	env := maps.Clone(testEnv)
	env["WOLKVOX_CONNECT_CONFIG"] = configdata + "minimal.good.yaml"
	code, out, errOut := runCLI(t, env, "validate")
	checkCLI(t, code, out, errOut, 0, []string{"config OK: " + configdata + "minimal.good.yaml"}, nil)
}

// TestValidateProbeOffline: with the API out of reach, validate --probe says the file
// is valid and the probe failed, naming the connector and the network error; it does
// not blame the configuration.
func TestValidateProbeOffline(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	cfg := filepath.Join(t.TempDir(), "offline.yaml")
	yaml := fmt.Sprintf(`kafka: {brokers: ["127.0.0.1:9092"]}
connectors:
  - {name: bogota, server: "0040", token: "${WOLKVOX_TOKEN}", daily_quota: 3000, base_url: %s, reports: [{api: diagram_13}]}
`, url)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, testEnv, "validate", "--config", cfg, "--probe")
	checkCLI(t, code, out, errOut, 1, []string{"config OK", "probe bogota: FAILED (transient)"},
		[]string{"the configuration is valid, but 1 probe failed: connector bogota (transient): dial tcp", "connection refused"})
	if strings.Contains(errOut, "configuration has problems") {
		t.Errorf("stderr blames the configuration:\n%s", errOut)
	}
}

// TestUnsetSecretFix: the fix for a secret whose variable is unset never says to write
// it in the file (the README: a token is never written in the file); other values may be.
func TestUnsetSecretFix(t *testing.T) {
	tests := []struct {
		file, want, not string
	}{
		{configdata + "minimal.good.yaml", "export WOLKVOX_TOKEN before starting, or use token_file", "write the value in the file"},
		{"../../deploy/examples/several-operations.yaml", "export SR_PASSWORD before starting, or use password_file", "write the value in the file"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, "validate", "--config", tt.file)
			checkCLI(t, code, out, errOut, 1, []string{tt.want}, nil)
			if strings.Contains(out, tt.not) {
				t.Errorf("stdout says %q:\n%s", tt.not, out)
			}
		})
	}
	code, out, errOut := runCLI(t, nil, "validate", "--config", configdata+"unset-env.bad.yaml")
	checkCLI(t, code, out, errOut, 1, []string{"export SR_NOT_SET before starting, or use password_file"}, nil)
}

// TestValidateProbeRedacts: a probe's failure is printed with every secret of the file
// hidden, here an answer (from a proxy in front of Wolkvox) quoting the registry
// password and the REST token.
func TestValidateProbeRedacts(t *testing.T) {
	const srPass, restToken = "probe-sr-Secret-42", "probe-rest-Secret-43"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"code":403,"error":"FORBIDDEN","msg":"PLEASE VALIDATE TOKEN (proxy saw sr=%s rest=%s)"}`, srPass, restToken)
	}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "probe.yaml")
	yaml := fmt.Sprintf(`kafka: {brokers: ["127.0.0.1:9092"]}
schema_registry: {url: "https://registry:8081", username: u, password: "${SR_PASSWORD}"}
rest: {token: "${WOLKVOX_REST_TOKEN}"}
connectors:
  - {name: bogota, server: "0040", token: tok-probe-1, daily_quota: 3000, base_url: %q, reports: [{api: diagram_13}]}
`, srv.URL)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, map[string]string{"SR_PASSWORD": srPass, "WOLKVOX_REST_TOKEN": restToken}, "validate", "--config", cfg, "--probe")
	checkCLI(t, code, out, errOut, 1, []string{"probe bogota: FAILED", "proxy saw sr=[REDACTED] rest=[REDACTED]"}, []string{"1 probe failed"})
	for _, s := range []string{srPass, restToken} {
		if strings.Contains(out+errOut, s) {
			t.Errorf("output shows %q:\n%s\n%s", s, out, errOut)
		}
	}
}
