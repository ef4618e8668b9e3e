package stats

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat"
)

func TestKthSmallestTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    []float64
		k    int
		want float64
	}{
		{"single", []float64{7}, 1, 7},
		{"minimum", []float64{3, 1, 2}, 1, 1},
		{"maximum", []float64{3, 1, 2}, 3, 3},
		{"middle", []float64{3, 1, 2}, 2, 2},
		{"duplicates", []float64{2, 2, 1, 2, 3}, 4, 2},
		{"all equal", []float64{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, 13, 5},
		{"negative", []float64{-1, -3, 0, 2}, 2, -1},
		{"k=10 of 25 descending", []float64{25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 10, 10},
	} {
		t.Run(tc.name, func(t *testing.T) { // expected values by inspection
			x := slices.Clone(tc.x)
			if got := KthSmallest(x, tc.k); got != tc.want {
				t.Errorf("KthSmallest(%v, %d) = %v, want %v", tc.x, tc.k, got, tc.want)
			}
			checkPartition(t, x, tc.k)
		})
	}
}

// checkPartition checks the documented post-condition of KthSmallest.
func checkPartition[T Float](t *testing.T, x []T, k int) {
	t.Helper()
	for i, v := range x {
		if (i < k-1 && v > x[k-1]) || (i > k-1 && v < x[k-1]) {
			t.Fatalf("x[%d] = %v on the wrong side of x[%d] = %v", i, v, k-1, x[k-1])
		}
	}
}

// inputs returns named test distributions of length n, including the shapes
// that defeat naive pivots (sorted, reversed, organ pipe, many duplicates).
func inputs(rng *rand.Rand, n int) map[string][]float64 {
	m := map[string][]float64{}
	mk := func(name string, f func(i int) float64) {
		x := make([]float64, n)
		for i := range x {
			x[i] = f(i)
		}
		m[name] = x
	}
	mk("uniform", func(int) float64 { return rng.Float64() })
	mk("normal", func(int) float64 { return rng.NormFloat64() })
	mk("few distinct", func(int) float64 { return float64(rng.IntN(3)) })
	mk("zeros", func(int) float64 { return 0 })
	mk("sorted", func(i int) float64 { return float64(i) })
	mk("reversed", func(i int) float64 { return float64(n - i) })
	mk("organ pipe", func(i int) float64 { return float64(min(i, n-i)) })
	mk("sawtooth", func(i int) float64 { return float64(i % 17) })
	return m
}

func TestKthSmallestAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 2, 5, 16, 17, 100, 1000, 100003} {
		for name, x := range inputs(rng, n) {
			sorted := slices.Clone(x)
			slices.Sort(sorted)
			ks := []int{1, n, (n + 1) / 2, 1 + rng.IntN(n)}
			if n <= 100 {
				ks = ks[:0]
				for k := 1; k <= n; k++ {
					ks = append(ks, k)
				}
			}
			for _, k := range ks {
				y := slices.Clone(x)
				if got := KthSmallest(y, k); got != sorted[k-1] {
					t.Fatalf("n=%d %s k=%d: got %v, want %v (sort)", n, name, k, got, sorted[k-1])
				}
				checkPartition(t, y, k)
				slices.Sort(y)
				if !slices.Equal(y, sorted) {
					t.Fatalf("n=%d %s: KthSmallest lost or changed elements", n, name)
				}
			}
		}
	}
}

// TestMedianOfMediansPivot checks the fallback pivot's guarantee: at least
// 3/10 of the elements (less a constant) on each side.
func TestMedianOfMediansPivot(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{17, 100, 1001, 50000} {
		for name, x := range inputs(rng, n) {
			p := medianOfMedians(x)
			v := x[p]
			var below, above int
			for _, e := range x {
				if e <= v {
					below++
				}
				if e >= v {
					above++
				}
			}
			if bound := 3*n/10 - 5; below < bound || above < bound {
				t.Errorf("n=%d %s: pivot %v has %d ≤ and %d ≥, want ≥ %d each", n, name, v, below, above, bound)
			}
		}
	}
}

// TestSelectFallback forces the median-of-medians path by exhausting the
// budget: selectIndex must still be right.
func TestSelectFallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	x := inputs(rng, 5000)["normal"]
	sorted := slices.Clone(x)
	slices.Sort(sorted)
	for _, k := range []int{0, 1, 2499, 4999} {
		y := slices.Clone(x)
		selectIndexBudget(y, k, 0)
		if y[k] != sorted[k] {
			t.Errorf("k=%d: got %v, want %v", k, y[k], sorted[k])
		}
	}
}

// TestSelectNaNTerminates: NaN makes the result unspecified (documented)
// but must not hang or index out of range.
func TestSelectNaNTerminates(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, n := range []int{2, 17, 1000} {
		x := inputs(rng, n)["normal"]
		for i := range x {
			if rng.IntN(3) == 0 {
				x[i] = nan
			}
		}
		for _, k := range []int{1, (n + 1) / 2, n} {
			KthSmallest(slices.Clone(x), k)
			Median(slices.Clone(x))
		}
	}
}

func TestKSmallestMergeSelf(t *testing.T) {
	c := NewKSmallest(3)
	AddValues(c, []float64{5, 1, 4, 2, 3})
	c.Merge(c)
	if got := c.Sorted(); !slices.Equal(got, []float64{1, 1, 2}) || c.Seen() != 10 {
		t.Errorf("self-merge: %v (seen %d), want [1 1 2] (seen 10)", got, c.Seen())
	}
}

func TestKthSmallestCopy(t *testing.T) {
	x := []float32{4, 2, 3, 1}
	v, buf := KthSmallestCopy(nil, x, 2)
	if v != 2 || !slices.Equal(x, []float32{4, 2, 3, 1}) {
		t.Errorf("got %v, x = %v; want 2 and x unchanged", v, x)
	}
	if v, _ := KthSmallestCopy(buf, x, 4); v != 4 {
		t.Errorf("reusing buffer: got %v, want 4", v)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"odd", []float64{3, 1, 2}, 2},
		{"even: mean of middle pair", []float64{4, 1, 3, 2}, 2.5},
		{"even with duplicates", []float64{1, 1, 2, 2}, 1.5},
		{"two", []float64{-1, 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) { // by hand
			if got := Median(slices.Clone(tc.x)); got != tc.want {
				t.Errorf("Median(%v) = %v, want %v", tc.x, got, tc.want)
			}
		})
	}
	// Random: against sort, and against gonum. gonum's stat.Quantile(0.5,
	// Empirical) is the lower middle value (x_(h) for n = 2h, x_(h+1) for
	// n = 2h+1); LinInterp is not the textbook median either.
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{1, 2, 3, 10, 11, 999, 1000, 20001} {
		for name, x := range inputs(rng, n) {
			sorted := slices.Clone(x)
			slices.Sort(sorted)
			want := sorted[n/2]
			if n%2 == 0 {
				want = (sorted[n/2-1] + sorted[n/2]) / 2
			}
			got := Median(slices.Clone(x))
			if got != want {
				t.Errorf("n=%d %s: Median = %v, want %v (sort)", n, name, got, want)
			}
			lower := stat.Quantile(0.5, stat.Empirical, sorted, nil)
			if n%2 == 1 && got != lower {
				t.Errorf("n=%d %s: Median = %v, gonum Empirical = %v", n, name, got, lower)
			}
			if n%2 == 0 && relErr(got, (lower+sorted[n/2])/2) > 1e-15 {
				t.Errorf("n=%d %s: Median = %v, gonum lower middle = %v", n, name, got, lower)
			}
		}
	}
}

func TestSelectPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"k = 0", func() { KthSmallest([]float64{1, 2}, 0) }, msgKOutOfRange},
		{"k > n", func() { KthSmallest([]float64{1, 2}, 3) }, msgKOutOfRange},
		{"empty", func() { KthSmallest([]float32{}, 1) }, msgKOutOfRange},
		{"copy k > n", func() { KthSmallestCopy(nil, []float64{1}, 2) }, msgKOutOfRange},
		{"empty median", func() { Median([]float64{}) }, msgEmpty},
		{"empty window", func() { new(MedianWindow).Median() }, msgEmpty},
		{"KSmallest k = 0", func() { NewKSmallest(0) }, msgBadK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tc.msg {
					t.Errorf("panic = %v, want %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

func ExampleKthSmallest() {
	e := []float64{0.4, 0.05, 0.3, 0.2, 0.1}
	fmt.Println(KthSmallest(e, 2)) // reorders e
	// Output: 0.1
}

func ExampleMedian() {
	fmt.Println(Median([]float64{4, 1, 3, 2}))
	fmt.Println(Median([]float32{5, 1, 3}))
	// Output:
	// 2.5
	// 3
}

func BenchmarkKthSmallest(b *testing.B) {
	for _, n := range benchSizes {
		x, _ := benchData(n)
		buf := make([]float32, len(x))
		b.Run(n.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			b.ReportAllocs()
			for b.Loop() {
				KthSmallestCopy(buf, x, len(x)/10)
			}
			reportElems(b, len(x))
		})
	}
}
