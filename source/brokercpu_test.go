// /proc is Linux's; the benchmark's figures are only meaningful there.

//go:build linux

package source_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clockTicks is the unit of /proc/<pid>/stat's CPU times (sysconf(_SC_CLK_TCK)), 100
// on every Linux platform Go runs on.
const clockTicks = 100

// brokerCPU returns a reader of the CPU time (user plus system, all threads) of the
// process listening on seed, a broker on this machine; nil when that process is this
// one (kfake, whose work the process's own CPU time already holds).
func brokerCPU(seed string) (func() (time.Duration, error), error) {
	pid, err := listenerPID(seed)
	if err != nil || pid == os.Getpid() {
		return nil, err
	}
	return func() (time.Duration, error) { return processCPU(pid) }, nil
}

// listenerPID finds the process holding the listening TCP socket of addr (host:port),
// through /proc/net/tcp{,6} (the socket's inode) and /proc/*/fd (who holds it).
func listenerPID(addr string) (int, error) {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port of %s: %w", addr, err)
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st ... inode: "0: 0100007F:E47F 00000000:0000 0A ..."
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && p == port {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
		f.Close()
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no process listens on port %d here", port)
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && inodes[target] {
			return strconv.Atoi(strings.Split(fd, "/")[2])
		}
	}
	return 0, fmt.Errorf("the socket listening on port %d belongs to no process this one can see", port)
}

// processCPU is process pid's user plus system CPU time (/proc/<pid>/stat, fields 14
// and 15, after the command name in parentheses, which may hold spaces).
func processCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(stat), ')')
	fields := strings.Fields(string(stat[i+1:])) // from field 3, the state
	if i < 0 || len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q is not a stat line", pid, stat)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// TestBrokerCPUFindsTheListener: the process listening on an address is found (here
// this one, which brokerCPU then leaves out), and its CPU time read from /proc is this
// process's as getrusage says, to the tick.
func TestBrokerCPUFindsTheListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pid, err := listenerPID(ln.Addr().String())
	if err != nil || pid != os.Getpid() {
		t.Fatalf("listenerPID = %d, %v; want this process, %d", pid, err, os.Getpid())
	}
	if read, err := brokerCPU(ln.Addr().String()); read != nil || err != nil {
		t.Errorf("brokerCPU of this process's listener: %v, %v; want nothing to read", read != nil, err)
	}
	before, err := cpuTime()
	if err != nil {
		t.Fatal(err)
	}
	got, err := processCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	after, err := cpuTime()
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts whole ticks; getrusage is finer: two ticks of slack.
	if tick := 2 * time.Second / clockTicks; got < before-tick || got > after+tick {
		t.Errorf("processCPU = %v, want between %v and %v", got, before, after)
	}
	if _, err := listenerPID("127.0.0.1:1"); err == nil {
		t.Error("listenerPID found a listener on port 1")
	}
}
