//go:build race

package boxes

// raceEnabled: the race detector makes sync.Pool drop entries at random.
const raceEnabled = true
