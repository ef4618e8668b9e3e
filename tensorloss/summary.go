package tensorloss

import (
	"fmt"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/stats"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// SummarizeTensor fills dst with what a scheduler of requirement req reads from the batch
// d = pred − target (d = target when req.Source is dynamic.Target), [N, D] tensors of one float dtype and device (detached: the statistics
// carry no gradient). It is dynamic.Summarize for tensors:
//
//	Moments.Count, Skipped   rows without NaN, ±Inf or a magnitude above stats.MaxAbs in any
//	                         column, and the others, always
//	Moments.Mean, M2         per-column moments of |d| over the counted rows, when req.Moments
//	                         (zero otherwise)
//	K, Smallest              the min(K, Count) smallest e = (|d0| + |d1|)/2, ascending, when
//	                         req.K > 0 (D must then be at least 2)
//
// The residual is formed in the tensors' dtype, then widened to float64, and every statistic
// is accumulated in float64, so that the summary is the pure-Go path's up to the order of the
// sums: Count, Skipped and Smallest are equal, Mean and M2 agree to about 1e-15 relative, for
// float32 and float64 alike.
//
// EngineTorch computes on the tensors' device (|d| in float64, column sums, a two-pass M2,
// topk(largest=false) of e) and copies one vector of 2·D + K numbers to the host. A finite
// column sum ≤ stats.MaxAbs proves every row usable; only when one is not does a slow path mask the bad
// rows (isfinite, all over the row, index_select) and recompute. EngineGo (EngineAuto on the
// CPU) runs dynamic.Summarize on the tensors' memory, and so gives the pure-Go summary
// exactly.
//
// It runs inside torchthread.Do and drops all its temporaries. Errors are those of Loss's
// input checks, ErrShape for req.K > 0 with D < 2, and libtorch's.
func SummarizeTensor(pred, target *ts.Tensor, req dynamic.Requirement, e Engine, dst *dynamic.Summary) error {
	return tt.Do(func() error {
		b, err := checkBatch(pred, target, nil)
		if err != nil {
			return err
		}
		if e, err = e.resolve(b); err != nil {
			return err
		}
		if e == EngineTorch {
			return summarizeTorch(pred, target, b, req, dst)
		}
		if err := checkRequirement(req, b); err != nil {
			return err
		}
		var tmp tt.Scratch
		defer tmp.Drop()
		if b.dtype == gotch.Float {
			p := hostSlice[float32](pred, b.numel(), &tmp)
			y := hostSlice[float32](target, b.numel(), &tmp)
			summarizeGo(p, y, int(b.d), req, dst)
		} else {
			p := hostSlice[float64](pred, b.numel(), &tmp)
			y := hostSlice[float64](target, b.numel(), &tmp)
			summarizeGo(p, y, int(b.d), req, dst)
		}
		return nil
	})
}

func checkRequirement(req dynamic.Requirement, b batch) error {
	if req.K < 0 || (req.K > 0 && b.d < 2) {
		return inputErr(ErrShape, "requirement K = %d needs K ≥ 0 and D ≥ 2, the prediction is %v", req.K, []int64{b.n, b.d})
	}
	return nil
}

// summarizeGo is SummarizeTensor on EngineGo, for slices over the tensors' memory:
// dynamic.Summarize itself.
func summarizeGo[T float32 | float64](p, y []T, d int, req dynamic.Requirement, dst *dynamic.Summary) {
	dynamic.Summarize(p, y, d, req, dst)
}

// summarizeTorch is SummarizeTensor on EngineTorch.
func summarizeTorch(pred, target *ts.Tensor, b batch, req dynamic.Requirement, dst *dynamic.Summary) error {
	if err := checkRequirement(req, b); err != nil {
		return err
	}
	var tmp tt.Scratch
	defer tmp.Drop()
	pd := tmp.Add(tt.Must(pred.Detach(false)))
	td := tmp.Add(tt.Must(target.Detach(false)))
	// |d| in float64: sub with a float64 out computes in the inputs' dtype and widens, which
	// is how the pure-Go path forms the residual.
	a := tmp.Add(tt.Must(ts.Empty([]int64{b.n, b.d}, gotch.Double, b.dev)))
	if req.Source == dynamic.Target { // the statistic is of the targets alone
		t64 := tmp.Add(tt.Must(td.ToDtype(gotch.Double, false, false, false)))
		tmp.Add(tt.Must(t64.AbsOut(a, false)))
	} else {
		tmp.Add(tt.Must(pd.SubOut(a, td, false)))
		tmp.Add(tt.Must(a.AbsOut(a, false)))
	}
	host, err := deviceStats(a, b.n, b.d, req, &tmp)
	if err != nil {
		return err
	}
	count := b.n
	for _, s := range host[:b.d] {
		// A column sum of |d| ≤ stats.MaxAbs proves every value of the column usable; above
		// it (or NaN, ±Inf) mask the rows holding NaN, ±Inf or a magnitude above stats.MaxAbs,
		// as dynamic.Summarize excludes them.
		if !(s <= stats.MaxAbs) {
			limit := ts.FloatScalar(stats.MaxAbs)
			fin := tmp.Add(tt.Must(a.Le(limit, false))) // false for NaN
			limit.MustDrop()
			rows := tmp.Add(tt.Must(fin.AllDim(1, false, false)))
			idx := tmp.Add(tt.Must(rows.Nonzero(false)))
			idx1 := tmp.Add(tt.Must(idx.View([]int64{-1}, false)))
			good := tmp.Add(tt.Must(a.IndexSelect(0, idx1, false)))
			count = tt.Must(good.Size())[0]
			if host, err = deviceStats(good, count, b.d, req, &tmp); err != nil {
				return err
			}
			break
		}
	}
	m := &dst.Moments
	m.Reset(int(b.d))
	m.Count, m.Skipped = count, b.n-count
	if req.Moments && count > 0 {
		for j := range m.Mean {
			m.Mean[j] = host[j] / float64(count)
			m.M2[j] = host[int(b.d)+j]
		}
	}
	dst.K = req.K
	dst.Smallest = dst.Smallest[:0]
	if req.K > 0 {
		off := int(b.d)
		if req.Moments && count > 0 {
			off *= 2
		}
		for _, v := range host[off:] {
			dst.Smallest = append(dst.Smallest, v/2) // exact: e = (|d0| + |d1|)/2
		}
	}
	return nil
}

// deviceStats returns, in one host copy, the column sums of a ([n, d] float64, |d|), then
// when req.Moments and n > 0 the column sums of squared deviations from the column means,
// then when req.K > 0 the min(K, n) smallest |d0| + |d1|, ascending.
func deviceStats(a *ts.Tensor, n, d int64, req dynamic.Requirement, tmp *tt.Scratch) ([]float64, error) {
	sums := tmp.Add(tt.Must(a.SumDimIntlist([]int64{0}, false, gotch.Double, false)))
	parts := []*ts.Tensor{sums}
	if req.Moments && n > 0 {
		mean := tmp.Add(tt.Must(sums.DivScalar(tmp.Scalar(float64(n)), false)))
		dev := tmp.Add(tt.Must(a.Sub(mean, false)))
		sq := tmp.Add(tt.Must(dev.Square(false)))
		parts = append(parts, tmp.Add(tt.Must(sq.SumDimIntlist([]int64{0}, false, gotch.Double, false))))
	}
	if k := min(int64(req.K), n); k > 0 {
		c0 := tmp.Add(tt.Must(a.Select(1, 0, false)))
		c1 := tmp.Add(tt.Must(a.Select(1, 1, false)))
		e := tmp.Add(tt.Must(c0.Add(c1, false)))
		v, i, err := e.Topk(k, 0, false, true, false)
		tt.Check(err)
		tmp.Add(v)
		tmp.Add(i)
		parts = append(parts, v)
	}
	all := tmp.Add(tt.Must(ts.Cat(parts, 0)))
	host := make([]float64, all.Numel())
	if err := tt.CopyTo(host, all); err != nil {
		return nil, fmt.Errorf("tensorloss: copying the summary to the host: %w", err)
	}
	return host, nil
}
