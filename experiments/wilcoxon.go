package experiments

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// WilcoxonExactMax is the largest number of non-zero differences for which Wilcoxon computes
// the exact distribution; above it the normal approximation is used.
const WilcoxonExactMax = 50

// Wilcoxon is the Wilcoxon signed-rank test, two-sided, of the paired differences d:
//
//	drop the zero differences (Wilcoxon's convention), leaving n;
//	rank |dᵢ| from 1 to n, tied values sharing the mean of their ranks (mid-ranks);
//	W⁺ = Σ ranks of the positive dᵢ;
//	p  = min(1, 2·min(P(W ≤ W⁺), P(W ≥ W⁺)))
//
// where W is W⁺ under the null hypothesis: every one of the 2ⁿ sign patterns of the ranks
// equally likely. For n ≤ WilcoxonExactMax that distribution is computed exactly, with the
// observed mid-ranks (so the p-value stays exact under ties); above, W⁺ is compared with a normal
// of mean n(n+1)/4 and variance n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over tie groups of size t, with a
// continuity correction of ½. n = 0 gives W⁺ = 0 and p = 1.
//
// The smallest p it can return without ties is 2/2ⁿ: 0.25 for n = 3, 0.0625 for n = 5, so at
// least 6 non-zero differences are needed to reach p < 0.05.
func Wilcoxon(d []float64) (wPlus, p float64, n int) {
	type item struct {
		abs float64
		pos bool
	}
	var xs []item
	for _, v := range d {
		if v != 0 {
			xs = append(xs, item{math.Abs(v), v > 0})
		}
	}
	n = len(xs)
	if n == 0 {
		return 0, 1, 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].abs < xs[j].abs })
	// Doubled mid-ranks are integers: a tie group over ranks i+1..j has mid-rank (i+1+j)/2.
	ranks2 := make([]int, n)
	var tieTerm float64
	for i := 0; i < n; {
		j := i
		for j < n && xs[j].abs == xs[i].abs {
			j++
		}
		for k := i; k < j; k++ {
			ranks2[k] = i + 1 + j
		}
		t := float64(j - i)
		tieTerm += t*t*t - t
		i = j
	}
	w2 := 0
	for i, x := range xs {
		if x.pos {
			w2 += ranks2[i]
		}
	}
	wPlus = float64(w2) / 2
	if n <= WilcoxonExactMax {
		return wPlus, signedRankExactP(ranks2, w2), n
	}
	nf := float64(n)
	mean := nf * (nf + 1) / 4
	sd := math.Sqrt(nf*(nf+1)*(2*nf+1)/24 - tieTerm/48)
	if sd == 0 {
		return wPlus, 1, n
	}
	z := (math.Abs(wPlus-mean) - 0.5) / sd
	if z < 0 {
		z = 0
	}
	return wPlus, math.Min(1, 2*distuv.UnitNormal.Survival(z)), n
}

// signedRankExactP is the two-sided p-value of the doubled statistic w2 under the null
// distribution of Σ sᵢ·ranks2ᵢ over signs sᵢ ∈ {0, 1}, by counting sign patterns per sum.
func signedRankExactP(ranks2 []int, w2 int) float64 {
	total := 0
	for _, r := range ranks2 {
		total += r
	}
	count := make([]float64, total+1) // count[s]: sign patterns whose positive ranks sum to s
	count[0] = 1
	top := 0
	for _, r := range ranks2 {
		for s := top; s >= 0; s-- {
			if count[s] != 0 {
				count[s+r] += count[s]
			}
		}
		top += r
	}
	var le, ge, all float64
	for s, c := range count {
		all += c
		if s <= w2 {
			le += c
		}
		if s >= w2 {
			ge += c
		}
	}
	return math.Min(1, 2*math.Min(le, ge)/all)
}
