package static

// L2 is half the squared error
//
//	ℓ(d) = ½·d²
//	ℓ'(d) = d
//
// It is half of PyTorch's mse_loss, so that its gradient is the residual and it is the
// β → ∞ limit of β·SmoothL1_β. It has no parameter; the zero value is ready to use.
type L2 struct{}

// Name returns "l2".
func (L2) Name() string { return "l2" }

// String returns "l2".
func (L2) String() string { return "l2" }

// Value returns ½·d².
func (L2) Value(d float64) float64 { v, _ := l2Elem[float64]{}.at(d); return v }

// Deriv returns d.
func (L2) Deriv(d float64) float64 { return d }

type l2Elem[T Float] struct{}

func (l2Elem[T]) at(d T) (v, g T) { return 0.5 * d * d, d }
