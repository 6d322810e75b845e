package check

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

const composeFile = "deploy/compose/compose.yaml"

// loadCompose loads the compose file with the Compose Specification's loader, as
// docker compose does: schema validation (an unknown key is an error), interpolation,
// consistency (depends_on names services that exist), paths resolved.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	path := filepath.Join(repoRoot, composeFile)
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithConsistency(true), cli.WithResolvedPaths(true), cli.WithEnv([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return s
}

func env(s types.ServiceConfig, key string) string {
	if v, ok := s.Environment[key]; ok && v != nil {
		return *v
	}
	return ""
}

// serverProperties reads the broker settings the test suite runs Kafka with.
func serverProperties(t *testing.T) map[string]string {
	t.Helper()
	props := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(readFile(t, "deploy/local/server.properties.tmpl"))))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			props[k] = v
		}
	}
	return props
}

// workerConfig is the part of the worker's configuration the compose checks read.
type workerConfig struct {
	Kafka struct {
		Brokers []string `json:"brokers"`
	} `json:"kafka"`
	SchemaRegistry struct {
		URL string `json:"url"`
	} `json:"schema_registry"`
	Connectors []struct {
		BaseURL    string `json:"base_url"`
		DailyQuota int    `json:"daily_quota"`
	} `json:"connectors"`
}

// TestCompose checks the compose file's services against what they must agree with:
// Kafka in KRaft mode with the settings and the release the test suite uses, the
// worker built from the repository's Dockerfile with its configuration mounted where
// the image reads it, that configuration naming the compose services and valid for
// the worker (wolkvox-connect validate), and the simulator's command accepted by it.
func TestCompose(t *testing.T) {
	p := loadCompose(t)
	kafka := service(t, p, "kafka")
	registry := service(t, p, "schema-registry")
	sim := service(t, p, "simulator")
	worker := service(t, p, "wolkvox-connect")
	img := parseDockerfile(t, "Dockerfile")

	pomVersion := regexp.MustCompile(`<kafka.version>(.*)</kafka.version>`).FindStringSubmatch(string(readFile(t, "deploy/local/pom.xml")))
	props := serverProperties(t)
	var mount *types.ServiceVolumeConfig
	for i, v := range worker.Volumes {
		if v.Target == configPath(t, img) {
			mount = &worker.Volumes[i]
		}
	}
	if mount == nil {
		t.Fatalf("the worker mounts nothing at %s, where the image's command reads its configuration", configPath(t, img))
	}
	var cfg workerConfig
	if err := yaml.Unmarshal(readFileAbs(t, mount.Source), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Connectors) != 1 {
		t.Fatalf("the compose worker has %d connectors, want 1", len(cfg.Connectors))
	}
	regURL, err := url.Parse(cfg.SchemaRegistry.URL)
	if err != nil {
		t.Fatal(err)
	}
	baseURL, err := url.Parse(cfg.Connectors[0].BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	simAddr, ok := flagValue(sim.Command, "--addr")
	_, simPort, _ := net.SplitHostPort(simAddr)
	if !ok {
		t.Fatalf("the simulator's command gives no --addr: %q", sim.Command)
	}

	tests := []struct {
		name string
		ok   bool
		got  any
	}{
		{"Kafka is the official apache/kafka image of the tested release", pomVersion != nil && kafka.Image == "apache/kafka:"+pomVersion[1], kafka.Image},
		{"Kafka runs KRaft, broker and controller in one node", env(kafka, "KAFKA_PROCESS_ROLES") == "broker,controller", env(kafka, "KAFKA_PROCESS_ROLES")},
		{"Kafka advertises kafka:9092 to the containers", strings.Contains(env(kafka, "KAFKA_ADVERTISED_LISTENERS"), "PLAINTEXT://kafka:9092"), env(kafka, "KAFKA_ADVERTISED_LISTENERS")},
		{"the worker depends on a healthy Kafka", worker.DependsOn["kafka"].Condition == types.ServiceConditionHealthy && kafka.HealthCheck != nil, worker.DependsOn},
		{"the worker depends on a healthy registry", worker.DependsOn["schema-registry"].Condition == types.ServiceConditionHealthy && registry.HealthCheck != nil, worker.DependsOn},
		{"the worker is built from the repository's Dockerfile", worker.Build != nil && worker.Build.Context == repoRoot && worker.Build.Dockerfile == "Dockerfile", worker.Build},
		{"the simulator is built from the repository", sim.Build != nil && sim.Build.Context == repoRoot && sim.Build.Dockerfile == "deploy/compose/simulator.Dockerfile", sim.Build},
		{"the configuration is mounted read-only", mount.ReadOnly, mount},
		{"the worker's root file system is read-only, capabilities dropped", worker.ReadOnly && slices.Equal(worker.CapDrop, []string{"ALL"}), worker.CapDrop},
		{"a tmpfs at /tmp for the transactions' spool", slices.ContainsFunc(worker.Tmpfs, func(m string) bool { return strings.HasPrefix(m, "/tmp:") || m == "/tmp" }), worker.Tmpfs},
		{"the worker restarts", worker.Restart == types.RestartPolicyUnlessStopped, worker.Restart},
		{"the worker's brokers are Kafka's advertised listener", slices.Equal(cfg.Kafka.Brokers, []string{"kafka:9092"}), cfg.Kafka.Brokers},
		{"the worker uses the registry", regURL.Hostname() == "schema-registry" && regURL.Port() == portOf(env(registry, "SCHEMA_REGISTRY_LISTENERS")), cfg.SchemaRegistry.URL},
		{"the worker reads the simulator", baseURL.Hostname() == "simulator" && baseURL.Port() == simPort, cfg.Connectors[0].BaseURL},
		{"every published port is on the host's loopback", loopbackOnly(p), nil},
	}
	// The broker settings the suite's Kafka runs with that a one-node cluster needs
	// for transactions (and the rest of what it sets): the compose Kafka sets the same.
	for _, key := range []string{"process.roles", "offsets.topic.replication.factor", "transaction.state.log.replication.factor",
		"transaction.state.log.min.isr", "share.coordinator.state.topic.replication.factor", "share.coordinator.state.topic.min.isr",
		"default.replication.factor", "min.insync.replicas", "auto.create.topics.enable", "group.initial.rebalance.delay.ms"} {
		envKey := "KAFKA_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		tests = append(tests, struct {
			name string
			ok   bool
			got  any
		}{"Kafka " + key + " as in the suite's broker (" + props[key] + ")", props[key] != "" && env(kafka, envKey) == props[key], env(kafka, envKey)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("not so: %v", tt.got)
			}
		})
	}

	t.Run("the worker accepts its configuration", func(t *testing.T) {
		connect, _ := builtBinaries(t)
		out, err := exec.Command(connect, "validate", "--config", mount.Source).CombinedOutput()
		if err != nil {
			t.Fatalf("wolkvox-connect validate: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "config OK") {
			t.Errorf("validate: %s", out)
		}
	})

	t.Run("the simulator serves with its compose command", func(t *testing.T) {
		simImg := parseDockerfile(t, "deploy/compose/simulator.Dockerfile")
		bin := buildStage(t, simImg, nil, "wolkvox-sim")
		if !copiesFromBuild(simImg.final, mustFlag(t, goBuild(t, simImg, nil), "-o")) {
			t.Fatal("simulator.Dockerfile's final stage does not copy the binary its go build writes")
		}
		if !exposesPort(simImg.final, simPort) {
			t.Errorf("simulator.Dockerfile does not EXPOSE %s, the port of its compose command", simPort)
		}
		args := slices.Clone([]string(sim.Command))
		for i := range args {
			if args[i] == "--addr" {
				args[i+1] = freeAddr(t) // the same command, on a port free here
			}
		}
		s := start(t, exec.Command(bin, args...))
		addr, _ := flagValue(args, "--addr")
		stats := waitHTTP(t, s, "http://"+addr+"/_sim/stats", 200, 20*time.Second)
		if !strings.Contains(stats, "{") {
			t.Errorf("/_sim/stats: %s", stats)
		}
		// The simulator's default quota is the configuration's daily_quota.
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v2/information.php?api=token_info", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("wolkvox-token", "sim-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("token_info: %d %v %s", resp.StatusCode, err, body)
		}
		info := string(body)
		if !strings.Contains(info, `"token_limit"`) {
			t.Fatalf("token_info: %s", info)
		}
		if want := `"1000"`; cfg.Connectors[0].DailyQuota != 1000 || !strings.Contains(info, want) {
			t.Errorf("daily_quota %d; the simulator answers %s", cfg.Connectors[0].DailyQuota, info)
		}
	})
}

func portOf(listener string) string {
	u, err := url.Parse(listener)
	if err != nil {
		return ""
	}
	return u.Port()
}

func loopbackOnly(p *types.Project) bool {
	for _, s := range p.Services {
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				return false
			}
		}
	}
	return true
}

func readFileAbs(t *testing.T, path string) []byte {
	t.Helper()
	rel, err := filepath.Rel(repoRoot, path)
	if err != nil {
		t.Fatal(err)
	}
	return readFile(t, rel)
}
