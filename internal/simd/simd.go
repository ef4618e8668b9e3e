// Package simd says which amd64 assembly kernels packages stats and static may run: one
// switch for both, read on every call, which their tests turn to run each kernel in turn.
package simd

// AVX and AVX512 are whether the AVX and AVX-512F kernels may run: whether the CPU and OS
// support them (x/sys/cpu checks CPUID and that the OS saves the YMM and ZMM state) on amd64
// without the purego tag; false elsewhere. Only tests change them (Use).
var (
	AVX    = haveAVX
	AVX512 = haveAVX512
)

// Kernels returns the assembly kernels of this machine and build: "avx512" and "avx" where
// the CPU has them.
func Kernels() []string {
	var k []string
	if AVX512 {
		k = append(k, "avx512")
	}
	if AVX {
		k = append(k, "avx")
	}
	return k
}

// Use makes the kernels of stats and static run kernel k ("avx512", "avx" or "go", one the
// machine has) and returns the restore. For tests, which must not run in parallel with it.
func Use(k string) func() {
	oldAVX, old512 := AVX, AVX512
	AVX512 = k == "avx512" && old512
	AVX = k == "avx" && oldAVX
	return func() { AVX, AVX512 = oldAVX, old512 }
}
