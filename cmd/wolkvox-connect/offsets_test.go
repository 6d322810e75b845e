package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
	"github.com/wolkvox-connect/wolkvox-connect/sink"
	"github.com/wolkvox-connect/wolkvox-connect/sink/kafkatest"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
)

// Keys of the offsets fixture: bogota's act_3 as the connector writes it (with the
// catalog's default cod_act), a report bogota's file no longer lists, and another
// connector's report.
var (
	offAct3   = offsets.Key{Connector: "bogota", Server: "0040", Report: "act_3", Params: map[string]string{"cod_act": "cod_act1"}}
	offOrphan = offsets.Key{Connector: "bogota", Server: "0040", Report: "diagram_4"}
	offLima   = offsets.Key{Connector: "lima", Server: "0099", Report: "chat_1"}
)

// offsetsFixture starts a cluster, writes the test configuration and three positions,
// and returns the configuration's path and a store on its offsets topic.
func offsetsFixture(t *testing.T) (string, *offsets.Store) {
	t.Helper()
	seeds := kafkatest.Fake(t)
	cfg := tailTestConfig(t, seeds, "")
	store, err := offsets.NewStore("test-offsets", offsets.Seeds(seeds...), offsets.TransactionalID(kafkatest.TransactionalID(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := offsets.EnsureTopic(ctx, kadm.NewClient(kafkatest.Client(t, seeds)), "test-offsets", 1, -1); err != nil {
		t.Fatal(err)
	}
	at := func(hh, mm int) time.Time { return time.Date(2026, 11, 1, hh, mm, 0, 0, time.UTC) }
	positions := []struct {
		key offsets.Key
		pos offsets.Position
	}{
		{offAct3, offsets.Position{LastSeen: at(12, 58), WindowEnd: at(13, 0), Seen: []offsets.Seen{
			{ID: 1, Version: 1, Time: at(12, 10).Unix()}, {ID: 2, Version: 1, Time: at(12, 30).Unix()}, {ID: 3, Version: 1, Time: at(12, 58).Unix()}}}},
		{offOrphan, offsets.Position{WindowEnd: at(10, 0)}},
		{offLima, offsets.Position{WindowEnd: at(11, 0)}},
	}
	for _, p := range positions {
		if err := store.Set(ctx, p.key, p.pos); err != nil {
			t.Fatal(err)
		}
	}
	return cfg, store
}

// offsetsStored returns the stored positions by encoded key.
func offsetsStored(t *testing.T, store *offsets.Store) map[string]offsets.Entry {
	t.Helper()
	entries, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]offsets.Entry{}
	for _, e := range entries {
		out[e.Key.String()] = e
	}
	return out
}

func runOffsetsCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, nil, append([]string{"offsets"}, args...)...)
}

func TestOffsetsList(t *testing.T) {
	cfg, _ := offsetsFixture(t)
	tests := []struct {
		name string
		args []string
		want []string // lines (or parts of lines), whitespace runs folded to one space
		not  []string
	}{
		{name: "all", args: []string{"--now", "2026-11-01T14:00:00Z"}, want: []string{
			"positions in test-offsets, lag against 2026-11-01T14:00:00Z",
			"connector bogota (server 0040, America/Bogota):",
			"REPORT LAST_SEEN WINDOW_END SEEN LAG NOTE",
			"diagram_13 - - - - no position yet: starts at its configured start",
			"act_3,cod_act=cod_act1 2026-11-01T07:58:00-05:00 2026-11-01T08:00:00-05:00 3 1h0m0s",
			"agent_7 - - - - no position yet",
			"agent_7 - - - - no position yet: starts at its configured start diagram_4 - 2026-11-01T05:00:00-05:00 0 4h0m0s not in the configuration connector medellin (server 0041, UTC):",
			"chat_3 - - - - no position yet: starts at its configured start connector lima (not in " + cfg + "):",
			"chat_1 - 2026-11-01T11:00:00Z 0 3h0m0s not in the configuration",
		}},
		{name: "one connector", args: []string{"--connector", "bogota", "--now", "2026-11-01T14:00:00Z"},
			want: []string{"connector bogota", "act_3,cod_act=cod_act1"}, not: []string{"medellin", "lima"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runOffsetsCLI(t, append([]string{"list", "--config", cfg}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			folded := strings.Join(strings.Fields(out), " ")
			for _, w := range tt.want {
				if !strings.Contains(folded, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestOffsetsConfigFromEnvironment checks that WOLKVOX_CONNECT_CONFIG stands for
// --config, as it does for run.
func TestOffsetsConfigFromEnvironment(t *testing.T) {
	cfg, _ := offsetsFixture(t)
	code, out, errOut := runCLI(t, map[string]string{"WOLKVOX_CONNECT_CONFIG": cfg}, "offsets", "list", "--connector", "bogota", "--now", "2026-11-01T14:00:00Z")
	checkCLI(t, code, out, errOut, 0, []string{"positions in test-offsets", "act_3,cod_act=cod_act1"}, nil)
}

func TestOffsetsListJSON(t *testing.T) {
	cfg, _ := offsetsFixture(t)
	code, out, errOut := runOffsetsCLI(t, "list", "--config", cfg, "--connector", "bogota", "--json", "--now", "2026-11-01T14:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []struct {
		Connector, Server, Report string
		Configured, Stored        bool
		LastSeen                  *time.Time `json:"last_seen"`
		WindowEnd                 *time.Time `json:"window_end"`
		Seen                      int
		LagSeconds                *int64 `json:"lag_seconds"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	var got []string
	for _, r := range rows {
		s := r.Connector + " " + r.Server + " " + r.Report
		if r.Configured {
			s += " configured"
		}
		if r.Stored {
			s += " stored " + r.WindowEnd.Format(time.RFC3339)
			s += " seen " + strconv.Itoa(r.Seen) + " lag " + strconv.Itoa(int(*r.LagSeconds))
		}
		if r.LastSeen != nil {
			s += " last " + r.LastSeen.Format(time.RFC3339)
		}
		got = append(got, s)
	}
	want := []string{
		"bogota 0040 diagram_13 configured",
		"bogota 0040 act_3,cod_act=cod_act1 configured stored 2026-11-01T13:00:00Z seen 3 lag 3600 last 2026-11-01T12:58:00Z",
		"bogota 0040 agent_7 configured",
		"bogota 0040 diagram_4 stored 2026-11-01T10:00:00Z seen 0 lag 14400",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOffsetsSet(t *testing.T) {
	const now = "2026-11-01T20:00:00Z"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
		// want is the act_3 position after the command; nil: unchanged.
		want *offsets.Position
		// noTopic runs the command against a cluster without the offsets topic.
		noTopic bool
	}{
		{name: "without --yes writes nothing", args: []string{"--report", "act_3,cod_act=cod_act1", "--window-end", "2026-11-01T07:00:00-05:00"}, code: 1,
			stdout: []string{
				"current: window_end 2026-11-01T08:00:00-05:00, last_seen 2026-11-01T07:58:00-05:00, 3 seen rows",
				"new:     window_end 2026-11-01T07:00:00-05:00, last_seen 2026-11-01T07:58:00-05:00, no seen rows",
				"The next read starts at 2026-11-01T06:00:00-05:00 (window_end minus the lookback of 1h0m0s)",
				"warning: rows from 2026-11-01T06:00:00-05:00 to 2026-11-01T08:00:00-05:00 were already delivered and will be delivered again",
			},
			stderr: []string{"nothing written: run again with --yes"}},
		// The next read is the engine's own plan, not window_end minus the lookback: a
		// bucketed report reads whole buckets of its day, a range report the bucket
		// window_end is in.
		{name: "bucketed report", args: []string{"--report", "agent_7", "--window-end", "2026-11-01T07:00:00-05:00"}, code: 1,
			stdout: []string{"The next read starts at 2026-11-01T00:00:00-05:00 (window_end minus the lookback of 1h0m0s, aligned down to a bucket of the report, within its day)"}},
		{name: "range report", args: []string{"--connector", "medellin", "--report", "chat_3", "--window-end", "2026-11-01T15:00:00Z"}, code: 1,
			stdout: []string{"The next read starts at 2026-11-01T15:00:00Z (the start of the 1h0m0s bucket window_end is in)"}},
		{name: "says to stop first", args: []string{"--report", "act_3", "--window-end", "2026-11-01T07:00:00-05:00"}, code: 1,
			stdout: []string{"Stop bogota first (stop the worker, or the connector through the worker's REST API)", "transactional ID wolkvox-connect-bogota, which fences"}},
		{name: "back", args: []string{"--report", "act_3,cod_act=cod_act1", "--window-end", "2026-11-01T07:00:00-05:00", "--yes"},
			stdout: []string{"written with transactional ID wolkvox-connect-bogota", "fenced"},
			want:   &offsets.Position{Version: 1, WindowEnd: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 11, 1, 12, 58, 0, 0, time.UTC)}},
		{name: "forward by api name, own prefix", args: []string{"--report", "act_3", "--window-end", "2026-11-01T15:00:00Z", "--transactional-id-prefix", "prod-", "--yes"},
			stdout: []string{"warning: rows from 2026-11-01T08:00:00-05:00 to 2026-11-01T09:00:00-05:00 have not been read and will be skipped", "transactional ID prod-bogota"},
			want:   &offsets.Position{Version: 1, WindowEnd: time.Date(2026, 11, 1, 15, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 11, 1, 12, 58, 0, 0, time.UTC)}},
		{name: "report without position", args: []string{"--report", "diagram_13", "--window-end", "2026-11-01T15:00:00Z"}, code: 1,
			stdout: []string{"current: no position (the report would start at its configured start, 2026-11-01T00:00:00-05:00)"}},
		{name: "unknown report", args: []string{"--report", "act_9", "--window-end", "2026-11-01T15:00:00Z"}, code: 2,
			stderr: []string{`reads no report "act_9"; its reports: diagram_13, act_3,cod_act=cod_act1, agent_7 (fix --report`}},
		{name: "unknown connector", args: []string{"--connector", "cali", "--report", "act_3", "--window-end", "2026-11-01T15:00:00Z"}, code: 2,
			stderr: []string{`no connector "cali"; its connectors: bogota, medellin (fix --connector)`}},
		{name: "future", args: []string{"--report", "act_3", "--window-end", "2026-11-02T15:00:00Z", "--yes"}, code: 2,
			stderr: []string{"is in the future"}},
		{name: "not RFC 3339", args: []string{"--report", "act_3", "--window-end", "2026-11-01 15:00", "--yes"}, code: 2,
			stderr: []string{"not an RFC 3339 instant"}},
		{name: "no window end", args: []string{"--report", "act_3"}, code: 2, stderr: []string{"--window-end RFC3339 is required"}},
		{name: "no offsets topic", args: []string{"--report", "act_3", "--window-end", "2026-11-01T07:00:00-05:00", "--yes"}, code: 1,
			noTopic: true, stderr: []string{"the offsets topic test-offsets does not exist: the worker creates it"}},
		{name: "no report", args: []string{"--window-end", "2026-11-01T15:00:00Z"}, code: 2, stderr: []string{"--report KEY is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, store := offsetsFixture(t)
			if tt.noTopic {
				cfg = tailTestConfig(t, kafkatest.Fake(t), "")
			}
			before := offsetsStored(t, store)
			args := append([]string{"set", "--config", cfg, "--now", now}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "--connector") {
				args = append(args, "--connector", "bogota")
			}
			code, out, errOut := runOffsetsCLI(t, args...)
			checkCLI(t, code, out, errOut, tt.code, tt.stdout, tt.stderr)
			after := offsetsStored(t, store)
			want := before[offAct3.String()].Position
			if tt.want != nil {
				want = *tt.want
			}
			got := after[offAct3.String()].Position
			if !got.WindowEnd.Equal(want.WindowEnd) || !got.LastSeen.Equal(want.LastSeen) || len(got.Seen) != len(want.Seen) {
				t.Errorf("act_3 position %+v, want %+v", got, want)
			}
			if len(after) != len(before) {
				t.Errorf("%d positions, had %d", len(after), len(before))
			}
		})
	}
}

func TestOffsetsReset(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
		gone   []offsets.Key // positions the command removed; the others must stay
	}{
		{name: "without --yes writes nothing", args: []string{"--report", "act_3"}, code: 1,
			stdout: []string{"act_3,cod_act=cod_act1 (window_end 2026-11-01T08:00:00-05:00, 3 seen rows): restarts at its configured start, 2026-11-01T00:00:00-05:00"},
			stderr: []string{"nothing written"}},
		{name: "one report", args: []string{"--report", "act_3,cod_act=cod_act1", "--yes"}, gone: []offsets.Key{offAct3},
			stdout: []string{"1 tombstone(s) written with transactional ID wolkvox-connect-bogota", "fenced"}},
		{name: "a report no longer configured", args: []string{"--report", "diagram_4", "--yes"}, gone: []offsets.Key{offOrphan},
			stdout: []string{"diagram_4 (window_end 2026-11-01T05:00:00-05:00, 0 seen rows): not in the configuration"}},
		{name: "all", args: []string{"--all", "--yes"}, gone: []offsets.Key{offAct3, offOrphan},
			stdout: []string{"connector bogota: reset 2 position(s) in test-offsets"}},
		{name: "nothing stored", args: []string{"--report", "diagram_13", "--yes"},
			stdout: []string{"has no stored position: it already starts at its configured start", "Nothing to reset"}},
		{name: "both", args: []string{"--report", "act_3", "--all", "--yes"}, code: 2, stderr: []string{"not both"}},
		{name: "neither", args: []string{"--yes"}, code: 2, stderr: []string{"give --report KEY, or --all"}},
		{name: "unknown report", args: []string{"--report", "chat_1", "--yes"}, code: 2, stderr: []string{`reads no report "chat_1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, store := offsetsFixture(t)
			before := offsetsStored(t, store)
			code, out, errOut := runOffsetsCLI(t, append([]string{"reset", "--config", cfg, "--connector", "bogota"}, tt.args...)...)
			checkCLI(t, code, out, errOut, tt.code, tt.stdout, tt.stderr)
			after := offsetsStored(t, store)
			for _, k := range tt.gone {
				delete(before, k.String())
			}
			if len(after) != len(before) {
				t.Errorf("positions after: %v, want %v", after, before)
			}
			for k := range before {
				if _, ok := after[k]; !ok {
					t.Errorf("position %s was removed", k)
				}
			}
		})
	}
}

// TestOffsetsSetFencesRunningInstance checks what set says about a running instance:
// a producer holding the connector's transactional ID (the file's
// kafka.transactional_id_prefix + its name) can no longer commit, and one holding the
// ID another prefix gives (another deployment's connector of the same name) still can.
func TestOffsetsSetFencesRunningInstance(t *testing.T) {
	tests := []struct {
		name, prefix   string // prefix: the file's kafka.transactional_id_prefix, "" none
		fenced, spared string
	}{
		{name: "default prefix", fenced: "wolkvox-connect-bogota", spared: "prod-bogota"},
		{name: "the file's prefix", prefix: "prod-", fenced: "prod-bogota", spared: "wolkvox-connect-bogota"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := offsetsFixture(t)
			if tt.prefix != "" {
				withPrefix(t, cfg, tt.prefix)
			}
			settings, err := config.Load(cfg, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// The other deployment remembers in an offsets topic of its own: an open
			// transaction on this one would hold set's wait for its commit to be seen.
			if err := offsets.EnsureTopic(ctx, kadm.NewClient(kafkatest.Client(t, settings.Kafka.Brokers)), "other-offsets", 1, -1); err != nil {
				t.Fatal(err)
			}
			running := func(id, topic string) *kgo.Client {
				rec, err := offsets.Record(topic, offAct3, &offsets.Position{WindowEnd: time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC)})
				if err != nil {
					t.Fatal(err)
				}
				cl := kafkatest.Client(t, settings.Kafka.Brokers, kgo.TransactionalID(id))
				if err := cl.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
					t.Fatal(err)
				}
				return cl
			}
			zombie, other := running(tt.fenced, "test-offsets"), running(tt.spared, "other-offsets")

			code, out, errOut := runOffsetsCLI(t, "set", "--config", cfg, "--connector", "bogota", "--report", "act_3",
				"--window-end", "2026-11-01T07:00:00-05:00", "--now", "2026-11-01T20:00:00Z", "--yes")
			if code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			err = zombie.EndTransaction(ctx, kgo.TryCommit)
			if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
				t.Errorf("the running instance (%s) committing after set: %v, want fenced", tt.fenced, err)
			}
			if err := other.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Errorf("%s, another deployment's instance, committing after set: %v, want committed", tt.spared, err)
			}
		})
	}
}

// withPrefix rewrites the configuration file at path to give kafka.transactional_id_prefix.
func withPrefix(t *testing.T, path, prefix string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), "kafka: {brokers:", "kafka: {transactional_id_prefix: "+prefix+", brokers:", 1)
	if edited == string(b) {
		t.Fatalf("%s has no kafka: {brokers: ...} to add the prefix to", path)
	}
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOffsetsUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
		stdout []string // help is output
	}{
		{name: "no action", code: 2, stderr: []string{"missing action: list, set or reset"}},
		{name: "unknown action", args: []string{"drop"}, code: 2, stderr: []string{`unknown action "drop"`}},
		{name: "no config", args: []string{"list"}, code: 2, stderr: []string{"--config FILE is required"}},
		{name: "bad now", args: []string{"list", "--config", "x.yaml", "--now", "noon"}, code: 2, stderr: []string{`--now "noon"`}},
		{name: "argument", args: []string{"list", "--config", "x.yaml", "extra"}, code: 2, stderr: []string{`unexpected argument "extra"`}},
		{name: "bad prefix", args: []string{"reset", "--config", "x.yaml", "--all", "--transactional-id-prefix", "prod tenant/"}, code: 2,
			stderr: []string{`--transactional-id-prefix "prod tenant/"`, "letters, digits"}},
		{name: "help", args: []string{"--help"}, stdout: []string{"list|set|reset", "only while the worker is stopped", "REST API", "fences", "Example:"}},
		{name: "set help", args: []string{"set", "--help"}, stdout: []string{"--window-end", "--yes", "--transactional-id-prefix", "stopped", "fences", "Example:", "offsets set --config worker.yaml"}},
		{name: "reset help", args: []string{"reset", "--help"}, stdout: []string{"--all", "--yes", "tombstone", "stopped", "Example:"}},
		{name: "list help", args: []string{"list", "--help"}, stdout: []string{"--json", "LAG", "Example:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runOffsetsCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			folded := strings.Join(strings.Fields(errOut), " ")
			for _, s := range tt.stderr {
				if !strings.Contains(folded, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			foldedOut := strings.Join(strings.Fields(out), " ")
			for _, s := range tt.stdout {
				if !strings.Contains(foldedOut, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

// TestTailAndOffsetsClusters runs tail and the offsets actions on kfake and on the real
// broker (WOLKVOX_TEST_KAFKA), where the last stable offset and the transaction markers
// are Kafka's own. Every name is unique, so runs sharing the broker never meet.
func TestTailAndOffsetsClusters(t *testing.T) {
	kafkatest.Clusters(t, func(t *testing.T, c kafkatest.Cluster) {
		ctx := context.Background()
		id := kafkatest.TransactionalID(t)
		name := "c" + id[max(0, len(id)-40):] // unique, and within the 100 characters of a connector name
		offTopic := kafkatest.Topic(t, "offsets")
		template := kafkatest.Topic(t) + ".{report}"
		prefix := kafkatest.TransactionalID(t) + "-"
		yaml := fmt.Sprintf("kafka: {brokers: [%s]}\ntopics: {template: %q, offsets: %s}\nconnectors:\n"+
			"  - {name: %s, server: \"0040\", token: t, daily_quota: 3000, reports: [{api: diagram_13}]}\n",
			strings.Join(c.Seeds, ", "), template, offTopic, name)
		cfg := filepath.Join(t.TempDir(), "worker.yaml")
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}

		topic, err := sink.TopicName(template, name, "0040", "diagram_13")
		if err != nil {
			t.Fatal(err)
		}
		kafkatest.CreateTopic(t, c.Seeds, topic, 2, nil)
		p := newTailProducer(t, c.Seeds)
		rec := func(conn string, partition int32) *kgo.Record {
			r := p.record(topic, "diagram_13", tailDiagram13Row(conn, "2026-11-01 08:15:30"))
			r.Partition = partition
			return r
		}
		p.commit(true, rec("k1", 0), rec("k2", 1))
		p.commit(false, rec("aborted", 0))
		p.commit(true, rec("k3", 1))
		code, out, errOut := runCLI(t, nil, "tail", "--config", cfg, "--report", "diagram_13", "--from-beginning")
		if code != 0 {
			t.Fatalf("tail: exit %d: %s", code, errOut)
		}
		var keys []string
		for _, l := range parseTailLines(t, out) {
			keys = append(keys, *l.Key)
		}
		slices.Sort(keys)
		if strings.Join(keys, " ") != "id-k1 id-k2 id-k3" {
			t.Errorf("tail printed keys %q, want id-k1 id-k2 id-k3", keys)
		}

		if err := offsets.EnsureTopic(ctx, kadm.NewClient(kafkatest.Client(t, c.Seeds)), offTopic, 1, -1); err != nil {
			t.Fatal(err)
		}
		store, err := offsets.NewStore(offTopic, offsets.Seeds(c.Seeds...), offsets.TransactionalID(prefix+name))
		if err != nil {
			t.Fatal(err)
		}
		key := offsets.Key{Connector: name, Server: "0040", Report: "diagram_13"}
		if err := store.Set(ctx, key, offsets.Position{WindowEnd: time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC), Seen: []offsets.Seen{{ID: 1, Time: 1}}}); err != nil {
			t.Fatal(err)
		}
		code, out, errOut = runOffsetsCLI(t, "list", "--config", cfg, "--json", "--now", "2026-11-01T13:30:00Z")
		if code != 0 || !strings.Contains(out, `"window_end": "2026-11-01T13:00:00Z"`) || !strings.Contains(out, `"lag_seconds": 1800`) {
			t.Fatalf("list: exit %d\n%s\n%s", code, out, errOut)
		}
		code, out, errOut = runOffsetsCLI(t, "set", "--config", cfg, "--report", "diagram_13", "--window-end", "2026-11-01T12:00:00Z",
			"--transactional-id-prefix", prefix, "--yes")
		if code != 0 {
			t.Fatalf("set: exit %d\n%s\n%s", code, out, errOut)
		}
		after := offsetsStored(t, store)[key.String()]
		if !after.Position.WindowEnd.Equal(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)) || len(after.Position.Seen) != 0 {
			t.Errorf("after set: %+v", after)
		}
		code, out, errOut = runOffsetsCLI(t, "reset", "--config", cfg, "--all", "--transactional-id-prefix", prefix, "--yes")
		if code != 0 {
			t.Fatalf("reset: exit %d\n%s\n%s", code, out, errOut)
		}
		if left := offsetsStored(t, store); len(left) != 0 {
			t.Errorf("positions left after reset --all: %v", left)
		}
	})
}
