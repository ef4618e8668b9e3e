package experiments

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the level of every interval in a report, and Alpha = 1 − Confidence the
// significance level of every test.
const (
	Confidence = 0.95
	Alpha      = 1 - Confidence
)

// Summary is a sample's mean with its confidence interval.
type Summary struct {
	N    int
	Mean float64
	// SD is the sample standard deviation (divisor n − 1); NaN for n < 2.
	SD float64
	// Low and High bound the Confidence interval of the mean by Student's t; NaN for n < 2.
	Low, High float64
}

// Summarize returns the mean of x and its Confidence interval by Student's t:
//
//	mean ± t(1 − Alpha/2; n − 1) · s/√n,  s² = Σ(xᵢ − mean)²/(n − 1)
//
// With n = 1 the SD and the interval are NaN (one seed says nothing about the spread); with
// n = 0 everything is NaN.
func Summarize(x []float64) Summary {
	s := Summary{N: len(x), Mean: math.NaN(), SD: math.NaN(), Low: math.NaN(), High: math.NaN()}
	if len(x) == 0 {
		return s
	}
	if len(x) == 1 {
		s.Mean = x[0]
		return s
	}
	s.Mean, s.SD = stat.MeanStdDev(x, nil)
	half := tQuantile(1-Alpha/2, float64(len(x)-1)) * stat.StdErr(s.SD, float64(len(x)))
	s.Low, s.High = s.Mean-half, s.Mean+half
	return s
}

// HalfWidth is half the interval's width (NaN when there is none).
func (s Summary) HalfWidth() float64 { return (s.High - s.Low) / 2 }

// tQuantile is the p-quantile of Student's t with nu degrees of freedom.
func tQuantile(p, nu float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}.Quantile(p)
}
