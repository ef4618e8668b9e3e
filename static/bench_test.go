package static

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the fused Smooth L1 value+gradient pass (Mean) on float32 [N, 4] data,
// with one fixed β (Eval) and one β per column (SmoothL1Columns). Bytes are the two
// slices read and the one written; Melem/s counts N·4 elements per second.
//
//	go test ./static -run '^$' -bench SmoothL1 -benchtime=20x
func BenchmarkSmoothL1(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, rows := range []int{1e3, 1e4, 1e5, 1e6, 1e7} {
		n := 4 * rows
		pred, target, grad := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range pred {
			pred[i] = float32(rng.NormFloat64() * 0.2)
			target[i] = float32(rng.NormFloat64() * 0.2)
			grad[i] = 1 // fault the pages in before timing
		}
		var fixed Loss = SmoothL1{beta: 0.11}
		beta := []float64{0.11, 0.11, 0.05, 0}
		run := func(b *testing.B, f func() (float64, error)) {
			b.SetBytes(int64(12 * n))
			b.ReportAllocs()
			f() // warm the caches; b.Loop starts the timer afresh
			for b.Loop() {
				if _, err := f(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
		}
		b.Run(fmt.Sprintf("fixed/N=%.0e", float64(rows)), func(b *testing.B) {
			run(b, func() (float64, error) { return Eval(fixed, Mean, grad, nil, pred, target, nil) })
		})
		b.Run(fmt.Sprintf("columns/N=%.0e", float64(rows)), func(b *testing.B) {
			run(b, func() (float64, error) { return SmoothL1Columns(beta, Mean, grad, nil, pred, target, nil) })
		})
	}
}
