// Package kafkatest gives tests a Kafka to talk to, in-process or real, and names that
// never collide on a shared broker.
//
// The functions to know:
//
//   - [Real] returns the seeds of the real broker named by the one environment variable
//     [EnvVar] (WOLKVOX_TEST_KAFKA). When it is unset the test is skipped with a printed
//     reason, except under CI=true, where the test fails: CI must never silently skip the
//     integration tests.
//   - [Fake] starts an in-process kfake cluster (one broker) that t.Cleanup closes.
//   - [Clusters] runs a test body once per [Cluster], as subtests "kfake" and "kafka", so
//     one body proves the same behaviour on both.
//   - [Topic] and [TransactionalID] return names unique per test and per process.
//   - [Client] and [CreateTopic] are the small conveniences every Kafka test repeats.
//
// Start the real broker with deploy/local/kafka.sh start (make test does it for you):
//
//	eval "$(deploy/local/kafka.sh env)"   # export WOLKVOX_TEST_KAFKA=127.0.0.1:PORT
//	go test -race ./sink/...
package kafkatest
