//go:build !race

package wolkvox

const raceEnabled = false
