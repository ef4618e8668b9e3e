//go:build !race

package boxes

const raceEnabled = false
