package experiments

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// ShapiroWilk is the Shapiro–Wilk test of normality of x, with W's coefficients and p-value by
// Royston's algorithm AS R94 (Applied Statistics 44, 1995), the one behind R's shapiro.test and
// SciPy's stats.shapiro:
//
//	W = (Σ aᵢ·x₍ᵢ₎)² / Σ(xᵢ − x̄)²
//
// with x₍ᵢ₎ the sorted sample and aᵢ Royston's polynomial approximation of the normalised
// expected normal order statistics. The p-value (small W: not normal) is exact for n = 3 and
// Royston's normalising transformation otherwise. The test needs 3 ≤ n ≤ 5000 and a sample
// that is not constant; otherwise ok is false and W and p are NaN.
func ShapiroWilk(x []float64) (w, p float64, ok bool) {
	n := len(x)
	if n < 3 || n > 5000 {
		return math.NaN(), math.NaN(), false
	}
	xs := append([]float64(nil), x...)
	sort.Float64s(xs)
	rng := xs[n-1] - xs[0]
	if !(rng > 0) || math.IsInf(rng, 0) {
		return math.NaN(), math.NaN(), false
	}
	a := shapiroCoefficients(n)
	// W as the squared correlation of the coefficients with the range-scaled data, as AS R94
	// computes it (1 − W first, for accuracy when W is close to 1).
	coef := make([]float64, n) // antisymmetric: −a₁ … +a₁
	for i := 0; i < n/2; i++ {
		coef[i], coef[n-1-i] = -a[i], a[i]
	}
	var sa, sx float64
	for i := range xs {
		sa += coef[i]
		sx += xs[i] / rng
	}
	sa /= float64(n)
	sx /= float64(n)
	var ssa, ssx, sax float64
	for i := range xs {
		da, dx := coef[i]-sa, xs[i]/rng-sx
		ssa += da * da
		ssx += dx * dx
		sax += da * dx
	}
	root := math.Sqrt(ssa * ssx)
	w1 := (root - sax) * (root + sax) / (ssa * ssx)
	w = 1 - w1
	if n == 3 {
		// Exact: W of three normal values has density ∝ (W − ¾)^(−½)(1 − W)^(−½) on [¾, 1].
		p = 6 / math.Pi * (math.Asin(math.Sqrt(w)) - math.Pi/3)
		return w, math.Max(p, 0), true
	}
	y := math.Log(w1)
	nf := float64(n)
	var m, s float64
	if n <= 11 {
		gamma := poly([]float64{-2.273, 0.459}, nf)
		if y >= gamma {
			return w, 1e-99, true // beyond the transformation's range: W is tiny
		}
		y = -math.Log(gamma - y)
		m = poly([]float64{0.5440, -0.39978, 0.025054, -6.714e-4}, nf)
		s = math.Exp(poly([]float64{1.3822, -0.77857, 0.062767, -0.0020322}, nf))
	} else {
		ln := math.Log(nf)
		m = poly([]float64{-1.5861, -0.31082, -0.083751, 0.0038915}, ln)
		s = math.Exp(poly([]float64{-0.4803, -0.082676, 0.0030302}, ln))
	}
	return w, distuv.UnitNormal.Survival((y - m) / s), true
}

// shapiroCoefficients returns a₁ ≥ … ≥ a_{n/2} > 0 of AS R94 for a sample of n ≥ 3.
func shapiroCoefficients(n int) []float64 {
	half := n / 2
	a := make([]float64, half)
	if n == 3 {
		a[0] = math.Sqrt(0.5)
		return a
	}
	nf := float64(n)
	m := make([]float64, half) // expected normal order statistics (Blom's approximation), negative
	var summ2 float64
	for i := range m {
		m[i] = distuv.UnitNormal.Quantile((float64(i+1) - 0.375) / (nf + 0.25))
		summ2 += m[i] * m[i]
	}
	summ2 *= 2
	ssumm2 := math.Sqrt(summ2)
	rsn := 1 / math.Sqrt(nf)
	c1 := []float64{0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056}
	c2 := []float64{0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633}
	a1 := poly(c1, rsn) - m[0]/ssumm2
	first := 1
	var fac float64
	if n > 5 {
		first = 2
		a2 := -m[1]/ssumm2 + poly(c2, rsn)
		fac = math.Sqrt((summ2 - 2*m[0]*m[0] - 2*m[1]*m[1]) / (1 - 2*a1*a1 - 2*a2*a2))
		a[1] = a2
	} else {
		fac = math.Sqrt((summ2 - 2*m[0]*m[0]) / (1 - 2*a1*a1))
	}
	a[0] = a1
	for i := first; i < half; i++ {
		a[i] = -m[i] / fac
	}
	return a
}

// poly evaluates c₀ + c₁x + c₂x² + … by Horner's rule.
func poly(c []float64, x float64) float64 {
	v := 0.0
	for i := len(c) - 1; i >= 0; i-- {
		v = v*x + c[i]
	}
	return v
}
