package schemas

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// srfake and TLS test servers keep idle HTTP connections; each test closes its
	// server, and goleak proves nothing else is left running.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}
