package bench

import (
	"bufio"
	"os"
	"runtime"
	"strings"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// cpuModel returns the first "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return "unknown"
}

// machine describes this machine, with libtorch running on threads of its default.
func machine(threads, defaultThreads int) Machine {
	return Machine{
		CPU: cpuModel(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		TorchThreads: threads, TorchThreadsDefault: defaultThreads,
		Libtorch: tt.LibtorchVersion(), BLAS: tt.BLAS(), Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
	}
}
