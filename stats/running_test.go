package stats

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestRunningUpdate(t *testing.T) {
	// Batch |d| rows (0, 1), (2, 3): column means (1, 2), unbiased vars (2, 2).
	batch := NewMoments(2)
	AddAbs(batch, []float64{0, 1, -2, 3}, 2)
	for _, tc := range []struct {
		name            string
		m, mean0, var0  float64
		wantMu, wantVar [2]float64
		source          string
	}{
		{"RetinaMask defaults", 0.1, 0.11, 0, [2]float64{0.9*0.11 + 0.1, 0.9*0.11 + 0.2}, [2]float64{0.2, 0.2}, "published rule by hand"},
		{"momentum 1 takes the batch", 1, 5, 5, [2]float64{1, 2}, [2]float64{2, 2}, "definition"},
		{"momentum 0.5", 0.5, 0, 1, [2]float64{0.5, 1}, [2]float64{1.5, 1.5}, "by hand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRunning(2, tc.m, tc.mean0, tc.var0)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Update(batch); err != nil {
				t.Fatal(err)
			}
			for j := range 2 {
				if relErr(r.Mean[j], tc.wantMu[j]) > 1e-15 || relErr(r.Var[j], tc.wantVar[j]) > 1e-15 {
					t.Errorf("column %d: μ, σ² = %v, %v, want %v, %v (%s)", j, r.Mean[j], r.Var[j], tc.wantMu[j], tc.wantVar[j], tc.source)
				}
			}
		})
	}
}

func TestRunningPooled(t *testing.T) {
	// Pooled values 0, 1, 2, 3: mean 1.5, unbiased var 5/3.
	batch := NewMoments(2)
	AddAbs(batch, []float64{0, 1, -2, 3}, 2)
	r, err := NewRunning(1, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.UpdatePooled(batch); err != nil {
		t.Fatal(err)
	}
	if relErr(r.Mean[0], 1.5) > 1e-15 || relErr(r.Var[0], 5.0/3) > 1e-15 || relErr(r.Std(0), math.Sqrt(5.0/3)) > 1e-15 {
		t.Errorf("pooled μ, σ² = %v, %v, want 1.5, 5/3 (closed form)", r.Mean[0], r.Var[0])
	}
}

func TestRunningErrors(t *testing.T) {
	for _, tc := range []struct {
		name           string
		m, mean0, var0 float64
		want           error
	}{
		{"momentum 0", 0, 0, 0, ErrBadMomentum},
		{"momentum negative", -0.1, 0, 0, ErrBadMomentum},
		{"momentum above 1", 1.5, 0, 0, ErrBadMomentum},
		{"momentum NaN", nan, 0, 0, ErrBadMomentum},
		{"momentum Inf", pinf, 0, 0, ErrBadMomentum},
		{"mean0 NaN", 0.1, nan, 0, ErrBadInit},
		{"var0 negative", 0.1, 0, -1, ErrBadInit},
		{"var0 Inf", 0.1, 0, pinf, ErrBadInit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRunning(4, tc.m, tc.mean0, tc.var0); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRunningRejectsBadBatches(t *testing.T) {
	r, _ := NewRunning(2, 0.1, 0.11, 0)
	one := NewMoments(2)
	AddAbs(one, []float64{1, 2, nan, 0}, 2)
	overflow := &Moments{Count: 3, Mean: []float64{1, pinf}, M2: []float64{1, 1}}
	for _, tc := range []struct {
		name   string
		b      *Moments
		pooled bool
		want   error
	}{
		{"one finite row", one, false, ErrTooFewRows},
		{"non-finite mean", overflow, false, ErrNonFinite},
	} {
		if err := r.Update(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		if r.Mean[0] != 0.11 || r.Mean[1] != 0.11 || r.Var[0] != 0 || r.Var[1] != 0 {
			t.Errorf("%s: state changed to %v, %v", tc.name, r.Mean, r.Var)
		}
	}
	p, _ := NewRunning(1, 0.1, 0.11, 0)
	if err := p.UpdatePooled(one); !errors.Is(err, ErrTooFewRows) || p.Mean[0] != 0.11 {
		t.Errorf("pooled one row: err = %v, μ = %v", err, p.Mean[0])
	}
}

func ExampleRunning() {
	// RetinaMask's running statistics of |d| for two columns.
	r, err := NewRunning(2, 0.1, 0.11, 0)
	if err != nil {
		panic(err)
	}
	var batch Moments
	AddAbsDiff(&batch, []float32{0.3, 0.1, 0.5, 0.2}, []float32{0.1, 0.1, 0.1, 0.1}, 2)
	if err := r.Update(&batch); err != nil {
		panic(err)
	}
	fmt.Printf("μ = [%.4f %.4f], σ² = [%.4f %.4f]\n", r.Mean[0], r.Mean[1], r.Var[0], r.Var[1])
	// Output:
	// μ = [0.1290 0.1040], σ² = [0.0020 0.0005]
}
