//go:build race

package source

// raceEnabled shrinks the tests that are slow under the race detector.
const raceEnabled = true
