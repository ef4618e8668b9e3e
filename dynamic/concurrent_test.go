package dynamic

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestDataParallelWorkers is the documented concurrent use, for the race detector (make test
// runs this package with -race): workers summarize their shards of a batch in parallel, each
// into its own Summary, the summaries are merged after the workers are done, and one scheduler
// observes the merge. Its β equals a single worker's over the whole batch: exactly for
// DynamicRCNN (the k smallest values merge exactly), to rounding for SelfAdjusting (moments
// merge by Chan et al.'s formula).
func TestDataParallelWorkers(t *testing.T) {
	const n, d, workers = 4096, 4, 4
	r := rand.New(rand.NewPCG(9, 9))
	pred, target := make([]float32, n*d), make([]float32, n*d)
	for i := range pred {
		pred[i], target[i] = float32(r.NormFloat64()), float32(r.NormFloat64()*0.5)
	}
	pred[17] = float32(math.NaN())        // a skipped row, in one shard (sasl: the residual is NaN)
	target[4*700+1] = float32(math.NaN()) // and one for dsl, whose e is of the targets
	mk := map[string]func() Scheduler{
		"sasl": func() Scheduler { s, _ := NewSelfAdjusting(SelfAdjustingConfig{}, d); return s },
		"dsl":  func() Scheduler { s, _ := NewDynamicRCNN(DynamicRCNNConfig{K: 50, Interval: 1}, d); return s },
	}
	for name, newSched := range mk {
		t.Run(name, func(t *testing.T) {
			whole, parallel := newSched(), newSched()
			req := whole.Requirement()
			for step := 0; step < 5; step++ {
				var all Summary
				Summarize(pred, target, d, req, &all)
				if err := whole.Observe(&all); err != nil {
					t.Fatal(err)
				}
				parts := make([]Summary, workers)
				var wg sync.WaitGroup
				rows := n / workers
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						lo, hi := w*rows*d, (w+1)*rows*d
						Summarize(pred[lo:hi], target[lo:hi], d, req, &parts[w])
					}()
				}
				wg.Wait()
				merged := parts[0]
				for w := 1; w < workers; w++ {
					if err := merged.Merge(&parts[w]); err != nil {
						t.Fatal(err)
					}
				}
				wantSkipped := int64(1) // dsl: the NaN target
				if name == "sasl" {
					wantSkipped = 2 // and the NaN prediction
				}
				if merged.Moments.Skipped != wantSkipped {
					t.Fatalf("merged summary skipped %d rows, want %d", merged.Moments.Skipped, wantSkipped)
				}
				if err := parallel.Observe(&merged); err != nil {
					t.Fatal(err)
				}
				bw, bp := whole.Beta(nil), parallel.Beta(nil)
				for j := range bw {
					tol := 0.0
					if name == "sasl" {
						tol = 1e-12
					}
					if math.Abs(bw[j]-bp[j]) > tol {
						t.Fatalf("step %d column %d: β %v from one worker, %v from %d merged", step, j, bw[j], bp[j], workers)
					}
				}
			}
		})
	}
}
