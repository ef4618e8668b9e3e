package cocoeval

import (
	"fmt"
	"math"
	"slices"
)

// AreaRange is an inclusive range [Lo, Hi] of object areas in square pixels.
type AreaRange struct{ Lo, Hi float64 }

// Params are the evaluation parameters. The zero value is COCO's standard setting, and
// so is each zero field:
//
//	IoUThresholds     .50:.05:.95 (10 values)
//	RecallThresholds  0:.01:1 (101 values)
//	MaxDets           1, 10, 100
//	AreaRanges        all [0, 1e10], small [0, 32²], medium [32², 96²], large [96², 1e10]
//
// The thresholds are computed as numpy.linspace computes them (start + i·step), so
// that comparisons at a threshold go the same way as in pycocotools.
type Params struct {
	IoUThresholds    []float64    // in [0, 1]
	RecallThresholds []float64    // in [0, 1], increasing
	MaxDets          [3]int       // positive, non-decreasing; AR1, AR10, AR100 use them in order
	AreaRanges       [4]AreaRange // all, small, medium, large; Lo ≤ Hi
}

// DefaultParams returns the standard COCO parameters with every field filled in.
func DefaultParams() Params {
	p, err := Params{}.resolve()
	if err != nil {
		panic(err)
	}
	return p
}

// linspace returns numpy.linspace(start, stop, n) bit for bit: start + i·step with
// step = (stop − start)/(n − 1), and stop exactly at the end.
func linspace(start, stop float64, n int) []float64 {
	out := make([]float64, n)
	step := (stop - start) / float64(n-1)
	for i := range out {
		out[i] = float64(float64(i)*step) + start // the conversion forbids an FMA
	}
	out[n-1] = stop
	return out
}

// resolve fills in the defaults and validates.
func (p Params) resolve() (Params, error) {
	bad := func(field string, v any, why string) (Params, error) {
		return Params{}, fmt.Errorf("%w: %s = %v %s", ErrParams, field, v, why)
	}
	if len(p.IoUThresholds) == 0 {
		p.IoUThresholds = linspace(0.5, 0.95, int(math.Round((0.95-0.5)/0.05))+1)
	}
	if len(p.RecallThresholds) == 0 {
		p.RecallThresholds = linspace(0, 1, int(math.Round(1/0.01))+1)
	}
	if p.MaxDets == [3]int{} {
		p.MaxDets = [3]int{1, 10, 100}
	}
	if p.AreaRanges == [4]AreaRange{} {
		p.AreaRanges = [4]AreaRange{{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}}
	}
	for i, t := range p.IoUThresholds {
		if !(t >= 0 && t <= 1) {
			return bad(fmt.Sprintf("IoUThresholds[%d]", i), t, "must be in [0, 1]")
		}
	}
	for i, r := range p.RecallThresholds {
		if !(r >= 0 && r <= 1) {
			return bad(fmt.Sprintf("RecallThresholds[%d]", i), r, "must be in [0, 1]")
		}
		if i > 0 && r <= p.RecallThresholds[i-1] {
			return bad(fmt.Sprintf("RecallThresholds[%d]", i), r, "must be greater than the one before")
		}
	}
	for i, m := range p.MaxDets {
		if m <= 0 || (i > 0 && m < p.MaxDets[i-1]) {
			return bad("MaxDets", p.MaxDets, "must be positive and non-decreasing")
		}
	}
	for i, a := range p.AreaRanges {
		if !(a.Lo <= a.Hi) {
			return bad(fmt.Sprintf("AreaRanges[%d]", i), a, "must have Lo ≤ Hi")
		}
	}
	p.IoUThresholds = slices.Clip(p.IoUThresholds)
	p.RecallThresholds = slices.Clip(p.RecallThresholds)
	return p, nil
}
