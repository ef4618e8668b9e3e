//go:build !purego

package stats

import "github.com/smoothl1/smoothl1/internal/simd"

// absDiffLanes4AVX sets the lanes of l to the shifted sums of rows rows (a multiple of 4)
// of pred − target, float32 [rows, 4], around mu (lanes4): one row per YMM register.
// absDiffLanes4AVX512 does the same two rows per ZMM register. They are in
// moments4_amd64.s.
//
//go:noescape
func absDiffLanes4AVX(l *lanes4, pred, target *float32, mu *[4]float64, rows int)

//go:noescape
func absDiffLanes4AVX512(l *lanes4, pred, target *float32, mu *[4]float64, rows int)

// absDiffLanes4 fills the lanes of l from the whole groups of four rows of pred − target
// with the assembly and returns the number of rows it summed (0 without AVX).
func absDiffLanes4(l *lanes4, pred, target []float32, mu *[4]float64) int {
	rows := (len(pred) / 4) &^ 3 // whole groups of four rows
	if rows == 0 {
		return 0
	}
	target = target[:len(pred)]
	switch {
	case simd.AVX512:
		absDiffLanes4AVX512(l, &pred[0], &target[0], mu, rows)
	case simd.AVX:
		absDiffLanes4AVX(l, &pred[0], &target[0], mu, rows)
	default:
		return 0
	}
	return rows
}
