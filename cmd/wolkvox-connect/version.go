package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/pflag"
)

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
