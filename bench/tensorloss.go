package bench

import (
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// lossCases are the cases of rows 2 and 3 on float32 [rows, 4] tensors, forward and
// backward (the gradient with respect to pred), in this order:
//
//	native      libtorch's smooth_l1_loss(β = 0.11, mean)
//	ours        tensorloss.NewDynamicLoss with a SelfAdjusting scheduler (the published
//	            configuration), mean, EngineAuto (on the CPU: the Go kernels on the
//	            tensors' memory)
//	retinamask  RetinaMask's published AdjustSmoothL1Loss composed in gotch (retinaMask)
//
// Call it, the cases' Op and free inside torchthread.Do.
func lossCases(rows int) (cases []Case, free func(), err error) {
	s, err := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{}, D)
	if err != nil {
		return nil, nil, err
	}
	loss, err := tensorloss.NewDynamicLoss(s, static.Mean)
	if err != nil {
		return nil, nil, err
	}
	pred, target := boxTensors(boxData(rows))
	var rm retinaMask
	native := func() error {
		return forwardBackward(pred, func() (*ts.Tensor, error) {
			return pred.SmoothL1Loss(target, ts.ReductionMean, nativeBeta, false)
		})
	}
	ours := func() error {
		return forwardBackward(pred, func() (*ts.Tensor, error) { return loss.Forward(pred, target, nil) })
	}
	published := func() error {
		return forwardBackward(pred, func() (*ts.Tensor, error) { return rm.forward(pred, target) })
	}
	free = func() {
		rm.state.Drop()
		pred.MustDrop()
		target.MustDrop()
	}
	return []Case{{Name: caseNative, Op: native}, {Name: caseOurs, Op: ours}, {Name: caseRetinaMask, Op: published}}, free, nil
}

// retinaMask is RetinaMask's AdjustSmoothL1Loss (Fu, Shvets & Berg 2019; the official
// maskrcnn-benchmark based code, REFERENCE.md §2) re-created op for op in gotch, with the
// published configuration (β̂ = 0.11, momentum 0.1, 4 columns):
//
//	n = |pred − target|
//	with no grad: if isnan(var(n, dim 0)).sum().item() == 0:       (a host sync per step)
//	    μ  ← (1 − m)·μ  + m·mean(n, dim 0)
//	    σ² ← (1 − m)·σ² + m·var(n, dim 0)                            (unbiased)
//	β = clamp(μ − σ², 1e-3, β̂).view(1, 4)
//	loss = where(n < β, 0.5·n²/β, n − 0.5·β).mean()
//
// The published code computes var(n) twice (for the NaN check and the update); this one
// reuses the first, which only flatters it. The zero value starts at the published initial
// state μ = β̂, σ² = 0; state holds the running tensors until dropped.
type retinaMask struct {
	mean, vr *ts.Tensor
	state    tt.Scratch
}

func (r *retinaMask) forward(p, y *ts.Tensor) (*ts.Tensor, error) {
	const m, betaMax = 0.1, 0.11
	var tmp tt.Scratch
	defer tmp.Drop()
	if r.mean == nil {
		r.mean = r.state.Add(tt.Must(ts.Full([]int64{D}, tmp.Scalar(betaMax), gotch.Float, gotch.CPU)))
		r.vr = r.state.Add(tt.Must(ts.Zeros([]int64{D}, gotch.Float, gotch.CPU)))
	}
	d := tmp.Add(tt.Must(p.Sub(y, false)))
	n := tmp.Add(tt.Must(d.Abs(false)))
	nd := tmp.Add(tt.Must(n.Detach(false)))
	bv := tmp.Add(tt.Must(nd.VarDim([]int64{0}, true, false, false)))
	isn := tmp.Add(tt.Must(bv.Isnan(false)))
	cnt := tmp.Add(tt.Must(isn.Sum(gotch.Int64, false)))
	var nans [1]int64
	tt.Check(cnt.CopyData(nans[:], 1)) // .item(): the host sync
	if nans[0] == 0 {
		bm := tmp.Add(tt.Must(nd.MeanDim([]int64{0}, false, gotch.Float, false)))
		m1 := tmp.Add(tt.Must(r.mean.MulScalar(tmp.Scalar(1-m), false)))
		m2 := tmp.Add(tt.Must(bm.MulScalar(tmp.Scalar(m), false)))
		v1 := tmp.Add(tt.Must(r.vr.MulScalar(tmp.Scalar(1-m), false)))
		v2 := tmp.Add(tt.Must(bv.MulScalar(tmp.Scalar(m), false)))
		tmp.Add(tt.Must(m1.AddOut(r.mean, m2, false)))
		tmp.Add(tt.Must(v1.AddOut(r.vr, v2, false)))
	}
	diff := tmp.Add(tt.Must(r.mean.Sub(r.vr, false)))
	beta0 := tmp.Add(tt.Must(diff.Clamp(tmp.Scalar(1e-3), tmp.Scalar(betaMax), false)))
	beta := tmp.Add(tt.Must(beta0.View([]int64{1, D}, false)))
	cond := tmp.Add(tt.Must(n.LtTensor(beta, false)))
	sq := tmp.Add(tt.Must(n.Square(false)))
	half := tmp.Add(tt.Must(sq.MulScalar(tmp.Scalar(0.5), false)))
	in := tmp.Add(tt.Must(half.Div(beta, false)))
	hb := tmp.Add(tt.Must(beta.MulScalar(tmp.Scalar(0.5), false)))
	out := tmp.Add(tt.Must(n.Sub(hb, false)))
	loss := tmp.Add(tt.Must(in.WhereSelf(cond, out, false)))
	return loss.Mean(gotch.Float, false)
}
