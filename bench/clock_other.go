//go:build !unix

package bench

const haveCPUClock = false

func cpuSeconds() float64 { panic("bench: no process CPU clock on this system") }
