package dynamic_test

import (
	"math/rand/v2"
	"testing"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
)

var benchSizes = []struct {
	name string
	rows int
}{{"N=1e3", 1e3}, {"N=1e4", 1e4}, {"N=1e5", 1e5}, {"N=1e6", 1e6}, {"N=1e7", 1e7}}

// benchData returns pred, target and a grad buffer, float32 [rows, 4], with
// the pages faulted in.
func benchData(rows int) (pred, target, grad []float32) {
	rng := rand.New(rand.NewPCG(7, uint64(rows)))
	pred, target, grad = make([]float32, 4*rows), make([]float32, 4*rows), make([]float32, 4*rows)
	for i := range pred {
		target[i] = float32(0.2 * rng.NormFloat64())
		pred[i] = target[i] + float32(0.1*rng.NormFloat64())
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

// BenchmarkSelfAdjustingStep: Summarize + Observe + Beta, no loss.
func BenchmarkSelfAdjustingStep(b *testing.B) {
	for _, n := range benchSizes {
		pred, target, _ := benchData(n.rows)
		b.Run(n.name, func(b *testing.B) {
			s, err := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, 4)
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

// BenchmarkDynamicRCNNStep: Summarize with the K = 10 smallest e + Observe +
// Beta.
func BenchmarkDynamicRCNNStep(b *testing.B) {
	for _, n := range benchSizes {
		pred, target, _ := benchData(n.rows)
		b.Run(n.name, func(b *testing.B) {
			s, err := dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{}, 4)
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
