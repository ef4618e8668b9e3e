package boxes

import (
	"cmp"
	"slices"
	"sync"
)

// NMS performs greedy non-maximum suppression, as torchvision.ops.nms: visit the boxes by
// decreasing score, keep a box unless an already kept box overlaps it with
//
//	IoU > iouThresh        (strictly; a pair of zero-area boxes is never suppressed)
//
// and return the kept indices into boxes, by decreasing score. Equal scores are visited
// in index order, as torchvision's CPU kernel does (it sorts with stable=True), so of two
// identical boxes with equal scores the first is kept. NaN scores sort first, as
// torch.sort(descending=True) puts them. Any iouThresh is accepted: ≥ 1 keeps every box,
// < 0 suppresses every box whose union with a kept box is not 0 (every IoU exceeds it).
//
// boxes and scores must have the same length; otherwise NMS panics. Empty input gives an
// empty, non-nil result. The work is O(n²) in the worst case; NMS allocates only the
// result (its scratch memory is pooled). Use a Suppressor to reuse the result too.
func NMS(boxes []Box, scores []float64, iouThresh float64) []int {
	s := suppressorPool.Get().(*Suppressor)
	keep := s.NMS(s.keep[:0], boxes, scores, iouThresh)
	out := make([]int, len(keep))
	copy(out, keep)
	s.keep = keep
	suppressorPool.Put(s)
	return out
}

// BatchedNMS performs NMS separately for each class, as torchvision.ops.batched_nms: a
// box is suppressed only by a kept box of the same class. It returns the kept indices
// into boxes by decreasing score, equal scores in index order (see the package notes for
// torchvision's order above 1000 boxes). boxes, scores and classes must have the same
// length; otherwise BatchedNMS panics. Memory as NMS.
func BatchedNMS(boxes []Box, scores []float64, classes []int, iouThresh float64) []int {
	s := suppressorPool.Get().(*Suppressor)
	keep := s.BatchedNMS(s.keep[:0], boxes, scores, classes, iouThresh)
	out := make([]int, len(keep))
	copy(out, keep)
	s.keep = keep
	suppressorPool.Put(s)
	return out
}

var suppressorPool = sync.Pool{New: func() any { return new(Suppressor) }}

// Suppressor holds the scratch memory of NMS and BatchedNMS so that repeated calls do
// not allocate once it has grown to the largest input. The zero value is ready to use; a
// Suppressor must not be used by several goroutines at once.
type Suppressor struct {
	order      []int  // box indices in visiting order
	sorted     []Box  // boxes[order[p]], for sequential access
	suppressed []bool // by position in order
	keep       []int  // the pooled result buffer of NMS and BatchedNMS
}

// NMS is the package-level NMS appending the kept indices to dst[:0]; it allocates only
// when dst or the scratch memory is too small.
func (s *Suppressor) NMS(dst []int, boxes []Box, scores []float64, iouThresh float64) []int {
	if len(scores) != len(boxes) {
		panic(msgLengthMismatch)
	}
	order := s.grow(len(boxes))
	slices.SortFunc(order, func(i, j int) int { return byScore(scores, i, j) })
	s.gather(boxes)
	return suppress(dst[:0], s.sorted, order, s.suppressed, iouThresh)
}

// BatchedNMS is the package-level BatchedNMS appending the kept indices to dst[:0]; it
// allocates only when dst or the scratch memory is too small.
func (s *Suppressor) BatchedNMS(dst []int, boxes []Box, scores []float64, classes []int, iouThresh float64) []int {
	if len(scores) != len(boxes) || len(classes) != len(boxes) {
		panic(msgLengthMismatch)
	}
	order := s.grow(len(boxes))
	slices.SortFunc(order, func(i, j int) int {
		if c := cmp.Compare(classes[i], classes[j]); c != 0 {
			return c
		}
		return byScore(scores, i, j)
	})
	s.gather(boxes)
	dst = dst[:0]
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && classes[order[hi]] == classes[order[lo]] {
			hi++
		}
		dst = suppress(dst, s.sorted[lo:hi], order[lo:hi], s.suppressed[lo:hi], iouThresh)
		lo = hi
	}
	slices.SortFunc(dst, func(i, j int) int { return byScore(scores, i, j) })
	return dst
}

// grow sizes the scratch slices for n boxes and returns order set to 0, 1, …, n−1.
func (s *Suppressor) grow(n int) []int {
	if cap(s.order) < n {
		s.order = make([]int, n)
		s.sorted = make([]Box, n)
		s.suppressed = make([]bool, n)
	}
	s.order, s.sorted, s.suppressed = s.order[:n], s.sorted[:n], s.suppressed[:n]
	for i := range s.order {
		s.order[i] = i
	}
	clear(s.suppressed)
	return s.order
}

func (s *Suppressor) gather(boxes []Box) {
	for p, i := range s.order {
		s.sorted[p] = boxes[i]
	}
}

// byScore orders indices by decreasing score, NaN first (as torch.sort with
// descending=True), then by increasing index: the order of a stable descending sort.
func byScore(scores []float64, i, j int) int {
	si, sj := scores[i], scores[j]
	switch {
	case si > sj:
		return -1
	case si < sj:
		return 1
	}
	if ni, nj := si != si, sj != sj; ni != nj {
		if ni {
			return -1
		}
		return 1
	}
	return cmp.Compare(i, j)
}

// suppress runs greedy NMS over sorted (the boxes in visiting order, order their
// indices) and appends the kept indices to dst. suppressed must be all false.
func suppress(dst []int, sorted []Box, order []int, suppressed []bool, iouThresh float64) []int {
	for p := range sorted {
		if suppressed[p] {
			continue
		}
		dst = append(dst, order[p])
		bp := &sorted[p]
		for q := p + 1; q < len(sorted); q++ {
			if suppressed[q] {
				continue
			}
			inter, union := interUnion(bp, &sorted[q])
			// 0/0 is NaN and compares false: zero-area pairs never suppress, as in
			// torchvision's kernel.
			if inter/union > iouThresh {
				suppressed[q] = true
			}
		}
	}
	return dst
}
