package dynamic

import (
	"math"
	"testing"
)

// TestHugeFiniteResiduals: the outside check's input, a finite |d| above 1.3e154, used to
// overflow M2 to NaN and stop every scheduler with "bad summary". Now such a row is skipped
// like a NaN row (stats.MaxAbs) by every summary path, so the schedulers go on, β stays
// finite, and the row is counted. Oracle: the same stream with the huge rows replaced by
// NaN rows gives the same β and the same counts.
func TestHugeFiniteResiduals(t *testing.T) {
	const d = 4
	var stream, nanStream [][]float64
	for step := range 60 {
		var b, nb []float64
		for i := range 8 {
			v := 0.01 * float64(1+(step*8+i)%37)
			row := []float64{v, 2 * v, v / 2, 3 * v}
			nrow := append([]float64(nil), row...)
			if (step+i)%5 == 0 {
				row[i%d], nrow[i%d] = []float64{1.3e154, 1e200, math.MaxFloat64, -1e300}[i%d], math.NaN()
			}
			b, nb = append(b, row...), append(nb, nrow...)
		}
		stream, nanStream = append(stream, b), append(nanStream, nb)
	}
	specs := []func() Scheduler{
		func() Scheduler { s, _ := NewSelfAdjusting(SelfAdjustingConfig{}, d); return s },
		func() Scheduler { s, _ := NewSelfAdjusting(SelfAdjustingConfig{Shared: true}, d); return s },
		func() Scheduler {
			s, _ := NewDynamicRCNN(DynamicRCNNConfig{K: 3, Interval: 5, Source: Residual}, d)
			return s
		},
		func() Scheduler { s, _ := NewDynamicRCNN(DynamicRCNNConfig{K: 3, Interval: 5}, d); return s }, // of the targets
		func() Scheduler { s, _ := NewFixed(0.5, d); return s },
	}
	for _, mk := range specs {
		for _, residuals := range []bool{false, true} {
			a, b := mk(), mk()
			var sum Summary
			for step := range stream {
				var beta, want []float64
				var err error
				if residuals {
					SummarizeResiduals(stream[step], d, a.Requirement(), &sum)
					err = a.Observe(&sum)
					beta = a.Beta(nil)
					SummarizeResiduals(nanStream[step], d, b.Requirement(), &sum)
				} else {
					zero := make([]float64, len(stream[step]))
					if a.Requirement().Source == Target { // the huge values are targets
						beta, err = Step(a, zero, stream[step], d, &sum, nil)
						Summarize(zero, nanStream[step], d, b.Requirement(), &sum)
					} else {
						beta, err = Step(a, stream[step], zero, d, &sum, nil)
						Summarize(nanStream[step], zero, d, b.Requirement(), &sum)
					}
				}
				if err != nil {
					t.Fatalf("%s (residuals %v) step %d: %v", a.Name(), residuals, step, err)
				}
				if err := b.Observe(&sum); err != nil {
					t.Fatal(err)
				}
				want = b.Beta(nil)
				for j := range beta {
					if !(beta[j] == want[j]) || math.IsNaN(beta[j]) {
						t.Fatalf("%s step %d: β %v, with NaN rows instead %v", a.Name(), step, beta, want)
					}
				}
			}
			if ca, cb := a.Counts(), b.Counts(); ca != cb || ca.SkippedRows == 0 {
				t.Errorf("%s: counts %+v, with NaN rows %+v", a.Name(), ca, cb)
			}
		}
	}
}

// TestSummarizePathsAgreeOnHugeRows: with and without moments, the count of usable rows and
// the smallest values agree when rows hold magnitudes above stats.MaxAbs (one criterion in
// every path, so min(K, Count) smallest values are always there).
func TestSummarizePathsAgreeOnHugeRows(t *testing.T) {
	pred := []float64{1, 2, 3, 4, 1e200, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 2e154, 9, 9, 9, 9}
	zero := make([]float64, len(pred))
	var with, without Summary
	Summarize(pred, zero, 4, Requirement{Moments: true, K: 5}, &with)
	Summarize(pred, zero, 4, Requirement{K: 5}, &without)
	if with.Moments.Count != 3 || without.Moments.Count != 3 || with.Moments.Skipped != 2 || without.Moments.Skipped != 2 {
		t.Fatalf("counts %d/%d skipped %d/%d, want 3 and 2 (rows 2 and 4 are huge)", with.Moments.Count, without.Moments.Count, with.Moments.Skipped, without.Moments.Skipped)
	}
	// Oracle by hand: E = (|d0| + |d1|)/2 of rows 1, 3, 5 is 1.5, 5.5, 9.
	for _, s := range []*Summary{&with, &without} {
		if len(s.Smallest) != 3 || s.Smallest[0] != 1.5 || s.Smallest[1] != 5.5 || s.Smallest[2] != 9 {
			t.Errorf("smallest %v, want [1.5 5.5 9]", s.Smallest)
		}
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
	}
}
