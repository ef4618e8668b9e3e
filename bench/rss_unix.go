//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSS returns an ended process's peak resident memory in bytes (ru_maxrss: KiB on Linux,
// bytes on macOS).
func maxRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, false
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss, true
	}
	return ru.Maxrss * 1024, true
}
