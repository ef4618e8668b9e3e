package static

import "strconv"

// SmoothL1 is the Smooth L1 loss with threshold β ≥ 0 (Fast R-CNN; PyTorch's
// smooth_l1_loss)
//
//	ℓ(d) = ½·d²/β      if |d| < β
//	       |d| − ½·β   otherwise
//	ℓ'(d) = d/β        if |d| < β
//	        sign(d)    otherwise (exactly ±1 at |d| = β)
//
// β = 0 is exact L1, gradient 0 at d = 0 (PyTorch 1.13's smooth_l1_loss gives −1 there).
// The zero value is β = 0. Make one with NewSmoothL1.
type SmoothL1 struct{ beta float64 }

// NewSmoothL1 returns Smooth L1 with threshold beta. It returns a *ParamError wrapping
// ErrNotFinite for a NaN or infinite beta and ErrNegativeBeta for beta < 0. Any finite
// beta ≥ 0 works, however small: beta = 0 is L1, and a tiny beta is the quadratic
// branch only for |d| < beta, with no division by zero.
func NewSmoothL1(beta float64) (SmoothL1, error) {
	if err := checkBeta("smoothl1", "beta", beta); err != nil {
		return SmoothL1{}, err
	}
	return SmoothL1{beta: beta}, nil
}

func checkBeta(loss, param string, beta float64) error {
	if err := checkFinite(loss, param, beta); err != nil {
		return err
	}
	if beta < 0 {
		return paramError(loss, param, beta, ErrNegativeBeta)
	}
	return nil
}

// Beta returns β.
func (l SmoothL1) Beta() float64 { return l.beta }

// Name returns "smoothl1".
func (SmoothL1) Name() string { return "smoothl1" }

// String returns "smoothl1:beta=β".
func (l SmoothL1) String() string { return "smoothl1:beta=" + formatFloat(l.beta) }

// Value returns ½·d²/β for |d| < β and |d| − ½·β otherwise; |d| for β = 0.
func (l SmoothL1) Value(d float64) float64 { v, _ := smoothL1Elem[float64]{l.beta}.at(d); return v }

// Deriv returns d/β for |d| < β and sign(d) otherwise; sign(d), 0 at d = 0, for β = 0.
func (l SmoothL1) Deriv(d float64) float64 { _, g := smoothL1Elem[float64]{l.beta}.at(d); return g }

type smoothL1Elem[T Float] struct{ beta T }

func (e smoothL1Elem[T]) at(d T) (v, g T) {
	if e.beta == 0 {
		// Exact L1: d/β would be 0/0 at d = 0.
		return abs(d), sign(d)
	}
	a := abs(d)
	if a < e.beta {
		g = d / e.beta
		return 0.5 * d * g, g
	}
	// d ≠ 0 here, so sign(d) is ±1; NaN d lands here too and stays NaN.
	return a - 0.5*e.beta, sign(d)
}

// evalSmoothL1 is Eval for SmoothL1: the D = 4 float32 kernel when it applies, else the
// scalar loop.
func evalSmoothL1[T Float](beta float64, gs T, grad, values, pred, target, weights []T) float64 {
	if weights == nil && values == nil {
		if p, ok := any(pred).([]float32); ok {
			var k cols4
			if k.init([]float64{beta, beta, beta, beta}, float32(gs)) {
				g, _ := any(grad).([]float32)
				return smoothL1Cols4(&k, g, p, any(target).([]float32))
			}
		}
	}
	return evalElems(smoothL1Elem[T]{T(beta)}, gs, grad, values, pred, target, weights)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
