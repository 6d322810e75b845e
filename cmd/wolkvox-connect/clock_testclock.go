//go:build testclock

package main

import "github.com/wolkvox-connect/wolkvox-connect/source/config"

// Test builds of the binary (go build -tags testclock) read a virtual clock from the
// configuration file, so that a worker process and a test's simulator share one time.
func init() { config.AllowVirtualClock() }
