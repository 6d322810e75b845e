package check

import (
	"bytes"
	"debug/elf"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// image is the Dockerfile as Docker reads it (BuildKit's own parser): its build and
// final stages and the meta ARGs before the first FROM.
type image struct {
	metaArgs map[string]string
	build    instructions.Stage
	final    instructions.Stage
}

func parseDockerfile(t *testing.T, rel string) image {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(readFile(t, rel)))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if len(stages) != 2 {
		t.Fatalf("%s has %d stages, want 2 (build, final)", rel, len(stages))
	}
	img := image{metaArgs: map[string]string{}, build: stages[0], final: stages[1]}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			img.metaArgs[kv.Key] = kv.ValueString()
		}
	}
	return img
}

// commands returns the stage's commands of type T.
func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// env returns a stage's ENV and ARG values (ARGs as given in buildArgs, or their
// defaults), which is what its RUN commands see.
func stageEnv(s instructions.Stage, buildArgs map[string]string) map[string]string {
	env := map[string]string{}
	for _, c := range s.Commands {
		switch c := c.(type) {
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				if v, ok := buildArgs[kv.Key]; ok {
					env[kv.Key] = v
				} else {
					env[kv.Key] = kv.ValueString()
				}
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		}
	}
	return env
}

func envList(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runWords splits a shell-form RUN into words, expanding variables from env the way
// the image's /bin/sh would for this Dockerfile's simple ${NAME} uses.
func runWords(t *testing.T, run *instructions.RunCommand, env map[string]string) []string {
	t.Helper()
	if !run.PrependShell {
		return run.CmdLine
	}
	words, err := shell.NewLex('\\').ProcessWords(strings.Join(run.CmdLine, " "), shell.EnvsFromSlice(envList(env)))
	if err != nil {
		t.Fatalf("RUN %s: %v", run.CmdLine, err)
	}
	return words
}

// goBuild finds the build stage's go build RUN and returns its words.
func goBuild(t *testing.T, img image, buildArgs map[string]string) []string {
	t.Helper()
	env := stageEnv(img.build, buildArgs)
	for _, run := range commands[*instructions.RunCommand](img.build) {
		if w := runWords(t, run, env); len(w) > 2 && w[0] == "go" && w[1] == "build" {
			return w
		}
	}
	t.Fatal("the build stage has no RUN go build")
	return nil
}

func flagValue(words []string, name string) (string, bool) {
	for i, w := range words {
		if w == name && i+1 < len(words) {
			return words[i+1], true
		}
		if v, ok := strings.CutPrefix(w, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// TestDockerfileShape holds what the image promises: a Go matching go.mod, a static
// build with the version stamped, a scratch image with a non-root numeric user, the
// REST port exposed, no HEALTHCHECK, an exec-form entrypoint.
func TestDockerfileShape(t *testing.T) {
	img := parseDockerfile(t, "Dockerfile")
	goMod := string(readFile(t, "go.mod"))
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	baseImage, _, err := shell.NewLex('\\').ProcessWord(img.build.BaseName, shell.EnvsFromSlice(envList(img.metaArgs)))
	if err != nil {
		t.Fatal(err)
	}
	finalEnv := stageEnv(img.final, nil)
	words := goBuild(t, img, nil)
	tests := []struct {
		name string
		ok   bool
		got  any
	}{
		{"build stage uses the Go of go.mod (" + goLine[1] + ")", strings.HasPrefix(baseImage, "golang:"+goLine[1]+"-") || baseImage == "golang:"+goLine[1], baseImage},
		{"build stage is named build", img.build.Name == "build", img.build.Name},
		{"CGO_ENABLED=0 for the go build", stageEnv(img.build, nil)["CGO_ENABLED"] == "0", stageEnv(img.build, nil)["CGO_ENABLED"]},
		{"go build -trimpath", slices.Contains(words, "-trimpath"), words},
		{"go build stamps main.version from ARG VERSION", strings.Contains(mustFlag(t, words, "-ldflags"), "-X main.version=dev"), words},
		{"go build builds ./cmd/wolkvox-connect", words[len(words)-1] == "./cmd/wolkvox-connect", words},
		{"final stage is scratch", img.final.BaseName == "scratch", img.final.BaseName},
		{"final stage runs as a numeric non-root user", nonRoot(img.final), commands[*instructions.UserCommand](img.final)},
		{"the image exposes the port it listens on", exposesRESTPort(img.final, finalEnv), finalEnv["WOLKVOX_REST_ADDRESS"]},
		{"no HEALTHCHECK in any stage", len(commands[*instructions.HealthCheckCommand](img.build))+len(commands[*instructions.HealthCheckCommand](img.final)) == 0, nil},
		{"ENTRYPOINT in exec form", entrypointExec(img.final), commands[*instructions.EntrypointCommand](img.final)},
		{"the final stage copies the built binary", copiesFromBuild(img.final, mustFlag(t, words, "-o")), mustFlag(t, words, "-o")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("not so: %v", tt.got)
			}
		})
	}
}

func mustFlag(t *testing.T, words []string, name string) string {
	t.Helper()
	v, ok := flagValue(words, name)
	if !ok {
		t.Fatalf("go build has no %s: %q", name, words)
	}
	return v
}

// imageUser returns the uid and gid of the final stage's last USER.
func imageUser(s instructions.Stage) (uid, gid int, ok bool) {
	users := commands[*instructions.UserCommand](s)
	if len(users) == 0 {
		return 0, 0, false
	}
	u, g, _ := strings.Cut(users[len(users)-1].User, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	return uid, gid, err1 == nil && err2 == nil
}

func nonRoot(s instructions.Stage) bool {
	uid, gid, ok := imageUser(s)
	return ok && uid != 0 && gid != 0
}

func exposesRESTPort(s instructions.Stage, env map[string]string) bool {
	_, port, ok := strings.Cut(env["WOLKVOX_REST_ADDRESS"], ":")
	return ok && exposesPort(s, port)
}

// exposesPort reports whether the stage has an EXPOSE of port (TCP).
func exposesPort(s instructions.Stage, port string) bool {
	for _, e := range commands[*instructions.ExposeCommand](s) {
		for _, p := range e.Ports {
			if strings.TrimSuffix(p, "/tcp") == port {
				return true
			}
		}
	}
	return false
}

func entrypointExec(s instructions.Stage) bool {
	eps := commands[*instructions.EntrypointCommand](s)
	return len(eps) == 1 && !eps[0].PrependShell && len(eps[0].CmdLine) == 1
}

func copiesFromBuild(s instructions.Stage, src string) bool {
	for _, c := range commands[*instructions.CopyCommand](s) {
		if c.From == "build" && slices.Contains(c.SourcePaths, src) {
			return true
		}
	}
	return false
}

// dockerignore returns the .dockerignore matcher.
func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	patterns, err := ignorefile.ReadAll(bytes.NewReader(readFile(t, ".dockerignore")))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// TestDockerignore: the context leaves out history, caches and binaries, and keeps
// what the build needs, including files the binary embeds.
func TestDockerignore(t *testing.T) {
	pm := dockerignore(t)
	tests := []struct {
		path     string
		excluded bool
	}{
		{".git/HEAD", true},
		{".cache/kafka-4.3.1/libs/kafka.jar", true},
		{"bin/wolkvox-connect", true},
		{"wolkvox-connect", true},
		{"cmd/wolkvox-connect/wolkvox-connect.test", true},
		{"deploy/check/go.mod", true},
		{"README.md", true},
		{"go.mod", false},
		{"go.sum", false},
		{"cmd/wolkvox-connect/main.go", false},
		{"schemas/avro/README.md", false}, // embedded by schemas (//go:embed avro)
		{"schemas/catalog/catalog.json", false},
		{"LICENSE", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := pm.MatchesOrParentMatches(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.excluded {
				t.Errorf("excluded = %v, want %v", got, tt.excluded)
			}
		})
	}
}

// buildContext copies the repository's files that .dockerignore lets through into a
// new directory: what docker build would send.
func buildContext(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	pm := dockerignore(t)
	dir := t.TempDir()
	copied := 0
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			t.Fatal(err)
		}
		if excluded {
			continue
		}
		data, err := os.ReadFile(filepath.Join(repoRoot, rel))
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		copied++
	}
	if copied < 20 {
		t.Fatalf("the build context holds %d files: .dockerignore leaves out too much", copied)
	}
	return dir
}

// buildImageBinary runs the build stage's RUN commands in order, in a build context
// made through .dockerignore, with the stage's ENV and ARGs (VERSION=version), and
// returns where the go build wrote the binary. The only change to the commands is go
// build's -o, pointed into a temp dir (the test checks the final stage copies the
// path the Dockerfile names).
func buildImageBinary(t *testing.T, img image, version string) string {
	t.Helper()
	return buildStage(t, img, map[string]string{"VERSION": version}, "wolkvox-connect")
}

// buildStage runs the build stage's RUN commands (see buildImageBinary) with buildArgs
// and returns the path of the binary its go build wrote, named name.
func buildStage(t *testing.T, img image, buildArgs map[string]string, name string) string {
	t.Helper()
	ctxDir := buildContext(t)
	env := stageEnv(img.build, buildArgs)
	out := filepath.Join(t.TempDir(), name)
	for _, run := range commands[*instructions.RunCommand](img.build) {
		words := runWords(t, run, env)
		if len(words) > 2 && words[0] == "go" && words[1] == "build" {
			for i := range words {
				if words[i] == "-o" {
					words[i+1] = out
				}
			}
		}
		cmd := exec.Command(words[0], words[1:]...)
		cmd.Dir = ctxDir
		cmd.Env = append(os.Environ(), envList(env)...)
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("RUN %s: %v\n%s", strings.Join(words, " "), err, o)
		}
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("the build stage wrote no binary: %v", err)
	}
	return out
}

// emptyRoot lays out a root file system with only what the final stage copies: the
// binary at its place, every other COPY --from=build file from the same path of this
// machine (the CA bundle: the build image and this machine are both Debian), and
// extra files given by the test. The CA bundle gets extraCA appended.
func emptyRoot(t *testing.T, img image, binary string, binSrc string, extraCA []byte, files map[string]string) (root string, caPath string) {
	t.Helper()
	root = t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	place := func(dst string, data []byte, mode os.FileMode) {
		p := filepath.Join(root, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range commands[*instructions.CopyCommand](img.final) {
		if c.From != "build" || len(c.SourcePaths) != 1 {
			t.Fatalf("final stage: %s: only single-file COPY --from=build is laid out by this test", c.String())
		}
		src := c.SourcePaths[0]
		if st, err := os.Stat(src); err == nil && st.IsDir() {
			// A directory the image needs as such (/tmp): laid out empty, with the
			// COPY's mode and owner.
			layDir(t, root, c)
			continue
		}
		if src == binSrc {
			data, err := os.ReadFile(binary)
			if err != nil {
				t.Fatal(err)
			}
			place(c.DestPath, data, 0o755)
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("final stage copies %s, which this machine lacks too: %v", src, err)
		}
		if strings.HasSuffix(src, ".crt") {
			caPath = c.DestPath
			data = append(data, extraCA...)
		}
		place(c.DestPath, data, 0o644)
	}
	for dst, content := range files {
		place(dst, []byte(content), 0o644)
	}
	return root, caPath
}

// layDir creates the directory a COPY --from=build of a directory puts in the image,
// empty, with its --chmod (0755 without) and, when this test runs as root, its --chown.
func layDir(t *testing.T, root string, c *instructions.CopyCommand) {
	t.Helper()
	dir := filepath.Join(root, c.DestPath)
	mode := uint64(0o755)
	if c.Chmod != "" {
		var err error
		if mode, err = strconv.ParseUint(c.Chmod, 8, 32); err != nil {
			t.Fatalf("%s: --chmod=%s: %v", c.String(), c.Chmod, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	perm := os.FileMode(mode & 0o777)
	if mode&0o1000 != 0 {
		perm |= os.ModeSticky
	}
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	if c.Chown != "" && os.Geteuid() == 0 {
		var uid, gid int
		if _, err := fmt.Sscanf(c.Chown, "%d:%d", &uid, &gid); err != nil {
			t.Fatalf("%s: --chown=%s: want uid:gid", c.String(), c.Chown)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// inRoot makes cmd run inside root as the image's user: a chroot when this test runs
// as root; otherwise root is only the working directory, absolute paths are rewritten
// into it and the environment is emptied (the log says so).
func inRoot(t *testing.T, img image, root string, env map[string]string, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() == 0 {
		uid, gid, _ := imageUser(img.final)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Dir = "/"
		cmd.Env = envList(env)
		return cmd
	}
	t.Log("not root: no chroot; the binary runs in an empty directory with no environment but the image's")
	rewritten := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "/") {
			a = filepath.Join(root, a)
		}
		rewritten[i] = a
	}
	cmd := exec.Command(rewritten[0], rewritten[1:]...)
	cmd.Dir = root
	cmd.Env = envList(env)
	return cmd
}

// imageCommand is ENTRYPOINT followed by CMD (or by args, when given).
func imageCommand(t *testing.T, img image, args ...string) []string {
	t.Helper()
	eps := commands[*instructions.EntrypointCommand](img.final)
	cmds := commands[*instructions.CmdCommand](img.final)
	if len(eps) != 1 || len(cmds) != 1 {
		t.Fatalf("final stage: want one ENTRYPOINT and one CMD, have %d and %d", len(eps), len(cmds))
	}
	if len(args) == 0 {
		args = cmds[0].CmdLine
	}
	return append(append([]string{}, eps[0].CmdLine...), args...)
}

// configPath is where the image's CMD reads its configuration.
func configPath(t *testing.T, img image) string {
	t.Helper()
	p, ok := flagValue(imageCommand(t, img), "--config")
	if !ok {
		t.Fatal("the image's CMD gives no --config")
	}
	return p
}

// TestImageRunsInEmptyRoot builds the binary with the Dockerfile's own commands from a
// context filtered by .dockerignore, lays out a root with nothing but what the final
// stage copies, and runs the image's command there as its user: the binary is static,
// prints the stamped version, knows the time zones, serves /healthz (and /readyz 503
// while Kafka is unreachable), stops on SIGTERM with 0, and verifies TLS with the CA
// bundle at the place the image puts it.
func TestImageRunsInEmptyRoot(t *testing.T) {
	img := parseDockerfile(t, "Dockerfile")
	const version = "v0.0.0-image-test"
	binary := buildImageBinary(t, img, version)
	binSrc := mustFlag(t, goBuild(t, img, nil), "-o")

	t.Run("static", func(t *testing.T) {
		f, err := elf.Open(binary)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Fatalf("the binary is dynamically linked (program header %v)", p.Type)
			}
		}
	})

	cfg := configPath(t, img)
	// Kafka at a port nothing serves: the worker waits for it (BACKING_OFF) and serves
	// its REST API meanwhile. The zone is not UTC, so the embedded database is needed.
	const worker = `kafka: {brokers: ["127.0.0.1:9"]}
connectors:
  - name: image
    server: "0040"
    token: image-test-token
    time_zone: America/Bogota
    daily_quota: 1000
    reports: [{api: chat_3, bucket: 24h}]
`
	imageEnv := stageEnv(img.final, nil)

	t.Run("version", func(t *testing.T) {
		root, _ := emptyRoot(t, img, binary, binSrc, nil, nil)
		out, err := inRoot(t, img, root, imageEnv, imageCommand(t, img, "version")...).CombinedOutput()
		if err != nil {
			t.Fatalf("version: %v\n%s", err, out)
		}
		if !strings.HasPrefix(string(out), "wolkvox-connect "+version+" ") {
			t.Errorf("version printed %q, want the stamped %s", out, version)
		}
	})

	// A transaction spools to os.TempDir() when Kafka is slower than the answer: the
	// image's user must be able to create files there.
	t.Run("spool directory writable", func(t *testing.T) {
		root, _ := emptyRoot(t, img, binary, binSrc, nil, nil)
		st, err := os.Stat(filepath.Join(root, os.TempDir()))
		if err != nil {
			t.Fatalf("the image has no %s: %v", os.TempDir(), err)
		}
		uid, _, _ := imageUser(img.final)
		sys := st.Sys().(*syscall.Stat_t)
		writable := st.IsDir() && (st.Mode().Perm()&0o002 != 0 || int(sys.Uid) == uid && st.Mode().Perm()&0o200 != 0)
		if !writable || os.Geteuid() == 0 && int(sys.Uid) != uid {
			t.Errorf("%s: mode %v owner %d, want a directory the image's user %d writes to", os.TempDir(), st.Mode(), sys.Uid, uid)
		}
	})

	t.Run("serves healthz", func(t *testing.T) {
		root, _ := emptyRoot(t, img, binary, binSrc, nil, map[string]string{cfg: worker})
		env := map[string]string{}
		for k, v := range imageEnv {
			env[k] = v
		}
		// The image's address, on a port free on this machine.
		host, _, _ := strings.Cut(imageEnv["WOLKVOX_REST_ADDRESS"], ":")
		_, port, _ := strings.Cut(freeAddr(t), ":")
		env["WOLKVOX_REST_ADDRESS"] = host + ":" + port
		p := start(t, inRoot(t, img, root, env, imageCommand(t, img)...))
		base := "http://127.0.0.1:" + port
		body := waitHTTP(t, p, base+"/healthz", 200, 20*time.Second)
		t.Logf("/healthz: %s", body)
		ready := waitHTTP(t, p, base+"/readyz", 503, 10*time.Second)
		if !strings.Contains(ready, "not started yet") {
			t.Errorf("/readyz without Kafka: %s, want the connector waiting for Kafka", ready)
		}
		if !p.stop(syscall.SIGTERM, 15*time.Second) {
			t.Fatal("the worker did not stop within 15s of SIGTERM")
		}
		if code := p.exitCode(); code != 0 {
			t.Errorf("exit code after SIGTERM = %d, want 0\n%s", code, p.out.String())
		}
	})

	t.Run("TLS with the image's CA bundle", func(t *testing.T) {
		_, simBin := builtBinaries(t)
		simAddr := freeAddr(t)
		sim := start(t, exec.Command(simBin, "--addr", simAddr))
		waitHTTP(t, sim, "http://"+simAddr+"/_sim/stats", 200, 20*time.Second)
		target, _ := url.Parse("http://" + simAddr)
		proxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
		t.Cleanup(proxy.Close)
		testCA := pemCert(proxy.Certificate().Raw)
		probe := strings.Replace(worker, `server: "0040"`, `server: "0040"
    base_url: `+proxy.URL, 1)
		probe = strings.Replace(probe, "image-test-token", "sim-token", 1)
		tests := []struct {
			name   string
			extra  []byte
			wantOK bool
		}{
			{"server's CA in the bundle", testCA, true},
			{"bundle without it", nil, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				root, caPath := emptyRoot(t, img, binary, binSrc, tt.extra, map[string]string{cfg: probe})
				if caPath != "/etc/ssl/certs/ca-certificates.crt" {
					t.Fatalf("the CA bundle goes to %q, not where Go looks first on Linux", caPath)
				}
				out, err := inRoot(t, img, root, imageEnv, imageCommand(t, img, "validate", "--config", cfg, "--probe")...).CombinedOutput()
				if (err == nil) != tt.wantOK {
					t.Fatalf("validate --probe: error %v, want ok=%v\n%s", err, tt.wantOK, out)
				}
				if !tt.wantOK && !strings.Contains(string(out), "certificate") {
					t.Errorf("the failed probe does not say why (certificate): %s", out)
				}
			})
		}
	})
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
