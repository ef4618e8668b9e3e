package static

// Huber is the Huber loss with threshold δ > 0 (Huber 1964; PyTorch's huber_loss)
//
//	ℓ(d) = ½·d²             if |d| < δ
//	       δ·(|d| − ½·δ)    otherwise
//	ℓ'(d) = d               if |d| < δ
//	        δ·sign(d)       otherwise
//
// Huber(δ) = δ·SmoothL1(β = δ): the same shape, scaled so that the quadratic part does
// not depend on δ. The zero value (δ = 0) is not valid: make one with NewHuber.
type Huber struct{ delta float64 }

// NewHuber returns Huber with threshold delta. It returns a *ParamError wrapping
// ErrNotFinite for a NaN or infinite delta and ErrNonPositiveDelta for delta ≤ 0, as
// PyTorch rejects delta ≤ 0.
func NewHuber(delta float64) (Huber, error) {
	l := Huber{delta: delta}
	return l, l.Validate()
}

// Validate reports whether δ is finite and positive; Eval calls it, so the zero Huber
// is an error there.
func (l Huber) Validate() error {
	if err := checkFinite("huber", "delta", l.delta); err != nil {
		return err
	}
	if !(l.delta > 0) {
		return paramError("huber", "delta", l.delta, ErrNonPositiveDelta)
	}
	return nil
}

// Delta returns δ.
func (l Huber) Delta() float64 { return l.delta }

// Name returns "huber".
func (Huber) Name() string { return "huber" }

// String returns "huber:delta=δ".
func (l Huber) String() string { return "huber:delta=" + formatFloat(l.delta) }

// Value returns ½·d² for |d| < δ and δ·(|d| − ½·δ) otherwise.
func (l Huber) Value(d float64) float64 { v, _ := newHuberElem[float64](l.delta).at(d); return v }

// Deriv returns d for |d| < δ and δ·sign(d) otherwise.
func (l Huber) Deriv(d float64) float64 { _, g := newHuberElem[float64](l.delta).at(d); return g }

type huberElem[T Float] struct{ delta, half T }

func newHuberElem[T Float](delta float64) huberElem[T] {
	return huberElem[T]{delta: T(delta), half: T(0.5 * delta)}
}

func (e huberElem[T]) at(d T) (v, g T) {
	a := abs(d)
	if a < e.delta {
		return 0.5 * d * d, d
	}
	return e.delta * (a - e.half), e.delta * sign(d)
}
