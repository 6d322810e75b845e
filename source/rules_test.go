package source_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// TestNextRead: where a report reads next from a committed cursor, for each kind of
// report — not simply the cursor minus the lookback, which is wrong for bucketed
// reports (aligned to a bucket, kept within the day) and for range aggregates (the
// bucket the cursor is in, no lookback).
func TestNextRead(t *testing.T) {
	at := func(hhmm string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", "2026-11-20 "+hhmm, bogota)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name   string
		rc     source.ReportConfig
		cursor time.Time
		want   time.Time
	}{
		{"detail: cursor minus the lookback", source.ReportConfig{API: "diagram_13", Lookback: time.Hour}, at("10:07"), at("09:07")},
		{"detail: the configured start bounds a first read", source.ReportConfig{API: "diagram_13", Lookback: time.Hour, Start: at("09:30")}, at("09:40"), at("09:30")},
		{"bucketed: aligned down to its hour", source.ReportConfig{API: "agent_6", Lookback: time.Hour}, at("10:07"), at("09:00")},
		{"bucketed: not before the cursor's day", source.ReportConfig{API: "agent_6", Lookback: time.Hour}, at("00:20"), at("00:00")},
		{"range aggregate: the bucket the cursor is in", source.ReportConfig{API: "chat_3", Lookback: time.Hour, Bucket: time.Hour}, at("10:00"), at("10:00")},
		{"range aggregate: a cursor inside a bucket", source.ReportConfig{API: "chat_3", Bucket: time.Hour}, at("10:30"), at("10:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := source.NextRead(tt.rc, tt.cursor, bogota)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("NextRead = %s, want %s", got.In(bogota), tt.want)
			}
		})
	}
	if _, err := source.NextRead(source.ReportConfig{API: "nope"}, at("10:00"), bogota); err == nil {
		t.Error("an unknown report has a next read")
	}
}

// TestTokenGroups: connectors of one token form one group, in the order tokens first
// appear; a connector without a token is a group of its own.
func TestTokenGroups(t *testing.T) {
	cfg := func(token string) source.Config { return source.Config{Token: source.NewSecret(token)} }
	tests := []struct {
		name    string
		configs []source.Config
		want    [][]int
	}{
		{"none", nil, nil},
		{"one token", []source.Config{cfg("a"), cfg("a")}, [][]int{{0, 1}}},
		{"interleaved", []source.Config{cfg("a"), cfg("b"), cfg("a"), cfg("c"), cfg("b")}, [][]int{{0, 2}, {1, 4}, {3}}},
		{"without token", []source.Config{cfg(""), cfg("a"), cfg("")}, [][]int{{0}, {1}, {2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := source.TokenGroups(tt.configs); !slices.EqualFunc(got, tt.want, slices.Equal[[]int]) {
				t.Errorf("TokenGroups = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestConfigHidesItsToken: however a connector's configuration is printed (%v, %+v,
// %#v, JSON, a log attribute), its Wolkvox token does not show.
func TestConfigHidesItsToken(t *testing.T) {
	const token = "wolkvox-token-0123456789"
	cfg := source.Config{Name: "bogota", Server: "0040", Token: source.NewSecret(token)}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "token", cfg.Token)
	for how, out := range map[string]string{
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
		"json": string(js), "slog": logged.String(),
	} {
		if strings.Contains(out, token) {
			t.Errorf("%s shows the token: %s", how, out)
		}
	}
	if cfg.Token.Reveal() != token {
		t.Error("Reveal lost the token")
	}
}

// TestConfigReport: a report is found by its full key, defaults applied, or by its api
// name when only one report has it; anything else says which keys there are.
func TestConfigReport(t *testing.T) {
	cfg := source.Config{Name: "bogota", Reports: []source.ReportConfig{
		{API: "diagram_13"},
		{API: "act_3", Params: map[string]string{"cod_act": "a"}},
		{API: "act_3", Params: map[string]string{"cod_act": "b"}},
		{API: "skill_2"},
	}}
	tests := []struct {
		key, want string
		ambiguous bool
		unknown   []string
	}{
		{key: "diagram_13", want: "diagram_13"},
		{key: "act_3,cod_act=b", want: "act_3,cod_act=b"},
		{key: "skill_2", want: "skill_2,skill_id=all"},
		{key: "skill_2,skill_id=all", want: "skill_2,skill_id=all"},
		{key: "act_3", ambiguous: true, unknown: []string{"act_3,cod_act=a", "act_3,cod_act=b"}},
		{key: "chat_1", unknown: []string{"diagram_13", "act_3,cod_act=a", "act_3,cod_act=b", "skill_2,skill_id=all"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			rc, err := cfg.Report(tt.key)
			if tt.unknown == nil {
				if err != nil || rc.Key() != tt.want {
					t.Fatalf("Report(%q) = %q, %v; want %q", tt.key, rc.Key(), err, tt.want)
				}
				return
			}
			var ue *source.UnknownReportError
			if !errors.As(err, &ue) || !errors.Is(err, source.ErrUnknownReport) {
				t.Fatalf("Report(%q) error = %v, want an *UnknownReportError", tt.key, err)
			}
			if ue.Ambiguous != tt.ambiguous || !slices.Equal(ue.Reports, tt.unknown) || ue.Connector != "bogota" {
				t.Errorf("error = %+v, want ambiguous %v, reports %v", ue, tt.ambiguous, tt.unknown)
			}
		})
	}
}

// TestDestinationDefaults: what a Destination leaves out takes the engine's defaults,
// and what it gives wins.
func TestDestinationDefaults(t *testing.T) {
	cfg := source.Config{Name: "bogota", Server: "0040", Token: source.NewSecret("t"), DailyQuota: 1000, Reports: []source.ReportConfig{{API: "diagram_13"}}}
	tests := []struct {
		dest          source.Destination
		topic, prefix string
	}{
		{dest: source.Destination{Seeds: []string{"k:9092"}}, topic: "wolkvox.bogota.diagram_13", prefix: source.DefaultTxnIDPrefix},
		{dest: source.Destination{Seeds: []string{"k:9092"}, TopicTemplate: "{server}-{report}", TransactionalIDPrefix: "p-"}, topic: "0040-diagram_13", prefix: "p-"},
	}
	for _, tt := range tests {
		c, err := source.New(cfg, source.WriteTo(tt.dest))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Topics()["diagram_13"]; got != tt.topic || c.TransactionalIDPrefix() != tt.prefix {
			t.Errorf("%+v: topic %q, prefix %q; want %q, %q", tt.dest, got, c.TransactionalIDPrefix(), tt.topic, tt.prefix)
		}
	}
	if _, err := source.New(cfg); err == nil || !strings.Contains(err.Error(), "WriteTo") {
		t.Errorf("New without a destination: %v, want an error naming WriteTo", err)
	}
}

// TestRedactorError: an error's text loses its secrets, its chain stays.
func TestRedactorError(t *testing.T) {
	r := source.NewRedactor()
	r.Add("s3cret-token")
	cause := errors.New("HTTP 403: token s3cret-token refused")
	err := r.Error(fmt.Errorf("%w: %w", source.ErrInvalidToken, cause))
	if strings.Contains(err.Error(), "s3cret-token") || !errors.Is(err, source.ErrInvalidToken) || !errors.Is(err, cause) {
		t.Errorf("Error = %q (Is token error %v, Is cause %v)", err, errors.Is(err, source.ErrInvalidToken), errors.Is(err, cause))
	}
	plain := errors.New("nothing secret")
	if r.Error(plain) != plain || r.Error(nil) != nil {
		t.Error("an error without secrets, or nil, must come back as it was")
	}
}
