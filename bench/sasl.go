package bench

import (
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
)

// nativeBeta is the fixed β of the native op the rows compare with (RetinaNet's).
const nativeBeta = 0.11

// Case names of rows 1 to 3.
const (
	caseOurs       = "ours"
	caseNative     = "native"
	caseCopy       = "copy"
	caseRetinaMask = "retinamask"
)

// stepCases are row 1's cases on float32 [rows, 4] data, in this order:
//
//	ours    the pure-Go fused SASL step on Go slices: dynamic.Step with a SelfAdjusting
//	        scheduler (moments of |d|, Observe, β per column), then static.SmoothL1Columns
//	        (loss and gradient in one pass into a reused grad buffer), Mean
//	native  libtorch's smooth_l1_loss(β = 0.11, mean) forward and backward through gotch, on
//	        tensors holding the same values
//	copy    memmove of pred and target into a buffer: 8 bytes per element read, 8 written
//
// Call it, the cases' Op and free (which drops the tensors) inside torchthread.Do.
func stepCases(rows int) (cases []Case, free func(), err error) {
	p, y := boxData(rows)
	grad := make([]float32, len(p))
	buf := make([]float32, 2*len(p))
	clear(buf) // fault the pages in before timing
	clear(grad)
	s, err := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, D)
	if err != nil {
		return nil, nil, err
	}
	var sum dynamic.Summary
	var beta []float64
	ours := func() error {
		var err error
		if beta, err = dynamic.Step(s, p, y, D, &sum, beta); err != nil {
			return err
		}
		_, err = static.SmoothL1Columns(beta, static.Mean, grad, nil, p, y, nil)
		return err
	}
	pred, target := boxTensors(p, y)
	native := func() error {
		return forwardBackward(pred, func() (*ts.Tensor, error) {
			return pred.SmoothL1Loss(target, ts.ReductionMean, nativeBeta, false)
		})
	}
	cp := func() error {
		copy(buf, p)
		copy(buf[len(p):], y)
		return nil
	}
	free = func() {
		pred.MustDrop()
		target.MustDrop()
	}
	return []Case{{Name: caseOurs, Op: ours}, {Name: caseNative, Op: native}, {Name: caseCopy, Op: cp}}, free, nil
}
