// Package static implements the fixed-shape regression losses of box regression: L1, L2,
// Smooth L1, Huber and Balanced L1, with their values and gradients, in pure Go (no cgo,
// no gotch; on amd64 one kernel in assembly, for AVX and for AVX-512, with a Go twin under
// the purego tag).
//
// # Conventions
//
// The residual is d = pred − target, element by element, in the units of the data (box
// deltas, not pixels). Gradients are with respect to pred; with respect to target they
// are the negation.
//
// Every loss has a scalar form, Value(d) and Deriv(d) in float64 (for plots and tests),
// and a fused slice form, Eval, generic over float32 and float64: one pass computes the
// loss and writes the gradient into a caller-provided grad (nil grad: value only), and
// returns the reduced loss accumulated in float64. Slices are row-major; SmoothL1Columns
// takes [N, D] data with one β per column. Written slices are the dst arguments grad and
// values only, and only when not nil; nil weights mean every weight is 1, and weights
// multiply both value and gradient. Reductions follow PyTorch: Mean (the zero value),
// Sum, None; Mean divides by the element count whatever the weights are, as torch's mean
// over elements does.
//
// # Losses
//
// With β, δ the thresholds:
//
//	L1:        |d|                                   ℓ' = sign(d), 0 at d = 0
//	L2:        ½·d²                                  ℓ' = d
//	SmoothL1:  ½·d²/β  if |d| < β,  |d| − ½·β        ℓ' = d/β, else sign(d)
//	Huber:     ½·d²    if |d| < δ,  δ·(|d| − ½·δ)    ℓ' = d,   else δ·sign(d)
//
// and Balanced L1 as documented on BalancedL1. The branch is |d| < β: at |d| = β the
// value is continuous and the gradient is the outer one, exactly ±1 (±δ for Huber).
// L2 is half of PyTorch's mse_loss.
//
// Identities (property-tested):
//
//	Huber_δ(d)    = δ·SmoothL1_δ(d)
//	SmoothL1_β(d) = β·SmoothL1_1(d/β)      for β > 0
//
// so a per-coordinate β reuses one fixed-β kernel on rescaled residuals, and Huber is
// Smooth L1 with its gradient scaled by δ.
//
// Limits in β. As β → 0, SmoothL1_β → L1 uniformly (|SmoothL1_β − L1| ≤ ½·β) and its
// quadratic zone shrinks to d = 0; β = 0 is exact L1, by a branch: d/β would be 0/0 at
// d = 0, the NaN gradient fvcore avoids by treating β < 1e-5 as L1. Any β > 0, however
// tiny (1e-6 and below), still takes the Smooth L1 formula: finite inputs never give NaN.
// As β → ∞ at fixed d, SmoothL1_β(d) = ½·d²/β → 0 and its gradient d/β → 0 (the loss
// stops training), while β·SmoothL1_β → L2; in the same way Huber_δ → L2 as δ → ∞ and
// Huber_δ/δ → L1 as δ → 0. Infinite parameters are rejected.
//
// # Deviations from PyTorch 1.13 (deliberate)
//
//   - smooth_l1_loss with β = 0 gives gradient −1 where d = 0; SmoothL1 gives 0, the
//     subgradient l1_loss uses.
//   - The Mean of an empty input is 0 with an empty (zero) gradient, as fvcore; PyTorch
//     returns NaN. A batch with no positive box is normal in detection.
//
// Element values and gradients are computed in the slice's type with the parameters
// rounded to it, as PyTorch does for that dtype, so float32 results match torch's float32
// to a few ulp; sums are accumulated in float64, so reduced values are closer to the exact
// sum than torch's float32 reductions.
//
// # Errors
//
// Caller bugs panic with a constant message prefixed by the package name, as gonum does:
// "static: length mismatch" when target, weights, grad or values (when not nil) differ in
// length from pred, "static: length not a multiple of D" for [N, D] data. Bad parameter
// values return a *ParamError naming the loss and the parameter and wrapping one of
// ErrNegativeBeta (β < 0), ErrNonPositiveDelta (δ ≤ 0), ErrNonPositiveParam (Balanced L1
// α, γ or β ≤ 0) or ErrNotFinite (NaN or ±Inf); an unknown Reduction, or a string that
// ParseReduction does not know, wraps ErrUnknownReduction. Test them with errors.Is.
//
// NaN inputs give NaN values and gradients; they are not errors here.
package static
