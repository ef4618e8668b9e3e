package stats

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMedianWindow(t *testing.T) {
	var w MedianWindow
	for _, v := range []float64{0.5, 0.1, nan, 0.3, pinf, 0.2} {
		w.Add(v)
	}
	if w.Len() != 4 {
		t.Fatalf("Len = %d, want 4 (NaN and Inf not recorded)", w.Len())
	}
	if got := w.Median(); got != 0.25 {
		t.Errorf("Median = %v, want 0.25 (mean of 0.2 and 0.3)", got)
	}
	if !slices.Equal(w.Values(), []float64{0.5, 0.1, 0.3, 0.2}) {
		t.Errorf("Values = %v: Median must not reorder the record", w.Values())
	}
	w.Reset()
	w.Add(7)
	if w.Len() != 1 || w.Median() != 7 {
		t.Errorf("after Reset: Len %d, Median %v; want 1, 7", w.Len(), w.Median())
	}
}

func TestKSmallestAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{0, 1, 5, 10, 11, 1000} {
		for name, x := range inputs(rng, n) {
			sorted := slices.Clone(x)
			slices.Sort(sorted)
			for _, k := range []int{1, 3, 10, 64} {
				c := NewKSmallest(k)
				AddValues(c, x)
				want := sorted[:min(k, n)]
				if got := c.Sorted(); !slices.Equal(got, want) {
					t.Errorf("n=%d %s k=%d: got %v, want %v (sort)", n, name, k, got, want)
				}
				if c.Seen() != int64(n) {
					t.Errorf("Seen = %d, want %d", c.Seen(), n)
				}
			}
		}
	}
}

// TestKSmallestMerge: the merged collectors of random shards hold the k
// smallest of the concatenation.
func TestKSmallestMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	x := inputs(rng, 5000)["normal"]
	sorted := slices.Clone(x)
	slices.Sort(sorted)
	for _, shards := range []int{1, 2, 3, 8} {
		for _, k := range []int{1, 10, 100} {
			total := NewKSmallest(k)
			for s := range shards {
				c := NewKSmallest(k)
				AddValues(c, x[s*len(x)/shards:(s+1)*len(x)/shards])
				c.Sorted() // reading must not disturb a later merge
				total.Merge(c)
			}
			if got := total.Sorted(); !slices.Equal(got, sorted[:k]) {
				t.Errorf("shards=%d k=%d: merged differs from sort", shards, k)
			}
			if total.Seen() != int64(len(x)) {
				t.Errorf("Seen = %d, want %d", total.Seen(), len(x))
			}
		}
	}
}

func TestKSmallestSkipsNonFinite(t *testing.T) {
	c := NewKSmallest(2)
	for _, v := range []float64{nan, 3, ninf, 1, pinf, 2} {
		c.Add(v)
	}
	if got := c.Sorted(); !slices.Equal(got, []float64{1, 2}) || c.Seen() != 3 {
		t.Errorf("got %v (seen %d), want [1 2] (seen 3)", got, c.Seen())
	}
	c.Reset(3, make([]float64, 0, 1))
	if len(c.Sorted()) != 0 || c.K() != 3 {
		t.Errorf("Reset: %v, k %d", c.Sorted(), c.K())
	}
}

func ExampleMedianWindow() {
	// Dynamic R-CNN records one statistic per iteration and uses their
	// median every C iterations.
	var w MedianWindow
	for _, v := range []float64{0.4, 0.1, 0.3, 0.2} {
		w.Add(v)
	}
	fmt.Println(w.Len(), w.Median())
	w.Reset()
	fmt.Println(w.Len())
	// Output:
	// 4 0.25
	// 0
}

func ExampleKSmallest() {
	// Two workers each keep their 3 smallest values; the merge holds the 3
	// smallest of both.
	a, b := NewKSmallest(3), NewKSmallest(3)
	AddValues(a, []float64{0.9, 0.2, 0.7, 0.4})
	AddValues(b, []float64{0.3, 0.8, 0.1})
	a.Merge(b)
	fmt.Println(a.Sorted())
	// Output: [0.1 0.2 0.3]
}
