package source_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/wolkvox-connect/wolkvox-connect/source"
)

// TestMain fails the package when a test leaves a goroutine behind: every goroutine the
// engine starts (connectors, the worker, Kafka clients, HTTP calls) must end with it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testDestination is a connector test's topics, offsets topic, dead-letter topic and
// transactional IDs, all named after prefix so that tests sharing a broker never meet.
func testDestination(seeds []string, prefix string) source.Destination {
	return source.Destination{Seeds: seeds, TopicTemplate: prefix + ".{report}", OffsetsTopic: prefix + ".offsets",
		DeadLetterTopic: prefix + ".dlq", TransactionalIDPrefix: prefix + "-"}
}

// workerDestination is testDestination for a worker of connectors named after prefix:
// each connector's topics carry its name.
func workerDestination(seeds []string, prefix string) source.Destination {
	return source.Destination{Seeds: seeds, TopicTemplate: "{connector}.{report}", OffsetsTopic: prefix + ".offsets",
		DeadLetterTopic: prefix + ".dlq"}
}
