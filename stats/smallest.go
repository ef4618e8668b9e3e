package stats

import (
	"math"
	"slices"
)

// KSmallest keeps the k smallest values of a stream, and merges exactly with
// another KSmallest: the merge of the collectors of two shards holds the k
// smallest values of the concatenated shards. Data-parallel Dynamic R-CNN
// needs this to take the k-th smallest statistic over all workers' rows.
//
// Values are kept in a buffer of up to 2k candidates; once it holds k values
// any value not below the largest of the best k known so far is rejected
// with one comparison, and a full buffer is cut back to its k smallest by
// selection. The cost is O(1) amortised per value plus O(k log k) to sort
// the result when read.
type KSmallest struct {
	k    int
	buf  []float64 // candidates, unsorted; the k smallest of the stream are among them
	thr  float64   // values ≥ thr cannot be among the k smallest; +Inf until k are seen
	seen int64
}

// NewKSmallest returns an empty collector of the k smallest values.
// It panics if k < 1.
func NewKSmallest(k int) *KSmallest {
	var c KSmallest
	c.Reset(k, nil)
	return &c
}

// Reset empties c and sets its bound to k. If buf is not nil its storage is
// used for the candidates (its contents are discarded); otherwise c keeps
// its own storage, grown to 2k candidates (at most maxPrealloc; a larger
// buffer grows as values arrive). It panics if k < 1.
func (c *KSmallest) Reset(k int, buf []float64) {
	if k < 1 {
		panic(msgBadK)
	}
	if buf != nil {
		c.buf = buf
	}
	if n := min(k, maxPrealloc/2) * 2; cap(c.buf) < n {
		c.buf = make([]float64, 0, n)
	}
	c.k, c.buf, c.thr, c.seen = k, c.buf[:0], math.Inf(1), 0
}

// K returns the bound k.
func (c *KSmallest) K() int { return c.k }

// Seen returns the number of values recorded (not counting rejected NaN/Inf).
func (c *KSmallest) Seen() int64 { return c.seen }

// Add records v and reports whether it was recorded: NaN and ±Inf are not.
// A value that cannot be among the k smallest costs one comparison.
func (c *KSmallest) Add(v float64) bool {
	if v-v != 0 { // NaN or ±Inf
		return false
	}
	c.seen++
	if v < c.thr {
		c.insert(v)
	}
	return true
}

func (c *KSmallest) insert(v float64) {
	c.buf = append(c.buf, v)
	if len(c.buf) == c.k && math.IsInf(c.thr, 1) {
		c.thr = slices.Max(c.buf)
	} else if len(c.buf) == 2*c.k {
		c.cut()
	}
}

// AddValues records every value of x, as Add.
func AddValues[T Float](c *KSmallest, x []T) {
	for _, v := range x {
		c.Add(float64(v))
	}
}

// cut keeps the k smallest candidates.
func (c *KSmallest) cut() {
	if len(c.buf) <= c.k {
		return
	}
	selectIndex(c.buf, c.k-1)
	c.buf = c.buf[:c.k]
	c.thr = c.buf[c.k-1]
}

// Merge records the candidates of o into c: afterwards c holds the k
// smallest values of both streams. It panics if the bounds differ.
func (c *KSmallest) Merge(o *KSmallest) {
	if c.k != o.k {
		panic(msgKMismatch)
	}
	if c == o { // merging with itself: read a copy while c changes
		o = &KSmallest{k: o.k, buf: slices.Clone(o.buf), seen: o.seen}
	}
	seen := c.seen + o.seen
	for _, v := range o.buf {
		c.Add(v)
	}
	c.seen = seen
}

// Sorted returns the min(k, Seen) smallest values recorded, in ascending
// order; its last element is the k-th smallest (or the largest, if fewer
// than k were seen). The slice belongs to c and is valid until the next Add,
// Merge or Reset.
func (c *KSmallest) Sorted() []float64 {
	c.cut()
	slices.Sort(c.buf)
	return c.buf
}
