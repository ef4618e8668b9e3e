package boxes

import "math"

// Labels Match writes for anchors without a ground truth.
const (
	Background = -1 // best IoU below NegativeIoU: a negative (background) anchor
	Ignore     = -2 // best IoU in [NegativeIoU, PositiveIoU): neither, left out of the loss
)

// Matcher assigns each anchor to at most one ground-truth box by IoU, as torchvision's
// Matcher(high_threshold, low_threshold, allow_low_quality_matches) and detectron2's
// Matcher. With best(j) the largest IoU of anchor j over all ground truths and g(j) the
// first ground truth attaining it:
//
//	best(j) ≥ PositiveIoU                 →  g(j)
//	NegativeIoU ≤ best(j) < PositiveIoU   →  Ignore (−2)
//	best(j) < NegativeIoU                 →  Background (−1)
//
// With AllowLowQuality, every anchor that attains the largest IoU of some ground truth i
// (all ties) is then set to g(j) whatever its label, so that each ground truth keeps at
// least one anchor. As in torchvision, that is g(j), the anchor's own best ground truth,
// which is i unless the anchor overlaps another ground truth more. Unlike torchvision, a
// ground truth whose largest IoU is 0 (it overlaps no anchor, or has zero area) adds no
// match; see the package notes.
//
// RetinaNet uses PositiveIoU 0.5, NegativeIoU 0.4 and AllowLowQuality (RetinaNetMatcher).
// The zero value matches every anchor to its best ground truth, since every IoU is ≥ 0.
type Matcher struct {
	PositiveIoU     float64 // in [0, 1]
	NegativeIoU     float64 // in [0, PositiveIoU]
	AllowLowQuality bool
}

// RetinaNetMatcher returns the matcher of RetinaNet: {0.5, 0.4, true}.
func RetinaNetMatcher() Matcher {
	return Matcher{PositiveIoU: 0.5, NegativeIoU: 0.4, AllowLowQuality: true}
}

// Validate reports a threshold outside [0, 1] (or NaN) and NegativeIoU > PositiveIoU.
func (m Matcher) Validate() error {
	if !(m.PositiveIoU >= 0 && m.PositiveIoU <= 1) {
		return &ConfigError{"Matcher", "PositiveIoU", m.PositiveIoU, "must be in [0, 1]"}
	}
	if !(m.NegativeIoU >= 0 && m.NegativeIoU <= 1) {
		return &ConfigError{"Matcher", "NegativeIoU", m.NegativeIoU, "must be in [0, 1]"}
	}
	if m.NegativeIoU > m.PositiveIoU {
		return &ConfigError{"Matcher", "NegativeIoU", m.NegativeIoU, "must be ≤ PositiveIoU"}
	}
	return nil
}

// Match labels anchors from the quality matrix iou, [nGT, nAnchors] row-major (as
// IoU(dst, gt, anchors) writes it): dst[j] is the matched ground-truth index, Background
// or Ignore. dst is reused when its capacity is at least nAnchors; Match uses no other
// memory. With no ground truth every anchor is Background (torchvision raises instead).
//
// It panics if len(iou) ≠ nGT·nAnchors, a count is negative, or m.Validate() fails.
func (m Matcher) Match(iou []float64, nGT, nAnchors int, dst []int) []int {
	if m.Validate() != nil {
		panic(msgBadConfig)
	}
	if nGT < 0 || nAnchors < 0 {
		panic(msgNegativeCount)
	}
	if len(iou) != nGT*nAnchors {
		panic(msgLengthMismatch)
	}
	if cap(dst) < nAnchors {
		dst = make([]int, nAnchors)
	}
	dst = dst[:nAnchors]
	if nGT == 0 {
		for j := range dst {
			dst[j] = Background
		}
		return dst
	}
	// dst[j] = g(j): the first ground truth with the largest IoU. The running best is
	// read back from the matrix, so no scratch is needed.
	clear(dst)
	for i := 1; i < nGT; i++ {
		row := iou[i*nAnchors : (i+1)*nAnchors]
		for j, v := range row {
			if v > iou[dst[j]*nAnchors+j] {
				dst[j] = i
			}
		}
	}
	// Low-quality matches are marked by encoding g(j) as forced − g(j) (≤ −3), so the
	// threshold pass below can tell them apart.
	const forced = -3
	if m.AllowLowQuality {
		for i := range nGT {
			row := iou[i*nAnchors : (i+1)*nAnchors]
			top := math.Inf(-1)
			for _, v := range row {
				top = max(top, v)
			}
			if !(top > 0) {
				continue // overlaps no anchor: see the type's doc
			}
			for j, v := range row {
				if v == top && dst[j] >= 0 {
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
		switch v := iou[g*nAnchors+j]; {
		case v < m.NegativeIoU:
			dst[j] = Background
		case v < m.PositiveIoU:
			dst[j] = Ignore
		}
	}
	return dst
}
