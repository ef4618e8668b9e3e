package torchthread

import (
	"os"
	"path/filepath"
	"strings"
)

// BLAS names the BLAS library libtorch's matmuls run on in this process, read from the
// libraries it has mapped (/proc/self/maps): "OpenBLAS (openblas-openmp)" for Debian's
// OpenBLAS with its OpenMP threads (what `make setup` installs: libtorch's thread count,
// SetNumThreads, is then the BLAS's too), "OpenBLAS (openblas-pthread)" for the build with
// threads of its own, "reference BLAS (netlib)" for Debian's default, "MKL", "BLIS", or
// "unknown" when none is mapped (the official libtorch distribution links MKL into
// libtorch_cpu itself) or the system has no /proc.
func BLAS() string {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return "unknown"
	}
	return blasOf(string(maps))
}

// blasOf is BLAS on the text of a maps file.
func blasOf(maps string) string {
	var netlib bool
	for line := range strings.Lines(maps) {
		i := strings.IndexByte(line, '/')
		if i < 0 {
			continue
		}
		path := strings.TrimSpace(line[i:])
		base := filepath.Base(path)
		switch {
		case strings.Contains(base, "openblas") || strings.Contains(filepath.Base(filepath.Dir(path)), "openblas"):
			if dir := filepath.Base(filepath.Dir(path)); strings.HasPrefix(dir, "openblas-") {
				return "OpenBLAS (" + dir + ")"
			}
			return "OpenBLAS"
		case strings.HasPrefix(base, "libmkl"):
			return "MKL"
		case strings.HasPrefix(base, "libblis"):
			return "BLIS"
		case strings.HasPrefix(base, "libblas.so") && filepath.Base(filepath.Dir(path)) == "blas":
			netlib = true
		}
	}
	if netlib {
		return "reference BLAS (netlib)"
	}
	return "unknown"
}
