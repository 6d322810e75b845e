package source

import (
	"strings"
	"testing"

	"github.com/wolkvox-connect/wolkvox-connect/offsets"
)

// TestDescribeOpen: the status names the oldest maxNamedTransactions open transactions
// and counts the rest, however many a worker's connectors hold open.
func TestDescribeOpen(t *testing.T) {
	txn := func(id string) offsets.OpenTransaction { return offsets.OpenTransaction{TransactionalID: id} }
	tests := []struct {
		open []offsets.OpenTransaction
		want string
	}{
		{nil, ""},
		{[]offsets.OpenTransaction{txn("a")}, "a"},
		{[]offsets.OpenTransaction{txn("a"), txn("b"), txn("c")}, "a; b; c"},
		{[]offsets.OpenTransaction{txn("a"), txn("b"), txn("c"), txn("d"), txn("e")}, "a; b; c; and 2 more"},
	}
	for _, tt := range tests {
		if got := describeOpen(tt.open); got != tt.want {
			t.Errorf("%d open: %q, want %q", len(tt.open), got, tt.want)
		}
	}
	many := make([]offsets.OpenTransaction, 1000)
	for i := range many {
		many[i] = txn(strings.Repeat("x", 200))
	}
	if got := describeOpen(many); len(got) > 1000 {
		t.Errorf("1,000 open transactions make a status text of %d bytes", len(got))
	}
}
