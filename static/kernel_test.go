package static

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/smoothl1/smoothl1/internal/simd"
)

// The assembly reads cols4 at fixed offsets.
func TestCols4Layout(t *testing.T) {
	var k cols4
	if unsafe.Offsetof(k.s1) != 0 || unsafe.Offsetof(k.s2) != 32 || unsafe.Offsetof(k.half) != 64 || unsafe.Offsetof(k.gs) != 96 {
		t.Fatal("cols4 layout changed: update columns4_amd64.s")
	}
}

// Each assembly kernel against the Go kernel: the same bits per element, sums equal to
// rounding, for lengths around the 16-element blocks, unaligned and 16-, 32- and 48-byte
// aligned gradients (the non-temporal path, which aligns them to the register),
// value-only calls, and β sets with zero and tiny columns. The AVX-512 kernel's sums are
// the AVX kernel's, bit for bit, where both run on the same elements.
func TestKernelMatchesGo(t *testing.T) {
	if len(simd.Kernels()) == 0 {
		t.Skip("no assembly kernel on this machine or build")
	}
	for _, kernel := range simd.Kernels() {
		t.Run(kernel, func(t *testing.T) {
			defer simd.Use(kernel)()
			testKernelMatchesGo(t)
		})
	}
}

func testKernelMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	specials := []float32{0, float32(math.Copysign(0, -1)), 0.11, -0.11, 1, -1, 2, 1e-40, -1e-45, 3e38}
	const maxN = streamBytes/4 + 64 + 8
	pred, target := make([]float32, maxN), make([]float32, maxN)
	for i := range pred {
		pred[i] = float32(rng.NormFloat64())
		target[i] = float32(rng.NormFloat64() * 0.2)
		if i%5 == 0 {
			pred[i] = target[i] + specials[rng.IntN(len(specials))]
		}
	}
	gradBuf, wantBuf := make([]float32, maxN+12), make([]float32, maxN+12)
	for _, beta := range [][]float64{{0.11, 0.11, 0.11, 0.11}, {0, 0.11, 1, 2}, {1e-6, 0, 1e-30, 5}} {
		for _, n := range []int{32, 33, 47, 48, 63, 64, 100, 1000, streamBytes / 4, streamBytes/4 + 52} {
			for _, off := range []int{0, 1, 4, 8, 12} { // grad offset in elements: 4, 16, 32, 48 bytes
				if n > 1000 && off == 1 {
					continue
				}
				var k cols4
				if !k.init(beta, 1/float32(n)) {
					t.Fatal("init refused", beta)
				}
				p, tg := pred[:n], target[:n]
				if beta[0] == beta[1] && n%4 != 0 {
					// fixed β: any length
				} else if n%4 != 0 {
					continue
				}
				grad, want := gradBuf[off:off+n], wantBuf[off:off+n]
				got := smoothL1Cols4(&k, grad, p, tg)
				ref := smoothL1Cols4Go(&k, want, p, tg)
				if math.Abs(got-ref) > 1e-12*math.Abs(ref) {
					t.Errorf("β %v n %d off %d: sum %v, Go kernel %v", beta, n, off, got, ref)
				}
				for i := range grad {
					if math.Float32bits(grad[i]) != math.Float32bits(want[i]) {
						t.Fatalf("β %v n %d off %d: grad[%d] = %v, Go kernel %v", beta, n, off, i, grad[i], want[i])
					}
				}
				if v := smoothL1Cols4(&k, nil, p, tg); math.Abs(v-ref) > 1e-12*math.Abs(ref) {
					t.Errorf("β %v n %d: value only %v, Go kernel %v", beta, n, v, ref)
				}
			}
		}
	}
}

// The AVX-512 kernel's sums are the AVX kernel's bit for bit, value only and with a
// gradient below the non-temporal size, where both run on the same elements. (Float64 sums
// of float32 losses are mostly exact whatever the order, so a crafted block checks the
// order in which the accumulators are combined: with exact L1 the losses are the
// residuals, and the AVX kernel adds column 0's elements 0, 4, 8 and 12 as
// (1 + 2⁻⁵³) + (2⁻⁵³ + 0) = 1, where another pairing gives 1 + 2⁻⁵².)
func TestAVX512SumIsAVXSum(t *testing.T) {
	if !simd.AVX512 || !simd.AVX {
		t.Skip("this machine lacks AVX-512 or AVX")
	}
	crafted := make([]float32, 32)
	crafted[0], crafted[4], crafted[8] = 1, 0x1p-53, 0x1p-53
	var l1 cols4
	l1.init([]float64{0, 0, 0, 0}, 1)
	for _, kernel := range []string{"avx512", "avx"} {
		restore := simd.Use(kernel)
		if got := smoothL1Cols4(&l1, nil, crafted, make([]float32, 32)); got != 1 {
			t.Errorf("%s: crafted block sums to 1 + %g, want 1 (the AVX kernel's order)", kernel, got-1)
		}
		restore()
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{32, 100, 4000, 40000} {
		pred, target, grad := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range pred {
			pred[i], target[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*0.2)
		}
		var k cols4
		k.init([]float64{0.11, 0, 0.05, 1}, 1/float32(n))
		var sums [2][2]float64
		for i, kernel := range []string{"avx512", "avx"} {
			restore := simd.Use(kernel)
			sums[i] = [2]float64{smoothL1Cols4(&k, nil, pred, target), smoothL1Cols4(&k, grad, pred, target)}
			restore()
		}
		for j := range 2 {
			if math.Float64bits(sums[0][j]) != math.Float64bits(sums[1][j]) {
				t.Errorf("n %d grad %v: AVX-512 sum %v, AVX sum %v", n, j == 1, sums[0][j], sums[1][j])
			}
		}
	}
}

// The kernel refuses a β whose reciprocal overflows float32, and the scalar loop takes
// it; at |d| = β the kernel's gradient is exactly ±1 for every β, however it rounds.
func TestKernelInit(t *testing.T) {
	var k cols4
	if k.init([]float64{1e-39, 1, 1, 1}, 1) {
		t.Error("init accepted β = 1e-39 (1/β overflows float32)")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 100000 {
		b := float32(math.Pow(10, rng.Float64()*60-30))
		if !k.init([]float64{float64(b), 1, 1, 1}, 1) {
			t.Fatalf("init refused β = %v", b)
		}
		grad := make([]float32, 4)
		smoothL1Cols4Go(&k, grad, []float32{b, 0, 0, 0}, []float32{0, 0, 0, 0})
		if grad[0] != 1 {
			t.Fatalf("β = %v: gradient at d = β is %v, want exactly 1", b, grad[0])
		}
	}
}

// The hot path does not allocate.
func TestColumnsNoAlloc(t *testing.T) {
	n := 4 * 1000
	pred, target, grad := make([]float32, n), make([]float32, n), make([]float32, n)
	beta := []float64{0.11, 0.11, 0.2, 0.2}
	var l Loss = mustSmoothL1(t, 0.11) // boxed once, as a caller holding a Loss has it
	if a := testing.AllocsPerRun(10, func() { SmoothL1Columns(beta, Mean, grad, nil, pred, target, nil) }); a != 0 {
		t.Errorf("SmoothL1Columns allocates %v times", a)
	}
	if a := testing.AllocsPerRun(10, func() { Eval(l, Mean, grad, nil, pred, target, nil) }); a != 0 {
		t.Errorf("Eval allocates %v times", a)
	}
}
