package torchthread

import (
	"runtime"
	"strings"
	"testing"
)

func TestBLASOf(t *testing.T) {
	line := func(path string) string {
		return "7f0b80000000-7f0b80100000 r-xp 00000000 08:01 1234   " + path + "\n"
	}
	cases := []struct{ maps, want string }{
		{line("/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0") + line("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3") +
			line("/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so"), "OpenBLAS (openblas-openmp)"},
		{line("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so"), "OpenBLAS (openblas-pthread)"},
		{line("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0") + line("/usr/lib/x86_64-linux-gnu/libc.so.6"), "reference BLAS (netlib)"},
		{line("/opt/intel/lib/libmkl_core.so.2"), "MKL"},
		{line("/usr/lib/libblis.so.4"), "BLIS"},
		{line("/opt/libtorch/lib/libtorch_cpu.so") + "7f0b80000000-7f0b80100000 rw-p 00000000 00:00 0 \n" + line("[heap]"), "unknown"},
		{"", "unknown"},
	}
	for _, c := range cases {
		if got := blasOf(c.maps); got != c.want {
			t.Errorf("blasOf(%q) = %q, want %q", c.maps, got, c.want)
		}
	}
}

// TestBLASLoaded reads this process's own maps: libtorch is linked, so on Linux a BLAS (or
// "unknown" for a libtorch with its own) is named, and never an empty string.
func TestBLASLoaded(t *testing.T) {
	got := BLAS()
	if runtime.GOOS == "linux" && got == "" {
		t.Fatal("BLAS() is empty")
	}
	t.Logf("BLAS: %s", got)
	if runtime.GOOS == "linux" && !strings.Contains(got, "BLAS") && got != "unknown" && got != "MKL" && got != "BLIS" {
		t.Errorf("BLAS() = %q", got)
	}
}
