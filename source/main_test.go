package source_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: every goroutine the
// engine starts (connectors, the worker, Kafka clients, HTTP calls) must end with it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
