package cocoeval

import (
	"fmt"
	"strings"
)

// Result holds the twelve numbers of pycocotools' COCOeval.summarize for boxes, in its
// order (Stats). AP averages precision over the IoU thresholds, the 101 recall points and
// the categories; AR averages the final recall over IoU thresholds and categories. A
// value of −1 means no category had a non-ignored ground truth for that setting.
type Result struct {
	AP       float64 // IoU .50:.95, all areas, MaxDets[2] detections
	AP50     float64 // IoU .50
	AP75     float64 // IoU .75
	APSmall  float64 // area small (≤ 32²)
	APMedium float64 // area medium (32² … 96²)
	APLarge  float64 // area large (≥ 96²)
	AR1      float64 // MaxDets[0] detections per image
	AR10     float64 // MaxDets[1]
	AR100    float64 // MaxDets[2]
	ARSmall  float64 // MaxDets[2], small
	ARMedium float64
	ARLarge  float64

	iouLo, iouHi float64 // for String
	maxDets      [3]int
}

// Stats returns the metrics in the order of pycocotools' COCOeval.stats.
func (r Result) Stats() [12]float64 {
	return [12]float64{r.AP, r.AP50, r.AP75, r.APSmall, r.APMedium, r.APLarge,
		r.AR1, r.AR10, r.AR100, r.ARSmall, r.ARMedium, r.ARLarge}
}

// String returns pycocotools' 12-line summary, without a final newline.
func (r Result) String() string {
	if r.maxDets == [3]int{} { // a Result not made by Evaluate
		r.iouLo, r.iouHi, r.maxDets = 0.5, 0.95, [3]int{1, 10, 100}
	}
	all := fmt.Sprintf("%0.2f:%0.2f", r.iouLo, r.iouHi)
	lines := []struct {
		ap      bool
		iou     string
		area    string
		maxDets int
		v       float64
	}{
		{true, all, "all", r.maxDets[2], r.AP},
		{true, "0.50", "all", r.maxDets[2], r.AP50},
		{true, "0.75", "all", r.maxDets[2], r.AP75},
		{true, all, "small", r.maxDets[2], r.APSmall},
		{true, all, "medium", r.maxDets[2], r.APMedium},
		{true, all, "large", r.maxDets[2], r.APLarge},
		{false, all, "all", r.maxDets[0], r.AR1},
		{false, all, "all", r.maxDets[1], r.AR10},
		{false, all, "all", r.maxDets[2], r.AR100},
		{false, all, "small", r.maxDets[2], r.ARSmall},
		{false, all, "medium", r.maxDets[2], r.ARMedium},
		{false, all, "large", r.maxDets[2], r.ARLarge},
	}
	var b strings.Builder
	for n, l := range lines {
		title, typ := "Average Precision", "(AP)"
		if !l.ap {
			title, typ = "Average Recall", "(AR)"
		}
		if n > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f", title, typ, l.iou, l.area, l.maxDets, l.v)
	}
	return b.String()
}

// summarize is pycocotools' _summarizeDets.
func (ac *accumulated) summarize() Result {
	p := ac.p
	thr := func(v float64) func(t int) bool { return func(t int) bool { return p.IoUThresholds[t] == v } }
	every := func(int) bool { return true }
	const all, small, medium, large = 0, 1, 2, 3
	return Result{
		AP:       ac.meanPrecision(all, 2, every),
		AP50:     ac.meanPrecision(all, 2, thr(0.5)),
		AP75:     ac.meanPrecision(all, 2, thr(0.75)),
		APSmall:  ac.meanPrecision(small, 2, every),
		APMedium: ac.meanPrecision(medium, 2, every),
		APLarge:  ac.meanPrecision(large, 2, every),
		AR1:      ac.meanRecall(all, 0),
		AR10:     ac.meanRecall(all, 1),
		AR100:    ac.meanRecall(all, 2),
		ARSmall:  ac.meanRecall(small, 2),
		ARMedium: ac.meanRecall(medium, 2),
		ARLarge:  ac.meanRecall(large, 2),
		iouLo:    p.IoUThresholds[0],
		iouHi:    p.IoUThresholds[len(p.IoUThresholds)-1],
		maxDets:  p.MaxDets,
	}
}

// meanPrecision averages precision over the selected IoU thresholds, every recall
// threshold and every category, skipping −1 entries; −1 when nothing remains.
func (ac *accumulated) meanPrecision(a, m int, useT func(int) bool) float64 {
	R := len(ac.p.RecallThresholds)
	var sum float64
	var n int
	for k := range ac.k {
		prec, _ := ac.at(k, a, m)
		for t := range ac.p.IoUThresholds {
			if !useT(t) {
				continue
			}
			for _, v := range prec[t*R : (t+1)*R] {
				if v > -1 {
					sum += v
					n++
				}
			}
		}
	}
	return mean(sum, n)
}

// meanRecall averages the final recall over IoU thresholds and categories, skipping −1.
func (ac *accumulated) meanRecall(a, m int) float64 {
	var sum float64
	var n int
	for k := range ac.k {
		_, rec := ac.at(k, a, m)
		for _, v := range rec {
			if v > -1 {
				sum += v
				n++
			}
		}
	}
	return mean(sum, n)
}

func mean(sum float64, n int) float64 {
	if n == 0 {
		return -1
	}
	return sum / float64(n)
}
