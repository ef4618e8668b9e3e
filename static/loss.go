package static

// Float is the element type of the slice forms: float32 or float64, or a type defined on
// one of them.
type Float interface{ ~float32 | ~float64 }

// Loss names a regression loss of the residual d = pred − target and evaluates it. It is
// what the rest of the project passes around: a command can print l.String(), plot
// l.Value and l.Deriv, or call Eval(l, ...) without knowing the concrete type.
//
// The losses of this package (L1, L2, SmoothL1, Huber, BalancedL1) implement it with value
// receivers; Eval has a fused, branch-specialised kernel for each of them. Another type
// that implements Loss is evaluated by Eval through Value and Deriv, element by element,
// in float64.
type Loss interface {
	// Name is the loss's short lower-case name: "l1", "l2", "smoothl1", "huber",
	// "balancedl1".
	Name() string
	// String is the loss with its parameters as "name" or "name:key=value,key=value",
	// e.g. "smoothl1:beta=0.11", with the values printed so they parse back exactly.
	String() string
	// Value is the loss at one residual d.
	Value(d float64) float64
	// Deriv is the derivative of Value with respect to d (so with respect to the
	// prediction), with the subgradient 0 at the kinks of L1-like losses at d = 0.
	Deriv(d float64) float64
}

// validator is implemented by the losses whose zero value is not valid.
type validator interface{ Validate() error }

// Eval evaluates l on the residuals pred − target in one pass and returns the reduced
// loss
//
//	Mean:  Σᵢ wᵢ·ℓ(dᵢ) / n
//	Sum:   Σᵢ wᵢ·ℓ(dᵢ)
//	None:  Σᵢ wᵢ·ℓ(dᵢ), the element losses going to values
//
// accumulated in float64, with n = len(pred). The element losses and derivatives are
// computed in T, as PyTorch does for that dtype, with the parameters rounded to T
// (BalancedL1 computes in float64 from T's residual and rounded β, then rounds to T).
//
// pred and target must have the same length; weights, grad and values must have that
// length too or be nil, else Eval panics with "static: length mismatch". A nil weights
// means every wᵢ = 1. When grad is not nil, Eval writes the gradient of the returned
// scalar with respect to pred into it:
//
//	grad[i] = wᵢ·ℓ'(dᵢ)/n    for Mean (gradient of the reduced loss)
//	grad[i] = wᵢ·ℓ'(dᵢ)      for Sum and None
//
// When values is not nil, Eval writes each element's weighted loss wᵢ·ℓ(dᵢ) into it,
// whatever r is; None is the reduction that asks for it. A nil grad and values make Eval
// compute the value only. Eval never reads grad or values, and never writes pred, target
// or weights; dst slices may not alias them.
//
// The mean of an empty input is 0 (PyTorch returns NaN; fvcore returns 0, and an empty
// batch of positives is common in detection). Eval returns an error wrapping
// ErrUnknownReduction for an unknown r, and the loss's Validate error for an invalid
// zero Huber or BalancedL1.
//
// A float32 SmoothL1 with nil weights and values runs the kernel of SmoothL1Columns for
// D = 4 (see there); other cases run a scalar loop. Eval does not allocate, but passing a
// concrete loss such as SmoothL1 where a Loss is expected boxes it: in a loop, hold the
// Loss in a variable.
func Eval[T Float](l Loss, r Reduction, grad, values, pred, target, weights []T) (float64, error) {
	n := checkLengths(grad, values, pred, target, weights)
	if err := r.check(); err != nil {
		return 0, err
	}
	if v, ok := l.(validator); ok {
		if err := v.Validate(); err != nil {
			return 0, err
		}
	}
	gs := T(1)
	if r == Mean && n > 0 {
		gs = T(1 / float64(n))
	}
	var sum float64
	switch l := deref(l).(type) {
	case L1:
		sum = evalElems(l1Elem[T]{}, gs, grad, values, pred, target, weights)
	case L2:
		sum = evalElems(l2Elem[T]{}, gs, grad, values, pred, target, weights)
	case SmoothL1:
		sum = evalSmoothL1(l.beta, gs, grad, values, pred, target, weights)
	case Huber:
		sum = evalElems(newHuberElem[T](l.delta), gs, grad, values, pred, target, weights)
	case BalancedL1:
		sum = evalElems(newBalancedElem[T](l), gs, grad, values, pred, target, weights)
	default:
		sum = evalElems(anyElem[T]{l}, gs, grad, values, pred, target, weights)
	}
	return reduce(sum, n, r), nil
}

// deref turns a pointer to one of this package's losses into the value, so that Eval
// keeps its fast paths when called with &SmoothL1{...}.
func deref(l Loss) Loss {
	switch p := l.(type) {
	case *L1:
		return *p
	case *L2:
		return *p
	case *SmoothL1:
		return *p
	case *Huber:
		return *p
	case *BalancedL1:
		return *p
	}
	return l
}

// reduce turns the float64 sum of n element losses into the value returned for r.
func reduce(sum float64, n int, r Reduction) float64 {
	if r == Mean {
		if n == 0 {
			return 0
		}
		return sum / float64(n)
	}
	return sum
}

// checkLengths panics unless target has len(pred) elements and each of grad, values and
// weights is nil or has len(pred) elements. It returns len(pred).
func checkLengths[T Float](grad, values, pred, target, weights []T) int {
	n := len(pred)
	if len(target) != n ||
		(grad != nil && len(grad) != n) ||
		(values != nil && len(values) != n) ||
		(weights != nil && len(weights) != n) {
		panic(msgLengthMismatch)
	}
	return n
}

// elem is one loss's element-wise value and derivative in T.
type elem[T Float] interface {
	at(d T) (v, g T)
}

// evalElems is the scalar loop behind Eval: it returns Σ wᵢ·ℓ(dᵢ) in float64 and writes
// grad[i] = wᵢ·ℓ'(dᵢ)·gs and values[i] = wᵢ·ℓ(dᵢ) where those are not nil.
func evalElems[T Float, E elem[T]](e E, gs T, grad, values, pred, target, weights []T) float64 {
	return evalStrided(e, gs, 0, 1, 0, grad, values, pred, target, weights)
}

// evalStrided is evalElems over the elements start, start+stride, …: one column of [N, D]
// data when stride is D (SmoothL1Columns' scalar loop). It adds the losses to sum and returns
// it, so a caller looping over columns keeps one running sum.
func evalStrided[T Float, E elem[T]](e E, gs T, start, stride int, sum float64, grad, values, pred, target, weights []T) float64 {
	target = target[:len(pred)]
	for i := start; i < len(pred); i += stride {
		v, g := e.at(pred[i] - target[i])
		if weights != nil {
			w := weights[i]
			v *= w
			g *= w
		}
		sum += float64(v)
		if grad != nil {
			grad[i] = g * gs
		}
		if values != nil {
			values[i] = v
		}
	}
	return sum
}

// anyElem evaluates a Loss of another package through its float64 methods.
type anyElem[T Float] struct{ l Loss }

func (e anyElem[T]) at(d T) (v, g T) {
	return T(e.l.Value(float64(d))), T(e.l.Deriv(float64(d)))
}

// abs is |x| without a branch; abs(−0) = +0 and abs(NaN) is NaN.
func abs[T Float](x T) T { return max(x, -x) }

// sign is −1, 0 or +1 as x is negative, zero or positive, and NaN for NaN; sign(±0) is ±0.
func sign[T Float](x T) T {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x
}
