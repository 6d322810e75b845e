//go:build race

package wolkvox

// raceEnabled shrinks the tests that are slow under the race detector.
const raceEnabled = true
