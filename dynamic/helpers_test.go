package dynamic

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

var (
	nan  = math.NaN()
	pinf = math.Inf(1)
)

// batch is one step's pred and target, float32 [rows, d].
type batch struct {
	pred, target []float32
}

// randomStream returns steps batches with row counts drawn from sizes, some
// rows poisoned with NaN or ±Inf in pred (fraction bad).
func randomStream(rng *rand.Rand, steps, d int, sizes []int, bad float64) []batch {
	out := make([]batch, steps)
	for s := range out {
		n := sizes[rng.IntN(len(sizes))]
		p, t := make([]float32, n*d), make([]float32, n*d)
		scale := 0.05 + 0.5*rng.Float64()
		for i := range p {
			t[i] = float32(rng.NormFloat64() * 0.3)
			p[i] = t[i] + float32(rng.NormFloat64()*scale)
			if rng.IntN(50) == 0 {
				p[i] = t[i] // exact zero residuals happen
			}
		}
		for i := range n {
			if rng.Float64() < bad {
				p[i*d+rng.IntN(d)] = []float32{float32(nan), float32(pinf), float32(-pinf)}[rng.IntN(3)]
			}
		}
		out[s] = batch{p, t}
	}
	return out
}

// finiteRows returns |pred − target| (formed in float32, as the loss forms
// it) of the rows without NaN or ±Inf, and the number of excluded rows.
func finiteRows(b batch, d int) (rows [][]float64, skipped int) {
	for i := 0; i < len(b.pred); i += d {
		r := make([]float64, d)
		ok := true
		for j := range d {
			v := math.Abs(float64(b.pred[i+j] - b.target[i+j]))
			if math.IsNaN(v) || math.IsInf(v, 0) {
				ok = false
			}
			r[j] = v
		}
		if !ok {
			skipped++
			continue
		}
		rows = append(rows, r)
	}
	return rows, skipped
}

// twoPass returns the mean and unbiased variance of x, the textbook way.
func twoPass(x []float64) (mean, variance float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	return mean, variance / float64(len(x)-1)
}

// sortedE returns e = (|d0| + |d1|)/2 of the rows, sorted.
func sortedE(rows [][]float64) []float64 {
	e := make([]float64, len(rows))
	for i, r := range rows {
		e[i] = (r[0] + r[1]) / 2
	}
	slices.Sort(e)
	return e
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-300)
}

// errorIs reports whether err wraps want and its message contains text.
func errorIs(err, want error, text string) bool {
	return errors.Is(err, want) && strings.Contains(err.Error(), text)
}
