package main

import (
	"runtime/debug"
	"testing"
)

// TestResolveVersion: a version stamped with -ldflags wins; without one, what the go
// command recorded is used, so "go install ...@v1.2.3" users see v1.2.3, not dev.
func TestResolveVersion(t *testing.T) {
	info := func(version string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Path: "github.com/wolkvox-connect/wolkvox-connect", Version: version}, Settings: settings}, true
		}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "c3258da5dd4d8e1f2a3b4c5d6e7f8091a2b3c4d5"}
	modified := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	clean := debug.BuildSetting{Key: "vcs.modified", Value: "false"}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		name      string
		stamped   string
		buildInfo func() (*debug.BuildInfo, bool)
		want      string
	}{
		{"ldflags wins over the module version", "v2.0.0", info("v1.2.3"), "v2.0.0"},
		{"go install module@version", "dev", info("v1.2.3"), "v1.2.3"},
		{"go build in a checkout: pseudo-version", "dev", info("v0.0.0-20261201195442-c3258da5dd4d+dirty"), "v0.0.0-20261201195442-c3258da5dd4d+dirty"},
		{"devel build with a clean revision", "dev", info("(devel)", rev, clean), "dev-c3258da5dd4d"},
		{"devel build with local edits", "dev", info("(devel)", rev, modified), "dev-c3258da5dd4d-dirty"},
		{"devel build without VCS information", "dev", info("(devel)"), "dev"},
		{"empty module version", "dev", info(""), "dev"},
		{"no build information", "dev", none, "dev"},
		{"empty stamp falls back too", "", info("v1.2.3"), "v1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolveVersion(tt.stamped, tt.buildInfo); got != tt.want {
				t.Errorf("resolveVersion(%q) = %q, want %q", tt.stamped, got, tt.want)
			}
		})
	}
	commits := []struct {
		name      string
		buildInfo func() (*debug.BuildInfo, bool)
		want      string
	}{
		{"clean revision, whole", info("(devel)", rev, clean), rev.Value},
		{"local edits", info("(devel)", rev, modified), rev.Value + "-dirty"},
		{"no VCS information", info("v1.2.3"), ""},
		{"no build information", none, ""},
	}
	for _, tt := range commits {
		t.Run("commit/"+tt.name, func(t *testing.T) {
			if got := resolveCommit(tt.buildInfo); got != tt.want {
				t.Errorf("resolveCommit = %q, want %q", got, tt.want)
			}
		})
	}
}
