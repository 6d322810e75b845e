package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"
)

func init() {
	version = resolveVersion(version, debug.ReadBuildInfo)
	commit = resolveCommit(debug.ReadBuildInfo)
}

// resolveCommit is the VCS revision of the build, "-dirty" for local changes, or ""
// when it has none.
func resolveCommit(buildInfo func() (*debug.BuildInfo, bool)) string {
	bi, ok := buildInfo()
	if !ok || bi == nil {
		return ""
	}
	rev, dirty := vcsStamp(bi)
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// commit is the VCS revision the build was stamped with, "-dirty" for local changes,
// "" when it has none (go test, go run): GET / reports it.
var commit string

// vcsStamp reads the VCS revision and whether the tree had local changes from the
// build information ("" when the build has no stamp).
func vcsStamp(bi *debug.BuildInfo) (revision string, modified bool) {
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return revision, modified
}

// resolveVersion returns the version to report: the one stamped with -ldflags when
// there is one, else the main module's version from the build information (what
// "go install github.com/wolkvox-connect/wolkvox-connect/cmd/wolkvox-connect@v1.2.3"
// records, or the pseudo-version a go build in a git checkout records), else
// "dev-<commit>" when only the VCS revision is known (with "-dirty" for local edits),
// else "dev".
func resolveVersion(stamped string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if stamped != "" && stamped != "dev" {
		return stamped
	}
	bi, ok := buildInfo()
	if !ok || bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	revision, modified := vcsStamp(bi)
	if revision == "" {
		return "dev"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified {
		return "dev-" + revision + "-dirty"
	}
	return "dev-" + revision
}

// versionCommand is "wolkvox-connect version".
func versionCommand() command {
	return command{
		name:    "version",
		summary: "Print the version of this build",
		example: "wolkvox-connect version",
		run: func(_ context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "wolkvox-connect %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
