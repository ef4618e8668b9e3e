package tensorloss

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// cloneSummary returns a deep copy of s.
func cloneSummary(s *dynamic.Summary) dynamic.Summary {
	c := *s
	c.Moments.Mean, c.Moments.M2 = slices.Clone(s.Moments.Mean), slices.Clone(s.Moments.M2)
	c.Smallest = slices.Clone(s.Smallest)
	return c
}

// halves splits a batch into its first and second half of rows.
func halves(in ltInputs) (a, b ltInputs) {
	h := in.n / 2 * in.d
	a = ltInputs{n: in.n / 2, d: in.d, pred: in.pred[:h], target: in.target[:h]}
	b = ltInputs{n: in.n - in.n/2, d: in.d, pred: in.pred[h:], target: in.target[h:]}
	return a, b
}

// TestSetCombine: two replicas of a loss, each given one half of every batch (the shards of
// a data-parallel step) and combining their summaries in rank order, against one loss given
// the whole batch, over steps that move β (Dynamic R-CNN's window closes every 4 steps). The
// replicas' β and observed summaries are bit for bit the same; against the whole batch, the
// counts, the images and the k smallest values are equal, and so is Dynamic R-CNN's β, a
// median of those values; the moments and SASL's β agree to the rounding of the moments'
// merge (1e-13 relative, a bound with room over the 1e-16 a merge rounds to).
//
// The replicas run one after the other on the torch thread, so rank 1's summary is made
// inside rank 0's Combine by SummarizeTensor with the replica's own requirement, and rank 1's
// Combine uses the rank-0 summary rank 0 passed: the exchange, without processes.
func TestSetCombine(t *testing.T) {
	for _, e := range []Engine{EngineGo, EngineTorch} {
		for _, spec := range []string{"sasl:betamax=0.5", "dsl:k=3,interval=4", "dsl:k=2,interval=3,source=residual"} {
			t.Run(fmt.Sprintf("%v/%s", e, spec), func(t *testing.T) {
				const images = 4
				rng := rand.New(rand.NewPCG(11, 12))
				mk := func(shardImages, parts int) *DynamicLoss {
					l, err := FromSpec(spec, 4, static.Mean)
					if err != nil {
						t.Fatal(err)
					}
					d := l.(*DynamicLoss)
					if err := d.SetEngine(e); err != nil {
						t.Fatal(err)
					}
					if err := d.SetImages(shardImages); err != nil {
						t.Fatal(err)
					}
					return d
				}
				whole, r0, r1 := mk(images, 1), mk(images/2, 2), mk(images/2, 2)
				var half1 ltInputs
				var sent0 dynamic.Summary
				tt.Check(r0.SetCombine(2, func(local *dynamic.Summary) (dynamic.Summary, error) {
					sent0 = cloneSummary(local)
					var s1 dynamic.Summary
					err := tt.Do(func() error {
						var tmp tt.Scratch
						defer tmp.Drop()
						shape := []int64{int64(half1.n), 4}
						p := tmp.Add(ltTensor(half1.pred, shape, gotch.Float))
						y := tmp.Add(ltTensor(half1.target, shape, gotch.Float))
						return SummarizeTensor(p, y, r1.requirement(), e, &s1)
					})
					s1.Images = r1.images // as Forward sets it
					merged := cloneSummary(local)
					if err == nil {
						err = merged.Merge(&s1)
					}
					return merged, err
				}))
				tt.Check(r1.SetCombine(2, func(local *dynamic.Summary) (dynamic.Summary, error) {
					merged := cloneSummary(&sent0)
					return merged, merged.Merge(local)
				}))
				betaMoved := false
				for step := range 12 {
					in := ltBatch(rng, 40+step, 4, nil, "")
					for i := range in.pred { // residuals around SASL's β
						in.pred[i] = in.target[i] + 0.1*(in.pred[i]-in.target[i])
					}
					in.pred[4*rng.IntN(in.n)+1] = math.NaN() // a skipped row, in either half
					var half0 ltInputs
					half0, half1 = halves(in)
					for _, run := range []struct {
						l  *DynamicLoss
						in ltInputs
					}{{whole, in}, {r0, half0}, {r1, half1}} {
						if _, _, err := ltRun(run.l, run.in, gotch.Float); err != nil {
							t.Fatalf("step %d: %v", step, err)
						}
					}
					b0, b1, bw := r0.LastBeta(), r1.LastBeta(), whole.LastBeta()
					s0, s1, sw := r0.LastSummary(), r1.LastSummary(), whole.LastSummary()
					if !sameFloats(b0, b1) || !sameSummaries(s0, s1) {
						t.Fatalf("step %d: the replicas differ: β %v and %v, summaries %+v and %+v", step, b0, b1, *s0, *s1)
					}
					if s0.Moments.Count != sw.Moments.Count || s0.Moments.Skipped != sw.Moments.Skipped || s0.Images != sw.Images {
						t.Errorf("step %d: merged count, skipped, images %d, %d, %d; whole batch %d, %d, %d", step,
							s0.Moments.Count, s0.Moments.Skipped, s0.Images, sw.Moments.Count, sw.Moments.Skipped, sw.Images)
					}
					if k := len(sw.Smallest); len(s0.Smallest) < k || !sameFloats(s0.Smallest[:k], sw.Smallest) {
						t.Errorf("step %d: merged smallest %v, whole batch %v", step, s0.Smallest, sw.Smallest)
					}
					for j := range sw.Moments.Mean {
						if relDiff(s0.Moments.Mean[j], sw.Moments.Mean[j]) > 1e-13 || relDiff(s0.Moments.M2[j], sw.Moments.M2[j]) > 1e-13 {
							t.Errorf("step %d column %d: merged mean, M2 %v, %v; whole batch %v, %v", step, j,
								s0.Moments.Mean[j], s0.Moments.M2[j], sw.Moments.Mean[j], sw.Moments.M2[j])
						}
					}
					for j := range bw {
						exact := spec != "sasl:betamax=0.5"
						if exact && b0[j] != bw[j] || !exact && relDiff(b0[j], bw[j]) > 1e-13 {
							t.Errorf("step %d: replicas' β %v, whole batch %v", step, b0, bw)
							break
						}
					}
					betaMoved = betaMoved || bw[0] != 0.5 && bw[0] != 1
				}
				if !betaMoved {
					t.Errorf("β never moved: the test compares nothing")
				}
			})
		}
	}
}

func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

func sameSummaries(a, b *dynamic.Summary) bool {
	return a.Moments.Count == b.Moments.Count && a.Moments.Skipped == b.Moments.Skipped && a.K == b.K && a.Images == b.Images &&
		sameFloats(a.Moments.Mean, b.Moments.Mean) && sameFloats(a.Moments.M2, b.Moments.M2) && sameFloats(a.Smallest, b.Smallest)
}

func TestSetCombineErrors(t *testing.T) {
	l, err := FromSpec("sasl", 4, static.Mean)
	if err != nil {
		t.Fatal(err)
	}
	d := l.(*DynamicLoss)
	for _, parts := range []int{0, -1} {
		if err := d.SetCombine(parts, func(s *dynamic.Summary) (dynamic.Summary, error) { return *s, nil }); err == nil {
			t.Errorf("SetCombine(%d parts) accepted", parts)
		}
	}
	if err := d.SetCombine(2, nil); err == nil {
		t.Error("SetCombine(2 parts, nil) accepted")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if _, _, err := ltRun(d, ltBatch(rng, 8, 4, nil, ""), gotch.Float); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(d.LastBeta())
	state, _ := d.Scheduler().State()
	gone := errors.New("rank 1 is gone")
	tt.Check(d.SetCombine(2, func(*dynamic.Summary) (dynamic.Summary, error) { return dynamic.Summary{}, gone }))
	if _, _, err := ltRun(d, ltBatch(rng, 8, 4, nil, ""), gotch.Float); !errors.Is(err, gone) {
		t.Errorf("Forward with a failing Combine: error %v, want it to wrap %v", err, gone)
	}
	after, _ := d.Scheduler().State()
	if !sameFloats(d.LastBeta(), before) || string(after) != string(state) {
		t.Errorf("a failed Combine changed β (%v, was %v) or the scheduler's state", d.LastBeta(), before)
	}
	tt.Check(d.SetCombine(1, nil)) // off again
	if _, _, err := ltRun(d, ltBatch(rng, 8, 4, nil, ""), gotch.Float); err != nil {
		t.Errorf("after SetCombine(1, nil): %v", err)
	}
}
