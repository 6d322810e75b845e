package demo

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: Run owns the
// worker, the simulator, the embedded broker and every Kafka client it starts.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
