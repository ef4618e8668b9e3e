package dynamic

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/stats"
)

func TestSummarizeTable(t *testing.T) {
	// Rows of |d|: (0.1, 0.3, 1, 1), (0.2, 0.2, 3, 3), a NaN row, (0.4, 0, 2, 2).
	pred := []float64{0.1, -0.3, 1, 1, 0.2, 0.2, 3, -3, nan, 0, 0, 0, 0.4, 0, 2, 2}
	target := make([]float64, len(pred))
	for _, tc := range []struct {
		name     string
		req      Requirement
		smallest []float64
	}{
		{"moments only", Requirement{Moments: true}, nil},
		{"K = 2", Requirement{K: 2}, []float64{0.2, 0.2}},
		{"K larger than rows", Requirement{Moments: true, K: 5}, []float64{0.2, 0.2, 0.2}},
	} {
		t.Run(tc.name, func(t *testing.T) { // expected values by hand
			var s Summary
			Summarize(pred, target, 4, tc.req, &s)
			m := &s.Moments
			if m.Count != 3 || m.Skipped != 1 {
				t.Fatalf("count, skipped = %d, %d, want 3, 1", m.Count, m.Skipped)
			}
			wantMean := []float64{0.7 / 3, 0.5 / 3, 2, 2}
			if !tc.req.Moments { // the counts only: Mean and M2 are zero
				wantMean = []float64{0, 0, 0, 0}
				if !slices.Equal(m.M2, wantMean) {
					t.Errorf("M2 = %v without Moments, want zeros", m.M2)
				}
			}
			for j, w := range wantMean {
				if relErr(m.Mean[j], w) > 1e-15 {
					t.Errorf("Mean[%d] = %v, want %v", j, m.Mean[j], w)
				}
			}
			if tc.req.Moments && relErr(m.Var(2), 1) > 1e-15 {
				t.Errorf("Var(2) = %v, want 1", m.Var(2))
			}
			if s.K != tc.req.K || !slices.Equal(s.Smallest, tc.smallest) {
				t.Errorf("K, Smallest = %d, %v, want %d, %v", s.K, s.Smallest, tc.req.K, tc.smallest)
			}
			if err := s.Validate(); err != nil {
				t.Error(err)
			}
			var r Summary
			res := make([]float64, len(pred))
			copy(res, pred)
			SummarizeResiduals(res, 4, tc.req, &r)
			if r.Moments.Count != 3 || !slices.Equal(r.Moments.Mean, m.Mean) || !slices.Equal(r.Smallest, s.Smallest) {
				t.Errorf("SummarizeResiduals differs: %+v vs %+v", r, s)
			}
		})
	}
}

// TestSummarizeWithoutMoments: without moments, Summarize takes a one-pass
// path that skips rows whose e cannot be among the K smallest; it must count
// and select exactly as the moments path does, on random batches with
// non-finite rows, for D = 4 (the unrolled scan) and other D, float32 and
// float64, K from 1 to beyond the rows.
func TestSummarizeWithoutMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, d := range []int{2, 3, 4, 7} {
		for step, b := range randomStream(rng, 40, d, []int{0, 1, 5, 63, 64, 65, 300, 1000}, 0.03) {
			for _, k := range []int{0, 1, 10, 2000} {
				var fast, full Summary
				Summarize(b.pred, b.target, d, Requirement{K: k}, &fast)
				Summarize(b.pred, b.target, d, Requirement{Moments: true, K: k}, &full)
				if fast.Moments.Count != full.Moments.Count || fast.Moments.Skipped != full.Moments.Skipped ||
					fast.K != full.K || !slices.Equal(fast.Smallest, full.Smallest) {
					t.Fatalf("D=%d step %d K=%d: without moments %d/%d %v, with %d/%d %v", d, step, k,
						fast.Moments.Count, fast.Moments.Skipped, fast.Smallest,
						full.Moments.Count, full.Moments.Skipped, full.Smallest)
				}
				p64, t64 := make([]float64, len(b.pred)), make([]float64, len(b.pred))
				for i := range p64 {
					p64[i], t64[i] = float64(b.pred[i]), float64(b.target[i])
				}
				var f64 Summary
				Summarize(p64, t64, d, Requirement{K: k}, &f64)
				if f64.Moments.Count != full.Moments.Count || (k > 0 && len(f64.Smallest) != len(full.Smallest)) {
					t.Fatalf("D=%d step %d K=%d: float64 counts %d, %d smallest; float32 %d, %d", d, step, k,
						f64.Moments.Count, len(f64.Smallest), full.Moments.Count, len(full.Smallest))
				}
				if err := fast.Validate(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestMergeEqualsConcatenated: workers summarizing shards and merging give
// the summary, and the β trace, of one worker seeing the whole batch.
func TestMergeEqualsConcatenated(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const d = 4
	stream := randomStream(rng, 60, d, []int{0, 1, 2, 3, 17, 300}, 0.05)
	req := Requirement{Moments: true, K: 10}
	for _, workers := range []int{2, 3, 8} {
		sasl1, _ := NewSelfAdjusting(SelfAdjustingConfig{}, d)
		sasl2, _ := NewSelfAdjusting(SelfAdjustingConfig{}, d)
		dsl1, _ := NewDynamicRCNN(DynamicRCNNConfig{Interval: 3}, d)
		dsl2, _ := NewDynamicRCNN(DynamicRCNNConfig{Interval: 3}, d)
		for step, b := range stream {
			var whole, merged Summary
			Summarize(b.pred, b.target, d, req, &whole)
			rows := len(b.pred) / d
			for w := range workers {
				lo, hi := w*rows/workers*d, (w+1)*rows/workers*d
				var part Summary
				Summarize(b.pred[lo:hi], b.target[lo:hi], d, req, &part)
				if err := merged.Merge(&part); err != nil {
					t.Fatal(err)
				}
			}
			if merged.Moments.Count != whole.Moments.Count || merged.Moments.Skipped != whole.Moments.Skipped {
				t.Fatalf("workers=%d step %d: count/skipped %d/%d, want %d/%d", workers, step,
					merged.Moments.Count, merged.Moments.Skipped, whole.Moments.Count, whole.Moments.Skipped)
			}
			for j := range d {
				if e := relErr(merged.Moments.Mean[j], whole.Moments.Mean[j]); e > 1e-12 {
					t.Errorf("step %d col %d: mean rel err %g", step, j, e)
				}
				if e := relErr(merged.Moments.M2[j], whole.Moments.M2[j]); e > 1e-12 {
					t.Errorf("step %d col %d: M2 rel err %g", step, j, e)
				}
			}
			if !slices.Equal(merged.Smallest, whole.Smallest) || merged.K != whole.K {
				t.Fatalf("step %d: smallest %v, want %v", step, merged.Smallest, whole.Smallest)
			}
			for _, p := range []struct {
				name string
				a, b Scheduler
				tol  float64
			}{{"sasl", sasl1, sasl2, 1e-12}, {"dynrcnn", dsl1, dsl2, 0}} {
				if err := p.a.Observe(&merged); err != nil {
					t.Fatal(err)
				}
				if err := p.b.Observe(&whole); err != nil {
					t.Fatal(err)
				}
				ba, bb := p.a.Beta(nil), p.b.Beta(nil)
				for j := range ba {
					if relErr(ba[j], bb[j]) > p.tol {
						t.Errorf("workers=%d step %d %s: β merged %v, whole %v", workers, step, p.name, ba, bb)
					}
				}
			}
		}
	}
}

func TestMergeMixedK(t *testing.T) {
	a := Summary{K: 3, Smallest: []float64{0.1, 0.2, 0.5}}
	a.Moments.SetFromSums(5, 0, []float64{1, 1}, []float64{1, 1})
	b := Summary{K: 2, Smallest: []float64{0.15, 0.3}}
	b.Moments.SetFromSums(4, 2, []float64{1, 1}, []float64{1, 1})
	if err := a.Merge(&b); err != nil {
		t.Fatal(err)
	}
	if a.K != 2 || !slices.Equal(a.Smallest, []float64{0.1, 0.15}) || a.Moments.Count != 9 || a.Moments.Skipped != 2 {
		t.Errorf("merged: K %d, Smallest %v, count %d; want 2, [0.1 0.15], 9", a.K, a.Smallest, a.Moments.Count)
	}
	c := Summary{}
	c.Moments.Reset(3)
	if err := a.Merge(&c); !errors.Is(err, ErrDimMismatch) {
		t.Errorf("merge D=3 into D=2: err = %v, want ErrDimMismatch", err)
	}
}

func TestSummaryValidate(t *testing.T) {
	good := func() *Summary {
		s := &Summary{K: 2, Smallest: []float64{0.1, 0.2}}
		s.Moments.SetFromSums(3, 0, []float64{1, 1}, []float64{1, 1})
		return s
	}
	for _, tc := range []struct {
		name  string
		edit  func(s *Summary)
		field string
	}{
		{"zero dimension", func(s *Summary) { s.Moments = stats.Moments{} }, "dimension 0"},
		{"M2 length", func(s *Summary) { s.Moments.M2 = s.Moments.M2[:1] }, "len(Moments.M2)"},
		{"negative count", func(s *Summary) { s.Moments.Count = -1 }, "Moments.Count"},
		{"NaN mean", func(s *Summary) { s.Moments.Mean[1] = nan }, "Moments.Mean[1]"},
		{"negative mean", func(s *Summary) { s.Moments.Mean[0] = -1 }, "Moments.Mean[0]"},
		{"Inf M2", func(s *Summary) { s.Moments.M2[0] = pinf }, "Moments.M2[0]"},
		{"negative K", func(s *Summary) { s.K = -1 }, "K = -1"},
		{"too few smallest", func(s *Summary) { s.Smallest = s.Smallest[:1] }, "len(Smallest)"},
		{"unsorted smallest", func(s *Summary) { s.Smallest[0] = 0.3 }, "Smallest[1]"},
		{"NaN smallest", func(s *Summary) { s.Smallest[1] = nan }, "Smallest[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			tc.edit(s)
			err := s.Validate()
			if !errors.Is(err, ErrBadSummary) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %v, want ErrBadSummary naming %q", err, tc.field)
			}
		})
	}
}

func TestSummarizePanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"length mismatch", func() { Summarize(make([]float32, 8), make([]float32, 4), 4, Requirement{}, new(Summary)) }, msgLengthMismatch},
		{"zero D", func() { Summarize(make([]float32, 8), make([]float32, 8), 0, Requirement{}, new(Summary)) }, msgBadDim},
		{"not a multiple", func() { SummarizeResiduals(make([]float32, 7), 4, Requirement{}, new(Summary)) }, msgNotMultiple},
		{"K with D = 1", func() { SummarizeResiduals(make([]float32, 7), 1, Requirement{K: 1}, new(Summary)) }, msgBadRequirement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tc.msg {
					t.Errorf("panic = %v, want %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

func ExampleSummarize() {
	// Residuals of three boxes, [N=3, D=4]; the last row diverged.
	pred := []float32{0.10, 0.30, 0, 0, 0.20, 0.20, 0.5, 0.5, float32(nan), 0, 0, 0}
	target := make([]float32, len(pred))
	var s Summary
	Summarize(pred, target, 4, Requirement{Moments: true, K: 1}, &s)
	fmt.Printf("finite rows %d, skipped %d\n", s.Moments.Count, s.Moments.Skipped)
	fmt.Printf("mean |d| per column %.2f\n", s.Moments.Mean)
	fmt.Printf("smallest e %.2f\n", s.Smallest)
	// Output:
	// finite rows 2, skipped 1
	// mean |d| per column [0.15 0.25 0.25 0.25]
	// smallest e [0.20]
}

func ExampleSummary_Merge() {
	// Two workers summarize their halves of a batch; the merged summary is
	// the one of the whole batch, so every replica gets the same β.
	pred := []float32{0.1, 0.2, 0, 0, 0.3, 0.1, 0, 0, 0.05, 0.05, 0, 0, 0.2, 0.4, 0, 0}
	target := make([]float32, len(pred))
	req := Requirement{Moments: true, K: 2}
	var a, b, whole Summary
	Summarize(pred[:8], target[:8], 4, req, &a)
	Summarize(pred[8:], target[8:], 4, req, &b)
	Summarize(pred, target, 4, req, &whole)
	if err := a.Merge(&b); err != nil {
		panic(err)
	}
	fmt.Println(a.Moments.Count, a.Smallest)
	fmt.Println(whole.Moments.Count, whole.Smallest)
	// Output:
	// 4 [0.05000000074505806 0.15000000223517418]
	// 4 [0.05000000074505806 0.15000000223517418]
}

func TestStepNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	b := randomStream(rng, 1, 4, []int{5000}, 0.01)[0]
	sasl, _ := NewSelfAdjusting(SelfAdjustingConfig{}, 4)
	dsl, _ := NewDynamicRCNN(DynamicRCNNConfig{Interval: 3}, 4)
	for _, s := range []Scheduler{sasl, dsl} {
		var sum Summary
		var beta []float64
		step := func() {
			var err error
			if beta, err = Step(s, b.pred, b.target, 4, &sum, beta); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if a := testing.AllocsPerRun(20, step); a != 0 {
			t.Errorf("%s: %v allocs per step, want 0", s.Name(), a)
		}
	}
}
