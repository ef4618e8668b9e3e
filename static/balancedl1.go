package static

import "math"

// BalancedL1 is the Balanced L1 loss of Libra R-CNN (Pang et al., CVPR 2019) in
// mmdetection's form, with α, γ, β > 0 and b = e^(γ/α) − 1 (so that α·ln(b + 1) = γ):
//
//	ℓ(d) = (α/b)·(b|d| + 1)·ln(b|d|/β + 1) − α|d|   if |d| < β
//	       γ|d| + γ/b − αβ                           otherwise
//	ℓ'(d) = sign(d)·(α·ln(b|d|/β + 1) + α(1 − β)/(b|d| + β))   if |d| < β
//	        γ·sign(d)                                         otherwise
//
// ℓ' is the exact derivative of ℓ (what autograd gives for mmdetection's formula). For
// β = 1, the paper's setting, the second term vanishes and ℓ' = α·ln(b|d| + 1)·sign(d),
// continuous at |d| = β. For β ≠ 1 the value is continuous at |d| = β but the derivative
// jumps there by α(1 − β)/(β(b + 1)), as in mmdetection (β = 0.11 in its RetinaNet
// configs). Defaults in mmdetection: α = 0.5, γ = 1.5, β = 1.
//
// The zero value is not valid: make one with NewBalancedL1.
type BalancedL1 struct {
	alpha, gamma, beta float64
	b                  float64 // e^(γ/α) − 1
}

// NewBalancedL1 returns Balanced L1 with the given α, γ and β. It returns a *ParamError
// wrapping ErrNotFinite for a NaN or infinite parameter and ErrNonPositiveParam for a
// parameter ≤ 0, and ErrNotFinite (param "gamma/alpha") when e^(γ/α) overflows.
func NewBalancedL1(alpha, gamma, beta float64) (BalancedL1, error) {
	l := BalancedL1{alpha: alpha, gamma: gamma, beta: beta, b: math.Expm1(gamma / alpha)}
	return l, l.Validate()
}

// Validate checks α, γ, β as NewBalancedL1 does; Eval calls it, so the zero BalancedL1
// is an error there.
func (l BalancedL1) Validate() error {
	for _, p := range [...]struct {
		name string
		v    float64
	}{{"alpha", l.alpha}, {"gamma", l.gamma}, {"beta", l.beta}} {
		if err := checkFinite("balancedl1", p.name, p.v); err != nil {
			return err
		}
		if !(p.v > 0) {
			return paramError("balancedl1", p.name, p.v, ErrNonPositiveParam)
		}
	}
	if math.IsInf(l.b, 0) {
		return paramError("balancedl1", "gamma/alpha", l.gamma/l.alpha, ErrNotFinite)
	}
	return nil
}

// Alpha returns α.
func (l BalancedL1) Alpha() float64 { return l.alpha }

// Gamma returns γ.
func (l BalancedL1) Gamma() float64 { return l.gamma }

// Beta returns β.
func (l BalancedL1) Beta() float64 { return l.beta }

// Name returns "balancedl1".
func (BalancedL1) Name() string { return "balancedl1" }

// String returns "balancedl1:alpha=α,gamma=γ,beta=β".
func (l BalancedL1) String() string {
	return "balancedl1:alpha=" + formatFloat(l.alpha) + ",gamma=" + formatFloat(l.gamma) +
		",beta=" + formatFloat(l.beta)
}

// Value returns ℓ(d) as in the type's doc.
func (l BalancedL1) Value(d float64) float64 { v, _ := l.at(d); return v }

// Deriv returns ℓ'(d) as in the type's doc.
func (l BalancedL1) Deriv(d float64) float64 { _, g := l.at(d); return g }

// at computes in float64 for every T: the inner branch subtracts two terms of size α|d|.
func (l BalancedL1) at(d float64) (v, g float64) {
	a := math.Abs(d)
	if a < l.beta {
		ba := l.b * a
		lg := math.Log1p(ba / l.beta)
		v = l.alpha/l.b*(ba+1)*lg - l.alpha*a
		g = l.alpha * (lg + (1-l.beta)/(ba+l.beta))
		return v, g * sign(d)
	}
	return l.gamma*a + l.gamma/l.b - l.alpha*l.beta, l.gamma * sign(d)
}

type balancedElem[T Float] struct{ l BalancedL1 }

// newBalancedElem rounds β to T, so that the branch |d| < β is taken as in torch's T
// arithmetic: with β ≠ 1 the derivative jumps at |d| = β.
func newBalancedElem[T Float](l BalancedL1) balancedElem[T] {
	l.beta = float64(T(l.beta))
	return balancedElem[T]{l}
}

func (e balancedElem[T]) at(d T) (v, g T) {
	v64, g64 := e.l.at(float64(d))
	return T(v64), T(g64)
}
