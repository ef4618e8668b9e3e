package static

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/smoothl1/smoothl1/internal/simd"
)

// The golden files are written by testdata/gen_golden.py with PyTorch 1.13 (see its
// header); the tests only read them.

type goldenFile struct {
	Dtype               string       `json:"dtype"`
	TorchVersion        string       `json:"torch_version"`
	TorchEmptyMeanIsNaN bool         `json:"torch_empty_mean_is_nan"`
	Cases               []goldenCase `json:"cases"`
}

type goldenCase struct {
	Loss    string               `json:"loss"`
	Params  map[string]float64   `json:"params"`
	Torch   string               `json:"torch"`
	Pred    []float64            `json:"pred"`
	Target  []float64            `json:"target"`
	Weights []float64            `json:"weights"`
	Value   map[string][]float64 `json:"value"`
	Grad    map[string][]float64 `json:"grad"`
	WValue  map[string][]float64 `json:"wvalue"`
	WGrad   map[string][]float64 `json:"wgrad"`
}

func readGolden(t *testing.T, dtype string) goldenFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden_"+dtype+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.Dtype != dtype || len(g.Cases) == 0 {
		t.Fatalf("golden_%s.json: dtype %q, %d cases", dtype, g.Dtype, len(g.Cases))
	}
	return g
}

func (c goldenCase) loss(t *testing.T) Loss {
	t.Helper()
	var (
		l   Loss
		err error
	)
	switch c.Loss {
	case "l1":
		l = L1{}
	case "l2":
		l = L2{}
	case "smoothl1":
		l, err = NewSmoothL1(c.Params["beta"])
	case "huber":
		l, err = NewHuber(c.Params["delta"])
	case "balancedl1":
		l, err = NewBalancedL1(c.Params["alpha"], c.Params["gamma"], c.Params["beta"])
	default:
		t.Fatalf("unknown golden loss %q", c.Loss)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// tol is |got − want| ≤ atol + rtol·|want|.
type tol struct{ rtol, atol float64 }

func (tl tol) ok(got, want float64) bool {
	return math.Abs(got-want) <= tl.atol+tl.rtol*math.Abs(want)
}

// Tolerances against torch 1.13, per dtype (worst seen in brackets, from go test -v).
// Element values and gradients are computed in the dtype by both sides with the same
// formulas in a different operation order (d/β once vs ½·d·d/β; the D = 4 kernel
// multiplies by 1/β): a few ulp [f64 2.3e-16, f32 1.3e-7 relative]. Reduced float32
// values may differ more, torch summing in float32 and we in float64 [1.1e-7]. Balanced
// L1 subtracts two terms of size α|d| near d = 0, which torch's float32 does in float32
// and we in float64: an absolute floor of a few float32 ulp of the terms
// [f64 9.5e-15 rel, f32 1.9e-6 rel].
var goldenTol = map[string]struct{ elem, reduced, balanced tol }{
	"float64": {elem: tol{1e-15, 1e-300}, reduced: tol{1e-14, 1e-300}, balanced: tol{1e-13, 1e-14}},
	"float32": {elem: tol{5e-7, 1e-40}, reduced: tol{1e-6, 1e-40}, balanced: tol{4e-6, 2e-6}},
}

// Stats of the worst errors, for choosing the tolerances above (go test -v -run Golden).
type worst struct{ rel, abs float64 }

func (w *worst) add(got, want float64) {
	a := math.Abs(got - want)
	w.abs = max(w.abs, a)
	if want != 0 {
		w.rel = max(w.rel, a/math.Abs(want))
	}
}

func TestGolden(t *testing.T) {
	for _, dtype := range []string{"float64", "float32"} {
		g := readGolden(t, dtype)
		if !g.TorchEmptyMeanIsNaN {
			t.Errorf("%s: golden says torch's empty mean is not NaN: revisit the documented deviation", dtype)
		}
		for _, kernel := range append(simd.Kernels(), "go") {
			t.Run(dtype+"/"+kernel, func(t *testing.T) {
				defer simd.Use(kernel)()
				w := map[string]*worst{"elem": {}, "reduced": {}, "balanced": {}}
				for _, c := range g.Cases {
					if dtype == "float64" {
						checkGolden[float64](t, c, goldenTol[dtype], w)
					} else {
						checkGolden[float32](t, c, goldenTol[dtype], w)
					}
				}
				for k, v := range w {
					t.Logf("worst %s error vs torch %s: rel %.3g abs %.3g", k, g.TorchVersion, v.rel, v.abs)
				}
			})
		}
	}
}

func toT[T Float](x []float64) []T {
	out := make([]T, len(x))
	for i, v := range x {
		out[i] = T(v)
	}
	return out
}

func checkGolden[T Float](t *testing.T, c goldenCase, tl struct{ elem, reduced, balanced tol }, ws map[string]*worst) {
	t.Helper()
	l := c.loss(t)
	pred, target, weights := toT[T](c.Pred), toT[T](c.Target), toT[T](c.Weights)
	n := len(pred)
	elemTol, redTol := tl.elem, tl.reduced
	w, wr := ws["elem"], ws["reduced"]
	if c.Loss == "balancedl1" {
		elemTol, redTol = tl.balanced, tl.balanced
		w, wr = ws["balanced"], ws["balanced"]
	}
	// deviation reports whether element i is a documented deviation from torch:
	// smooth_l1_loss(beta=0) has gradient −1 at d = 0, ours 0.
	deviation := func(i int) bool {
		return c.Loss == "smoothl1" && c.Params["beta"] == 0 && pred[i] == target[i]
	}
	for _, r := range []Reduction{None, Mean, Sum} {
		for _, weighted := range []bool{false, true} {
			wantV, wantG := c.Value[r.String()], c.Grad[r.String()]
			var wts []T
			if weighted {
				wantV, wantG, wts = c.WValue[r.String()], c.WGrad[r.String()], weights
			}
			// Two calls: with values (scalar loop) and without (the float32 Smooth L1
			// kernel when unweighted).
			for _, withValues := range []bool{true, false} {
				name := fmt.Sprintf("%s %s weighted=%v values=%v", l, r, weighted, withValues)
				grad := make([]T, n)
				var values []T
				if withValues {
					values = make([]T, n)
				}
				got, err := Eval(l, r, grad, values, pred, target, wts)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				wantSum := 0.0
				if r == None {
					for _, v := range wantV {
						wantSum += v
					}
					if withValues {
						for i := range values {
							w.add(float64(values[i]), wantV[i])
							if !elemTol.ok(float64(values[i]), wantV[i]) {
								t.Errorf("%s: value[%d] = %v, torch %v (d = %v)", name, i, values[i], wantV[i], pred[i]-target[i])
							}
						}
					}
				} else {
					wantSum = wantV[0]
				}
				wr.add(got, wantSum)
				if !redTol.ok(got, wantSum) {
					t.Errorf("%s: reduced = %v, torch %v", name, got, wantSum)
				}
				for i := range grad {
					want := wantG[i]
					if deviation(i) {
						if !elemTol.ok(want, -gsOf(r, n)*wtOf(wts, i)) {
							t.Errorf("%s: torch grad[%d] at d = 0, β = 0 is %v, not the documented −1", name, i, want)
						}
						want = 0
					}
					w.add(float64(grad[i]), want)
					if !elemTol.ok(float64(grad[i]), want) {
						t.Errorf("%s: grad[%d] = %v, torch %v (d = %v)", name, i, grad[i], want, pred[i]-target[i])
					}
				}
			}
		}
	}
	if c.Loss == "smoothl1" {
		checkGoldenColumns(t, c.Params["beta"], c, pred, target, deviation, elemTol, redTol, w, wr)
	}
}

// checkGoldenColumns runs SmoothL1Columns with D = 4 equal columns on the first rows of
// the case (the D = 4 float32 kernel), against torch's unreduced values and gradients.
func checkGoldenColumns[T Float](t *testing.T, beta float64, c goldenCase, pred, target []T, deviation func(int) bool, elemTol, redTol tol, w, wr *worst) {
	t.Helper()
	n := len(pred) / 4 * 4
	grad := make([]T, n)
	got, err := SmoothL1Columns([]float64{beta, beta, beta, beta}, Sum, grad, nil, pred[:n], target[:n], nil)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for _, v := range c.Value["none"][:n] {
		want += v
	}
	wr.add(got, want)
	if !redTol.ok(got, want) {
		t.Errorf("columns β=%v: sum = %v, torch %v", beta, got, want)
	}
	for i, g := range grad {
		wg := c.Grad["none"][i]
		if deviation(i) {
			wg = 0
		}
		w.add(float64(g), wg)
		if !elemTol.ok(float64(g), wg) {
			t.Errorf("columns β=%v: grad[%d] = %v, torch %v", beta, i, g, wg)
		}
	}
}

func gsOf(r Reduction, n int) float64 {
	if r == Mean {
		return 1 / float64(n)
	}
	return 1
}

func wtOf[T Float](w []T, i int) float64 {
	if w == nil {
		return 1
	}
	return float64(w[i])
}
