// Package benchdata is the data every speed measurement of the project uses (smoothl1 bench,
// the go test benchmarks of dynamic, static's kernels and tensorloss), so that their numbers
// compare: box-delta-like residuals, the same for the same size.
package benchdata

import "math/rand/v2"

// Boxes returns pred and target, float32 [rows, 4] row-major, with residuals of the scale
// encoded box deltas have: target ~ 0.2·N(0, 1), pred = target + 0.1·N(0, 1). The same rows
// give the same data.
func Boxes(rows int) (pred, target []float32) {
	rng := rand.New(rand.NewPCG(7, uint64(rows)))
	pred, target = make([]float32, 4*rows), make([]float32, 4*rows)
	for i := range pred {
		target[i] = float32(0.2 * rng.NormFloat64())
		pred[i] = target[i] + float32(0.1*rng.NormFloat64())
	}
	return pred, target
}
