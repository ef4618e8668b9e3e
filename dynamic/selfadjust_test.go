package dynamic

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refSASL is a straightforward re-implementation of the published update
// (AdjustSmoothL1Loss), independent of package stats: two-pass mean and
// unbiased variance per column (or over all values when shared) in float64.
type refSASL struct {
	cfg     SelfAdjustingConfig // resolved
	mu, v   []float64
	skipped int
}

func newRefSASL(cfg SelfAdjustingConfig, d int) *refSASL {
	n := d
	if cfg.Shared {
		n = 1
	}
	r := &refSASL{cfg: cfg, mu: make([]float64, n), v: make([]float64, n)}
	for j := range n {
		r.mu[j], r.v[j] = cfg.InitMean, cfg.InitVar
	}
	return r
}

func (r *refSASL) step(b batch, d int) []float64 {
	rows, _ := finiteRows(b, d)
	if len(rows) >= 2 {
		m := r.cfg.Momentum
		if r.cfg.Shared {
			var all []float64
			for _, row := range rows {
				all = append(all, row...)
			}
			mean, variance := twoPass(all)
			r.mu[0] = (1-m)*r.mu[0] + m*mean
			r.v[0] = (1-m)*r.v[0] + m*variance
		} else {
			for j := range d {
				col := make([]float64, len(rows))
				for i, row := range rows {
					col[i] = row[j]
				}
				mean, variance := twoPass(col)
				r.mu[j] = (1-m)*r.mu[j] + m*mean
				r.v[j] = (1-m)*r.v[j] + m*variance
			}
		}
	} else {
		r.skipped++
	}
	beta := make([]float64, d)
	for j := range beta {
		k := j
		if r.cfg.Shared {
			k = 0
		}
		s := r.v[k]
		if r.cfg.Spread == SpreadStd {
			s = math.Sqrt(s)
		}
		beta[j] = math.Min(math.Max(r.mu[k]-s, r.cfg.BetaMin), r.cfg.BetaMax)
	}
	return beta
}

func TestSelfAdjustingAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const d = 4
	stream := randomStream(rng, 400, d, []int{0, 1, 2, 3, 5, 64, 1000}, 0.05)
	for _, cfg := range []SelfAdjustingConfig{
		{},
		{Shared: true},
		{Spread: SpreadStd},
		{BetaMax: 1, Momentum: 0.5, InitVar: 0.01},
		{Momentum: 1, BetaMin: 0.02, Shared: true, Spread: SpreadStd},
	} {
		s, err := NewSelfAdjusting(cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(s.Name(), func(t *testing.T) {
			ref := newRefSASL(s.Config(), d)
			var sum Summary
			var beta []float64
			for step, b := range stream {
				want := ref.step(b, d)
				beta, err = Step(s, b.pred, b.target, d, &sum, beta)
				if err != nil {
					t.Fatal(err)
				}
				for j := range d {
					if math.Abs(beta[j]-want[j]) > 1e-9 {
						t.Fatalf("step %d: β = %v, reference %v", step, beta, want)
					}
				}
			}
			if c := s.Counts(); c.Empty != int64(ref.skipped) || c.Batches != int64(len(stream)) || c.SkippedRows == 0 {
				t.Errorf("counts %+v, want %d empty of %d, some skipped rows", c, ref.skipped, len(stream))
			}
		})
	}
}

func TestSelfAdjustingTable(t *testing.T) {
	// One batch of |d| rows (0.01, 0.01, 0.01, 0.01), (0.03, 0.03, 0.03, 0.03):
	// mean 0.02, unbiased variance 0.0002 in every column.
	pred := []float64{0.01, 0.01, -0.01, 0.01, 0.03, 0.03, 0.03, -0.03}
	target := make([]float64, 8)
	for _, tc := range []struct {
		name          string
		cfg           SelfAdjustingConfig
		before, after float64
		source        string
	}{
		{"defaults", SelfAdjustingConfig{}, 0.11, 0.9*0.11 + 0.1*0.02 - 0.1*0.0002, "β̂ before; μ − σ² by hand"},
		{"std spread", SelfAdjustingConfig{Spread: SpreadStd}, 0.11, 0.9*0.11 + 0.1*0.02 - math.Sqrt(0.1*0.0002), "μ − σ by hand"},
		{"clip at β_min", SelfAdjustingConfig{Momentum: 1, InitVar: 1, BetaMax: 1}, 1e-3, 0.02 - 0.0002, "μ0 − σ²0 = 0 clips to 1e-3"},
		{"clip at β̂", SelfAdjustingConfig{Momentum: 1, BetaMax: 0.01}, 0.01, 0.01, "0.0198 clips to β̂ = 0.01"},
		{"shared", SelfAdjustingConfig{Shared: true, Momentum: 1}, 0.11, 0.02 - 0.0008/7, "pooled: 8 values, M2 = 0.0008"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSelfAdjusting(tc.cfg, 4)
			if err != nil {
				t.Fatal(err)
			}
			if b := s.Beta(nil); math.Abs(b[0]-tc.before) > 1e-15 {
				t.Errorf("β before = %v, want %v (%s)", b[0], tc.before, tc.source)
			}
			b, err := Step(s, pred, target, 4, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for j := range b {
				if math.Abs(b[j]-tc.after) > 1e-15 {
					t.Errorf("β after = %v, want %v (%s)", b, tc.after, tc.source)
				}
			}
		})
	}
}

func TestSelfAdjustingSkipsTinyBatches(t *testing.T) {
	s, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 4)
	for _, p := range [][]float32{nil, {1, 1, 1, 1}, {1, 1, 1, 1, float32(nan), 0, 0, 0}} {
		if _, err := Step(s, p, make([]float32, len(p)), 4, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if c := s.Counts(); c.Batches != 3 || c.Empty != 3 || c.SkippedRows != 1 {
		t.Errorf("counts %+v, want 3 batches, 3 empty, 1 skipped row", c)
	}
	if mu := s.RunningMean(); mu[0] != 0.11 || s.RunningVar()[0] != 0 {
		t.Errorf("state moved: μ %v σ² %v", mu, s.RunningVar())
	}
}

func TestObserveErrors(t *testing.T) {
	sasl, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 4)
	dsl, _ := NewDynamicRCNN(DynamicRCNNConfig{K: 3}, 4)
	fixed, _ := NewFixed(0.11, 4)
	var d3, d4k1, badMean, badSmallest, badCount Summary
	SummarizeResiduals([]float32{1, 2, 3, 4, 5, 6}, 3, Requirement{K: 3}, &d3)
	SummarizeResiduals([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 4, Requirement{K: 1}, &d4k1)
	summary := func(dst *Summary) {
		SummarizeResiduals([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 4, Requirement{Moments: true, K: 3}, dst)
	}
	summary(&badMean)
	badMean.Moments.Mean[2] = nan
	summary(&badSmallest)
	badSmallest.Smallest[1] = nan
	summary(&badCount)
	badCount.Moments.Count = -1
	// Each scheduler validates what it reads: SelfAdjusting the moments, DynamicRCNN the
	// smallest values, every one the dimension and the counts.
	type errCase struct {
		sum  *Summary
		want error
		text string
	}
	common := []errCase{
		{&d3, ErrDimMismatch, "summary has D = 3, scheduler has D = 4"},
		{&badCount, ErrBadSummary, "Moments.Count = -1"},
	}
	for _, tc := range []struct {
		s       Scheduler
		rejects []errCase
		accepts []*Summary
	}{
		{sasl, append(common, errCase{&badMean, ErrBadSummary, "Moments.Mean[2]"}), []*Summary{&badSmallest}},
		{dsl, append(common, errCase{&badSmallest, ErrBadSummary, "Smallest[1] = NaN"}), []*Summary{&badMean}},
		{fixed, common, []*Summary{&badMean, &badSmallest}},
	} {
		s := tc.s
		before, _ := s.State()
		for _, ec := range tc.rejects {
			if err := s.Observe(ec.sum); !errorIs(err, ec.want, ec.text) {
				t.Errorf("%s: err = %v, want %v naming %q", s.Name(), err, ec.want, ec.text)
			}
		}
		if after, _ := s.State(); string(after) != string(before) {
			t.Errorf("%s: a rejected summary changed the state", s.Name())
		}
		for i, sum := range tc.accepts {
			if err := s.Observe(sum); err != nil {
				t.Errorf("%s: summary %d with a bad field it does not read: %v", s.Name(), i, err)
			}
		}
	}
	if err := dsl.Observe(&d4k1); !errorIs(err, ErrBadSummary, "DynamicRCNN needs 2") {
		t.Errorf("DynamicRCNN with K = 1 summary: err = %v", err)
	}
}

func ExampleSelfAdjusting() {
	// RetinaMask's published configuration is the zero value.
	s, err := NewSelfAdjusting(SelfAdjustingConfig{}, 4)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Name())
	fmt.Printf("β before any batch %.4f\n", s.Beta(nil))

	pred := []float32{0.05, 0.10, 0.20, 0.40, 0.15, 0.00, 0.20, 0.10}
	target := make([]float32, len(pred))
	beta, err := Step(s, pred, target, 4, nil, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("β after one batch  %.4f\n", beta)
	// Output:
	// sasl:betamax=0.11,momentum=0.1,betamin=0.001,mean0=0.11,var0=0
	// β before any batch [0.1100 0.1100 0.1100 0.1100]
	// β after one batch  [0.1085 0.1035 0.1100 0.1100]
}

func ExampleStep() {
	// A training loop reuses the summary and β buffers: no allocation per step.
	s, err := NewSelfAdjusting(SelfAdjustingConfig{Shared: true, Spread: SpreadStd}, 4)
	if err != nil {
		panic(err)
	}
	var sum Summary
	var beta []float64
	for step := range 3 {
		pred := []float32{0.1 * float32(step), 0.2, 0.3, 0.4, 0, 0, 0, 0}
		target := make([]float32, len(pred))
		if beta, err = Step(s, pred, target, 4, &sum, beta); err != nil {
			panic(err)
		}
		fmt.Printf("step %d: β = %.4f\n", step, beta[0])
	}
	// Output:
	// step 0: β = 0.0583
	// step 1: β = 0.0415
	// step 2: β = 0.0307
}
