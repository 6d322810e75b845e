package kafkatest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrInvalidSeeds is returned (wrapped) by [ParseSeeds] when the value of [EnvVar] is not a
// comma-separated list of host:port addresses.
var ErrInvalidSeeds = errors.New("invalid seed brokers")

// ParseSeeds parses a comma-separated list of host:port broker addresses, as found in
// [EnvVar]. Spaces around entries are ignored; an empty list, an empty entry, a missing
// host or a port outside 1-65535 is an error wrapping [ErrInvalidSeeds]. It is exported so
// that programs (and the fuzz test) can check a value before a test run trips over it.
func ParseSeeds(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSeeds)
	}
	parts := strings.Split(s, ",")
	seeds := make([]string, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		host, port, err := net.SplitHostPort(p)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d %q: %w", ErrInvalidSeeds, i+1, p, err)
		}
		if host == "" {
			return nil, fmt.Errorf("%w: entry %d %q: missing host", ErrInvalidSeeds, i+1, p)
		}
		// ParseUint rejects signs and spaces that Atoi would allow or that a dialer rejects late.
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%w: entry %d %q: port must be 1-65535", ErrInvalidSeeds, i+1, p)
		}
		seeds = append(seeds, net.JoinHostPort(host, port))
	}
	return seeds, nil
}
