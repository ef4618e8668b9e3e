package torchthread

// These tests prove the torch stack this project builds on: gotch v0.9.1 compiled against the
// libtorch that scripts/setup.sh found (Debian's 1.13 with the compat header, or 2.1), with every
// call on the torch thread. Each expected value is computed independently in Go.

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

func do(t *testing.T, fn func() error) {
	t.Helper()
	if err := Do(fn); err != nil {
		t.Fatal(err)
	}
}

func randSlice(r *rand.Rand, n int, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64() * scale
	}
	return x
}

func values(x *ts.Tensor) []float64 { return x.Float64Values() }

func TestElementwise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b := randSlice(r, 64, 2), randSlice(r, 64, 2)
	do(t, func() error {
		ta, err := ts.OfSlice(a)
		if err != nil {
			return err
		}
		tb, err := ts.OfSlice(b)
		if err != nil {
			return err
		}
		cases := []struct {
			name string
			op   func() (*ts.Tensor, error)
			want func(x, y float64) float64
		}{
			{"add", func() (*ts.Tensor, error) { return ta.Add(tb, false) }, func(x, y float64) float64 { return x + y }},
			{"sub", func() (*ts.Tensor, error) { return ta.Sub(tb, false) }, func(x, y float64) float64 { return x - y }},
			{"mul", func() (*ts.Tensor, error) { return ta.Mul(tb, false) }, func(x, y float64) float64 { return x * y }},
			{"abs", func() (*ts.Tensor, error) { return ta.Abs(false) }, func(x, _ float64) float64 { return math.Abs(x) }},
			{"exp", func() (*ts.Tensor, error) { return ta.Exp(false) }, func(x, _ float64) float64 { return math.Exp(x) }},
			{"clamp", func() (*ts.Tensor, error) {
				return ta.Clamp(ts.FloatScalar(-1), ts.FloatScalar(0.5), false)
			}, func(x, _ float64) float64 { return math.Min(math.Max(x, -1), 0.5) }},
		}
		for _, c := range cases {
			out, err := c.op()
			if err != nil {
				return err
			}
			got := values(out)
			out.MustDrop()
			for i := range a {
				if want := c.want(a[i], b[i]); math.Abs(got[i]-want) > 1e-12*math.Max(1, math.Abs(want)) {
					t.Errorf("%s[%d] = %v, want %v", c.name, i, got[i], want)
				}
			}
		}
		ta.MustDrop()
		tb.MustDrop()
		return nil
	})
}

// smoothL1 is the closed form of REFERENCE.md §1, written here independently of static.
func smoothL1(d, beta float64) float64 {
	if a := math.Abs(d); a < beta {
		return 0.5 * d * d / beta
	} else {
		return a - 0.5*beta
	}
}

func TestNativeSmoothL1AgainstFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pred, target := randSlice(r, 400, 1), randSlice(r, 400, 1)
	for _, beta := range []float64{1.0 / 9, 0.5, 1, 2} {
		do(t, func() error {
			p, err := ts.OfSlice(pred)
			if err != nil {
				return err
			}
			y, err := ts.OfSlice(target)
			if err != nil {
				return err
			}
			none, err := p.SmoothL1Loss(y, 0, beta, false) // reduction 0: none
			if err != nil {
				return err
			}
			mean, err := p.SmoothL1Loss(y, 1, beta, false) // reduction 1: mean
			if err != nil {
				return err
			}
			got, gotMean := values(none), values(mean)[0]
			var sum float64
			for i := range pred {
				want := smoothL1(pred[i]-target[i], beta)
				sum += want
				if math.Abs(got[i]-want) > 1e-12 {
					t.Errorf("beta=%v: loss[%d] = %v, want %v", beta, i, got[i], want)
				}
			}
			if want := sum / float64(len(pred)); math.Abs(gotMean-want) > 1e-12 {
				t.Errorf("beta=%v: mean = %v, want %v", beta, gotMean, want)
			}
			for _, x := range []*ts.Tensor{p, y, none, mean} {
				x.MustDrop()
			}
			return nil
		})
	}
}

func TestAutogradGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x0, y0 := randSlice(r, 100, 1), randSlice(r, 100, 1)
	const beta = 0.5
	do(t, func() error {
		x, err := ts.OfSlice(x0)
		if err != nil {
			return err
		}
		x = x.MustSetRequiresGrad(true, true)
		y, err := ts.OfSlice(y0)
		if err != nil {
			return err
		}
		loss, err := x.SmoothL1Loss(y, 2, beta, false) // reduction 2: sum
		if err != nil {
			return err
		}
		if err := loss.Backward(); err != nil {
			return err
		}
		g, err := x.Grad(false)
		if err != nil {
			return err
		}
		got := values(g)
		for i := range x0 {
			d := x0[i] - y0[i]
			want := math.Copysign(1, d) // outside: ±1
			if math.Abs(d) < beta {
				want = d / beta
			}
			if math.Abs(got[i]-want) > 1e-12 {
				t.Errorf("grad[%d] = %v, want %v (d = %v)", i, got[i], want, d)
			}
		}
		for _, v := range []*ts.Tensor{x, y, loss, g} {
			v.MustDrop()
		}
		return nil
	})
}

// fitLinear trains y = x·w + b on noiseless data with the given optimizer and returns the final
// mean squared error. Each step is its own Do call from a goroutine that yields between steps,
// which is what lets Go move an unpinned goroutine between OS threads.
func fitLinear(t *testing.T, opt nn.OptimizerConfig, lr float64, steps int) (float64, error) {
	const n, in = 64, 3
	wTrue := []float64{1.5, -2, 0.5}
	const bTrue = 0.3
	r := rand.New(rand.NewPCG(7, 8))
	xs := make([]float32, n*in)
	ys := make([]float32, n)
	for i := 0; i < n; i++ {
		s := bTrue
		for j := 0; j < in; j++ {
			v := r.NormFloat64()
			xs[i*in+j] = float32(v)
			s += v * wTrue[j]
		}
		ys[i] = float32(s)
	}
	var (
		vs   *nn.VarStore
		lin  *nn.Linear
		o    *nn.Optimizer
		x, y *ts.Tensor
	)
	err := Do(func() error {
		vs = nn.NewVarStore(gotch.CPU)
		lin = nn.NewLinear(vs.Root(), in, 1, nn.DefaultLinearConfig())
		var err error
		if o, err = opt.Build(vs, lr); err != nil {
			return err
		}
		if x, err = ts.NewTensorFromData(xs, []int64{n, in}); err != nil {
			return err
		}
		y, err = ts.NewTensorFromData(ys, []int64{n, 1})
		return err
	})
	if err != nil {
		return 0, err
	}
	var last float64
	for step := 0; step < steps; step++ {
		runtime.Gosched()
		err := Do(func() error {
			pred := lin.Forward(x)
			loss, err := pred.MseLoss(y, 1, false)
			if err != nil {
				return err
			}
			if err := o.BackwardStep(loss); err != nil {
				return err
			}
			last = values(loss)[0]
			pred.MustDrop()
			loss.MustDrop()
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	Do(func() error {
		x.MustDrop()
		y.MustDrop()
		vs.Destroy()
		return nil
	})
	return last, nil
}

// TestLinearFit runs the SGD and Adam fits 20 times each, two at a time from separate
// goroutines, so a grad-mode or lifetime race shows up as a failure rather than as luck.
func TestLinearFit(t *testing.T) {
	const repeats = 20
	opts := []struct {
		name  string
		cfg   nn.OptimizerConfig
		lr    float64
		steps int
	}{
		{"sgd", nn.NewSGDConfig(0.9, 0, 0, false), 0.05, 150},
		{"adam", nn.DefaultAdamConfig(), 0.05, 300},
	}
	for _, o := range opts {
		t.Run(o.name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make([]error, repeats)
			losses := make([]float64, repeats)
			for i := 0; i < repeats; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					losses[i], errs[i] = fitLinear(t, o.cfg, o.lr, o.steps)
				}()
				if i%2 == 1 {
					wg.Wait()
				}
			}
			wg.Wait()
			for i := range errs {
				if errs[i] != nil {
					t.Fatalf("run %d: %v", i, errs[i])
				}
				if !(losses[i] < 1e-4) {
					t.Errorf("run %d: final mse %v, want < 1e-4", i, losses[i])
				}
			}
		})
	}
}

func TestVarStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vs.gt")
	do(t, func() error {
		a := nn.NewVarStore(gotch.CPU)
		nn.NewLinear(a.Root().Sub("fc"), 5, 3, nn.DefaultLinearConfig())
		if err := a.Save(path); err != nil {
			return err
		}
		b := nn.NewVarStore(gotch.CPU)
		nn.NewLinear(b.Root().Sub("fc"), 5, 3, nn.DefaultLinearConfig())
		if err := b.Load(path); err != nil {
			return err
		}
		va, vb := a.Variables(), b.Variables()
		if len(va) != 2 || len(vb) != len(va) {
			t.Fatalf("variables: %d saved, %d loaded, want 2", len(va), len(vb))
		}
		for name, x := range va {
			y, ok := vb[name]
			if !ok {
				t.Fatalf("variable %q missing after load", name)
			}
			xv, yv := x.Float64Values(), y.Float64Values()
			for i := range xv {
				if xv[i] != yv[i] {
					t.Fatalf("%s[%d]: saved %v, loaded %v", name, i, xv[i], yv[i])
				}
			}
		}
		a.Destroy()
		b.Destroy()
		return nil
	})
}

// conv2dRef is a direct NCHW convolution (stride 1, padding p, no dilation).
func conv2dRef(x []float64, n, c, h, w int, k []float64, o, kh, kw, p int) ([]float64, int, int) {
	oh, ow := h+2*p-kh+1, w+2*p-kw+1
	out := make([]float64, n*o*oh*ow)
	for b := 0; b < n; b++ {
		for f := 0; f < o; f++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					var s float64
					for ch := 0; ch < c; ch++ {
						for u := 0; u < kh; u++ {
							for v := 0; v < kw; v++ {
								yi, xj := i+u-p, j+v-p
								if yi < 0 || yi >= h || xj < 0 || xj >= w {
									continue
								}
								s += x[((b*c+ch)*h+yi)*w+xj] * k[((f*c+ch)*kh+u)*kw+v]
							}
						}
					}
					out[((b*o+f)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return out, oh, ow
}

func TestConv2dForwardBackward(t *testing.T) {
	const n, c, h, w, o, kh, kw, p = 2, 3, 6, 5, 4, 3, 3, 1
	r := rand.New(rand.NewPCG(9, 10))
	x0 := randSlice(r, n*c*h*w, 1)
	k0 := randSlice(r, o*c*kh*kw, 1)
	// Weights of the scalar objective sum(out * g) give a non-trivial upstream gradient.
	want, oh, ow := conv2dRef(x0, n, c, h, w, k0, o, kh, kw, p)
	g0 := randSlice(r, len(want), 1)
	objective := func(x []float64) float64 {
		out, _, _ := conv2dRef(x, n, c, h, w, k0, o, kh, kw, p)
		var s float64
		for i := range out {
			s += out[i] * g0[i]
		}
		return s
	}
	do(t, func() error {
		x, err := ts.NewTensorFromData(x0, []int64{n, c, h, w})
		if err != nil {
			return err
		}
		x = x.MustSetRequiresGrad(true, true)
		k, err := ts.NewTensorFromData(k0, []int64{o, c, kh, kw})
		if err != nil {
			return err
		}
		g, err := ts.NewTensorFromData(g0, []int64{n, o, int64(oh), int64(ow)})
		if err != nil {
			return err
		}
		out, err := ts.Conv2d(x, k, ts.NewTensor(), []int64{1, 1}, []int64{p, p}, []int64{1, 1}, 1)
		if err != nil {
			return err
		}
		got := values(out)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-10 {
				t.Fatalf("conv2d out[%d] = %v, want %v", i, got[i], want[i])
			}
		}
		prod, err := out.Mul(g, false)
		if err != nil {
			return err
		}
		s, err := prod.Sum(gotch.Double, false)
		if err != nil {
			return err
		}
		if err := s.Backward(); err != nil {
			return err
		}
		gx, err := x.Grad(false)
		if err != nil {
			return err
		}
		grad := values(gx)
		// The objective is linear in x, so central differences are exact up to rounding.
		const eps = 1e-3
		for i := 0; i < len(x0); i += 7 {
			xp := append([]float64(nil), x0...)
			xm := append([]float64(nil), x0...)
			xp[i] += eps
			xm[i] -= eps
			fd := (objective(xp) - objective(xm)) / (2 * eps)
			if math.Abs(grad[i]-fd) > 1e-8 {
				t.Errorf("d objective / d x[%d] = %v, finite difference %v", i, grad[i], fd)
			}
		}
		for _, v := range []*ts.Tensor{x, k, g, out, prod, s, gx} {
			v.MustDrop()
		}
		return nil
	})
}

// TestMissingOpIsAnError checks that an op libtorch 1.13 lacks (mkldnn_rnn_layer, a oneDNN RNN
// kernel added in 2.0) comes back as a Go error that names it, not as a crash.
func TestMissingOpIsAnError(t *testing.T) {
	if LibtorchVersion() != "1.13" {
		t.Skipf("libtorch %s has every op gotch wraps", LibtorchVersion())
	}
	err := Do(func() error {
		x := ts.MustZeros([]int64{2, 1, 3}, gotch.Float, gotch.CPU)
		defer x.MustDrop()
		_, _, _, _, err := ts.MkldnnRnnLayer(x, x, x, x, x, x, x, false, []int64{1}, 2, 3, 1, true, false, false, false)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "mkldnn_rnn_layer is not available in libtorch 1.13") {
		t.Fatalf("mkldnn_rnn_layer on libtorch 1.13: got error %v, want one naming the op and the version", err)
	}
}

func TestPanicBecomesError(t *testing.T) {
	err := Do(func() error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v, want an error holding the panic value", err)
	}
	// The thread survives a panic.
	if err := Do(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestNestedDo(t *testing.T) {
	sentinel := errors.New("inner")
	err := Do(func() error {
		if !OnThread() {
			t.Error("OnThread() = false inside Do")
		}
		return Do(func() error { return sentinel })
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("nested Do returned %v, want the inner error", err)
	}
	if OnThread() {
		t.Error("OnThread() = true outside Do")
	}
}

func TestMustAndCheckEndDoWithTheError(t *testing.T) {
	sentinel := errors.New("gotch said no")
	reached := false
	err := Do(func() error {
		_ = Must(1, sentinel)
		reached = true
		return nil
	})
	if !errors.Is(err, sentinel) || reached {
		t.Fatalf("Must: got %v (reached %v), want the error and no further step", err, reached)
	}
	if err := Do(func() error { Check(sentinel); return nil }); err != sentinel {
		t.Fatalf("Check: got %v, want the error itself", err)
	}
	if v := Must(7, nil); v != 7 {
		t.Fatalf("Must(7, nil) = %v", v)
	}
}

func TestNoGrad(t *testing.T) {
	requires := func() bool {
		x := ts.MustOnes([]int64{2}, gotch.Float, gotch.CPU).MustSetRequiresGrad(true, true)
		y := Must(x.MulScalar(ts.FloatScalar(2), false))
		defer x.MustDrop()
		defer y.MustDrop()
		return y.MustRequiresGrad()
	}
	do(t, func() error {
		if !requires() {
			t.Error("grad mode off before NoGrad")
		}
		err := NoGrad(func() error {
			if requires() {
				t.Error("grad mode on inside NoGrad")
			}
			NoGrad(func() error { return nil })
			if requires() {
				t.Error("grad mode on after a nested NoGrad returned")
			}
			// gotch's VarStore creates variables inside gotch's own NoGrad, which ends by
			// switching grad mode on: a nested NoGrad switches it off again.
			vs := nn.NewVarStore(gotch.CPU)
			defer vs.Destroy()
			vs.Root().MustNewVar("w", []int64{2}, nn.NewUniformInit(-1, 1))
			if !requires() {
				t.Error("gotch's NoGrad did not switch grad mode on: this test no longer tests anything")
			}
			NoGrad(func() error {
				if requires() {
					t.Error("grad mode on inside a NoGrad nested after a VarStore call")
				}
				return nil
			})
			if requires() {
				t.Error("grad mode on after a nested NoGrad returned, after a VarStore call")
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !requires() {
			t.Error("grad mode still off after NoGrad")
		}
		return nil
	})
}
