package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sugarme/gotch/ts"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// refOptimizer is PyTorch's SGD and AdamW update written out in float64 Go, independently of
// the tensor code.
type refOptimizer struct {
	cfg    OptimizerConfig
	p      []float64
	m, v   []float64
	steps  int
	hasBuf bool
}

func (r *refOptimizer) step(g []float64, lr float64) { r.stepSkip(g, lr, nil) }

// stepSkip is step where the elements with skip[i] have no gradient: PyTorch leaves them and
// their state alone.
func (r *refOptimizer) stepSkip(g []float64, lr float64, skip []bool) {
	c := r.cfg
	r.steps++
	switch c.Kind {
	case SGD:
		for i := range r.p {
			if skip != nil && skip[i] {
				continue
			}
			d := g[i] + c.WeightDecay*r.p[i]
			if c.Momentum != 0 {
				if !r.hasBuf {
					r.m[i] = d
				} else {
					r.m[i] = c.Momentum*r.m[i] + d
				}
				d = r.m[i]
			}
			r.p[i] -= lr * d
		}
		r.hasBuf = true
	case AdamW:
		bc1 := 1 - math.Pow(c.Beta1, float64(r.steps))
		bc2 := 1 - math.Pow(c.Beta2, float64(r.steps))
		for i := range r.p {
			if skip != nil && skip[i] {
				continue
			}
			r.m[i] = c.Beta1*r.m[i] + (1-c.Beta1)*g[i]
			r.v[i] = c.Beta2*r.v[i] + (1-c.Beta2)*g[i]*g[i]
			r.p[i] = r.p[i]*(1-lr*c.WeightDecay) - lr*(r.m[i]/bc1)/(math.Sqrt(r.v[i]/bc2)+c.Eps)
		}
	}
}

func TestOptimizersMatchReference(t *testing.T) {
	cases := []struct {
		name string
		cfg  OptimizerConfig
	}{
		{"sgd plain", OptimizerConfig{Kind: SGD}},
		{"sgd momentum", OptimizerConfig{Kind: SGD, Momentum: 0.9}},
		{"sgd momentum wd", OptimizerConfig{Kind: SGD, Momentum: 0.8, WeightDecay: 0.01}},
		{"adamw", OptimizerConfig{Kind: AdamW}},
		{"adamw wd", OptimizerConfig{Kind: AdamW, WeightDecay: 0.05, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const n, steps = 7, 12
			r := rand.New(rand.NewPCG(3, 4))
			p0 := make([]float64, n)
			for i := range p0 {
				p0[i] = r.NormFloat64()
			}
			cfg, _ := c.cfg.resolve()
			ref := &refOptimizer{cfg: cfg, p: append([]float64(nil), p0...), m: make([]float64, n), v: make([]float64, n)}
			err := tt.Do(func() error {
				p := tt.Must(ts.NewTensorFromData(p0, []int64{n})).MustSetRequiresGrad(true, true)
				defer p.MustDrop()
				opt, err := NewOptimizer(c.cfg, []string{"p"}, []*ts.Tensor{p})
				if err != nil {
					return err
				}
				for s := 0; s < steps; s++ {
					// loss = Σ p·c, so the gradient is c.
					coef := make([]float64, n)
					for i := range coef {
						coef[i] = r.NormFloat64()
					}
					ct := tt.Must(ts.NewTensorFromData(coef, []int64{n}))
					tt.Check(opt.ZeroGrad())
					prod := tt.Must(p.Mul(ct, false))
					loss := tt.Must(prod.Sum(p.DType(), true))
					tt.Check(loss.Backward())
					lr := 0.05 * float64(s+1) / steps
					tt.Check(opt.Step(lr))
					ref.step(coef, lr)
					loss.MustDrop()
					ct.MustDrop()
					got := p.Float64Values()
					for i := range got {
						if math.Abs(got[i]-ref.p[i]) > 1e-12*math.Max(1, math.Abs(ref.p[i])) {
							return fmt.Errorf("step %d: p[%d] = %v, reference %v", s+1, i, got[i], ref.p[i])
						}
					}
				}
				return opt.Close()
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOptimizerFlatAndPerParameter checks both forms of the update against the reference on
// parameters of several shapes: the flat one (uniform parameters; the gradients adopted into
// one buffer after the first backward) and the per-parameter one (forced here; taken for mixed
// dtypes or devices). The last parameter is out of the loss for the first steps, so it has no
// gradient and the first updates take the per-parameter form in both; and ClipGradNorm's norm
// and clipping are checked against the reference's on every step.
// sumOfProducts returns Σⱼ sum(params[j]·coefs[j]) over the j with a coefficient (nil leaves
// params[j] out, without a gradient) and drops the coefficients: params[j]'s gradient is
// coefs[j] exactly.
func sumOfProducts(params, coefs []*ts.Tensor) *ts.Tensor {
	var loss *ts.Tensor
	for j, p := range params {
		if coefs[j] == nil {
			continue
		}
		term := tt.Must(tt.Must(p.Mul(coefs[j], false)).Sum(p.DType(), true))
		coefs[j].MustDrop()
		if loss == nil {
			loss = term
		} else {
			loss = tt.Must(loss.Add(term, true))
			term.MustDrop()
		}
	}
	return loss
}

func TestOptimizerFlatAndPerParameter(t *testing.T) {
	shapes := [][]int64{{5}, {2, 3}, {4, 1}}
	const steps, absent = 12, 3
	for _, c := range []OptimizerConfig{
		{Kind: SGD}, {Kind: SGD, Momentum: 0.9, WeightDecay: 0.01},
		{Kind: AdamW}, {Kind: AdamW, WeightDecay: 0.05, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6},
	} {
		for _, flat := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/wd=%v/flat=%v", c.Kind, c.WeightDecay, flat), func(t *testing.T) {
				r := rand.New(rand.NewPCG(5, 6))
				numel := func(s []int64) int {
					k := 1
					for _, d := range s {
						k *= int(d)
					}
					return k
				}
				var n int
				for _, s := range shapes {
					n += numel(s)
				}
				cfg, _ := c.resolve()
				ref := &refOptimizer{cfg: cfg, m: make([]float64, n), v: make([]float64, n)}
				err := tt.Do(func() error {
					var params []*ts.Tensor
					var names []string
					for j, s := range shapes {
						k := numel(s)
						v := make([]float64, k)
						for i := range v {
							v[i] = r.NormFloat64()
						}
						ref.p = append(ref.p, v...)
						params = append(params, tt.Must(ts.NewTensorFromData(v, s)).MustSetRequiresGrad(true, true))
						names = append(names, fmt.Sprint("p", j))
					}
					opt, err := NewOptimizer(c, names, params)
					if err != nil {
						return err
					}
					defer opt.Close()
					if !opt.uniform {
						return fmt.Errorf("parameters of one dtype and device are not uniform")
					}
					opt.uniform = flat
					// A parameter's C handle is shared (gotch's VarStore and the model hold
					// copies of its Tensor): the optimizer must write through it, never
					// replace it as gotch's in-place ops do.
					handles := make([]any, len(params))
					for j, p := range params {
						handles[j] = p.Ctensor()
					}
					for s := range steps {
						tt.Check(opt.ZeroGrad())
						coef := make([]float64, n)
						skip := make([]bool, n)
						coefs := make([]*ts.Tensor, len(params)) // nil: no gradient this step
						off := 0
						for j, p := range params {
							k := int(p.Numel())
							if j == len(params)-1 && s < absent {
								for i := off; i < off+k; i++ {
									skip[i] = true
								}
								continue
							}
							for i := off; i < off+k; i++ {
								coef[i] = 3 * r.NormFloat64()
							}
							coefs[j] = tt.Must(ts.NewTensorFromData(coef[off:off+k], shapes[j]))
							off += k
						}
						loss := sumOfProducts(params, coefs)
						tt.Check(loss.Backward())
						loss.MustDrop()
						// The reference's norm and clipping at 4.
						var sq float64
						for i := range coef {
							sq += coef[i] * coef[i]
						}
						wantNorm := math.Sqrt(sq)
						norm := tt.Must(opt.ClipGradNorm(4))
						if math.Abs(norm-wantNorm) > 1e-12*wantNorm {
							return fmt.Errorf("step %d: norm %v, reference %v", s+1, norm, wantNorm)
						}
						if wantNorm > 4 {
							for i := range coef {
								coef[i] *= 4 / (wantNorm + 1e-6)
							}
						}
						lr := 0.05 * float64(s+1) / steps
						tt.Check(opt.Step(lr))
						ref.stepSkip(coef, lr, skip)
						if got := opt.adopted; got != (flat && s >= absent) {
							return fmt.Errorf("step %d: gradients adopted %v", s+1, got)
						}
						off = 0
						for j, p := range params {
							if p.Ctensor() != handles[j] {
								return fmt.Errorf("step %d: the optimizer replaced %s's C handle", s+1, names[j])
							}
							got := p.Float64Values()
							g := tt.Must(p.Grad(false))
							var grad []float64
							if g.MustDefined() {
								grad = g.Float64Values()
							}
							g.MustDrop()
							for i := range got {
								want := ref.p[off+i]
								if math.Abs(got[i]-want) > 1e-12*math.Max(1, math.Abs(want)) {
									return fmt.Errorf("step %d: %s[%d] = %v, reference %v", s+1, names[j], i, got[i], want)
								}
								if grad != nil && math.Abs(grad[i]-coef[off+i]) > 1e-12*math.Max(1, math.Abs(coef[off+i])) {
									return fmt.Errorf("step %d: %s's gradient[%d] = %v, want %v", s+1, names[j], i, grad[i], coef[off+i])
								}
							}
							off += len(got)
						}
					}
					if flat {
						// The gradients are the flat buffer's views: clearing it clears them.
						tt.Check(opt.flatGrad.Fill_(ts.FloatScalar(7)))
						for _, p := range params {
							for _, v := range tt.Must(p.Grad(false)).Float64Values() {
								if v != 7 {
									return fmt.Errorf("a gradient does not share the flat buffer: %v", v)
								}
							}
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	err := tt.Do(func() error {
		a := tt.Must(ts.NewTensorFromData([]float64{3, 0}, []int64{2})).MustSetRequiresGrad(true, true)
		b := tt.Must(ts.NewTensorFromData([]float64{0, 0}, []int64{2})).MustSetRequiresGrad(true, true)
		opt, err := NewOptimizer(OptimizerConfig{Kind: SGD}, []string{"a", "b"}, []*ts.Tensor{a, b})
		if err != nil {
			return err
		}
		// loss = 3·a0 + 4·b1: gradients (3, 0) and (0, 4), global norm 5.
		w := tt.Must(ts.NewTensorFromData([]float64{3, 0}, []int64{2}))
		u := tt.Must(ts.NewTensorFromData([]float64{0, 4}, []int64{2}))
		la := tt.Must(a.Mul(w, false))
		lb := tt.Must(b.Mul(u, false))
		s := tt.Must(la.Add(lb, false))
		loss := tt.Must(s.Sum(a.DType(), false))
		tt.Check(loss.Backward())
		norm := tt.Must(opt.ClipGradNorm(1))
		if math.Abs(norm-5) > 1e-12 {
			t.Errorf("norm %v, want 5", norm)
		}
		ga := tt.Must(a.Grad(false)).Float64Values()
		gb := tt.Must(b.Grad(false)).Float64Values()
		want := 1 / (5 + 1e-6)
		if math.Abs(ga[0]-3*want) > 1e-12 || math.Abs(gb[1]-4*want) > 1e-12 || ga[1] != 0 || gb[0] != 0 {
			t.Errorf("clipped gradients %v %v, want (3, 0)/5 and (0, 4)/5", ga, gb)
		}
		// Under the limit nothing changes.
		if n := tt.Must(opt.ClipGradNorm(10)); math.Abs(n-1) > 1e-6 {
			t.Errorf("norm after clipping %v, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOptimizerConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  OptimizerConfig
		want string
	}{
		{"momentum 1", OptimizerConfig{Kind: SGD, Momentum: 1}, "Momentum"},
		{"negative wd", OptimizerConfig{Kind: SGD, WeightDecay: -1}, "WeightDecay"},
		{"beta1", OptimizerConfig{Kind: AdamW, Beta1: 1}, "Beta1"},
		{"beta2", OptimizerConfig{Kind: AdamW, Beta2: -0.1}, "Beta2"},
		{"eps", OptimizerConfig{Kind: AdamW, Eps: math.NaN()}, "Eps"},
		{"kind", OptimizerConfig{Kind: 7}, "unknown optimizer"},
	}
	for _, c := range cases {
		if _, err := c.cfg.resolve(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.want)
		}
	}
}

func TestSchedule(t *testing.T) {
	cases := []struct {
		name  string
		s     Schedule
		step  int64
		total int64
		want  float64
	}{
		{"warmup first", Schedule{Base: 1, Warmup: 4}, 0, 100, 0.25},
		{"warmup last", Schedule{Base: 1, Warmup: 4}, 3, 100, 1},
		{"constant", Schedule{Base: 0.5}, 50, 100, 0.5},
		{"step before", Schedule{Base: 1, Decay: StepDecay, Milestones: []int64{10, 20}}, 9, 100, 1},
		{"step one", Schedule{Base: 1, Decay: StepDecay, Milestones: []int64{10, 20}}, 10, 100, 0.1},
		{"step two", Schedule{Base: 1, Decay: StepDecay, Milestones: []int64{10, 20}, Gamma: 0.5}, 25, 100, 0.25},
		{"cosine start", Schedule{Base: 1, Warmup: 10, Decay: Cosine}, 10, 110, 1},
		{"cosine middle", Schedule{Base: 1, Warmup: 10, Decay: Cosine, MinLR: 0.1}, 60, 110, 0.55},
		{"cosine end", Schedule{Base: 1, Decay: Cosine}, 100, 100, 0},
	}
	for _, c := range cases {
		if err := c.s.Validate(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := c.s.LR(c.step, c.total); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: LR(%d) = %v, want %v (closed form)", c.name, c.step, got, c.want)
		}
	}
	for _, bad := range []Schedule{{Base: 0}, {Base: 1, Warmup: -1}, {Base: 1, Gamma: 2}, {Base: 1, MinLR: 2},
		{Base: 1, Milestones: []int64{5, 5}}, {Base: math.Inf(1)}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
