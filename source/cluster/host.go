package cluster

import (
	"fmt"
	"os"
)

// defaultWorkerID is host:pid, unique enough for status views.
func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "worker"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}
