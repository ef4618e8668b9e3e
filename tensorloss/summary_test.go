package tensorloss

// Tests of the statistics on tensors against the pure-Go path (dynamic.Summarize, and a
// scheduler fed by it), which is the expected value throughout.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// pureSummary is dynamic.Summarize on in rounded to dtype k.
func pureSummary(in ltInputs, k gotch.DType, req dynamic.Requirement) dynamic.Summary {
	var s dynamic.Summary
	if k == gotch.Float {
		dynamic.Summarize(ltConv[float32](in.pred), ltConv[float32](in.target), in.d, req, &s)
	} else {
		dynamic.Summarize(ltConv[float64](in.pred), ltConv[float64](in.target), in.d, req, &s)
	}
	return s
}

func tensorSummary(t *testing.T, in ltInputs, k gotch.DType, req dynamic.Requirement, e Engine) dynamic.Summary {
	t.Helper()
	var s dynamic.Summary
	ltDo(t, func() error {
		shape := []int64{int64(in.n), int64(in.d)}
		p := ltTensor(in.pred, shape, k)
		y := ltTensor(in.target, shape, k)
		defer p.MustDrop()
		defer y.MustDrop()
		return SummarizeTensor(p, y, req, e, &s)
	})
	return s
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / max(math.Abs(a), math.Abs(b))
}

// TestSummarizeTensorMatchesSummarize: counts and smallest values equal, moments to 1e-14
// relative (EngineTorch sums in another order) or exactly (EngineGo), on batches with
// non-finite rows (the slow path), one row, none, and exact zeros.
func TestSummarizeTensorMatchesSummarize(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	rng := rand.New(rand.NewPCG(21, 22))
	random := func(n int, bad int) ltInputs {
		in := ltBatch(rng, n, 4, nil, "none")
		for i := 0; i < bad; i++ {
			in.target[(3*i+1)%n*4+i%4] = []float64{nan, inf, -inf}[i%3]
		}
		return in
	}
	huge := func(in ltInputs) ltInputs {
		for i, v := range []float64{1.3e154, 1e200, -1e300, math.MaxFloat64, 4e134} {
			in.pred[(37*i+5)%in.n*4+i%4] = v
		}
		return in
	}
	hand := ltInputs{n: 4, d: 4, // rows of |d|: (0.1 0.3 1 1), (0.2 0.2 3 3), NaN, (0.4 0 2 2), as dynamic's test
		pred:   []float64{0.1, -0.3, 1, 1, 0.2, 0.2, 3, -3, nan, 0, 0, 0, 0.4, 0, 2, 2},
		target: make([]float64, 16)}
	batches := []struct {
		name string
		in   ltInputs
	}{
		{"hand", hand},
		{"random", random(300, 0)},
		{"random with bad rows", random(300, 7)},
		{"large", random(5000, 4)}, // several refreshes of the smallest-value bound
		{"all rows bad", random(3, 3)},
		{"huge finite rows", huge(random(300, 2))}, // above stats.MaxAbs: skipped like NaN
		{"one row", random(1, 0)},
		{"empty", ltInputs{n: 0, d: 4}},
		{"d=2", ltInputs{n: 3, d: 2, pred: []float64{1, 2, 3, 4, 5, 6}, target: []float64{0, 0, 1, 1, 7, 7}}},
	}
	reqs := []dynamic.Requirement{{Moments: true}, {K: 2}, {K: 10}, {Moments: true, K: 500}, {}}
	for _, b := range batches {
		for _, req := range reqs {
			for _, e := range []Engine{EngineGo, EngineTorch} {
				for _, k := range ltDTypes {
					t.Run(fmt.Sprintf("%s/%+v/%v/%s", b.name, req, e, dtypeName(k)), func(t *testing.T) {
						want := pureSummary(b.in, k, req)
						got := tensorSummary(t, b.in, k, req, e)
						if err := got.Validate(); err != nil {
							t.Fatal(err)
						}
						gm, wm := &got.Moments, &want.Moments
						if gm.Count != wm.Count || gm.Skipped != wm.Skipped || gm.Dim() != wm.Dim() {
							t.Fatalf("count, skipped, D = %d, %d, %d, want %d, %d, %d", gm.Count, gm.Skipped, gm.Dim(), wm.Count, wm.Skipped, wm.Dim())
						}
						if got.K != want.K || !slices.Equal(got.Smallest, want.Smallest) {
							t.Errorf("K, Smallest = %d, %v, want %d, %v", got.K, got.Smallest, want.K, want.Smallest)
						}
						if !req.Moments {
							return
						}
						tol := 1e-14
						if e == EngineGo {
							tol = 0
						}
						for j := range wm.Mean {
							if relDiff(gm.Mean[j], wm.Mean[j]) > tol || relDiff(gm.M2[j], wm.M2[j]) > tol {
								t.Errorf("column %d: mean, M2 = %v, %v, want %v, %v", j, gm.Mean[j], gm.M2[j], wm.Mean[j], wm.M2[j])
							}
						}
					})
				}
			}
		}
	}
}

// TestSummarizeTensorErrors: a smallest-value requirement on one column, and the Go engine on
// a tensor that is not contiguous (it copies: same summary as the contiguous batch).
func TestSummarizeTensorErrors(t *testing.T) {
	in := ltInputs{n: 3, d: 1, pred: []float64{1, 2, 3}, target: []float64{0, 0, 0}}
	for _, e := range []Engine{EngineGo, EngineTorch} {
		var s dynamic.Summary
		err := tt.Do(func() error {
			p := ltTensor(in.pred, []int64{3, 1}, gotch.Float)
			defer p.MustDrop()
			return SummarizeTensor(p, p, dynamic.Requirement{K: 1}, e, &s)
		})
		if !errors.Is(err, ErrShape) {
			t.Errorf("%v: K = 1 with D = 1: got %v, want ErrShape", e, err)
		}
	}
	var got dynamic.Summary
	ltDo(t, func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		p := tmp.Add(ltTensor([]float64{1, 5, 2, 6, 3, 7, 4, 8}, []int64{4, 2}, gotch.Float))
		pt := tmp.Add(tt.Must(p.T(false))) // [2, 4], not contiguous
		y := tmp.Add(tt.Must(ts.Zeros([]int64{2, 4}, gotch.Float, gotch.CPU)))
		return SummarizeTensor(pt, y, dynamic.Requirement{Moments: true}, EngineGo, &got)
	})
	want := pureSummary(ltInputs{n: 2, d: 4, pred: []float64{1, 2, 3, 4, 5, 6, 7, 8}, target: make([]float64, 8)}, gotch.Float, dynamic.Requirement{Moments: true})
	if !slices.Equal(got.Moments.Mean, want.Moments.Mean) || !slices.Equal(got.Moments.M2, want.Moments.M2) {
		t.Errorf("transposed batch: %+v, want %+v", got.Moments, want.Moments)
	}
}

// traceStream returns steps random batches of sizes drawn from sizes, with some rows
// poisoned by NaN or ±Inf and some exact zero residuals, as dynamic's tests do.
func traceStream(rng *rand.Rand, steps, d int, sizes []int) []ltInputs {
	out := make([]ltInputs, steps)
	for s := range out {
		n := sizes[rng.IntN(len(sizes))]
		in := ltInputs{n: n, d: d, pred: make([]float64, n*d), target: make([]float64, n*d)}
		scale := 0.02 + 0.3*rng.Float64()
		for i := range in.pred {
			in.target[i] = 0.3 * rng.NormFloat64()
			in.pred[i] = in.target[i] + scale*rng.NormFloat64()
			if rng.IntN(40) == 0 {
				in.pred[i] = in.target[i]
			}
		}
		for i := range n {
			if rng.IntN(25) == 0 {
				in.pred[i*d+rng.IntN(d)] = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]
			}
		}
		out[s] = in
	}
	return out
}

// TestBetaTraceMatchesPureGo: one scheduler fed by DynamicLoss.Forward and a twin fed by
// dynamic.Summarize + Observe on the same stream give the same β at every step. EngineGo runs
// the very same Go code, so the traces are equal; EngineTorch sums in another order, and its
// traces agree to 1e-12 relative for float32 inputs as for float64 ones, since the residual
// is formed in the input's dtype on both paths and the statistics are float64 on both.
func TestBetaTraceMatchesPureGo(t *testing.T) {
	schedulers := []struct {
		name string
		make func() dynamic.Scheduler
	}{
		{"sasl var", func() dynamic.Scheduler {
			return must(dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{BetaMax: 0.5}, 4))
		}},
		{"sasl std", func() dynamic.Scheduler {
			return must(dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{BetaMax: 0.5, Spread: dynamic.SpreadStd}, 4))
		}},
		{"sasl shared var", func() dynamic.Scheduler {
			return must(dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{BetaMax: 0.5, Shared: true}, 4))
		}},
		{"sasl shared std", func() dynamic.Scheduler {
			return must(dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{BetaMax: 0.5, Shared: true, Spread: dynamic.SpreadStd}, 4))
		}},
		{"dsl", func() dynamic.Scheduler {
			return must(dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{K: 3, Interval: 4}, 4))
		}},
		{"dsl residual", func() dynamic.Scheduler {
			return must(dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{K: 3, Interval: 4, Source: dynamic.Residual}, 4))
		}},
		{"dsl per image", func() dynamic.Scheduler {
			return must(dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{K: 3, Interval: 4}, 4))
		}},
		{"fixed", func() dynamic.Scheduler { return must(dynamic.NewFixed(0.2, 4)) }},
	}
	stream := traceStream(rand.New(rand.NewPCG(23, 24)), 40, 4, []int{0, 1, 2, 3, 17, 300})
	for _, sc := range schedulers {
		for _, e := range []Engine{EngineGo, EngineTorch} {
			for _, k := range ltDTypes {
				t.Run(fmt.Sprintf("%s/%v/%s", sc.name, e, dtypeName(k)), func(t *testing.T) {
					tensorSched, pureSched := sc.make(), sc.make()
					l := newTestDynamic(t, tensorSched, static.Mean, e, formAuto)
					images := 0
					if sc.name == "dsl per image" { // k = K × 3 images
						images = 3
						if err := l.SetImages(images); err != nil {
							t.Fatal(err)
						}
					}
					tol := 1e-12
					if e == EngineGo {
						tol = 0
					}
					var worst float64
					var beta []float64
					changed := false
					for step, in := range stream {
						if _, _, err := ltRun(l, in, k); err != nil {
							t.Fatalf("step %d: %v", step, err)
						}
						req := pureSched.Requirement()
						req.K *= max(1, images)
						sum := pureSummary(in, k, req)
						sum.Images = images
						if err := pureSched.Observe(&sum); err != nil {
							t.Fatalf("step %d: pure Observe: %v", step, err)
						}
						prev := append([]float64(nil), beta...)
						beta = pureSched.Beta(beta)
						changed = changed || (step > 0 && !slices.Equal(prev, beta))
						got := l.LastBeta()
						for j := range beta {
							worst = max(worst, relDiff(got[j], beta[j]))
						}
						if worst > tol {
							t.Fatalf("step %d: β = %v, pure-Go %v (relative difference %g > %g)", step, got, beta, worst, tol)
						}
						ls := l.LastSummary()
						if ls.Moments.Count != sum.Moments.Count || ls.Moments.Skipped != sum.Moments.Skipped || !slices.Equal(ls.Smallest, sum.Smallest) {
							t.Fatalf("step %d: summary %+v, pure-Go %+v", step, ls, sum)
						}
					}
					if got, want := tensorSched.Counts(), pureSched.Counts(); got != want {
						t.Errorf("counts %+v, pure-Go %+v", got, want)
					}
					if !changed && sc.name != "fixed" {
						t.Errorf("β never changed: the stream does not exercise the scheduler")
					}
					t.Logf("largest relative difference %g", worst)
				})
			}
		}
	}
}
