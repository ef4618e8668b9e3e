package experiments

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// PairedT is Student's paired t-test, two-sided, of the differences d (variant − baseline, one
// per seed):
//
//	t = mean(d) / (s_d/√n),  ν = n − 1,  p = 2·P(T_ν ≥ |t|)
//
// It needs n ≥ 2 (else t and p are NaN). Differences that are all equal have s_d = 0: t is 0
// with p = 1 when they are all zero, and ±Inf with p = 0 otherwise (Compare never asks for the
// latter: it sends constant non-zero differences to Wilcoxon instead).
func PairedT(d []float64) (t, p float64) {
	n := len(d)
	if n < 2 {
		return math.NaN(), math.NaN()
	}
	mean, sd := stat.MeanStdDev(d, nil)
	if sd == 0 {
		if mean == 0 {
			return 0, 1
		}
		return math.Copysign(math.Inf(1), mean), 0
	}
	t = mean / stat.StdErr(sd, float64(n))
	p = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Survival(math.Abs(t))
	return t, math.Min(p, 1)
}
