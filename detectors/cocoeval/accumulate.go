package cocoeval

import (
	"cmp"
	"math"
	"slices"
)

// eps is numpy's spacing(1), 2⁻⁵², which pycocotools adds to the precision's denominator.
var eps = math.Nextafter(1, 2) - 1

// accumulated holds pycocotools' eval["precision"] and eval["recall"], −1 where a
// category has no non-ignored ground truth.
type accumulated struct {
	p         Params
	k         int       // categories
	precision []float64 // [K, A, M, T, R]
	recall    []float64 // [K, A, M, T]
}

func (ac *accumulated) at(k, a, m int) (prec, rec []float64) {
	T, R := len(ac.p.IoUThresholds), len(ac.p.RecallThresholds)
	cellIdx := (k*4+a)*3 + m
	return ac.precision[cellIdx*T*R : (cellIdx+1)*T*R], ac.recall[cellIdx*T : (cellIdx+1)*T]
}

// accumulate is pycocotools' accumulate.
func (e *evaluator) accumulate() *accumulated {
	T, R, K := len(e.p.IoUThresholds), len(e.p.RecallThresholds), len(e.cells)
	ac := &accumulated{p: e.p, k: K,
		precision: make([]float64, K*4*3*T*R), recall: make([]float64, K*4*3*T)}
	for n := range ac.precision {
		ac.precision[n] = -1
	}
	for n := range ac.recall {
		ac.recall[n] = -1
	}
	// Per category, every kept detection (the first MaxDets[2] of each image), sorted
	// once by decreasing score. Images are in id order and detections in score order
	// within each; ties keep that order (pos), as pycocotools' mergesort does. The list
	// for a smaller maxDet is a subsequence of it, in the same order.
	type det struct {
		score     float64
		c, d, pos int // cell, index in the cell, place in image order
	}
	var all []det
	var rc, pr []float64
	for k, cells := range e.cells {
		if len(cells) == 0 {
			continue
		}
		all = all[:0]
		for c := range cells {
			for d, s := range cells[c].scores {
				all = append(all, det{s, c, d, len(all)})
			}
		}
		slices.SortFunc(all, func(x, y det) int {
			return cmp.Or(cmp.Compare(y.score, x.score), cmp.Compare(x.pos, y.pos))
		})
		rc, pr = slices.Grow(rc[:0], len(all))[:len(all)], slices.Grow(pr[:0], len(all))[:len(all)]
		for a := range 4 {
			npig := 0
			for c := range cells {
				npig += cells[c].area[a].nPos
			}
			if npig == 0 {
				continue
			}
			for m, maxDet := range e.p.MaxDets {
				prec, rec := ac.at(k, a, m)
				for t := range T {
					var tp, fp float64
					nd := 0
					for _, x := range all {
						if x.d >= maxDet {
							continue
						}
						ae := &cells[x.c].area[a]
						switch i := t*len(cells[x.c].scores) + x.d; {
						case ae.ignored[i]:
						case ae.matched[i]:
							tp++
						default:
							fp++
						}
						rc[nd] = tp / float64(npig)
						pr[nd] = tp / (fp + tp + eps)
						nd++
					}
					rec[t] = 0
					if nd > 0 {
						rec[t] = rc[nd-1]
					}
					for n := nd - 1; n > 0; n-- { // the envelope: non-increasing from the right
						pr[n-1] = max(pr[n-1], pr[n])
					}
					q := prec[t*R : (t+1)*R]
					n := 0
					for r, thr := range e.p.RecallThresholds {
						for n < nd && rc[n] < thr { // numpy.searchsorted(rc, thr, "left")
							n++
						}
						if n == nd {
							clear(q[r:]) // recall never reaches thr: precision 0
							break
						}
						q[r] = pr[n]
					}
				}
			}
		}
	}
	return ac
}
