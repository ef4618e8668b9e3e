package experiments

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

func near(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// studentT3CDF is the closed-form CDF of Student's t with 3 degrees of freedom.
func studentT3CDF(t float64) float64 {
	u := t / math.Sqrt(3)
	return 0.5 + (u/(1+u*u)+math.Atan(u))/math.Pi
}

func TestSummarizeClosedForm(t *testing.T) {
	// ν = 2: the t quantile is (2p − 1)/√(2p(1 − p)).
	t2 := 0.95 / math.Sqrt(2*0.975*0.025)
	cases := []struct {
		name             string
		x                []float64
		mean, sd, lo, hi float64
		tol              float64
	}{
		{"1,2,3 (closed form, ν = 2)", []float64{1, 2, 3}, 2, 1, 2 - t2/math.Sqrt(3), 2 + t2/math.Sqrt(3), 1e-12},
		{"constant (closed form)", []float64{0.5, 0.5, 0.5, 0.5}, 0.5, 0, 0.5, 0.5, 0},
		{"one value: no spread", []float64{4}, 4, math.NaN(), math.NaN(), math.NaN(), 0},
		{"empty", nil, math.NaN(), math.NaN(), math.NaN(), math.NaN(), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Summarize(c.x)
			if s.N != len(c.x) || !near(s.Mean, c.mean, c.tol) || !near(s.SD, c.sd, c.tol) || !near(s.Low, c.lo, c.tol) || !near(s.High, c.hi, c.tol) {
				t.Errorf("got %+v, want mean %v sd %v CI [%v, %v]", s, c.mean, c.sd, c.lo, c.hi)
			}
		})
	}
}

func TestPairedTClosedForm(t *testing.T) {
	// d = 1, 2, 3, 4: mean 2.5, s = √(5/3), t = 2.5/(s/2) = √15, ν = 3.
	tWant := math.Sqrt(15)
	pWant := 2 * (1 - studentT3CDF(tWant))
	cases := []struct {
		name string
		d    []float64
		t, p float64
		tol  float64
	}{
		{"1..4 (closed form, ν = 3)", []float64{1, 2, 3, 4}, tWant, pWant, 1e-10},
		{"symmetric: t = 0, p = 1", []float64{-1, 1, -2, 2}, 0, 1, 1e-12},
		{"all zero", []float64{0, 0, 0}, 0, 1, 0},
		{"constant non-zero", []float64{-2, -2, -2}, math.Inf(-1), 0, 0},
		{"one pair: no test", []float64{1}, math.NaN(), math.NaN(), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tv, p := PairedT(c.d)
			if !(near(tv, c.t, c.tol) || tv == c.t) || !near(p, c.p, c.tol) {
				t.Errorf("t = %v, p = %v; want %v, %v", tv, p, c.t, c.p)
			}
		})
	}
}

// bruteWilcoxonP enumerates all 2ⁿ sign patterns of the mid-ranks of |d| (zeros dropped): an
// independent check of the exact distribution.
func bruteWilcoxonP(ranks []float64, w float64) float64 {
	n := len(ranks)
	var le, ge float64
	for mask := 0; mask < 1<<n; mask++ {
		s := 0.0
		for i := 0; i < n; i++ {
			if mask&(1<<i) != 0 {
				s += ranks[i]
			}
		}
		if s <= w+1e-9 {
			le++
		}
		if s >= w-1e-9 {
			ge++
		}
	}
	return math.Min(1, 2*math.Min(le, ge)/float64(int(1)<<n))
}

func TestWilcoxonExact(t *testing.T) {
	cases := []struct {
		name string
		d    []float64
		w, p float64
		n    int
		src  string
	}{
		{"3 positive: the smallest p for n = 3", []float64{0.1, 0.2, 0.3}, 6, 0.25, 3, "closed form 2/2³"},
		{"6 negative: p < 0.05 first possible", []float64{-1, -2, -3, -4, -5, -6}, 0, 2.0 / 64, 6, "closed form 2/2⁶"},
		{"1,-2,3,4", []float64{1, -2, 3, 4}, 8, 6.0 / 16, 4, "hand count: P(W⁺ ≥ 8) = 3/16"},
		{"ties 1,-1,2,3 (mid-ranks 1.5)", []float64{1, -1, 2, 3}, 8.5, 6.0 / 16, 4, "hand count over doubled ranks 3,3,6,8: P(≥ 17) = 3/16"},
		{"zeros dropped", []float64{0, 1, -2, 0, 3, 4}, 8, 6.0 / 16, 4, "as 1,-2,3,4"},
		{"all zero", []float64{0, 0}, 0, 1, 0, "no non-zero difference"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, p, n := Wilcoxon(c.d)
			if w != c.w || n != c.n || !near(p, c.p, 1e-12) {
				t.Errorf("W⁺ = %v, p = %v, n = %d; want %v, %v, %d (%s)", w, p, n, c.w, c.p, c.n, c.src)
			}
		})
	}
	t.Run("brute force with ties", func(t *testing.T) {
		d := []float64{0.5, -0.5, 1, 1, -1, 2, 3, -3, 4, 0.25, -6, 7}
		// mid-ranks of |d| = .25 .5 .5 1 1 1 2 3 3 4 6 7
		ranks := []float64{2.5, 2.5, 5, 5, 5, 7, 8.5, 8.5, 10, 1, 11, 12}
		w, p, _ := Wilcoxon(d)
		wWant := 2.5 + 5 + 5 + 7 + 8.5 + 10 + 1 + 12
		if w != wWant || !near(p, bruteWilcoxonP(ranks, wWant), 1e-12) {
			t.Errorf("W⁺ = %v, p = %v; want %v, %v", w, p, wWant, bruteWilcoxonP(ranks, wWant))
		}
	})
	t.Run("normal approximation above the exact range", func(t *testing.T) {
		d := make([]float64, 60)
		for i := range d {
			d[i] = float64(i + 1) // all positive: W⁺ = n(n+1)/2, far in the tail
		}
		_, p, n := Wilcoxon(d)
		if n != 60 || !(p > 0 && p < 1e-9) {
			t.Errorf("p = %v, n = %d; want a tiny positive p", p, n)
		}
	})
}

func TestHolm(t *testing.T) {
	// m = 4, sorted .005 .01 .03 .04 → ×4 ×3 ×2 ×1 = .02 .03 .06 .04, then the running max.
	got := Holm([]float64{0.01, 0.04, 0.03, 0.005, math.NaN()})
	want := []float64{0.03, 0.06, 0.06, 0.02, math.NaN()}
	for i := range want {
		if !near(got[i], want[i], 1e-12) {
			t.Fatalf("Holm = %v, want %v (closed form)", got, want)
		}
	}
	if got := Holm([]float64{0.6, 0.9}); got[0] != 1 || got[1] != 1 {
		t.Errorf("Holm caps at 1: got %v", got)
	}
}

// TestAgainstSciPy compares with SciPy 1.10's ttest_1samp, shapiro and wilcoxon (exact) and
// its t quantile (testdata/stats_golden.json, written by testdata/gen_stats.py). SciPy's
// Shapiro–Wilk runs in single precision, hence its looser tolerance.
func TestAgainstSciPy(t *testing.T) {
	data, err := os.ReadFile("testdata/stats_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []map[string]any `json:"cases"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	f := func(m map[string]any, k string) float64 { return m[k].(float64) }
	for _, c := range g.Cases {
		name := c["name"].(string)
		t.Run(name, func(t *testing.T) {
			var x []float64
			for _, v := range c["x"].([]any) {
				x = append(x, v.(float64))
			}
			s := Summarize(x)
			if !near(s.Mean, f(c, "mean"), 1e-12) || !near(s.SD, f(c, "sd"), 1e-12) ||
				!near(s.Low, f(c, "ci_low"), 1e-9) || !near(s.High, f(c, "ci_high"), 1e-9) {
				t.Errorf("summary %+v; SciPy: mean %v sd %v CI [%v, %v]", s, c["mean"], c["sd"], c["ci_low"], c["ci_high"])
			}
			tv, p := PairedT(x)
			if !near(tv, f(c, "t"), 1e-9) || !near(p, f(c, "t_p"), 1e-7) {
				t.Errorf("t-test %v, %v; SciPy %v, %v", tv, p, c["t"], c["t_p"])
			}
			w, pw, ok := ShapiroWilk(x)
			if !ok || !near(w, f(c, "sw_w"), 2e-5) || math.Abs(pw-f(c, "sw_p")) > 2e-4 {
				t.Errorf("Shapiro–Wilk W = %v p = %v; SciPy %v, %v", w, pw, c["sw_w"], c["sw_p"])
			}
			if wp, ok := c["wilcoxon_p"]; ok {
				_, p, _ := Wilcoxon(x)
				if !near(p, wp.(float64), 1e-12) {
					t.Errorf("Wilcoxon p = %v; SciPy %v", p, wp)
				}
			}
		})
	}
}

func TestShapiroWilkUndefined(t *testing.T) {
	for name, x := range map[string][]float64{"n = 2": {1, 2}, "constant": {3, 3, 3, 3}} {
		if w, p, ok := ShapiroWilk(x); ok || !math.IsNaN(w) || !math.IsNaN(p) {
			t.Errorf("%s: got %v, %v, %v; want NaN, NaN, false", name, w, p, ok)
		}
	}
}

func TestCompareRule(t *testing.T) {
	base := []float64{1, 1, 1, 1, 1, 1, 1, 1}
	add := func(d ...float64) []float64 {
		x := make([]float64, len(d))
		for i := range d {
			x[i] = base[i] + d[i]
		}
		return x
	}
	cases := []struct {
		name     string
		x        []float64
		test     Test
		p        float64 // NaN: only check the test chosen
		noteSays bool
	}{
		{"two seeds: no test", add(0.1, 0.2), NoTest, math.NaN(), true},
		{"identical", add(0, 0, 0), NoTest, 1, true},
		{"constant shift: Wilcoxon, floor 0.25", add(0.5, 0.5, 0.5), WilcoxonTest, 0.25, true},
		{"normal-looking: t-test", add(0.1, 0.3, 0.2, 0.25), PairedTTest, math.NaN(), false},
		{"one outlier in eight: Wilcoxon", add(0.1, 0.2, 0.15, 0.12, 0.11, 0.13, 0.14, 3.0), WilcoxonTest, 2.0 / 256, false},
		{"near-tie in three: t-test kept, with a note", add(0.5, 0.5000001, 0.7), PairedTTest, math.NaN(), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Compare(c.x, base[:len(c.x)])
			if got.Test != c.test || (!math.IsNaN(c.p) && !near(got.P, c.p, 1e-12)) || (got.Note != "") != c.noteSays {
				t.Errorf("got %+v; want test %v p %v note %v", got, c.test, c.p, c.noteSays)
			}
		})
	}
}

func TestAdjustHolmFamily(t *testing.T) {
	cs := []*Comparison{
		{Test: PairedTTest, P: 0.01}, {Test: WilcoxonTest, P: 0.04},
		{Test: NoTest, P: 1}, {Test: NoTest, P: math.NaN()},
	}
	AdjustHolm(cs)
	want := []float64{0.02, 0.04, 1, math.NaN()}
	for i, c := range cs {
		if !near(c.PHolm, want[i], 1e-12) {
			t.Errorf("comparison %d: PHolm %v, want %v", i, c.PHolm, want[i])
		}
	}
	if !cs[0].Significant() || cs[2].Significant() || cs[3].Significant() {
		t.Errorf("significance: %v %v %v", cs[0].Significant(), cs[2].Significant(), cs[3].Significant())
	}
}
