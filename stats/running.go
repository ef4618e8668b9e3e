package stats

import (
	"fmt"
	"math"
)

// Running holds exponential moving moments per column, the rule of
// RetinaMask's self-adjusting Smooth L1 (Fu, Shvets & Berg 2019): for each
// batch with moments (mean_b, var_b),
//
//	μ_j  ← (1 − m)·μ_j  + m·mean_b[j]
//	σ²_j ← (1 − m)·σ²_j + m·var_b[j]     (var_b unbiased)
//
// with momentum m ∈ (0, 1] (the paper's "momentum 0.9" is m = 0.1 here).
// Mean and Var are exported for checkpointing; the momentum is fixed at
// construction.
type Running struct {
	Mean []float64
	Var  []float64

	momentum float64
}

// NewRunning returns running moments of dimension d with every μ_j = mean0
// and σ²_j = var0. It returns an error wrapping ErrBadMomentum when momentum
// is not in (0, 1], and ErrBadInit when mean0 or var0 is not finite or
// var0 < 0. It panics if d ≤ 0.
func NewRunning(d int, momentum, mean0, var0 float64) (*Running, error) {
	if d <= 0 {
		panic(msgBadDim)
	}
	if !(momentum > 0 && momentum <= 1) {
		return nil, fmt.Errorf("%w: momentum = %v", ErrBadMomentum, momentum)
	}
	if !Finite(mean0) {
		return nil, fmt.Errorf("%w: mean0 = %v", ErrBadInit, mean0)
	}
	if !Finite(var0) || var0 < 0 {
		return nil, fmt.Errorf("%w: var0 = %v", ErrBadInit, var0)
	}
	r := &Running{Mean: make([]float64, d), Var: make([]float64, d), momentum: momentum}
	for j := range r.Mean {
		r.Mean[j], r.Var[j] = mean0, var0
	}
	return r, nil
}

// Momentum returns m.
func (r *Running) Momentum() float64 { return r.momentum }

// Dim returns the number of columns.
func (r *Running) Dim() int { return len(r.Mean) }

// Update absorbs one batch, column by column. It returns an error wrapping
// ErrTooFewRows when b.Count < 2 (the unbiased variance is undefined) and
// ErrNonFinite when a batch mean or variance is NaN or ±Inf; in both cases r
// is unchanged. It does not allocate on success. It panics if the dimensions
// differ.
func (r *Running) Update(b *Moments) error {
	if b.Dim() != r.Dim() {
		panic(msgDimMismatch)
	}
	if b.Count < 2 {
		return fmt.Errorf("%w: count = %d", ErrTooFewRows, b.Count)
	}
	for j := range r.Mean {
		if !Finite(b.Mean[j]) || !Finite(b.Var(j)) {
			return fmt.Errorf("%w: column %d: mean = %v, var = %v", ErrNonFinite, j, b.Mean[j], b.Var(j))
		}
	}
	m := r.momentum
	for j := range r.Mean {
		r.Mean[j] = (1-m)*r.Mean[j] + m*b.Mean[j]
		r.Var[j] = (1-m)*r.Var[j] + m*b.Var(j)
	}
	return nil
}

// UpdatePooled absorbs one batch into running moments of dimension 1 from
// the pooled view of b (all Count·D values as one sample, see
// Moments.PooledVar), for a statistic shared by all columns. Errors are as
// for Update; it also requires b.Count ≥ 2 so that the pooled and per-column
// rules skip the same batches. It panics if r.Dim() ≠ 1.
func (r *Running) UpdatePooled(b *Moments) error {
	if r.Dim() != 1 {
		panic(msgDimMismatch)
	}
	if b.Count < 2 {
		return fmt.Errorf("%w: count = %d", ErrTooFewRows, b.Count)
	}
	mean, v := b.PooledMean(), b.PooledVar()
	if !Finite(mean) || !Finite(v) {
		return fmt.Errorf("%w: pooled mean = %v, var = %v", ErrNonFinite, mean, v)
	}
	m := r.momentum
	r.Mean[0] = (1-m)*r.Mean[0] + m*mean
	r.Var[0] = (1-m)*r.Var[0] + m*v
	return nil
}

// Std returns √Var[j].
func (r *Running) Std(j int) float64 { return math.Sqrt(r.Var[j]) }
