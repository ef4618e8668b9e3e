package dynamic_test

import (
	"testing"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/internal/benchdata"
	"github.com/smoothl1/smoothl1/static"
)

var benchSizes = []struct {
	name string
	rows int
}{{"N=1e3", 1e3}, {"N=1e4", 1e4}, {"N=1e5", 1e5}, {"N=1e6", 1e6}, {"N=1e7", 1e7}}

// benchData returns pred, target (internal/benchdata: the data of every speed
// measurement of the project) and a grad buffer, float32 [rows, 4], with the
// pages faulted in.
func benchData(rows int) (pred, target, grad []float32) {
	pred, target = benchdata.Boxes(rows)
	grad = make([]float32, len(pred))
	for i := range grad {
		grad[i] = 1
	}
	return pred, target, grad
}

func run(b *testing.B, elems, bytesPerElem int, step func()) {
	b.SetBytes(int64(bytesPerElem * elems))
	b.ReportAllocs()
	step() // warm up: buffers grown, caches primed
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(elems)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
}

// BenchmarkSummarize: the moments pass over float32 [N, 4] pred and target.
func BenchmarkSummarize(b *testing.B) {
	for _, n := range benchSizes {
		pred, target, _ := benchData(n.rows)
		b.Run(n.name, func(b *testing.B) {
			var sum dynamic.Summary
			req := dynamic.Requirement{Moments: true}
			run(b, len(pred), 8, func() { dynamic.Summarize(pred, target, 4, req, &sum) })
		})
	}
}

// BenchmarkSchedulerStep: Summarize + Observe + Beta, no loss, for
// SelfAdjusting (the moments) and DynamicRCNN (the K = 10 smallest e).
func BenchmarkSchedulerStep(b *testing.B) {
	schedulers := []struct {
		name string
		make func() (dynamic.Scheduler, error)
	}{
		{"sasl", func() (dynamic.Scheduler, error) { return dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, 4) }},
		{"dsl", func() (dynamic.Scheduler, error) { return dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{}, 4) }},
	}
	for _, sc := range schedulers {
		for _, n := range benchSizes {
			pred, target, _ := benchData(n.rows)
			b.Run(sc.name+"/"+n.name, func(b *testing.B) {
				s, err := sc.make()
				if err != nil {
					b.Fatal(err)
				}
				var sum dynamic.Summary
				var beta []float64
				run(b, len(pred), 8, func() {
					if beta, err = dynamic.Step(s, pred, target, 4, &sum, beta); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkSelfAdjustingTrainStep is a full SASL training step in float32:
// Summarize (moments of |pred − target|) + Observe + Beta, then the fused
// Smooth L1 value and gradient with the per-column β (static) into a
// preallocated grad slice. Bytes: pred and target read twice, grad written.
func BenchmarkSelfAdjustingTrainStep(b *testing.B) {
	for _, n := range benchSizes {
		pred, target, grad := benchData(n.rows)
		b.Run(n.name, func(b *testing.B) {
			s, err := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, 4)
			if err != nil {
				b.Fatal(err)
			}
			var sum dynamic.Summary
			var beta []float64
			run(b, len(pred), 20, func() {
				if beta, err = dynamic.Step(s, pred, target, 4, &sum, beta); err != nil {
					b.Fatal(err)
				}
				if _, err = static.SmoothL1Columns(beta, static.Mean, grad, nil, pred, target, nil); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
