package tensorloss

// Benchmarks of the Smooth L1 forms and of whole dynamic-loss steps on one libtorch thread,
// float32 [N, 4], forward and backward (autograd.grad of the loss with respect to pred, so
// that no .grad accumulates between iterations). Bytes per op: pred and target read once.
//
//	go test -run '^$' -bench '^BenchmarkLossRatios$/N=1e[56]$' -benchtime=20x ./tensorloss/
//	go test -run '^$' -bench '^BenchmarkLoss$/.*/N=1e[56]$' -benchtime=20x ./tensorloss/
//
// BenchmarkLossRatios runs every case once per iteration, interleaved, and reports each one's
// time over native smooth_l1_loss's as a metric, which is what to compare on a shared machine.

import (
	"fmt"
	"testing"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/internal/benchdata"
	"github.com/smoothl1/smoothl1/internal/testsupport/torchtest"
	"github.com/smoothl1/smoothl1/static"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

var lossBenchSizes = []struct {
	name string
	rows int64
}{{"N=1e3", 1e3}, {"N=1e4", 1e4}, {"N=1e5", 1e5}, {"N=1e6", 1e6}, {"N=1e7", 1e7}}

// benchColumnBeta is the per-column β of the form benchmarks (a SelfAdjusting-like spread).
var benchColumnBeta = []float64{0.11, 0.09, 0.07, 0.1}

// benchStep is one forward of a case; the caller back-propagates and drops its result.
type benchStep func(pred, target *ts.Tensor) (*ts.Tensor, error)

type benchCase struct {
	name string
	// setup returns the step of a fresh instance (schedulers start over for each size);
	// tensors it keeps across steps go to state, dropped when the benchmark ends.
	setup func(state *tt.Scratch) benchStep
}

func dynamicStep(s dynamic.Scheduler, e Engine, f form) benchStep {
	l := must(NewDynamicLoss(s, static.Mean))
	l.engine, l.form = e, f
	return func(p, y *ts.Tensor) (*ts.Tensor, error) { return l.Forward(p, y, nil) }
}

func sasl(shared bool) dynamic.Scheduler {
	return must(dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{Shared: shared}, 4))
}

func dsl() dynamic.Scheduler {
	return must(dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{}, 4))
}

// formCase applies a fixed β with one of the internal forms, without statistics.
func formCase(f form, beta []float64) func(*tt.Scratch) benchStep {
	return func(*tt.Scratch) benchStep {
		return func(p, y *ts.Tensor) (*ts.Tensor, error) {
			b, err := checkBatch(p, y, nil)
			if err != nil {
				return nil, err
			}
			if f != formKernel {
				return applyTorch(p, y, b, beta, static.Mean, f)
			}
			var tmp tt.Scratch
			defer tmp.Drop()
			ps := hostSlice[float32](p, b.numel(), &tmp)
			ys := hostSlice[float32](y, b.numel(), &tmp)
			return applyKernel(p, ps, ys, b, beta, static.Mean, &tmp)
		}
	}
}

// identityStep is SmoothL1_β(d) = β·SmoothL1_1(d/β) on the native op, per column: the residual
// and its scaling in the graph, the native loss on d/β against 0, each column weighted by β.
func identityStep(beta []float64) func(*tt.Scratch) benchStep {
	return func(*tt.Scratch) benchStep {
		return func(p, y *ts.Tensor) (*ts.Tensor, error) {
			var tmp tt.Scratch
			defer tmp.Drop()
			b := batch{dtype: gotch.Float, dev: gotch.CPU}
			row := tmp.Add(rowTensor(beta, b))
			zero := tmp.Add(tt.Must(ts.Zeros([]int64{1, 1}, gotch.Float, gotch.CPU)))
			d := tmp.Add(tt.Must(p.Sub(y, false)))
			x := tmp.Add(tt.Must(d.Div(row, false)))
			el := tmp.Add(tt.Must(x.SmoothL1Loss(zero, ts.ReductionNone, 1, false)))
			wl := tmp.Add(tt.Must(el.Mul(row, false)))
			return wl.Mean(gotch.Float, false)
		}
	}
}

func benchCases() []benchCase {
	native := func(*tt.Scratch) benchStep {
		return func(p, y *ts.Tensor) (*ts.Tensor, error) { return p.SmoothL1Loss(y, ts.ReductionMean, 0.11, false) }
	}
	return []benchCase{
		{"native", native},
		// β applied with a fixed per-column β (no statistics): the candidate forms.
		{"form=kernel", formCase(formKernel, benchColumnBeta)},
		{"form=gradient", formCase(formGradient, benchColumnBeta)},
		{"form=identity", identityStep(benchColumnBeta)},
		{"form=kernel-shared", formCase(formKernel, []float64{0.11, 0.11, 0.11, 0.11})},
		// Whole dynamic steps (statistics, Observe, loss), engine auto (Go on the CPU: the
		// kernel form); -native forces the native op for a shared β.
		{"sasl", func(*tt.Scratch) benchStep { return dynamicStep(sasl(false), EngineAuto, formAuto) }},
		{"sasl-shared", func(*tt.Scratch) benchStep { return dynamicStep(sasl(true), EngineAuto, formAuto) }},
		{"sasl-shared-native", func(*tt.Scratch) benchStep { return dynamicStep(sasl(true), EngineGo, formNative) }},
		{"dsl", func(*tt.Scratch) benchStep { return dynamicStep(dsl(), EngineAuto, formAuto) }},
		{"dsl-native", func(*tt.Scratch) benchStep { return dynamicStep(dsl(), EngineGo, formNative) }},
		{"fixed", func(*tt.Scratch) benchStep { return dynamicStep(must(dynamic.NewFixed(0.11, 4)), EngineAuto, formAuto) }},
		// The same on EngineTorch (libtorch ops only, any device).
		{"sasl-torch", func(*tt.Scratch) benchStep { return dynamicStep(sasl(false), EngineTorch, formAuto) }},
		{"sasl-shared-torch", func(*tt.Scratch) benchStep { return dynamicStep(sasl(true), EngineTorch, formAuto) }},
		{"dsl-torch", func(*tt.Scratch) benchStep { return dynamicStep(dsl(), EngineTorch, formAuto) }},
	}
}

// benchData returns pred (requiring grad) and target, float32 [rows, 4]: benchdata.Boxes.
func benchData(rows int64) (pred, target *ts.Tensor) {
	p, y := benchdata.Boxes(int(rows))
	p0 := tt.Must(tt.FromSlice(p, rows, 4))
	pred = tt.Must(p0.SetRequiresGrad(true, false))
	p0.MustDrop()
	return pred, tt.Must(tt.FromSlice(y, rows, 4))
}

// runStep runs one forward and backward of step and drops everything it made.
func runStep(step benchStep, pred, target *ts.Tensor) error {
	loss, err := step(pred, target)
	if err != nil {
		return err
	}
	g, err := ts.RunBackward([]*ts.Tensor{loss}, []*ts.Tensor{pred}, false, false)
	loss.MustDrop()
	if err != nil {
		return err
	}
	g[0].MustDrop()
	return nil
}

// BenchmarkLoss times each case at each size.
func BenchmarkLoss(b *testing.B) {
	torchtest.OneThread(b)
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			for _, size := range lossBenchSizes {
				if size.rows > 1e6 && testing.Short() {
					continue
				}
				b.Run(size.name, func(b *testing.B) {
					b.SetBytes(size.rows * 4 * 4 * 2)
					err := tt.Do(func() error {
						pred, target := benchData(size.rows)
						defer pred.MustDrop()
						defer target.MustDrop()
						var state tt.Scratch
						defer state.Drop()
						step := c.setup(&state)
						if err := runStep(step, pred, target); err != nil { // warm-up
							return err
						}
						for b.Loop() {
							if err := runStep(step, pred, target); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				})
			}
		})
	}
}

// BenchmarkLossRatios runs all cases once per iteration, interleaved, and reports each
// case's total time over native's (metric "<case>/native"; native's own is ns per step).
func BenchmarkLossRatios(b *testing.B) {
	torchtest.OneThread(b)
	cases := benchCases()
	for _, size := range lossBenchSizes {
		if size.rows > 1e6 && testing.Short() {
			continue
		}
		b.Run(size.name, func(b *testing.B) {
			spent := make([]time.Duration, len(cases))
			err := tt.Do(func() error {
				pred, target := benchData(size.rows)
				defer pred.MustDrop()
				defer target.MustDrop()
				var state tt.Scratch
				defer state.Drop()
				steps := make([]benchStep, len(cases))
				for i, c := range cases {
					steps[i] = c.setup(&state)
					if err := runStep(steps[i], pred, target); err != nil {
						return fmt.Errorf("%s: %w", c.name, err)
					}
				}
				for b.Loop() {
					for i, step := range steps {
						start := time.Now()
						if err := runStep(step, pred, target); err != nil {
							return fmt.Errorf("%s: %w", cases[i].name, err)
						}
						spent[i] += time.Since(start)
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			for i, c := range cases[1:] {
				b.ReportMetric(float64(spent[i+1])/float64(spent[0]), c.name+"/native")
			}
		})
	}
}

// BenchmarkSummarizeGo times EngineGo's statistics pass alone (no libtorch) on float32
// [N, 4] slices, for each requirement the schedulers have.
func BenchmarkSummarizeGo(b *testing.B) {
	reqs := []struct {
		name string
		req  dynamic.Requirement
	}{{"count", dynamic.Requirement{}}, {"k=10", dynamic.Requirement{K: 10}}, {"moments", dynamic.Requirement{Moments: true}}}
	for _, size := range lossBenchSizes[:4] {
		p, y := benchdata.Boxes(int(size.rows))
		for _, r := range reqs {
			b.Run(r.name+"/"+size.name, func(b *testing.B) {
				b.SetBytes(size.rows * 4 * 4 * 2)
				var s dynamic.Summary
				for b.Loop() {
					summarizeGo(p, y, 4, r.req, &s)
				}
			})
		}
	}
}
