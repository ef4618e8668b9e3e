package static

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/smoothl1/smoothl1/internal/simd"
)

func mustSmoothL1(t testing.TB, beta float64) SmoothL1 {
	t.Helper()
	l, err := NewSmoothL1(beta)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustHuber(t testing.TB, delta float64) Huber {
	t.Helper()
	l, err := NewHuber(delta)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustBalanced(t testing.TB, alpha, gamma, beta float64) BalancedL1 {
	t.Helper()
	l, err := NewBalancedL1(alpha, gamma, beta)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// balancedClosedForm is Balanced L1 written straight from the formula (math.Exp and
// math.Log rather than Expm1 and Log1p), independent of the package's code.
func balancedClosedForm(alpha, gamma, beta, d float64) float64 {
	b := math.Exp(gamma/alpha) - 1
	x := math.Abs(d)
	if x < beta {
		return alpha/b*(b*x+1)*math.Log(b*x/beta+1) - alpha*x
	}
	return gamma*x + gamma/b - alpha*beta
}

// Values and derivatives at chosen points, from the closed forms by hand; exact in
// float64 unless tol says otherwise.
func TestScalar(t *testing.T) {
	b := math.Expm1(3) // Balanced L1 defaults: γ/α = 3
	for _, tc := range []struct {
		name     string
		l        Loss
		d        float64
		v, g     float64
		tol      float64
		fromWhat string
	}{
		{"l1 at 0", L1{}, 0, 0, 0, 0, "sign(0) = 0"},
		{"l1 negative", L1{}, -2.5, 2.5, -1, 0, "|d|"},
		{"l2", L2{}, -3, 4.5, -3, 0, "½d²"},
		{"smoothl1 β=1 inside", mustSmoothL1(t, 1), 0.5, 0.125, 0.5, 0, "½d²/β"},
		{"smoothl1 β=1 at +β", mustSmoothL1(t, 1), 1, 0.5, 1, 0, "boundary: outer gradient exactly 1"},
		{"smoothl1 β=1 at −β", mustSmoothL1(t, 1), -1, 0.5, -1, 0, "boundary: outer gradient exactly −1"},
		{"smoothl1 β=1 outside", mustSmoothL1(t, 1), -3, 2.5, -1, 0, "|d| − ½β"},
		{"smoothl1 β=1/9 at β", mustSmoothL1(t, 1.0/9), 1.0 / 9, 1.0 / 18, 1, 1e-16, "boundary"},
		{"smoothl1 β=0 at 0", mustSmoothL1(t, 0), 0, 0, 0, 0, "exact L1; torch 1.13 gives −1"},
		{"smoothl1 β=0", mustSmoothL1(t, 0), 1e-300, 1e-300, 1, 0, "exact L1 even for tiny d"},
		{"smoothl1 β=1e-6 inside", mustSmoothL1(t, 1e-6), 5e-7, 1.25e-7, 0.5, 1e-22, "½d²/β"},
		{"smoothl1 β=1e-300 at 0", mustSmoothL1(t, 1e-300), 0, 0, 0, 0, "no 0/0"},
		{"smoothl1 β=1e-300 inside", mustSmoothL1(t, 1e-300), 5e-301, 1.25e-301, 0.5, 1e-310, "½d²/β, no overflow"},
		{"huber δ=2 inside", mustHuber(t, 2), 1, 0.5, 1, 0, "½d²"},
		{"huber δ=2 at δ", mustHuber(t, 2), -2, 2, -2, 0, "δ(|d| − ½δ)"},
		{"huber δ=2 outside", mustHuber(t, 2), 3, 4, 2, 0, "δ(|d| − ½δ)"},
		{"balanced at 0", mustBalanced(t, 0.5, 1.5, 1), 0, 0, 0, 0, "ℓ(0) = 0"},
		{"balanced at β", mustBalanced(t, 0.5, 1.5, 1), 1, 1.5 + 1.5/b - 0.5, 1.5, 1e-15, "γβ + γ/b − αβ; α ln(b+1) = γ"},
		{"balanced outside", mustBalanced(t, 0.5, 1.5, 1), -2, 3 + 1.5/b - 0.5, -1.5, 1e-15, "γ|d| + γ/b − αβ"},
		{"balanced inside β=1", mustBalanced(t, 0.5, 1.5, 1), 0.25, balancedClosedForm(0.5, 1.5, 1, 0.25), 0.5 * math.Log(b*0.25+1), 1e-15, "paper: ℓ' = α ln(b|d| + 1)"},
	} {
		v, g := tc.l.Value(tc.d), tc.l.Deriv(tc.d)
		if math.Abs(v-tc.v) > tc.tol || math.Abs(g-tc.g) > tc.tol {
			t.Errorf("%s (%s): %v at %v: value %v deriv %v, want %v %v", tc.name, tc.fromWhat, tc.l, tc.d, v, g, tc.v, tc.g)
		}
	}
}

// The identities of doc.go on random residuals and thresholds (seeded).
func TestIdentities(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-14*math.Max(1, math.Abs(b)) }
	for range 20000 {
		d := rng.NormFloat64() * math.Pow(10, rng.Float64()*4-2)
		p := math.Pow(10, rng.Float64()*6-3) // β or δ in [1e-3, 1e3]
		h, s := mustHuber(t, p), mustSmoothL1(t, p)
		if v, w := h.Value(d), p*s.Value(d); !close(v, w) {
			t.Fatalf("Huber_%v(%v) = %v, δ·SmoothL1_δ = %v", p, d, v, w)
		}
		if v, w := h.Deriv(d), p*s.Deriv(d); !close(v, w) {
			t.Fatalf("Huber'_%v(%v) = %v, δ·SmoothL1'_δ = %v", p, d, v, w)
		}
		one := mustSmoothL1(t, 1)
		if v, w := s.Value(d), p*one.Value(d/p); !close(v, w) {
			t.Fatalf("SmoothL1_%v(%v) = %v, β·SmoothL1_1(d/β) = %v", p, d, v, w)
		}
		if v, w := s.Deriv(d), one.Deriv(d/p); !close(v, w) {
			t.Fatalf("SmoothL1'_%v(%v) = %v, SmoothL1'_1(d/β) = %v", p, d, v, w)
		}
	}
}

// kinks returns the points where l's derivative is not continuous.
func kinks(l Loss) []float64 {
	switch l := l.(type) {
	case L1:
		return []float64{0}
	case SmoothL1:
		return []float64{-l.Beta(), 0, l.Beta()} // 0: the β = 0 kink
	case Huber:
		return []float64{-l.Delta(), l.Delta()}
	case BalancedL1:
		return []float64{-l.Beta(), 0, l.Beta()}
	}
	return nil
}

// Central finite differences of Value against Deriv, for every loss, at random points at
// least 1e-3 away from the kinks. Step 1e-6: truncation O(h²·ℓ”') and rounding
// O(ε·ℓ/h) are both below the 1e-6 relative tolerance.
func TestFiniteDifferences(t *testing.T) {
	losses := []Loss{L1{}, L2{}, mustSmoothL1(t, 0), mustSmoothL1(t, 1e-2), mustSmoothL1(t, 1.0/9),
		mustSmoothL1(t, 1), mustSmoothL1(t, 5), mustHuber(t, 0.5), mustHuber(t, 2),
		mustBalanced(t, 0.5, 1.5, 1), mustBalanced(t, 0.5, 1.5, 0.11), mustBalanced(t, 1, 2, 2)}
	rng := rand.New(rand.NewPCG(3, 4))
	const h = 1e-6
	for _, l := range losses {
		checked := 0
		for checked < 2000 {
			d := rng.NormFloat64() * 3
			if rng.IntN(2) == 0 {
				d *= 0.1
			}
			near := false
			for _, k := range kinks(l) {
				near = near || math.Abs(d-k) < 1e-3
			}
			if near {
				continue
			}
			checked++
			fd := (l.Value(d+h) - l.Value(d-h)) / (2 * h)
			if g := l.Deriv(d); math.Abs(fd-g) > 1e-6*math.Max(1, math.Abs(g)) {
				t.Errorf("%v at %v: Deriv %v, finite difference %v", l, d, g, fd)
			}
		}
	}
}

// Continuity at |d| = β (δ): the value on both sides converges to the value at the
// boundary, and each side is on its own branch (a β that flips them).
func TestContinuityAtThreshold(t *testing.T) {
	for _, l := range []Loss{mustSmoothL1(t, 1e-6), mustSmoothL1(t, 1.0/9), mustSmoothL1(t, 1),
		mustSmoothL1(t, 5), mustHuber(t, 0.5), mustHuber(t, 2), mustBalanced(t, 0.5, 1.5, 1),
		mustBalanced(t, 0.5, 1.5, 0.11)} {
		var outer float64 // the outer gradient at and beyond the threshold
		switch l := l.(type) {
		case SmoothL1:
			outer = 1
		case Huber:
			outer = l.Delta()
		case BalancedL1:
			outer = l.Gamma()
		}
		k := kinks(l)[len(kinks(l))-1]
		for _, s := range []float64{1, -1} {
			at := l.Value(s * k)
			in, out := math.Nextafter(k, 0), math.Nextafter(k, math.Inf(1))
			// One ulp step of d moves the value by about the slope times that step.
			tol := 2e-16*math.Max(1, at) + 1.01*outer*(out-in)
			below, above := l.Value(s*in), l.Value(s*out)
			if math.Abs(below-at) > tol || math.Abs(above-at) > tol {
				t.Errorf("%v at %v: value %v, just inside %v, just outside %v", l, s*k, at, below, above)
			}
		}
		// Branch checks.
		if g := l.Deriv(k); g != outer {
			t.Errorf("%v: Deriv at threshold %v = %v, want exactly %v", l, k, g, outer)
		}
		if g := l.Deriv(-k); g != -outer {
			t.Errorf("%v: Deriv at −threshold = %v, want exactly %v", l, g, -outer)
		}
	}
	// Smooth L1 and Huber are C¹: the inner gradient meets the outer one. Balanced L1
	// with β ≠ 1 jumps by α(1 − β)/(β(b + 1)), as mmdetection's formula does.
	for _, tc := range []struct {
		l    Loss
		jump float64
	}{
		{mustSmoothL1(t, 1.0/9), 0},
		{mustHuber(t, 2), 0},
		{mustBalanced(t, 0.5, 1.5, 1), 0},
		{mustBalanced(t, 0.5, 1.5, 0.11), 0.5 * 0.89 / (0.11 * math.Exp(3))},
	} {
		k := kinks(tc.l)[len(kinks(tc.l))-1]
		in := tc.l.Deriv(math.Nextafter(k, 0))
		if got := in - tc.l.Deriv(k); math.Abs(got-tc.jump) > 1e-9 {
			t.Errorf("%v: derivative jump at threshold %v, want %v", tc.l, got, tc.jump)
		}
	}
}

// Balanced L1 against the independent closed form, on random points and parameters.
func TestBalancedL1ClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		alpha := 0.1 + rng.Float64()*2
		gamma := 0.1 + rng.Float64()*3
		beta := 0.01 + rng.Float64()*3
		l := mustBalanced(t, alpha, gamma, beta)
		d := rng.NormFloat64() * beta * 2
		// Expm1/Log1p vs Exp/Log: the inner branch loses digits to cancellation near 0.
		want := balancedClosedForm(alpha, gamma, beta, d)
		if got := l.Value(d); math.Abs(got-want) > 1e-12*(alpha+gamma)*(1+math.Abs(d)) {
			t.Fatalf("%v at %v: %v, closed form %v", l, d, got, want)
		}
	}
}

// β → 0 and β = 0: exact L1 at β = 0, tiny β never NaN, in float64 and float32, in the
// scalar form, Eval and the column kernel.
func TestTinyBeta(t *testing.T) {
	ds := []float64{0, math.Copysign(0, -1), 1e-320, -1e-300, 1e-45, 1e-20, -1e-6, 5e-7, 1, -1e300}
	for _, beta := range []float64{0, 1e-300, 1e-50, 1e-40, 1e-30, 1e-6} {
		l := mustSmoothL1(t, beta)
		for _, d := range ds {
			v, g := l.Value(d), l.Deriv(d)
			if math.IsNaN(v) || math.IsNaN(g) || math.Abs(g) > 1 || v < 0 {
				t.Errorf("β=%v at %v: value %v, deriv %v", beta, d, v, g)
			}
			if beta == 0 && (v != math.Abs(d) || g != float64(sign(d))) {
				t.Errorf("β=0 at %v: value %v, deriv %v, want L1", d, v, g)
			}
		}
		checkNoNaN[float64](t, l, ds)
		checkNoNaN[float32](t, l, ds)
	}
}

func checkNoNaN[T Float](t *testing.T, l SmoothL1, ds []float64) {
	t.Helper()
	n := 64 * len(ds) // long enough for the assembly kernel
	pred, target, grad := make([]T, n), make([]T, n), make([]T, n)
	for i := range pred {
		pred[i] = T(ds[i%len(ds)])
	}
	for _, eval := range []func() (float64, error){
		func() (float64, error) { return Eval(l, Sum, grad, nil, pred, target, nil) },
		func() (float64, error) {
			b := l.Beta()
			return SmoothL1Columns([]float64{b, 0, b, 1}, Sum, grad, nil, pred[:n/4*4], target[:n/4*4], nil)
		},
	} {
		v, err := eval()
		if err != nil || math.IsNaN(v) {
			t.Errorf("%T %v: loss %v, %v", T(0), l, v, err)
		}
		for i, g := range grad {
			if math.IsNaN(float64(g)) || math.Abs(float64(g)) > 1 {
				t.Errorf("%T %v: grad[%d] = %v at d = %v", T(0), l, i, g, pred[i])
			}
			if pred[i] == 0 && g != 0 {
				t.Errorf("%T %v: grad[%d] = %v at d = 0", T(0), l, i, g)
			}
		}
	}
}

// NaN residuals propagate to value and gradient, in every path.
func TestNaNPropagates(t *testing.T) {
	nan := math.NaN()
	for _, l := range []Loss{L1{}, L2{}, mustSmoothL1(t, 0), mustSmoothL1(t, 1), mustHuber(t, 1), mustBalanced(t, 0.5, 1.5, 1)} {
		if v, g := l.Value(nan), l.Deriv(nan); !math.IsNaN(v) || !math.IsNaN(g) {
			t.Errorf("%v at NaN: %v %v", l, v, g)
		}
	}
	for _, kernel := range append(simd.Kernels(), "go") {
		restore := simd.Use(kernel)
		pred := make([]float32, 64)
		pred[37] = float32(nan)
		grad := make([]float32, 64)
		v, _ := SmoothL1Columns([]float64{0, 0.1, 1, 2}, Mean, grad, nil, pred, make([]float32, 64), nil)
		if !math.IsNaN(v) || !math.IsNaN(float64(grad[37])) || math.IsNaN(float64(grad[36])) {
			t.Errorf("%s: NaN residual gave loss %v grad %v", kernel, v, grad[36:38])
		}
		restore()
	}
}

// Mean of an empty input: 0, not NaN (documented deviation from torch).
func TestEmptyMean(t *testing.T) {
	for _, l := range []Loss{L1{}, mustSmoothL1(t, 1), mustHuber(t, 1)} {
		for _, r := range []Reduction{Mean, Sum, None} {
			if v, err := Eval[float32](l, r, []float32{}, nil, nil, nil, nil); v != 0 || err != nil {
				t.Errorf("%v %v of empty: %v, %v", l, r, v, err)
			}
		}
	}
	if v, err := SmoothL1Columns[float64]([]float64{1, 1, 1, 1}, Mean, nil, nil, nil, nil, nil); v != 0 || err != nil {
		t.Errorf("columns mean of empty: %v, %v", v, err)
	}
}

// Weights: nil is the same as all ones; Mean divides by the element count, not by Σw;
// values get the weighted element losses whatever the reduction.
func TestWeightsAndReductions(t *testing.T) {
	pred := []float64{0.5, -2, 3, 0.05}
	target := []float64{0, 0, 1, 0}
	w := []float64{1, 0, 2, 4}
	l := mustSmoothL1(t, 0.1)
	var sum, wsum float64
	for i := range pred {
		v := l.Value(pred[i] - target[i])
		sum += v
		wsum += w[i] * v
	}
	ones := []float64{1, 1, 1, 1}
	for _, tc := range []struct {
		r       Reduction
		weights []float64
		want    float64
		gscale  float64
	}{
		{Mean, nil, sum / 4, 0.25}, {Mean, ones, sum / 4, 0.25}, {Mean, w, wsum / 4, 0.25},
		{Sum, nil, sum, 1}, {Sum, w, wsum, 1}, {None, w, wsum, 1},
	} {
		grad, values := make([]float64, 4), make([]float64, 4)
		got, err := Eval(l, tc.r, grad, values, pred, target, tc.weights)
		if err != nil || math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%v weights %v: %v (%v), want %v", tc.r, tc.weights, got, err, tc.want)
		}
		for i := range grad {
			wi := 1.0
			if tc.weights != nil {
				wi = tc.weights[i]
			}
			d := pred[i] - target[i]
			if grad[i] != wi*l.Deriv(d)*tc.gscale || values[i] != wi*l.Value(d) {
				t.Errorf("%v weights %v: grad[%d] %v values[%d] %v", tc.r, tc.weights, i, grad[i], i, values[i])
			}
		}
	}
}

// Columns: each column is Smooth L1 with its β; β = 0 columns are exact L1.
func TestColumnsMatchPerColumnEval(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, D := range []int{1, 3, 4, 5} {
		beta := []float64{0, 0.11, 1, 2.5, 1e-6}[:D]
		N := 50
		pred, target, w := make([]float64, N*D), make([]float64, N*D), make([]float64, N*D)
		for i := range pred {
			pred[i], target[i], w[i] = rng.NormFloat64(), rng.NormFloat64()*0.5, rng.Float64()
		}
		pred[0] = target[0] // d = 0 in column 0
		for _, weights := range [][]float64{nil, w} {
			grad, values := make([]float64, N*D), make([]float64, N*D)
			got, err := SmoothL1Columns(beta, Mean, grad, values, pred, target, weights)
			if err != nil {
				t.Fatal(err)
			}
			want := 0.0
			for i := range pred {
				l := mustSmoothL1(t, beta[i%D])
				wi := 1.0
				if weights != nil {
					wi = weights[i]
				}
				d := pred[i] - target[i]
				want += wi * l.Value(d)
				if math.Abs(grad[i]-wi*l.Deriv(d)/float64(N*D)) > 1e-16 || math.Abs(values[i]-wi*l.Value(d)) > 1e-15 {
					t.Errorf("D=%d: element %d: grad %v values %v", D, i, grad[i], values[i])
				}
			}
			if math.Abs(got-want/float64(N*D)) > 1e-14 {
				t.Errorf("D=%d: mean %v, want %v", D, got, want/float64(N*D))
			}
		}
	}
}

// A Loss from outside the package goes through Value and Deriv; a pointer to one of
// ours keeps its own kernel.
type cubic struct{}

func (cubic) Name() string            { return "cubic" }
func (cubic) String() string          { return "cubic" }
func (cubic) Value(d float64) float64 { return d * d * d / 3 }
func (cubic) Deriv(d float64) float64 { return d * d }
func TestForeignAndPointerLoss(t *testing.T) {
	pred, target := []float32{1, 2, 3}, []float32{0, 0, 0}
	grad := make([]float32, 3)
	v, err := Eval(cubic{}, Sum, grad, nil, pred, target, nil)
	if err != nil || math.Abs(v-12) > 1e-6 || grad[2] != 9 {
		t.Errorf("cubic: %v %v %v", v, grad, err)
	}
	l := mustSmoothL1(t, 1)
	a, _ := Eval[float32](l, Mean, nil, nil, pred, target, nil)
	b, _ := Eval[float32](&l, Mean, nil, nil, pred, target, nil)
	if a != b || a != (0.5+1.5+2.5)/3 {
		t.Errorf("value %v pointer %v", a, b)
	}
	if _, err := Eval[float32](&Huber{}, Mean, nil, nil, pred, target, nil); err == nil {
		t.Error("zero *Huber accepted")
	}
}

// Types defined on float32 use the same code.
type myFloat float32

func TestDefinedFloatType(t *testing.T) {
	pred := []myFloat{0.5, -3, 0, 2, 1, 1, 1, 1}
	target := make([]myFloat, 8)
	grad := make([]myFloat, 8)
	v, err := SmoothL1Columns([]float64{1, 1, 1, 1}, Sum, grad, nil, pred, target, nil)
	if err != nil || v != 0.125+2.5+0+1.5+4*0.5 || grad[1] != -1 || grad[0] != 0.5 {
		t.Errorf("myFloat: %v %v %v", v, grad, err)
	}
}
