package stats

import (
	"math"
	"math/bits"
)

// KthSmallest returns the k-th smallest value of x, k = 1 for the minimum,
// k = len(x) for the maximum, by selection in O(n) expected time (no sort).
//
// KthSmallest reorders x: on return x[k-1] holds the result, no element of
// x[:k-1] is greater and no element of x[k:] is smaller (as C++'s
// nth_element). Use KthSmallestCopy to keep x intact.
//
// The algorithm is introselect: Hoare partitioning around a median-of-3
// pivot (Tukey's ninther above 128 elements); if partitions keep coming out
// unbalanced it switches to the median-of-medians pivot, whose O(n) worst
// case bounds adversarial inputs. Duplicates are split evenly, so runs of
// equal values (exact zeros) cost nothing extra.
//
// x must not hold NaN: the call then still terminates, but the result is
// unspecified. It panics if k < 1 or k > len(x).
func KthSmallest[T Float](x []T, k int) T {
	if k < 1 || k > len(x) {
		panic(msgKOutOfRange)
	}
	selectIndex(x, k-1)
	return x[k-1]
}

// KthSmallestCopy is KthSmallest on a copy of x made in dst, which is grown
// if needed and returned for reuse; x is not modified. It panics if k is out
// of range.
func KthSmallestCopy[T Float](dst, x []T, k int) (T, []T) {
	if k < 1 || k > len(x) {
		panic(msgKOutOfRange)
	}
	if cap(dst) < len(x) {
		dst = make([]T, len(x))
	}
	dst = dst[:len(x)]
	copy(dst, x)
	return KthSmallest(dst, k), dst
}

// Median returns the median of x, the middle value for odd n and the average
// of the two middle values for even n (numpy.median's definition),
//
//	Median = x_(h+1)                  n = 2h + 1
//	Median = (x_(h) + x_(h+1)) / 2    n = 2h
//
// where x_(i) is the i-th smallest. It costs one selection and, for even n,
// one scan for the maximum of the lower half. Like KthSmallest it reorders x
// and x must not hold NaN. It panics if x is empty.
func Median[T Float](x []T) float64 {
	n := len(x)
	if n == 0 {
		panic(msgEmpty)
	}
	h := n / 2
	selectIndex(x, h)
	upper := float64(x[h])
	if n%2 == 1 {
		return upper
	}
	lower := x[0]
	for _, v := range x[1:h] {
		lower = max(lower, v)
	}
	med := (float64(lower) + upper) / 2
	if math.IsInf(med, 0) { // overflow of the sum near ±MaxFloat64
		med = float64(lower)/2 + upper/2
	}
	return med
}

// selectIndex places the (k+1)-th smallest element at x[k], 0 ≤ k < len(x),
// with x[:k] ≤ x[k] ≤ x[k+1:].
func selectIndex[T Float](x []T, k int) {
	// Allowed number of unbalanced partitions (kept part > 3/4 of the range)
	// before switching to median-of-medians pivots.
	selectIndexBudget(x, k, 2*bits.Len(uint(len(x))))
}

func selectIndexBudget[T Float](x []T, k, budget int) {
	lo, hi := 0, len(x)-1
	for hi > lo {
		size := hi - lo + 1
		if size <= 16 {
			insertionSort(x[lo : hi+1])
			return
		}
		var p int
		if budget > 0 {
			p = lo + pivotIndex(x[lo:hi+1])
		} else {
			p = lo + medianOfMedians(x[lo:hi+1])
		}
		x[lo], x[p] = x[p], x[lo]
		j := lo + hoarePartition(x[lo:hi+1])
		if k <= j {
			hi = j
		} else {
			lo = j + 1
		}
		if 4*(hi-lo+1) > 3*size {
			budget--
		}
	}
}

// hoarePartition partitions x around the pivot value x[0] and returns j with
// 0 ≤ j < len(x)-1, every element of x[:j+1] ≤ pivot ≤ every element of
// x[j+1:]. The comparisons are written so that the scans stop at a NaN,
// which keeps the indices in range whatever the input.
func hoarePartition[T Float](x []T) int {
	p := x[0]
	i, j := -1, len(x)
	for {
		for {
			j--
			if !(x[j] > p) {
				break
			}
		}
		for {
			i++
			if !(x[i] < p) {
				break
			}
		}
		if i >= j {
			return j
		}
		x[i], x[j] = x[j], x[i]
	}
}

// pivotIndex returns the index of the median of 3 (first, middle, last), or
// of Tukey's ninther for len(x) ≥ 128.
func pivotIndex[T Float](x []T) int {
	n := len(x)
	a, b, c := 0, n/2, n-1
	if n >= 128 {
		s := n / 8
		a = median3(x, a, a+s, a+2*s)
		b = median3(x, b-s, b, b+s)
		c = median3(x, c-2*s, c-s, c)
	}
	return median3(x, a, b, c)
}

func median3[T Float](x []T, a, b, c int) int {
	if x[b] < x[a] {
		a, b = b, a
	}
	// x[a] ≤ x[b]
	if x[c] < x[b] {
		if x[c] < x[a] {
			return a
		}
		return c
	}
	return b
}

// medianOfMedians moves the medians of groups of five to the front of x,
// selects their median there and returns its index: a pivot with at least
// 3/10 of x on each side.
func medianOfMedians[T Float](x []T) int {
	g := 0
	for i := 0; i+5 <= len(x); i += 5 {
		insertionSort(x[i : i+5])
		x[g], x[i+2] = x[i+2], x[g]
		g++
	}
	selectIndex(x[:g], g/2)
	return g / 2
}

func insertionSort[T Float](x []T) {
	for i := 1; i < len(x); i++ {
		v := x[i]
		j := i
		for ; j > 0 && v < x[j-1]; j-- {
			x[j] = x[j-1]
		}
		x[j] = v
	}
}
