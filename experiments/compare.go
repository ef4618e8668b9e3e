package experiments

import (
	"fmt"
	"math"
)

// Test names the paired test a Comparison used.
type Test int

const (
	NoTest       Test = iota // too few pairs, or identical results
	PairedTTest              // Student's paired t-test
	WilcoxonTest             // Wilcoxon signed-rank test, exact
)

func (t Test) String() string {
	switch t {
	case PairedTTest:
		return "paired t"
	case WilcoxonTest:
		return "Wilcoxon"
	}
	return "none"
}

// MinPairs is the fewest paired seeds Compare tests, and WilcoxonMinPairs the fewest for which
// it lets Shapiro–Wilk switch to Wilcoxon (the fewest with which Wilcoxon can reach p < 0.05).
const (
	MinPairs         = 3
	WilcoxonMinPairs = 6
)

// Comparison is a variant's paired comparison with the baseline on one metric.
type Comparison struct {
	N        int     // seeds both have
	MeanDiff float64 // mean of variant − baseline over those seeds
	Test     Test
	// Statistic is t for the t-test and W⁺ for Wilcoxon; NaN without a test.
	Statistic float64
	// P is the test's two-sided p-value; NaN without a test. PHolm is P adjusted by Holm over
	// the comparisons of one task (set by AdjustHolm).
	P, PHolm float64
	// NormalityP is the Shapiro–Wilk p-value of the differences that chose the test; NaN when
	// the check could not run.
	NormalityP float64
	// Note says why there is no test, or why a test cannot reach significance.
	Note string
}

// Compare pairs the variant's and the baseline's values seed by seed (x[i] and base[i] come
// from the same seed) and tests whether their mean difference is zero. The rule:
//
//   - fewer than MinPairs pairs: no test;
//   - all differences zero: no test (identical results), p taken as 1;
//   - all differences equal but not zero: Wilcoxon (a t-test would divide by a zero spread and
//     claim p = 0);
//   - otherwise Shapiro–Wilk on the differences: p ≥ Alpha keeps the paired t-test; p < Alpha
//     switches to Wilcoxon signed-rank when there are at least WilcoxonMinPairs pairs, and
//     keeps the t-test with a Note below that: with 3 to 5 pairs Wilcoxon cannot go below
//     p = 2/2ⁿ ≥ 0.0625, so switching would turn every effect into "no difference", and
//     Shapiro–Wilk at that size mostly reacts to two nearly equal differences, not to tails.
func Compare(x, base []float64) Comparison {
	if len(x) != len(base) {
		panic(msgCompareLengths)
	}
	c := Comparison{N: len(x), MeanDiff: math.NaN(), Statistic: math.NaN(), P: math.NaN(), PHolm: math.NaN(), NormalityP: math.NaN()}
	d := make([]float64, len(x))
	sum := 0.0
	for i := range x {
		d[i] = x[i] - base[i]
		sum += d[i]
	}
	if len(d) > 0 {
		c.MeanDiff = sum / float64(len(d))
	}
	if len(d) < MinPairs {
		c.Note = fmt.Sprintf("%d paired seeds: at least %d are needed for a test", len(d), MinPairs)
		return c
	}
	allZero, allEqual := true, true
	for _, v := range d {
		allZero = allZero && v == 0
		allEqual = allEqual && v == d[0]
	}
	switch {
	case allZero:
		c.P = 1
		c.Note = "identical results"
		return c
	case !allEqual:
		if _, p, ok := ShapiroWilk(d); ok {
			c.NormalityP = p
		}
	}
	normal := !math.IsNaN(c.NormalityP) && c.NormalityP >= Alpha
	if normal || (!allEqual && len(d) < WilcoxonMinPairs) {
		c.Test = PairedTTest
		c.Statistic, c.P = PairedT(d)
		if !normal {
			c.Note = fmt.Sprintf("Shapiro–Wilk p = %.2g doubts normality; t-test kept, as Wilcoxon cannot reach p < %.2g with %d pairs",
				c.NormalityP, Alpha, len(d))
		}
		return c
	}
	c.Test = WilcoxonTest
	w, p, n := Wilcoxon(d)
	c.Statistic, c.P = w, p
	if minP := math.Ldexp(1, 1-n); minP >= Alpha {
		c.Note = fmt.Sprintf("Wilcoxon with %d non-zero differences cannot go below p = %.3g", n, minP)
	}
	return c
}

// AdjustHolm sets PHolm of the comparisons, one family (the variants of one task compared with
// its baseline). A comparison without a test keeps PHolm = NaN, except identical results,
// which keep P = PHolm = 1 without counting in the family.
func AdjustHolm(cs []*Comparison) {
	p := make([]float64, len(cs))
	for i, c := range cs {
		p[i] = math.NaN()
		if c.Test != NoTest {
			p[i] = c.P
		}
	}
	adj := Holm(p)
	for i, c := range cs {
		c.PHolm = adj[i]
		if c.Test == NoTest && c.P == 1 {
			c.PHolm = 1
		}
	}
}

// Significant reports whether the Holm-adjusted p-value is below Alpha.
func (c Comparison) Significant() bool { return c.PHolm < Alpha }
