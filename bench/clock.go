package bench

import (
	"fmt"
	"time"
)

// Clock is what the duration of a sample is read from.
type Clock int

const (
	// CPUClock is the CPU time of the whole process (CLOCK_PROCESS_CPUTIME_ID): every thread
	// of it, Go's garbage collector and any libtorch thread included, but not the time other
	// processes held the CPU. On a shared machine it is what an operation costs; for the
	// single-threaded operations of the table it equals the wall time of an idle machine.
	CPUClock Clock = iota
	// WallClock is elapsed real time, which on a shared machine includes the other
	// processes' turns.
	WallClock
)

// String returns "cpu" or "wall", and "Clock(k)" for an unknown value.
func (c Clock) String() string {
	switch c {
	case CPUClock:
		return "cpu"
	case WallClock:
		return "wall"
	}
	return fmt.Sprintf("Clock(%d)", int(c))
}

// ParseClock returns the Clock that String names.
func ParseClock(s string) (Clock, error) {
	for _, c := range []Clock{CPUClock, WallClock} {
		if s == c.String() {
			return c, nil
		}
	}
	return 0, fmt.Errorf("bench: clock %q: want cpu or wall", s)
}

// check returns an error for an unknown clock or one this system cannot read.
func (c Clock) check() error {
	switch {
	case c == CPUClock && !haveCPUClock:
		return fmt.Errorf("bench: no process CPU clock on this system: use the wall clock")
	case c != CPUClock && c != WallClock:
		return fmt.Errorf("bench: unknown clock %v", c)
	}
	return nil
}

// seconds reads the clock.
func (c Clock) seconds() float64 {
	if c == CPUClock {
		return cpuSeconds()
	}
	return time.Since(epoch).Seconds()
}

// epoch is the origin of the wall clock's readings (monotonic, and small enough for float64
// to keep nanoseconds).
var epoch = time.Now()
