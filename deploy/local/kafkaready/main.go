// Command kafkaready waits until a Kafka broker really serves, for deploy/local/kafka.sh.
//
// An open port is not enough: a KRaft broker accepts connections before it has elected
// itself controller, and transactions fail until __transaction_state exists. kafkaready
// therefore retries, until -timeout, two requests: a metadata request that must list at
// least one broker, then InitProducerID from a transactional client (which makes the broker
// create __transaction_state). It exits 0 when both succeed and 1 otherwise, and gives up at
// once when the broker process named by -pid has exited.
//
//	kafkaready -addr 127.0.0.1:9092 [-pid 1234] [-timeout 60s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// errBrokerExited is returned when the watched broker process is gone: waiting longer is pointless.
var errBrokerExited = errors.New("broker process exited")

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafkaready", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "bootstrap address of the broker, host:port (required)")
	pid := fs.Int("pid", 0, "pid of the broker process; stop waiting as soon as it exits (0: do not watch)")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to keep trying")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *addr == "" {
		fmt.Fprintln(stderr, "kafkaready: -addr is required")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var alive func() bool
	if *pid > 0 {
		alive = processAlive(*pid)
	}
	start := time.Now()
	if err := waitReady(ctx, logger, []string{*addr}, alive); err != nil {
		fmt.Fprintf(stderr, "kafkaready: %s not ready after %s: %v\n", *addr, time.Since(start).Round(time.Millisecond), err)
		return 1
	}
	return 0
}

// processAlive returns a probe that reports whether pid still exists (signal 0 checks
// existence without delivering anything).
func processAlive(pid int) func() bool {
	return func() bool {
		p, err := os.FindProcess(pid)
		if err != nil {
			return false
		}
		return p.Signal(syscall.Signal(0)) == nil
	}
}

// waitReady retries probe every 250 ms until it succeeds, ctx ends or alive (when not nil)
// reports that the broker died. The returned error wraps the last probe failure.
func waitReady(ctx context.Context, logger *slog.Logger, seeds []string, alive func() bool) error {
	const pause = 250 * time.Millisecond
	var last error
	for attempt := 1; ; attempt++ {
		if alive != nil && !alive() {
			return withLast(errBrokerExited, last)
		}
		last = probe(ctx, seeds)
		if last == nil {
			return nil
		}
		logger.Debug("broker not ready", "attempt", attempt, "err", last)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return withLast(ctx.Err(), last)
		case <-t.C:
		}
	}
}

// probe makes one metadata request and one transactional InitProducerID, each on a fresh
// client so a half-initialised connection from an earlier attempt cannot linger.
func probe(ctx context.Context, seeds []string) error {
	// Each attempt gets a short deadline so a hung request cannot eat the whole timeout.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()

	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RetryTimeout(3*time.Second))
	if err != nil {
		return fmt.Errorf("metadata client: %w", err)
	}
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	cl.Close()
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if len(md.Brokers) == 0 {
		return errors.New("metadata lists no brokers")
	}

	// The transactional ID is per process: the probe must not fence anyone else's producer.
	txn, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.TransactionalID(fmt.Sprintf("kafkaready-%d-%d", os.Getpid(), time.Now().UnixNano())),
		kgo.RetryTimeout(3*time.Second))
	if err != nil {
		return fmt.Errorf("transactional client: %w", err)
	}
	defer txn.Close()
	if _, _, err := txn.ProducerID(ctx); err != nil {
		return fmt.Errorf("InitProducerID: %w", err)
	}
	return nil
}

// withLast wraps err and, when there was one, the last probe failure, so both stay
// visible to errors.Is.
func withLast(err, last error) error {
	if last == nil {
		return err
	}
	return fmt.Errorf("%w (last probe error: %w)", err, last)
}
