package experiments

import (
	"math"
	"sort"
)

// Holm returns the Holm–Bonferroni adjusted p-values of p, in p's order: with the m p-values
// that are not NaN sorted ascending, p₍ᵢ₎ becomes
//
//	max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎)
//
// Rejecting where the adjusted value is below α controls the family-wise error rate at α
// (Holm 1979). NaN entries (comparisons without a test) stay NaN and do not count in m.
func Holm(p []float64) []float64 {
	out := make([]float64, len(p))
	var idx []int
	for i, v := range p {
		out[i] = math.NaN()
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	m := len(idx)
	run := 0.0
	for j, i := range idx {
		run = math.Max(run, math.Min(1, float64(m-j)*p[i]))
		out[i] = run
	}
	return out
}
