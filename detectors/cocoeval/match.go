package cocoeval

import (
	"cmp"
	"slices"
)

// maxMatchIoU caps the IoU a match must reach, as pycocotools' min(t, 1 − 1e-10): with a
// threshold of 1, a detection still matches a ground truth whose IoU rounds just below 1.
const maxMatchIoU = 1 - 1e-10

// evaluator holds the per-image results while Evaluate runs.
type evaluator struct {
	p     Params
	cells [][]cell // per category, the (image, category) cells with a gt or a det, by image
}

// cell is pycocotools' evaluateImg for one image and category, for the four area ranges.
type cell struct {
	scores []float64   // detections by decreasing score, at most MaxDets[2]
	area   [4]areaEval // per area range
}

type areaEval struct {
	matched []bool // [T, D] row-major: det matched to a gt at IoU threshold t
	ignored []bool // [T, D]: det neither a true nor a false positive
	nPos    int    // ground truths not ignored (not crowd, area in range)
}

// iou is the IoU of detection box d and ground-truth box g (both x, y, w, h), as
// pycocotools' bbIou: for a crowd g the union is d's area alone.
func iou(d, g [4]float64, crowd bool) float64 {
	w := min(d[2]+d[0], g[2]+g[0]) - max(d[0], g[0])
	if w <= 0 {
		return 0
	}
	h := min(d[3]+d[1], g[3]+g[1]) - max(d[1], g[1])
	if h <= 0 {
		return 0
	}
	inter := float64(w * h)
	union := float64(d[2] * d[3]) // the conversions forbid FMA contractions
	if !crowd {
		union = union + float64(g[2]*g[3]) - inter
	}
	return inter / union
}

// evalCell evaluates one image and category: gts and dets in input order.
func (e *evaluator) evalCell(gts []GT, dets []Det) cell {
	order := make([]int, len(dets))
	for n := range order {
		order[n] = n
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(dets[b].Score, dets[a].Score) })
	order = order[:min(len(order), e.p.MaxDets[2])]
	D, G, T := len(order), len(gts), len(e.p.IoUThresholds)

	c := cell{scores: make([]float64, D)}
	ious := make([]float64, D*G)
	for d, n := range order {
		c.scores[d] = dets[n].Score
		for g := range gts {
			ious[d*G+g] = iou(dets[n].Box, gts[g].Box, gts[g].IsCrowd)
		}
	}
	gtOrder := make([]int, 0, G)
	ignore := make([]bool, G)
	taken := make([]bool, G)
	for a, rng := range e.p.AreaRanges {
		ae := areaEval{matched: make([]bool, T*D), ignored: make([]bool, T*D)}
		gtOrder = gtOrder[:0]
		for g, gt := range gts {
			area := gt.Area
			if area == 0 {
				area = gt.Box[2] * gt.Box[3]
			}
			ignore[g] = gt.IsCrowd || area < rng.Lo || area > rng.Hi
			if !ignore[g] {
				gtOrder = append(gtOrder, g)
				ae.nPos++
			}
		}
		for g := range gts { // ignored ground truths last, in input order
			if ignore[g] {
				gtOrder = append(gtOrder, g)
			}
		}
		for t, thr := range e.p.IoUThresholds {
			clear(taken)
			matched, ignored := ae.matched[t*D:(t+1)*D], ae.ignored[t*D:(t+1)*D]
			for d := range D {
				best, m := min(thr, maxMatchIoU), -1
				for _, g := range gtOrder {
					if taken[g] && !gts[g].IsCrowd {
						continue
					}
					if m >= 0 && !ignore[m] && ignore[g] {
						break // matched a counted gt; the rest are ignored ones
					}
					if v := ious[d*G+g]; v >= best {
						best, m = v, g // ≥: of equal IoUs the last wins
					}
				}
				if m >= 0 {
					matched[d], ignored[d], taken[m] = true, ignore[m], true
				}
			}
		}
		for d, n := range order { // unmatched detections outside the range do not count
			b := dets[n].Box
			if area := b[2] * b[3]; area < rng.Lo || area > rng.Hi {
				for t := range T {
					if !ae.matched[t*D+d] {
						ae.ignored[t*D+d] = true
					}
				}
			}
		}
		c.area[a] = ae
	}
	return c
}
