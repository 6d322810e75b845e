package kafkatest

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// namePrefix marks every resource made by a test, so whoever lists a shared broker's
// topics knows where they came from.
const namePrefix = "wvt"

var (
	// runToken is random per process: go test runs packages as parallel processes against the
	// same broker, and a rerun must not meet the topics of the previous run.
	runToken = newRunToken()
	// nameSeq makes names unique within the process, even for one test asking twice.
	nameSeq atomic.Uint64
)

func newRunToken() string {
	b := make([]byte, 4)
	rand.Read(b) // never fails since Go 1.24 (it crashes the program instead)
	return hex.EncodeToString(b)
}

// Topic returns a topic name unique to this call: "wvt-<test name>[-<suffix>]-<run>-<n>",
// with every character Kafka forbids (and '.', which Kafka's metrics confuse with '_')
// replaced by '-', cut to Kafka's 249-character limit.
func Topic(t testing.TB, suffix ...string) string {
	t.Helper()
	return uniqueName(t.Name(), strings.Join(suffix, "-"), nameSeq.Add(1))
}

// TransactionalID returns a transactional ID unique to this call, in the same form as
// [Topic], so producers of concurrent tests never fence each other. Call it once and share
// the result between clients that are meant to fence each other.
func TransactionalID(t testing.TB) string {
	t.Helper()
	return uniqueName(t.Name(), "txn", nameSeq.Add(1))
}

// uniqueName builds the name; it is a pure function of its inputs and runToken, so the fuzz
// test can check that every output is a legal topic name.
func uniqueName(testName, suffix string, n uint64) string {
	tail := "-" + runToken + "-" + strconv.FormatUint(n, 10)
	body := sanitize(testName)
	if s := sanitize(suffix); s != "" {
		body += "-" + s
	}
	if room := maxTopicLen - len(namePrefix) - 1 - len(tail); len(body) > room {
		// The tail carries the uniqueness, so it is the test name that gets cut.
		body = strings.TrimRight(body[:room], "-")
	}
	if body == "" {
		return namePrefix + tail
	}
	return namePrefix + "-" + body + tail
}

// sanitize keeps ASCII letters, digits and '_', turns every run of anything else into one
// '-', and trims '-' at both ends.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
			dash = false
		default:
			if !dash {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.Trim(b.String(), "-")
}
