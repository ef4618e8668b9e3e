package tensorloss

// Tests of the tensor losses. Expected values come from package static (static.Eval and
// static.SmoothL1Columns on the same data in the same dtype), from central finite differences
// of the tensor loss itself, and from gotch's native smooth_l1_loss; each case says which.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// ltDo runs fn on the torch thread and fails the test on its error.
func ltDo(t testing.TB, fn func() error) {
	t.Helper()
	if err := tt.Do(fn); err != nil {
		t.Fatal(err)
	}
}

// ltTensor returns data as a tensor of the given shape and dtype (float32 or float64).
func ltTensor(data []float64, shape []int64, k gotch.DType) *ts.Tensor {
	if k == gotch.Float {
		f := make([]float32, len(data))
		for i, v := range data {
			f[i] = float32(v)
		}
		return tt.Must(ts.NewTensorFromData(f, shape))
	}
	return tt.Must(ts.NewTensorFromData(append([]float64(nil), data...), shape))
}

// ltValues copies x to the host as float64 (dropping its own temporary).
func ltValues(x *ts.Tensor) []float64 {
	x64 := tt.Must(x.Totype(gotch.Double, false))
	defer x64.MustDrop()
	out := make([]float64, x64.Numel())
	if len(out) > 0 {
		tt.Check(x64.CopyData(out, uint(len(out))))
	}
	return out
}

// ltInputs is one batch in float64, converted to the test's dtype for the tensors and for the
// reference alike.
type ltInputs struct {
	n, d                  int
	pred, target, weights []float64
	wshape                []int64 // nil: no weights
}

// ltTensors returns in's prediction (requiring grad), target and weights (nil without
// them) as tensors of dtype k, which tmp holds.
func ltTensors(tmp *tt.Scratch, in ltInputs, k gotch.DType) (p, y, w *ts.Tensor) {
	shape := []int64{int64(in.n), int64(in.d)}
	p0 := tmp.Add(ltTensor(in.pred, shape, k))
	p = tmp.Add(tt.Must(p0.SetRequiresGrad(true, false)))
	y = tmp.Add(ltTensor(in.target, shape, k))
	if in.wshape != nil {
		w = tmp.Add(ltTensor(in.weights, in.wshape, k))
	}
	return p, y, w
}

// ltRun runs l on in (dtype k) and returns the output's values and the gradient of
// sum(output) with respect to pred (so the gradient itself for Mean and Sum).
func ltRun(l Loss, in ltInputs, k gotch.DType) (values, grad []float64, err error) {
	err = tt.Do(func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		p, y, w := ltTensors(&tmp, in, k)
		out, err := l.Forward(p, y, w)
		if err != nil {
			return err
		}
		tmp.Add(out)
		values = ltValues(out)
		root := out
		if tt.Must(out.Size()); len(tt.Must(out.Size())) > 0 {
			root = tmp.Add(tt.Must(out.Sum(k, false)))
		}
		g := tt.Must(ts.RunBackward([]*ts.Tensor{root}, []*ts.Tensor{p}, false, false))
		tmp.Add(g[0])
		grad = ltValues(g[0])
		return nil
	})
	return values, grad, err
}

// ltRef is the pure-Go reference: static.Eval for a static loss, static.SmoothL1Columns for
// per-column β, computed in T on the inputs rounded to T, weights expanded to [N, D].
type ltRef struct {
	loss static.Loss
	beta []float64
}

func ltConv[T static.Float](x []float64) []T {
	if x == nil {
		return nil
	}
	out := make([]T, len(x))
	for i, v := range x {
		out[i] = T(v)
	}
	return out
}

func ltWiden[T static.Float](x []T) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// expandedWeights returns in's weights as [N·D] (nil without weights).
func (in ltInputs) expandedWeights() []float64 {
	if in.wshape == nil {
		return nil
	}
	if len(in.wshape) == 2 {
		return in.weights
	}
	w := make([]float64, in.n*in.d)
	for i := range w {
		w[i] = in.weights[i/in.d]
	}
	return w
}

func ltReference[T static.Float](ref ltRef, r static.Reduction, in ltInputs) (value float64, values, grad []float64, err error) {
	p, y, w := ltConv[T](in.pred), ltConv[T](in.target), ltConv[T](in.expandedWeights())
	g, v := make([]T, len(p)), make([]T, len(p))
	if ref.loss != nil {
		value, err = static.Eval(ref.loss, r, g, v, p, y, w)
	} else {
		value, err = static.SmoothL1Columns(ref.beta, r, g, v, p, y, w)
	}
	return value, ltWiden(v), ltWiden(g), err
}

func reference(ref ltRef, r static.Reduction, in ltInputs, k gotch.DType) (float64, []float64, []float64, error) {
	if k == gotch.Float {
		return ltReference[float32](ref, r, in)
	}
	return ltReference[float64](ref, r, in)
}

// ltCompare checks got against want element by element: |got − want| ≤ tol·(|want| + floor),
// floor = 1e-3·max|want| (the gradient of a kink-free element may be tiny next to the others).
func ltCompare(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var big float64
	for _, v := range want {
		big = max(big, math.Abs(v))
	}
	bad := 0
	for i := range want {
		if !(math.Abs(got[i]-want[i]) <= tol*(math.Abs(want[i])+1e-3*big)) {
			if bad++; bad <= 3 {
				t.Errorf("%s[%d] = %.17g, want %.17g (tolerance %g)", what, i, got[i], want[i], tol)
			}
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d of %d values out of tolerance", what, bad, len(want))
	}
}

// ltBatch returns a random batch with exact zeros of d, elements at |d| = thresholds, and
// weights of the given shape kind ("none", "rows", "elements").
func ltBatch(rng *rand.Rand, n, d int, thresholds []float64, wkind string) ltInputs {
	in := ltInputs{n: n, d: d, pred: make([]float64, n*d), target: make([]float64, n*d)}
	for i := range in.pred {
		in.target[i] = 0.5 * rng.NormFloat64()
		scale := []float64{0.01, 0.2, 1, 4}[rng.IntN(4)]
		in.pred[i] = in.target[i] + scale*rng.NormFloat64()
		switch rng.IntN(12) {
		case 0:
			in.pred[i] = in.target[i] // d = 0 exactly: L1's kink
		case 1:
			if len(thresholds) > 0 { // |d| = β exactly (representable: target 0)
				in.target[i] = 0
				in.pred[i] = thresholds[rng.IntN(len(thresholds))] * float64(1-2*rng.IntN(2))
			}
		}
	}
	switch wkind {
	case "rows":
		in.wshape = []int64{int64(n)}
		in.weights = make([]float64, n)
	case "elements":
		in.wshape = []int64{int64(n), int64(d)}
		in.weights = make([]float64, n*d)
	}
	for i := range in.weights {
		in.weights[i] = 0.5 + rng.Float64()
		if rng.IntN(8) == 0 {
			in.weights[i] = 0
		}
	}
	return in
}

var (
	ltDTypes     = []gotch.DType{gotch.Float, gotch.Double}
	ltReductions = []static.Reduction{static.Mean, static.Sum, static.None}
	ltWeightings = []string{"none", "rows", "elements"}
)

// ltTol is the tolerance against static of each dtype (the brief's): float64 to 1e-12,
// float32 to 1e-6.
func ltTol(k gotch.DType) float64 {
	if k == gotch.Float {
		return 1e-6
	}
	return 1e-12
}

func mustLoss[L static.Loss](l L, err error) static.Loss {
	if err != nil {
		panic(err)
	}
	return l
}

// TestStaticLossMatchesEval: every static loss on tensors against static.Eval on the same
// data (values and gradients), for both dtypes, all weightings and reductions.
func TestStaticLossMatchesEval(t *testing.T) {
	cases := []struct {
		name       string
		loss       static.Loss
		thresholds []float64
	}{
		{"l1", static.L1{}, nil},
		{"l2", static.L2{}, nil},
		{"smoothl1 beta=0", mustLoss(static.NewSmoothL1(0)), nil},
		{"smoothl1 beta=1e-6", mustLoss(static.NewSmoothL1(1e-6)), []float64{1e-6}},
		{"smoothl1 beta=1/9", mustLoss(static.NewSmoothL1(1.0 / 9)), []float64{1.0 / 9}},
		{"smoothl1 beta=1", mustLoss(static.NewSmoothL1(1)), []float64{1}},
		{"smoothl1 beta=5", mustLoss(static.NewSmoothL1(5)), []float64{5}},
		{"huber delta=0.5", mustLoss(static.NewHuber(0.5)), []float64{0.5}},
		{"huber delta=2", mustLoss(static.NewHuber(2)), []float64{2}},
		{"balancedl1 beta=1", mustLoss(static.NewBalancedL1(0.5, 1.5, 1)), []float64{1}},
		{"balancedl1 beta=0.11", mustLoss(static.NewBalancedL1(0.5, 1.5, 0.11)), []float64{0.11}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		for _, k := range ltDTypes {
			for _, wk := range ltWeightings {
				in := ltBatch(rng, 37, 4, c.thresholds, wk)
				for _, r := range ltReductions {
					t.Run(fmt.Sprintf("%s/%s/w=%s/%v", c.name, dtypeName(k), wk, r), func(t *testing.T) {
						l, err := NewStaticLoss(c.loss, r)
						if err != nil {
							t.Fatal(err)
						}
						checkAgainstStatic(t, l, ltRef{loss: c.loss}, r, in, k)
					})
				}
			}
		}
	}
}

// checkAgainstStatic compares l's values and gradients on in with the static reference.
func checkAgainstStatic(t *testing.T, l Loss, ref ltRef, r static.Reduction, in ltInputs, k gotch.DType) {
	t.Helper()
	values, grad, err := ltRun(l, in, k)
	if err != nil {
		t.Fatal(err)
	}
	value, wantValues, wantGrad, err := reference(ref, r, in, k)
	if err != nil {
		t.Fatal(err)
	}
	tol := ltTol(k)
	if r == static.None {
		ltCompare(t, "values", values, wantValues, tol)
	} else {
		ltCompare(t, "value", values, []float64{value}, tol)
	}
	ltCompare(t, "grad", grad, wantGrad, tol)
}

// columnsScheduler is a dynamic.Scheduler with a constant β per column, so that the tests
// choose per-column β (zero included) without a scheduler's dynamics.
type columnsScheduler struct {
	beta   []float64
	counts dynamic.Counts
}

func (s *columnsScheduler) Name() string                     { return fmt.Sprintf("columns:%v", s.beta) }
func (s *columnsScheduler) Dim() int                         { return len(s.beta) }
func (s *columnsScheduler) Requirement() dynamic.Requirement { return dynamic.Requirement{} }
func (s *columnsScheduler) Beta(dst []float64) []float64     { return append(dst[:0], s.beta...) }
func (s *columnsScheduler) Counts() dynamic.Counts           { return s.counts }
func (s *columnsScheduler) State() ([]byte, error)           { return nil, errors.New("no state") }
func (s *columnsScheduler) Restore(blob []byte) error        { return errors.New("no state") }
func (s *columnsScheduler) Observe(sum *dynamic.Summary) error {
	if err := sum.Validate(); err != nil {
		return err
	}
	s.counts.Batches++
	s.counts.SkippedRows += sum.Moments.Skipped
	return nil
}

// ltForms are the ways DynamicLoss applies β that each test runs: the engines' automatic
// choice and every form forced.
var ltForms = []struct {
	name   string
	engine Engine
	form   form
}{
	{"go/auto", EngineGo, formAuto},     // the kernel form
	{"go/kernel", EngineGo, formKernel}, // forced
	{"go/native", EngineGo, formNative}, // shared β only
	{"go/gradient", EngineGo, formGradient},
	{"torch/auto", EngineTorch, formAuto},
	{"torch/gradient", EngineTorch, formGradient},
}

func newTestDynamic(t testing.TB, s dynamic.Scheduler, r static.Reduction, engine Engine, f form) *DynamicLoss {
	t.Helper()
	l, err := NewDynamicLoss(s, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetEngine(engine); err != nil {
		t.Fatal(err)
	}
	l.form = f
	return l
}

// TestDynamicLossMatchesColumns: the dynamic loss with constant per-column β (shared or not,
// zero included) against static.SmoothL1Columns with the β it reports, for every form.
func TestDynamicLossMatchesColumns(t *testing.T) {
	betas := []struct {
		name string
		beta []float64
	}{
		{"shared 0", []float64{0, 0, 0, 0}},
		{"shared 1e-6", []float64{1e-6, 1e-6, 1e-6, 1e-6}},
		{"shared 1/9", []float64{1.0 / 9, 1.0 / 9, 1.0 / 9, 1.0 / 9}},
		{"shared 1", []float64{1, 1, 1, 1}},
		{"shared 5", []float64{5, 5, 5, 5}},
		{"columns", []float64{1.0 / 9, 1, 5, 1e-6}},
		{"columns with 0", []float64{0.2, 0, 1, 0}},
		// 1e-46 is 0 in float32 (the L1 branch), 1e-40 a subnormal whose inverse overflows.
		{"columns tiny", []float64{1e-46, 1e-40, 0.5, 1}},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, bc := range betas {
		for _, fc := range ltForms {
			if fc.form == formNative && !shared(bc.beta) {
				continue
			}
			for _, k := range ltDTypes {
				for _, wk := range ltWeightings {
					in := ltBatch(rng, 29, 4, bc.beta, wk)
					for _, r := range ltReductions {
						t.Run(fmt.Sprintf("%s/%s/%s/w=%s/%v", bc.name, fc.name, dtypeName(k), wk, r), func(t *testing.T) {
							l := newTestDynamic(t, &columnsScheduler{beta: bc.beta}, r, fc.engine, fc.form)
							checkAgainstStatic(t, l, ltRef{beta: bc.beta}, r, in, k)
							if got := l.LastBeta(); fmt.Sprint(got) != fmt.Sprint(bc.beta) {
								t.Errorf("LastBeta = %v, want %v", got, bc.beta)
							}
						})
					}
				}
			}
		}
	}
}

// TestDynamicLossWithSelfAdjusting: a real scheduler's β (per column, changing every step)
// reaches the loss: after each Forward the value and gradient are SmoothL1Columns's with
// LastBeta, on both engines.
func TestDynamicLossWithSelfAdjusting(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, e := range []Engine{EngineGo, EngineTorch} {
		for _, k := range ltDTypes {
			t.Run(fmt.Sprintf("%v/%s", e, dtypeName(k)), func(t *testing.T) {
				s, err := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{BetaMax: 0.5}, 4)
				if err != nil {
					t.Fatal(err)
				}
				l := newTestDynamic(t, s, static.Mean, e, formAuto)
				prev := []float64{}
				for step := 0; step < 4; step++ {
					in := ltBatch(rng, 50, 4, nil, "rows")
					for i := range in.pred { // residuals small enough that β is not clipped
						in.pred[i] = in.target[i] + 0.05*(in.pred[i]-in.target[i])
					}
					values, grad, err := ltRun(l, in, k)
					if err != nil {
						t.Fatal(err)
					}
					beta := l.LastBeta()
					if fmt.Sprint(beta) == fmt.Sprint(prev) {
						t.Errorf("step %d: β did not change: %v", step, beta)
					}
					prev = append(prev[:0], beta...)
					value, _, wantGrad, err := reference(ltRef{beta: beta}, static.Mean, in, k)
					if err != nil {
						t.Fatal(err)
					}
					ltCompare(t, "value", values, []float64{value}, ltTol(k))
					ltCompare(t, "grad", grad, wantGrad, ltTol(k))
				}
			})
		}
	}
}

// TestFiniteDifferences: gradients against central differences of the loss's own value, in
// float64, on random inputs kept 1e-3 away from every kink (d = 0, |d| = β).
func TestFiniteDifferences(t *testing.T) {
	const n, d, h = 5, 4, 1e-6
	cases := []struct {
		name  string
		loss  func() Loss
		kinks []float64
	}{
		{"l1", func() Loss { return must(NewStaticLoss(static.L1{}, static.Mean)) }, nil},
		{"l2", func() Loss { return must(NewStaticLoss(static.L2{}, static.Sum)) }, nil},
		{"smoothl1", func() Loss { return must(NewStaticLoss(mustLoss(static.NewSmoothL1(0.7)), static.Mean)) }, []float64{0.7}},
		{"huber", func() Loss { return must(NewStaticLoss(mustLoss(static.NewHuber(0.6)), static.Sum)) }, []float64{0.6}},
		{"balancedl1", func() Loss { return must(NewStaticLoss(mustLoss(static.NewBalancedL1(0.5, 1.5, 0.8)), static.Mean)) }, []float64{0.8}},
		{"dynamic go", func() Loss {
			return newTestDynamic(t, &columnsScheduler{beta: []float64{0.3, 0, 1.2, 0.05}}, static.Mean, EngineGo, formAuto)
		}, []float64{0.3, 1.2, 0.05}},
		{"dynamic torch", func() Loss {
			return newTestDynamic(t, &columnsScheduler{beta: []float64{0.3, 0, 1.2, 0.05}}, static.Sum, EngineTorch, formAuto)
		}, []float64{0.3, 1.2, 0.05}},
		{"dynamic torch shared", func() Loss {
			return newTestDynamic(t, &columnsScheduler{beta: []float64{0.4, 0.4, 0.4, 0.4}}, static.Mean, EngineTorch, formAuto)
		}, []float64{0.4}},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := ltInputs{n: n, d: d, pred: make([]float64, n*d), target: make([]float64, n*d)}
			for i := range in.pred {
				for {
					in.target[i] = rng.NormFloat64()
					in.pred[i] = in.target[i] + 1.5*rng.NormFloat64()
					if farFromKinks(in.pred[i]-in.target[i], c.kinks) {
						break
					}
				}
			}
			l := c.loss()
			_, grad, err := ltRun(l, in, gotch.Double)
			if err != nil {
				t.Fatal(err)
			}
			for i := range in.pred {
				at := func(delta float64) float64 {
					shifted := in
					shifted.pred = append([]float64(nil), in.pred...)
					shifted.pred[i] += delta
					v, _, err := ltRun(l, shifted, gotch.Double)
					if err != nil {
						t.Fatal(err)
					}
					return v[0]
				}
				fd := (at(h) - at(-h)) / (2 * h)
				if math.Abs(grad[i]-fd) > 1e-7*max(1, math.Abs(fd)) {
					t.Errorf("grad[%d] = %.12g, central difference %.12g", i, grad[i], fd)
				}
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func farFromKinks(d float64, kinks []float64) bool {
	if math.Abs(d) < 1e-3 {
		return false
	}
	for _, k := range kinks {
		if math.Abs(math.Abs(d)-k) < 1e-3 {
			return false
		}
	}
	return true
}

// TestFixedMatchesNative: with a dynamic.Fixed scheduler the loss's values and gradients are
// gotch's native SmoothL1Loss's (float32, to float32 precision), on both engines. β = 0 is
// included with no exact zero residual, where torch's gradient (−1 at d = 0) differs by design.
func TestFixedMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	in := ltBatch(rng, 64, 4, nil, "none")
	for i := range in.pred {
		if in.pred[i] == in.target[i] {
			in.pred[i] += 0.25
		}
	}
	for _, beta := range []float64{0, 1.0 / 9, 0.5, 1, 2} {
		for _, e := range []Engine{EngineGo, EngineTorch} {
			for _, r := range []static.Reduction{static.Mean, static.Sum} {
				t.Run(fmt.Sprintf("beta=%g/%v/%v", beta, e, r), func(t *testing.T) {
					s, err := dynamic.NewFixed(beta, 4)
					if err != nil {
						t.Fatal(err)
					}
					values, grad, err := ltRun(newTestDynamic(t, s, r, e, formAuto), in, gotch.Float)
					if err != nil {
						t.Fatal(err)
					}
					wantValues, wantGrad, err := ltRun(nativeSmoothL1{beta, r}, in, gotch.Float)
					if err != nil {
						t.Fatal(err)
					}
					ltCompare(t, "value", values, wantValues, 1e-6)
					ltCompare(t, "grad", grad, wantGrad, 1e-6)
				})
			}
		}
	}
}

// nativeSmoothL1 is gotch's SmoothL1Loss as a Loss, the reference of TestFixedMatchesNative.
type nativeSmoothL1 struct {
	beta float64
	r    static.Reduction
}

func (n nativeSmoothL1) Name() string { return "native" }
func (n nativeSmoothL1) Forward(pred, target, _ *ts.Tensor) (*ts.Tensor, error) {
	return pred.SmoothL1Loss(target, torchReduction(n.r), n.beta, false)
}

// TestEmptyBatch: N = 0 gives a zero loss that back-propagates an empty (zero) gradient and
// never NaN, for every loss, engine and scalar reduction; the scheduler counts the batch as
// empty. Expected values: static's documented empty mean (0).
func TestEmptyBatch(t *testing.T) {
	losses := []struct {
		name string
		loss func(r static.Reduction) Loss
	}{
		{"l1", func(r static.Reduction) Loss { return must(NewStaticLoss(static.L1{}, r)) }},
		{"l2", func(r static.Reduction) Loss { return must(NewStaticLoss(static.L2{}, r)) }},
		{"smoothl1", func(r static.Reduction) Loss { return must(NewStaticLoss(mustLoss(static.NewSmoothL1(0.11)), r)) }},
		{"huber", func(r static.Reduction) Loss { return must(NewStaticLoss(mustLoss(static.NewHuber(1)), r)) }},
		{"balancedl1", func(r static.Reduction) Loss {
			return must(NewStaticLoss(mustLoss(static.NewBalancedL1(0.5, 1.5, 1)), r))
		}},
	}
	for _, f := range ltForms {
		for _, sched := range []string{"sasl", "dsl", "fixed", "shared-sasl"} {
			losses = append(losses, struct {
				name string
				loss func(r static.Reduction) Loss
			}{fmt.Sprintf("%s/%s", sched, f.name), func(r static.Reduction) Loss {
				var s dynamic.Scheduler
				switch sched {
				case "sasl":
					s = must(dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, 4))
				case "shared-sasl":
					s = must(dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{Shared: true}, 4))
				case "dsl":
					s = must(dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{K: 3}, 4))
				default:
					s = must(dynamic.NewFixed(0.5, 4))
				}
				l := newTestDynamic(t, s, r, f.engine, f.form)
				if f.form == formNative && sched == "sasl" {
					l.form = formAuto // per-column β: the native form does not apply
				}
				return l
			}})
		}
	}
	in := ltInputs{n: 0, d: 4}
	for _, c := range losses {
		for _, r := range []static.Reduction{static.Mean, static.Sum} {
			for _, k := range ltDTypes {
				t.Run(fmt.Sprintf("%s/%v/%s", c.name, r, dtypeName(k)), func(t *testing.T) {
					l := c.loss(r)
					values, grad, err := ltRun(l, in, k)
					if err != nil {
						t.Fatal(err)
					}
					if len(values) != 1 || values[0] != 0 {
						t.Errorf("loss = %v, want [0]", values)
					}
					if len(grad) != 0 {
						t.Errorf("gradient = %v, want empty", grad)
					}
					if d, ok := l.(*DynamicLoss); ok {
						if c := d.Scheduler().Counts(); c.Batches != 1 || c.Empty != 1 {
							t.Errorf("counts = %+v, want one empty batch", c)
						}
					}
				})
			}
		}
	}
}

// TestNaNRows: rows holding NaN or ±Inf are excluded from the statistics and counted; the
// scheduler's state stays finite; the loss is NaN, as static's.
func TestNaNRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, e := range []Engine{EngineGo, EngineTorch} {
		for _, k := range ltDTypes {
			t.Run(fmt.Sprintf("%v/%s", e, dtypeName(k)), func(t *testing.T) {
				s := must(dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, 4))
				l := newTestDynamic(t, s, static.Mean, e, formAuto)
				var skipped int64
				for step, bad := range []int{0, 3, 1, 0, 5} {
					in := ltBatch(rng, 40, 4, nil, "none")
					for i := 0; i < bad; i++ {
						row := (7*i + step) % in.n
						in.pred[row*4+i%4] = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[i%3]
					}
					values, _, err := ltRun(l, in, k)
					if err != nil {
						t.Fatal(err)
					}
					skipped += int64(bad)
					if got := l.LastSummary().Moments.Skipped; got != int64(bad) {
						t.Errorf("step %d: Skipped = %d, want %d", step, got, bad)
					}
					if got := l.LastSummary().Moments.Count; got != int64(in.n-bad) {
						t.Errorf("step %d: Count = %d, want %d", step, got, in.n-bad)
					}
					if bad > 0 && !math.IsNaN(values[0]) {
						t.Errorf("step %d: loss = %v with non-finite rows, want NaN", step, values[0])
					}
				}
				for j := range 4 {
					if m, v := s.RunningMean()[j], s.RunningVar()[j]; math.IsNaN(m+v) || math.IsInf(m+v, 0) {
						t.Errorf("running mean, var [%d] = %v, %v", j, m, v)
					}
				}
				if got := s.Counts().SkippedRows; got != skipped {
					t.Errorf("SkippedRows = %d, want %d", got, skipped)
				}
				for _, b := range l.LastBeta() {
					if !(b > 0) {
						t.Errorf("β = %v", l.LastBeta())
					}
				}
			})
		}
	}
}

// TestInputErrors: bad inputs and options are errors that say what is wrong.
func TestInputErrors(t *testing.T) {
	sl := must(NewStaticLoss(static.L1{}, static.Mean))
	dl := func() Loss {
		return must(NewDynamicLoss(must(dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, 4)), static.Mean))
	}
	type shapes struct {
		pred, target, weights []int64
		k, wk                 gotch.DType
	}
	cases := []struct {
		name string
		loss Loss
		in   shapes
		is   error
		text string
	}{
		{"target columns", sl, shapes{pred: []int64{8, 4}, target: []int64{8, 3}}, ErrShape, "tensorloss: prediction [8 4] and target [8 3] differ"},
		{"target rows", dl(), shapes{pred: []int64{8, 4}, target: []int64{7, 4}}, ErrShape, "tensorloss: prediction [8 4] and target [7 4] differ"},
		{"prediction 1-D", sl, shapes{pred: []int64{8}, target: []int64{8}}, ErrShape, "tensorloss: prediction [8] is not [N, D]"},
		{"weights", sl, shapes{pred: []int64{8, 4}, target: []int64{8, 4}, weights: []int64{7}}, ErrShape, "weights [7] fit neither [N] = [8] nor [N D] = [8 4]"},
		{"weights 2-D", dl(), shapes{pred: []int64{8, 4}, target: []int64{8, 4}, weights: []int64{8, 1}}, ErrShape, "weights [8 1] fit neither"},
		{"scheduler D", dl(), shapes{pred: []int64{8, 3}, target: []int64{8, 3}}, ErrShape, "prediction [8 3] has D = 3, the scheduler sasl:"},
		{"dtype", sl, shapes{pred: []int64{8, 4}, target: []int64{8, 4}, wk: gotch.Double}, ErrDType, "prediction float32 and target float64 differ in dtype"},
		{"weights dtype", dl(), shapes{pred: []int64{8, 4}, target: []int64{8, 4}, weights: []int64{8}, k: gotch.Double}, ErrDType, "prediction float64 and weights float32 differ in dtype"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := tt.Do(func() error {
				var tmp tt.Scratch
				defer tmp.Drop()
				k := c.in.k
				if k == 0 {
					k = gotch.Float
				}
				other := k
				if c.in.wk != 0 {
					other = c.in.wk
				} else if c.name == "weights dtype" {
					other = gotch.Float
				}
				p := tmp.Add(tt.Must(ts.Zeros(c.in.pred, k, gotch.CPU)))
				ytype := k
				if c.name == "dtype" {
					ytype = other
				}
				y := tmp.Add(tt.Must(ts.Zeros(c.in.target, ytype, gotch.CPU)))
				var w *ts.Tensor
				if c.in.weights != nil {
					w = tmp.Add(tt.Must(ts.Ones(c.in.weights, other, gotch.CPU)))
				}
				out, err := c.loss.Forward(p, y, w)
				if err == nil {
					out.MustDrop()
				}
				return err
			})
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("got %v, want an error wrapping %v that contains %q", err, c.is, c.text)
			}
		})
	}
	t.Run("constructors", func(t *testing.T) {
		if _, err := NewStaticLoss(static.L1{}, static.Reduction(7)); !errors.Is(err, static.ErrUnknownReduction) {
			t.Errorf("NewStaticLoss with Reduction(7): %v", err)
		}
		s := must(dynamic.NewFixed(1, 4))
		if _, err := NewDynamicLoss(s, static.Reduction(-1)); !errors.Is(err, static.ErrUnknownReduction) {
			t.Errorf("NewDynamicLoss with Reduction(-1): %v", err)
		}
		if _, err := NewDynamicLoss(nil, static.Mean); err == nil {
			t.Error("NewDynamicLoss(nil) did not fail")
		}
		if _, err := NewStaticLoss(static.Huber{}, static.Mean); !errors.Is(err, static.ErrNonPositiveDelta) {
			t.Errorf("NewStaticLoss(zero Huber): %v", err)
		}
		l := must(NewDynamicLoss(s, static.Mean))
		if err := l.SetEngine(Engine(9)); err == nil {
			t.Error("SetEngine(9) did not fail")
		}
	})
}

// TestNames: the names the training loop logs.
func TestNames(t *testing.T) {
	for _, c := range []struct {
		loss Loss
		want string
	}{
		{must(NewStaticLoss(mustLoss(static.NewSmoothL1(0.11)), static.Mean)), "smoothl1:beta=0.11"},
		{must(NewStaticLoss(static.L2{}, static.Sum)), "l2"},
		{must(NewDynamicLoss(must(dynamic.NewFixed(0.5, 4)), static.Mean)), "fixed:beta=0.5"},
	} {
		if got := c.loss.Name(); got != c.want {
			t.Errorf("Name() = %q, want %q", got, c.want)
		}
	}
	if EngineAuto.String() != "auto" || EngineTorch.String() != "torch" || EngineGo.String() != "go" || Engine(7).String() != "Engine(7)" {
		t.Error("Engine.String")
	}
}

// TestNonContiguousInputs: a transposed (non-contiguous) prediction and target give the loss
// and gradient of their contiguous copies, in every form.
func TestNonContiguousInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	in := ltBatch(rng, 16, 4, nil, "none")
	for _, bc := range [][]float64{{0.3, 0.3, 0.3, 0.3}, {0.1, 0, 1, 0.5}} {
		for _, fc := range ltForms {
			if fc.form == formNative && !shared(bc) {
				continue
			}
			t.Run(fmt.Sprintf("%v/%s", bc, fc.name), func(t *testing.T) {
				l := newTestDynamic(t, &columnsScheduler{beta: bc}, static.Mean, fc.engine, fc.form)
				wantValues, wantGrad, err := ltRun(l, in, gotch.Float)
				if err != nil {
					t.Fatal(err)
				}
				var values, grad []float64
				ltDo(t, func() error {
					var tmp tt.Scratch
					defer tmp.Drop()
					// [D, N] tensors holding the transposed batch, viewed as [N, D].
					pt := make([]float64, len(in.pred))
					yt := make([]float64, len(in.pred))
					for i := range in.n {
						for j := range in.d {
							pt[j*in.n+i], yt[j*in.n+i] = in.pred[i*in.d+j], in.target[i*in.d+j]
						}
					}
					shape := []int64{int64(in.d), int64(in.n)}
					p0 := tmp.Add(ltTensor(pt, shape, gotch.Float))
					p1 := tmp.Add(tt.Must(p0.SetRequiresGrad(true, false)))
					p := tmp.Add(tt.Must(p1.T(false)))
					y0 := tmp.Add(ltTensor(yt, shape, gotch.Float))
					y := tmp.Add(tt.Must(y0.T(false)))
					out := tmp.Add(tt.Must(l.Forward(p, y, nil)))
					values = ltValues(out)
					g := tt.Must(ts.RunBackward([]*ts.Tensor{out}, []*ts.Tensor{p1}, false, false))
					tmp.Add(g[0])
					gt := tmp.Add(tt.Must(g[0].T(false)))
					gc := tmp.Add(tt.Must(gt.Contiguous(false)))
					grad = ltValues(gc)
					return nil
				})
				ltCompare(t, "value", values, wantValues, 1e-6)
				ltCompare(t, "grad", grad, wantGrad, 1e-6)
			})
		}
	}
}

// TestInjectedGradient: the gradient that the kernel and gradient forms put into the graph
// (inject) is the loss's gradient times the upstream gradient bit for bit (the loss scaled by
// 2.5, against 2.5 times the gradient of the unscaled loss, rounded once in the dtype as
// autograd's product is); a retained graph gives it again on a second backward; without grad
// mode the loss has no graph and the same value; and the value is static's even where the
// prediction is infinite (+Inf, not NaN).
func TestInjectedGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	beta := []float64{0.2, 0, 1, 0.05}
	in := ltBatch(rng, 19, 4, beta, "rows")
	for _, fc := range ltForms {
		if fc.form != formKernel && fc.form != formGradient {
			continue // the forms that inject (auto runs them too, for this per-column β)
		}
		for _, k := range ltDTypes {
			for _, r := range ltReductions {
				t.Run(fmt.Sprintf("%s/%s/%v", fc.name, dtypeName(k), r), func(t *testing.T) {
					l := newTestDynamic(t, &columnsScheduler{beta: beta}, r, fc.engine, fc.form)
					wantValues, wantGrad, err := ltRun(l, in, k)
					if err != nil {
						t.Fatal(err)
					}
					ltDo(t, func() error {
						var tmp tt.Scratch
						defer tmp.Drop()
						p, y, w := ltTensors(&tmp, in, k)
						out := tmp.Add(tt.Must(l.Forward(p, y, w)))
						total := tmp.Add(tt.Must(out.Sum(k, false)))
						scaled := tmp.Add(tt.Must(total.MulScalar(tmp.Scalar(2.5), false)))
						for pass := range 2 { // the first keeps the graph for the second
							g := tt.Must(ts.RunBackward([]*ts.Tensor{scaled}, []*ts.Tensor{p}, pass == 0, false))
							tmp.Add(g[0])
							got := ltValues(g[0])
							for i, v := range wantGrad {
								want := 2.5 * v
								if k == gotch.Float {
									want = float64(float32(2.5) * float32(v))
								}
								if got[i] != want {
									t.Fatalf("backward %d: grad[%d] = %v, want %v (2.5 × %v)", pass+1, i, got[i], want, v)
								}
							}
						}
						return tt.NoGrad(func() error {
							out := tmp.Add(tt.Must(l.Forward(p, y, w)))
							if tt.Must(out.RequiresGrad()) {
								t.Error("the loss requires grad without grad mode")
							}
							ltCompare(t, "value without grad mode", ltValues(out), wantValues, 0)
							return nil
						})
					})
				})
			}
		}
	}
	inf := in
	inf.pred = append([]float64(nil), in.pred...)
	inf.pred[5] = math.Inf(1)
	l := newTestDynamic(t, &columnsScheduler{beta: beta}, static.Sum, EngineGo, formKernel)
	values, _, err := ltRun(l, inf, gotch.Double)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(values[0], 1) {
		t.Errorf("kernel form: loss with an infinite prediction = %v, want +Inf (static's)", values[0])
	}
}
