package stats

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/smoothl1/smoothl1/internal/simd"
)

// The assembly reads and writes lanes4 at fixed offsets.
func TestLanes4Layout(t *testing.T) {
	var l lanes4
	if unsafe.Offsetof(l.a) != 0 || unsafe.Offsetof(l.c) != 128 || unsafe.Sizeof(l) != 256 {
		t.Fatal("lanes4 layout changed: update moments4_amd64.s")
	}
}

// sameBits reports whether a and b are the same float64, or both NaN.
func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// specialRows returns pred and target, float32 [rows, 4]: normal residuals with, in
// about a fraction bad of the elements, a special value of pred: ±0, subnormals, values
// near a float32's limit (whose residual overflows to ±Inf), NaN and ±Inf.
func specialRows(rng *rand.Rand, rows int, bad float64) (pred, target []float32) {
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-40, 3e38, -3e38, math.MaxFloat32,
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0.11, 1e20}
	pred, target = make([]float32, 4*rows), make([]float32, 4*rows)
	for i := range pred {
		target[i] = float32(0.2 * rng.NormFloat64())
		pred[i] = target[i] + float32(0.1*rng.NormFloat64())
		if rng.Float64() < bad {
			pred[i] = specials[rng.IntN(len(specials))]
		}
	}
	return pred, target
}

// Each assembly kernel's lanes against the Go kernel's, bit for bit (NaN as NaN), for row
// counts around the groups of four, around μ of every size, with special values in the
// rows; and AddAbsDiff with and without the assembly: the same count, skipped rows and bits
// of Mean and M2, over block boundaries and with rows excluded.
func TestAbsDiffKernelMatchesGo(t *testing.T) {
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
	rng := rand.New(rand.NewPCG(21, 22))
	mus := [][4]float64{{}, {0.08, 0.08, 0.1, 0.12}, {-1, 1e-300, 1e30, 3e38}, {math.NaN(), 0, math.Inf(1), 0.5}}
	for _, rows := range []int{0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 255, 256, 1024} {
		for _, bad := range []float64{0, 0.01, 0.3} {
			pred, target := specialRows(rng, rows, bad)
			for _, mu := range mus {
				var asm, ref lanes4
				from := absDiffLanes4(&asm, pred, target, &mu)
				if from != rows&^3 {
					t.Fatalf("rows %d: the assembly summed %d rows, want %d", rows, from, rows&^3)
				}
				absDiffLanes4Go(&asm, pred, target, &mu, from)
				absDiffLanes4Go(&ref, pred, target, &mu, 0)
				for k := range 4 {
					for j := range 4 {
						if !sameBits(asm.a[k][j], ref.a[k][j]) || !sameBits(asm.c[k][j], ref.c[k][j]) {
							t.Fatalf("rows %d bad %v μ %v lane %d column %d: a, c = %v, %v, Go kernel %v, %v",
								rows, bad, mu, k, j, asm.a[k][j], asm.c[k][j], ref.a[k][j], ref.c[k][j])
						}
					}
				}
			}
		}
	}
	for _, rows := range []int{2, 255, 256, 257, 259, 1000, 1023, 1024, 1025, 2049, 4099, 20000} {
		for _, bad := range []float64{0, 1e-4, 0.01, 0.3} {
			pred, target := specialRows(rng, rows, bad)
			var got, want Moments
			AddAbsDiff(&got, pred, target, 4)
			func() {
				defer simd.Use("go")()
				AddAbsDiff(&want, pred, target, 4)
			}()
			if got.Count != want.Count || got.Skipped != want.Skipped {
				t.Fatalf("rows %d bad %v: count, skipped = %d, %d, Go kernel %d, %d", rows, bad, got.Count, got.Skipped, want.Count, want.Skipped)
			}
			for j := range 4 {
				if !sameBits(got.Mean[j], want.Mean[j]) || !sameBits(got.M2[j], want.M2[j]) {
					t.Fatalf("rows %d bad %v column %d: mean, M2 = %v, %v, Go kernel %v, %v", rows, bad, j, got.Mean[j], got.M2[j], want.Mean[j], want.M2[j])
				}
			}
		}
	}
}

// AddAbsDiff on float32 data, with every kernel, against the two-pass float64
// reference on the residuals formed in float32 (as the loss forms them), in one call and
// merged from shards, with excluded rows: relative error ≤ 1e-12, as TestMomentsMergeShards.
func TestAddAbsDiffFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, kernel := range append(simd.Kernels(), "go") {
		restore := simd.Use(kernel)
		for _, rows := range []int{2, 7, 256, 1023, 1025, 20000} {
			pred, target := specialRows(rng, rows, 0.002)
			x := make([]float64, len(pred))
			for i := range x {
				x[i] = float64(pred[i] - target[i])
			}
			rn, rskip, rmean, rm2 := reference(x, 4)
			cut := 4 * rng.IntN(rows+1)
			var single, merged, shard Moments
			AddAbsDiff(&single, pred, target, 4)
			AddAbsDiff(&merged, pred[:cut], target[:cut], 4)
			AddAbsDiff(&shard, pred[cut:], target[cut:], 4)
			merged.Merge(&shard)
			for name, m := range map[string]*Moments{"single": &single, "merged": &merged} {
				if m.Count != rn || m.Skipped != rskip {
					t.Fatalf("%s rows %d %s: count, skipped = %d, %d, want %d, %d", kernel, rows, name, m.Count, m.Skipped, rn, rskip)
				}
				for j := range 4 {
					if e := relErr(m.Mean[j], rmean[j]); e > 1e-12 {
						t.Errorf("%s rows %d %s col %d: mean rel err %g", kernel, rows, name, j, e)
					}
					if e := relErr(m.M2[j], rm2[j]); e > 1e-12 {
						t.Errorf("%s rows %d %s col %d: M2 rel err %g", kernel, rows, name, j, e)
					}
				}
			}
		}
		restore()
	}
}

// A block holding a row that is not usable is redone row by row in the same lanes: with
// such a row appended after the last, every other row keeps its lane, so the moments are
// those of the rows without it, bit for bit, with one row skipped.
func TestRedoSumsInLanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, kernel := range append(simd.Kernels(), "go") {
		restore := simd.Use(kernel)
		for _, rows := range []int{2, 5, 1023, 1024, 1500, 5000} {
			pred, target := specialRows(rng, rows, 0)
			bad := []float32{float32(math.NaN()), 0, 0, 0}
			var clean, withBad Moments
			AddAbsDiff(&clean, pred, target, 4)
			AddAbsDiff(&withBad, append(pred, bad...), append(target, 0, 0, 0, 0), 4)
			if withBad.Count != clean.Count || withBad.Skipped != 1 {
				t.Fatalf("%s rows %d: count, skipped = %d, %d, want %d, 1", kernel, rows, withBad.Count, withBad.Skipped, clean.Count)
			}
			for j := range 4 {
				if !sameBits(withBad.Mean[j], clean.Mean[j]) || !sameBits(withBad.M2[j], clean.M2[j]) {
					t.Fatalf("%s rows %d column %d: mean, M2 = %v, %v, without the bad row %v, %v",
						kernel, rows, j, withBad.Mean[j], withBad.M2[j], clean.Mean[j], clean.M2[j])
				}
			}
		}
		restore()
	}
}
