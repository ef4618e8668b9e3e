package boxes

import (
	"math"
	"slices"
)

// AnchorGrid is the anchors of an AnchorGenerator on a pyramid of feature maps (the boxes
// Anchors returns) together with their layout, which tells which anchors a box can overlap.
// On a level of stride s, the anchors of cell (x, y) lie within the reach of the level's cell
// anchors around the cell's centre ((x + ½)·s, (y + ½)·s), so a box can only overlap the
// anchors of a window of cells; the IoU of every other anchor with the box is 0. Overlaps
// and Matcher.MatchGrid compute IoUs in those windows alone.
//
// An AnchorGrid is not modified after Grid returns it and may be shared between goroutines.
type AnchorGrid struct {
	anchors []Box
	levels  []gridLevel
}

// gridLevel is one level's layout: its anchors are anchors[offset : offset+h·w·k], cell
// (x, y) holding the k at offset + (y·w + x)·k.
type gridLevel struct {
	offset, h, w, k int
	stride          float64
	// The reach of the cell anchors around the cell's centre: the smallest x1 and y1, the
	// largest x2 and y2.
	x1, y1, x2, y2 float64
	whole          bool // windows are not used on this level (see windowLimit)
}

// windowLimit bounds the coordinates, in pixels, that the windows are computed for: with
// every coordinate, reach and level extent within ±2⁴⁰, the rounding of a coordinate is below
// 2⁻¹⁰ pixels, far inside the one cell (at least a pixel) by which each window is widened,
// and no width or area overflows. A box beyond it (or with a NaN or infinite coordinate) and a level beyond it get
// every anchor, so the result stays exact for any input.
const windowLimit = 1 << 40

// Grid returns the anchors of g on feature maps of the given sizes (the boxes of
// g.Anchors(sizes), in the same order) with their layout. It panics as Anchors does.
func (g AnchorGenerator) Grid(sizes []FeatureSize) *AnchorGrid {
	grid := &AnchorGrid{anchors: g.Anchors(sizes)}
	k := g.NumAnchors()
	offset := 0
	var cell []Box
	for l, fs := range sizes {
		cell = g.cellAnchors(cell, l)
		lv := gridLevel{offset: offset, h: fs.H, w: fs.W, k: k, stride: float64(g.Strides[l]),
			x1: math.Inf(1), y1: math.Inf(1), x2: math.Inf(-1), y2: math.Inf(-1)}
		for _, c := range cell {
			lv.x1, lv.y1 = min(lv.x1, c[0]), min(lv.y1, c[1])
			lv.x2, lv.y2 = max(lv.x2, c[2]), max(lv.y2, c[3])
		}
		extent := float64(max(fs.H, fs.W)+1) * lv.stride
		lv.whole = !(extent <= windowLimit && within(lv.x1) && within(lv.y1) && within(lv.x2) && within(lv.y2))
		grid.levels = append(grid.levels, lv)
		offset += fs.H * fs.W * k
	}
	return grid
}

// within reports whether v is in [−windowLimit, windowLimit] (false for NaN).
func within(v float64) bool { return v >= -windowLimit && v <= windowLimit }

// Anchors returns the grid's anchors, the boxes of AnchorGenerator.Anchors. The slice is the
// grid's own: do not modify it.
func (a *AnchorGrid) Anchors() []Box { return a.anchors }

// Len returns the number of anchors.
func (a *AnchorGrid) Len() int { return len(a.anchors) }

// span returns the cells [i0, i1) of an axis of n cells whose anchors can overlap the
// interval [b0, b1] with positive length. The anchors of cell i span [c + lo, c + hi] around
// c = (i + ½)·s, which overlaps when c + hi > b0 and c + lo < b1:
//
//	z0 = (b0 − hi)/s − ½  <  i  <  (b1 − lo)/s − ½ = z1
//
// so the cells are ⌊z0⌋ + 1 … ⌈z1⌉ − 1, which span widens by one cell each way (⌊z0⌋ … ⌈z1⌉)
// so that the rounding of the anchors' coordinates cannot leave one out. Every operand is
// finite and within windowLimit.
func span(b0, b1, lo, hi, s float64, n int) (i0, i1 int) {
	first := math.Floor((b0-hi)/s - 0.5)
	last := math.Ceil((b1-lo)/s - 0.5)
	i0 = int(min(max(first, 0), float64(n)))
	i1 = int(min(max(last+1, 0), float64(n)))
	return i0, max(i0, i1)
}

// Overlaps appends to idx the index of every anchor that b can overlap and to iou its IoU
// with b, and returns both:
//
//	iou[q] = IoU(b, anchors[idx[q]])   as IoU(dst, []Box{b}, anchors) computes it, bit for bit
//
// Every anchor not appended has IoU 0 with b (an anchor outside the windows cannot intersect
// b). Indices are appended level by level and in increasing order within a level, hence in
// increasing order. A box with a coordinate that is NaN, infinite or beyond ±2⁴⁰ gets every
// anchor.
func (a *AnchorGrid) Overlaps(idx []int, iou []float64, b Box) ([]int, []float64) {
	wholeBox := !(within(b[0]) && within(b[1]) && within(b[2]) && within(b[3]))
	for l := range a.levels {
		lv := &a.levels[l]
		x0, x1, y0, y1 := 0, lv.w, 0, lv.h
		if !wholeBox && !lv.whole {
			x0, x1 = span(b[0], b[2], lv.x1, lv.x2, lv.stride, lv.w)
			y0, y1 = span(b[1], b[3], lv.y1, lv.y2, lv.stride, lv.h)
		}
		row := (x1 - x0) * lv.k
		if row == 0 || y1 <= y0 {
			continue
		}
		at := len(idx)
		idx, iou = slices.Grow(idx, row*(y1-y0))[:at+row*(y1-y0)], slices.Grow(iou, row*(y1-y0))[:at+row*(y1-y0)]
		for y := y0; y < y1; y++ {
			start := lv.offset + (y*lv.w+x0)*lv.k
			dj, dv := idx[at:at+row], iou[at:at+row]
			for q, anchor := range a.anchors[start : start+row] {
				inter, union := interUnion(&b, &anchor)
				v := 0.0
				if union != 0 {
					v = inter / union
				}
				dj[q], dv[q] = start+q, v
			}
			at += row
		}
	}
	return idx, iou
}

// MatchScratch is the working memory of Matcher.MatchGrid, kept between calls so that they
// allocate nothing once it has grown. The zero value is ready to use; a MatchScratch is not
// safe for concurrent use.
type MatchScratch struct {
	best []float64 // per anchor, the IoU of its best ground truth so far
	idx  []int     // Overlaps of every ground truth, concatenated
	iou  []float64
	ends []int     // ground truth i's entries are idx[ends[i-1]:ends[i]]
	tops []float64 // ground truth i's largest IoU, or NaN when one of its IoUs is NaN
}

// MatchGrid labels the anchors of grid against the ground truths gt as
//
//	m.Match(IoU(nil, gt, grid.Anchors()), len(gt), grid.Len(), dst)
//
// does, result for result (the same thresholds, ties, low-quality matches and ignore band),
// without the dense quality matrix: it computes only the IoUs that Overlaps lists, every
// other one being 0. dst is reused when its capacity is at least grid.Len(); s holds the
// working memory (nil allocates it for this call). It panics if m.Validate() fails.
func (m Matcher) MatchGrid(dst []int, gt []Box, grid *AnchorGrid, s *MatchScratch) []int {
	if m.Validate() != nil {
		panic(msgBadConfig)
	}
	if s == nil {
		s = new(MatchScratch)
	}
	n := grid.Len()
	if cap(dst) < n {
		dst = make([]int, n)
	}
	dst = dst[:n]
	if len(gt) == 0 {
		for j := range dst {
			dst[j] = Background
		}
		return dst
	}
	// dst[j] = g(j), the first ground truth with the largest IoU, and best[j] that IoU.
	// Match starts every anchor at ground truth 0 and its IoU, which is 0 outside ground
	// truth 0's windows; an IoU of 0 outside a later ground truth's windows never beats
	// the running best, which is never negative (at worst −0 or NaN).
	clear(dst)
	if cap(s.best) < n {
		s.best = make([]float64, n)
	}
	best := s.best[:n]
	clear(best)
	s.idx, s.iou, s.ends, s.tops = s.idx[:0], s.iou[:0], s.ends[:0], s.tops[:0]
	for i, b := range gt {
		start := len(s.idx)
		s.idx, s.iou = grid.Overlaps(s.idx, s.iou, b)
		s.ends = append(s.ends, len(s.idx))
		idx, iou := s.idx[start:], s.iou[start:]
		// top is the ground truth's largest IoU when that is > 0, or NaN when an IoU is
		// NaN (then Match's max is NaN too); once NaN it stays NaN.
		top := 0.0
		if i == 0 {
			for q, j := range idx {
				v := iou[q]
				best[j] = v
				if v > top {
					top = v
				} else if v != v {
					top = math.NaN()
				}
			}
		} else {
			for q, j := range idx {
				v := iou[q]
				if v > best[j] {
					best[j], dst[j] = v, i
				}
				if v > top {
					top = v
				} else if v != v {
					top = math.NaN()
				}
			}
		}
		s.tops = append(s.tops, top)
	}
	// Low-quality matches, marked as in Match. A ground truth's largest IoU over all anchors
	// is its largest over its windows when that is > 0 (the rest are 0), and only such a
	// maximum adds matches; the anchors attaining it are in the windows. A NaN anywhere makes
	// Match's maximum NaN, which adds none.
	const forced = -3
	if m.AllowLowQuality {
		start := 0
		for i, end := range s.ends {
			idx, iou := s.idx[start:end], s.iou[start:end]
			start = end
			top := s.tops[i]
			if !(top > 0) {
				continue
			}
			for q, j := range idx {
				if iou[q] == top && dst[j] >= 0 {
					dst[j] = forced - dst[j]
				}
			}
		}
	}
	for j, g := range dst {
		if g <= forced {
			dst[j] = forced - g
			continue
		}
		switch v := best[j]; {
		case v < m.NegativeIoU:
			dst[j] = Background
		case v < m.PositiveIoU:
			dst[j] = Ignore
		}
	}
	return dst
}
