package bench

import (
	"math"
	"slices"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/stats"
)

// Case names of row 4.
const (
	caseSelection = "selection"
	caseSort      = "sort"
)

// dslCases are row 4's cases, one Dynamic R-CNN update (published configuration, K = 10) on
// float32 [rows, 4] pred and target, in this order:
//
//	selection  dynamic.Step: Summarize (the moments pass, then the K smallest
//	           e = (|d0| + |d1|)/2 by selection), Observe, Beta
//	sort       the same summary with the smallest e taken from a full sort of every row's
//	           e (as the published code does), then Observe and Beta
//
// Both keep their buffers between calls and do not allocate once grown. Neither touches
// libtorch.
func dslCases(rows int) ([]Case, error) {
	p, y := boxData(rows)
	sel, err := dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{}, D)
	if err != nil {
		return nil, err
	}
	srt, err := dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{}, D)
	if err != nil {
		return nil, err
	}
	var selSum, sortSum dynamic.Summary
	var selBeta, sortBeta []float64
	selection := func() error {
		var err error
		selBeta, err = dynamic.Step(sel, p, y, D, &selSum, selBeta)
		return err
	}
	k := sel.Requirement().K
	e := make([]float64, 0, rows)
	sorted := func() error {
		sortSum.Moments.Reset(D)
		stats.AddAbsDiff(&sortSum.Moments, p, y, D)
		e = appendE(e[:0], p, y)
		slices.Sort(e)
		sortSum.K, sortSum.Smallest = k, e[:min(k, len(e))]
		if err := srt.Observe(&sortSum); err != nil {
			return err
		}
		sortBeta = srt.Beta(sortBeta)
		return nil
	}
	return []Case{{Name: caseSelection, Op: selection}, {Name: caseSort, Op: sorted}}, nil
}

// appendE appends e = (|d0| + |d1|)/2 of every finite row of d = pred − target ([N, 4]) to
// dst, formed as dynamic.Summarize forms it.
func appendE(dst []float64, pred, target []float32) []float64 {
	target = target[:len(pred)]
	for i := 0; i+D <= len(pred); i += D {
		p, t := pred[i:i+D:i+D], target[i:i+D:i+D]
		y0, y1 := math.Abs(float64(p[0]-t[0])), math.Abs(float64(p[1]-t[1]))
		y2, y3 := float64(p[2]-t[2]), float64(p[3]-t[3])
		if (y0-y0)+(y1-y1)+(y2-y2)+(y3-y3) == 0 {
			dst = append(dst, (y0+y1)/2)
		}
	}
	return dst
}
