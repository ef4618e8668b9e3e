package static

// L1 is the absolute error
//
//	ℓ(d) = |d|
//	ℓ'(d) = sign(d), 0 at d = 0
//
// as PyTorch's l1_loss, whose gradient at d = 0 is also 0. It has no parameter; the zero
// value is ready to use.
type L1 struct{}

// Name returns "l1".
func (L1) Name() string { return "l1" }

// String returns "l1".
func (L1) String() string { return "l1" }

// Value returns |d|.
func (L1) Value(d float64) float64 { v, _ := l1Elem[float64]{}.at(d); return v }

// Deriv returns sign(d), and 0 at d = 0.
func (L1) Deriv(d float64) float64 { _, g := l1Elem[float64]{}.at(d); return g }

type l1Elem[T Float] struct{}

func (l1Elem[T]) at(d T) (v, g T) { return abs(d), sign(d) }
