//go:build unix

package bench

import "golang.org/x/sys/unix"

const haveCPUClock = true

// cpuSeconds returns the CPU time of the process, in seconds.
func cpuSeconds() float64 {
	var t unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &t); err != nil {
		panic("bench: reading the process CPU clock: " + err.Error())
	}
	return float64(t.Sec) + float64(t.Nsec)/1e9
}
