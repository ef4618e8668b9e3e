package dynamic

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// refDSL re-implements the published window rule directly: sort the e
// values, take the k-th, and every C records take the median with sort
// (numpy.median's definition), keeping β when it is ≤ 1e-15. The new β is
// used from the next iteration.
type refDSL struct {
	k, c       int
	beta0      float64
	beta, next float64
	pending    bool
	window     []float64
}

func (r *refDSL) step(b batch, d int) float64 {
	if r.pending {
		r.beta, r.pending = r.next, false
	}
	rows, _ := finiteRows(b, d)
	if len(rows) == 0 {
		return r.beta
	}
	e := sortedE(rows)
	r.window = append(r.window, e[min(r.k, len(e))-1])
	if len(r.window) == r.c {
		w := slices.Sorted(slices.Values(r.window))
		med := w[len(w)/2]
		if len(w)%2 == 0 {
			med = (w[len(w)/2-1] + w[len(w)/2]) / 2
		}
		if med > 1e-15 {
			r.next, r.pending = math.Min(r.beta0, med), true
		}
		r.window = r.window[:0]
	}
	return r.beta
}

func TestDynamicRCNNAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const d = 4
	stream := randomStream(rng, 500, d, []int{0, 1, 2, 5, 9, 40, 300}, 0.05)
	var cfgs []DynamicRCNNConfig
	for _, src := range []Source{Residual, Target} {
		cfgs = append(cfgs, []DynamicRCNNConfig{
			{K: 1, Interval: 1, Source: src},
			{K: 3, Interval: 2, Source: src},
			{K: 10, Interval: 7, InitBeta: 0.5, Source: src},
			{Interval: 20, Source: src},
		}...)
	}
	cfgs = append(cfgs, DynamicRCNNConfig{}) // the published default: Target
	for _, cfg := range cfgs {
		s, err := NewDynamicRCNN(cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		c := s.Config()
		t.Run(s.Name(), func(t *testing.T) {
			ref := &refDSL{k: c.K, c: c.Interval, beta0: c.InitBeta, beta: c.InitBeta}
			var sum Summary
			var beta []float64
			changes := 0
			for step, b := range stream {
				rb := b
				if c.Source == Target { // the reference takes e of the targets: rows of d = target − 0
					rb = batch{pred: b.target, target: make([]float32, len(b.target))}
				}
				want := ref.step(rb, d)
				prev := slices.Clone(beta)
				if beta, err = Step(s, b.pred, b.target, d, &sum, beta); err != nil {
					t.Fatal(err)
				}
				for j := range beta {
					if beta[j] != want {
						t.Fatalf("step %d: β = %v, reference %v", step, beta, want)
					}
				}
				if len(prev) > 0 && prev[0] != beta[0] {
					changes++
				}
			}
			if c.Interval <= 20 && changes == 0 {
				t.Error("β never changed: the test exercises nothing")
			}
		})
	}
}

// TestDynamicRCNNTiming: with C = 2 the median of steps 1–2 is used from
// step 3 on, not by step 2's loss; an empty step records nothing.
func TestDynamicRCNNTiming(t *testing.T) {
	s, err := NewDynamicRCNN(DynamicRCNNConfig{K: 1, Interval: 2, Source: Residual}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		e    float32 // one row (e, e): e = (|d0| + |d1|)/2 = e
		rows int
		want float64
		why  string
	}{
		{0.5, 1, 1, "β₀"},
		{0, 0, 1, "empty step: no record"},
		{0.25, 1, 1, "2nd record completes the window; its loss still uses β₀"},
		{0.9, 1, 0.375, "median(0.5, 0.25) applies from here"},
		{0, 1, 0.375, "record 0 completes the window (0.9, 0)"},
		{0, 1, 0.45, "median(0.9, 0) applies; the window holds one record"},
	} {
		p := make([]float32, 2*tc.rows)
		for k := range p {
			p[k] = tc.e
		}
		b, err := Step(s, p, make([]float32, len(p)), 2, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(b[0]-tc.want) > 1e-7 { // e is float32
			t.Errorf("step %d: β = %v, want %v (%s)", i+1, b[0], tc.want, tc.why)
		}
	}
	if s.Records() != 1 || s.Counts().Empty != 1 {
		t.Errorf("records %d, empty %d; want 1, 1", s.Records(), s.Counts().Empty)
	}
}

// TestDynamicRCNNZeroMedian: a window whose median is 0 keeps the old β.
func TestDynamicRCNNZeroMedian(t *testing.T) {
	s, _ := NewDynamicRCNN(DynamicRCNNConfig{K: 1, Interval: 3, Source: Residual}, 4)
	zero := make([]float32, 8)
	for range 4 {
		if _, err := Step(s, zero, zero, 4, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if b := s.Beta(nil); b[0] != 1 {
		t.Errorf("β = %v after a zero median, want β₀ = 1 kept", b[0])
	}
}

func ExampleDynamicRCNN() {
	// K = 2 smallest per step, β updated every 2 recorded steps. The
	// statistic is of the regression targets (Source Target, published):
	// the predictions do not enter it.
	s, err := NewDynamicRCNN(DynamicRCNNConfig{K: 2, Interval: 2}, 4)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Name())
	var sum Summary
	var beta []float64
	for step, scale := range []float32{0.2, 0.4, 1, 1} {
		// Three positive boxes whose targets have e = 0.5·scale, 1·scale, 2·scale.
		target := []float32{0.5, 0.5, 0, 0, 1, 1, 0, 0, 2, 2, 0, 0}
		for i := range target {
			target[i] *= scale
		}
		pred := make([]float32, len(target))
		if beta, err = Step(s, pred, target, 4, &sum, beta); err != nil {
			panic(err)
		}
		fmt.Printf("step %d: record %.2f, β = %.2f\n", step+1, sum.Smallest[1], beta[0])
	}
	// Output:
	// dsl:k=2,interval=2,beta0=1,source=target
	// step 1: record 0.20, β = 1.00
	// step 2: record 0.40, β = 1.00
	// step 3: record 1.00, β = 0.30
	// step 4: record 1.00, β = 0.30
}

// TestDynamicRCNNVersion1State: a state written before the source existed (version 1, no
// "source" in its config) was fed residuals; it restores into a Residual scheduler, the
// same trajectory continues, and a Target scheduler refuses it naming the source.
func TestDynamicRCNNVersion1State(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	stream := randomStream(rng, 40, 4, []int{5, 60}, 0)
	old, _ := NewDynamicRCNN(DynamicRCNNConfig{K: 3, Interval: 4, Source: Residual}, 4)
	for _, b := range stream[:20] {
		if _, err := Step(old, b.pred, b.target, 4, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	blob, err := old.State()
	if err != nil {
		t.Fatal(err)
	}
	v1 := rewrite(t, blob, func(e *envelope, _ map[string]any) {
		var cfg map[string]any
		if err := json.Unmarshal(e.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		delete(cfg, "source")
		e.Config, _ = json.Marshal(cfg)
		e.Version = 1
	})
	resumed, _ := NewDynamicRCNN(DynamicRCNNConfig{K: 3, Interval: 4, Source: Residual}, 4)
	if err := resumed.Restore(v1); err != nil {
		t.Fatalf("a version-1 state does not restore into a Residual scheduler: %v", err)
	}
	for i, b := range stream[20:] {
		want, _ := Step(old, b.pred, b.target, 4, nil, nil)
		got, err := Step(resumed, b.pred, b.target, 4, nil, nil)
		if err != nil || got[0] != want[0] {
			t.Fatalf("step %d after the resume: β %v, uninterrupted %v (%v)", 20+i, got, want, err)
		}
	}
	target, _ := NewDynamicRCNN(DynamicRCNNConfig{K: 3, Interval: 4}, 4)
	if err := target.Restore(v1); !errors.Is(err, ErrConfigMismatch) || !strings.Contains(err.Error(), "source = residual in the state, target here") {
		t.Errorf("a Target scheduler restoring a version-1 state: %v", err)
	}
}

// TestDynamicRCNNPerImage: k counts per image, as mmdetection's beta_topk × images: with K = 2
// and Summary.Images = 3 the record is the 6th smallest e (by hand: e = 1, 2, ..., 10).
func TestDynamicRCNNPerImage(t *testing.T) {
	target := make([]float64, 40)
	for i := range 10 {
		target[4*i], target[4*i+1] = float64(10-i), float64(10-i) // e = 10 − i
	}
	var sum Summary
	Summarize(make([]float64, 40), target, 4, Requirement{K: 2 * 3, Source: Target}, &sum)
	sum.Images = 3
	s2, _ := NewDynamicRCNN(DynamicRCNNConfig{K: 2, Interval: 1, InitBeta: 100}, 4)
	for range 2 { // the new β applies from the step after the record
		if err := s2.Observe(&sum); err != nil {
			t.Fatal(err)
		}
	}
	if b := s2.Beta(nil)[0]; b != 6 {
		t.Errorf("β = %v, want the 6th smallest e = 6 (K = 2 per image, 3 images)", b)
	}
	sum.Images = 4 // needs 8 smallest values, the summary holds 6
	if err := s2.Observe(&sum); !errors.Is(err, ErrBadSummary) {
		t.Errorf("a summary with too few smallest values for its images: %v", err)
	}
}
