package static

import (
	"math"
	"strconv"
)

// SmoothL1Columns is Smooth L1 with one β per column of row-major [N, D] data, D =
// len(beta): element i of pred, target, weights, grad and values is row i/D, column i%D,
// and uses β = beta[i%D]. It is what a β scheduler feeds (one β per box coordinate):
//
//	ℓⱼ(d) = ½·d²/βⱼ      if |d| < βⱼ
//	        |d| − ½·βⱼ   otherwise
//
// with βⱼ = 0 exact L1, and otherwise everything as Eval with SmoothL1 (reductions,
// weights, grad and values, float64 accumulation, Mean over the N·D elements, empty mean
// 0). For D = 1 it is Eval with NewSmoothL1(beta[0]).
//
// It panics with "static: length mismatch" as Eval does, with "static: length not a
// multiple of D" when len(pred) % D ≠ 0, and when beta is empty. It returns a
// *ParamError for a NaN, infinite or negative βⱼ (Param "beta[j]") and an error for an
// unknown r, before writing anything.
//
// Fast path: []float32 with D = 4, nil weights and nil values (a training step's box
// regression; types defined on float32 take the scalar loop) runs a fused kernel that does not allocate; on amd64 with AVX
// or AVX-512 it is vectorised and, for large N, writes grad with non-temporal stores. That kernel
// multiplies by 1/βⱼ rounded up instead of dividing, so its inner-branch values and
// gradients may differ from the scalar loop by an ulp or two; at |d| ≥ βⱼ it gives
// exactly ±1 (times the reduction's scale), and it computes the same bits with or
// without the assembly.
func SmoothL1Columns[T Float](beta []float64, r Reduction, grad, values, pred, target, weights []T) (float64, error) {
	n := checkLengths(grad, values, pred, target, weights)
	D := len(beta)
	if D == 0 {
		panic(msgNoColumns)
	}
	if n%D != 0 {
		panic(msgNotMultiple)
	}
	if err := r.check(); err != nil {
		return 0, err
	}
	for j, b := range beta {
		if !(b >= 0) || math.IsInf(b, 1) { // name the column only on error: no allocation
			return 0, checkBeta("smoothl1", "beta["+strconv.Itoa(j)+"]", b)
		}
	}
	gs := T(1)
	if r == Mean && n > 0 {
		gs = T(1 / float64(n))
	}
	var sum float64
	switch {
	case D == 1:
		sum = evalSmoothL1(beta[0], gs, grad, values, pred, target, weights)
	case D == 4 && weights == nil && values == nil:
		if p, ok := any(pred).([]float32); ok {
			var k cols4
			if k.init(beta, float32(gs)) {
				g, _ := any(grad).([]float32)
				sum = smoothL1Cols4(&k, g, p, any(target).([]float32))
				break
			}
		}
		fallthrough
	default:
		sum = smoothL1ColsLoop(beta, gs, grad, values, pred, target, weights)
	}
	return reduce(sum, n, r), nil
}

// smoothL1ColsLoop is the scalar loop of SmoothL1Columns for any D and T.
func smoothL1ColsLoop[T Float](beta []float64, gs T, grad, values, pred, target, weights []T) float64 {
	var sum float64
	for j, b := range beta {
		sum = evalStrided(smoothL1Elem[T]{T(b)}, gs, j, len(beta), sum, grad, values, pred, target, weights)
	}
	return sum
}

// streamBytes is the gradient size from which the assembly kernel writes it with non-temporal
// stores: beyond the caches, a normal store first reads the line it overwrites, a third
// more memory traffic for this kernel. Below it the gradient stays in cache for the
// backward pass that reads it next.
const streamBytes = 4 << 20

// cols4 holds the constants of the float32 D = 4 Smooth L1 kernel. The kernel computes,
// for column j and residual d,
//
//	c = clamp(d·s1ⱼ·s2ⱼ, −1, 1)     the derivative ℓ'(d)
//	ℓ = c·(d − halfⱼ·c)             = ½·d²/β inside, |d| − ½·β outside, exactly
//	grad = c·gs
//
// with s1ⱼ·s2ⱼ ≥ 1/βⱼ rounded so that βⱼ·s1ⱼ ≥ 1 in float32: every |d| ≥ βⱼ then clamps
// to exactly ±1, with no branch. For βⱼ = 0 both multipliers are 2¹²⁷, so that any
// non-zero float32 d (down to 2⁻¹⁴⁹) clamps to ±1 while d = 0 gives 0: exact L1 with no
// 0·Inf. The arrays repeat the four columns twice to fill a 256-bit register.
type cols4 struct {
	s1, s2, half [8]float32
	gs           float32
}

// init fills k for the column thresholds beta (len 4) and gradient scale gs. It returns
// false when some βⱼ, rounded to float32, is positive but so small that 1/βⱼ overflows
// float32; the scalar loop handles those.
func (k *cols4) init(beta []float64, gs float32) bool {
	const big = 0x1p127
	for j, b64 := range beta[:4] {
		b := float32(b64)
		s1, s2, half := float32(big), float32(big), float32(0)
		if b != 0 {
			inv := 1 / b
			if b*inv < 1 {
				inv = math.Nextafter32(inv, float32(math.Inf(1)))
			}
			if math.IsInf(float64(inv), 0) {
				return false
			}
			s1, s2, half = inv, 1, 0.5*b
		}
		for _, o := range [2]int{0, 4} {
			k.s1[o+j], k.s2[o+j], k.half[o+j] = s1, s2, half
		}
	}
	k.gs = gs
	return true
}

// smoothL1Cols4Go is the portable kernel: it returns Σ ℓ over pred − target, with
// element i in column i%4, and writes grad when it is not nil. The assembly computes
// the same elements with the same float32 operations, so the same bits.
func smoothL1Cols4Go(k *cols4, grad, pred, target []float32) float64 {
	s10, s11, s12, s13 := k.s1[0], k.s1[1], k.s1[2], k.s1[3]
	s20, s21, s22, s23 := k.s2[0], k.s2[1], k.s2[2], k.s2[3]
	h0, h1, h2, h3 := k.half[0], k.half[1], k.half[2], k.half[3]
	gs := k.gs
	var sum0, sum1, sum2, sum3 float64
	target = target[:len(pred)]
	if grad != nil {
		grad = grad[:len(pred)]
	}
	i := 0
	for ; i+4 <= len(pred); i += 4 {
		p, t := pred[i:i+4:i+4], target[i:i+4:i+4]
		d0, d1, d2, d3 := p[0]-t[0], p[1]-t[1], p[2]-t[2], p[3]-t[3]
		c0 := min(max(d0*s10*s20, -1), 1)
		c1 := min(max(d1*s11*s21, -1), 1)
		c2 := min(max(d2*s12*s22, -1), 1)
		c3 := min(max(d3*s13*s23, -1), 1)
		sum0 += float64(c0 * (d0 - h0*c0))
		sum1 += float64(c1 * (d1 - h1*c1))
		sum2 += float64(c2 * (d2 - h2*c2))
		sum3 += float64(c3 * (d3 - h3*c3))
		if grad != nil {
			g := grad[i : i+4 : i+4]
			g[0], g[1], g[2], g[3] = c0*gs, c1*gs, c2*gs, c3*gs
		}
	}
	for ; i < len(pred); i++ { // a fixed-β tail: all columns are equal
		j := i & 3
		d := pred[i] - target[i]
		c := min(max(d*k.s1[j]*k.s2[j], -1), 1)
		sum0 += float64(c * (d - k.half[j]*c))
		if grad != nil {
			grad[i] = c * gs
		}
	}
	return (sum0 + sum1) + (sum2 + sum3)
}
