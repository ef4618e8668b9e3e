package tensorloss

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/spec"
	"github.com/smoothl1/smoothl1/static"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// Loss is a box regression loss on tensors: the residual d = pred − target of [N, D]
// prediction and target tensors (float32 or float64, same dtype and device), with optional
// weights, reduced as static.Reduction says (Mean divides by the element count N·D, as torch
// does; the Mean of an empty batch is 0 and back-propagates zero gradients).
//
// Forward returns the reduced loss (a 0-dim tensor for Mean and Sum, [N, D] for None) with
// the dtype of pred; the caller drops it. Forward drops every temporary it makes and never
// drops or modifies its arguments. weights is nil, an undefined tensor (both mean every
// weight is 1), an [N] tensor (one weight per row, broadcast over the columns) or an [N, D]
// tensor, of pred's dtype; a weight multiplies both the value and the gradient of its
// elements. Gradients flow to pred only: target and weights are constants (detached).
//
// Forward runs its gotch calls inside torchthread.Do, so it may be called from any goroutine
// or from inside Do. Shape, dtype and device mismatches are errors wrapping ErrShape, ErrDType
// or ErrDevice, whose text names both shapes (dtypes, devices). Implementations are not safe
// for concurrent use.
type Loss interface {
	// Name is the loss in the project's spec syntax, e.g. "smoothl1:beta=0.11" or
	// "sasl:momentum=0.1,...".
	Name() string
	// Forward returns the loss of the batch (see the type's documentation).
	Forward(pred, target, weights *ts.Tensor) (*ts.Tensor, error)
}

// Errors of the losses' input checks. The error returned wraps one of them and says what
// differs, e.g. "tensorloss: prediction [8 4] and target [8 3] differ".
var (
	// ErrShape: pred is not [N, D], target's shape differs from pred's, the weights fit
	// neither [N] nor [N, D], or D differs from the scheduler's.
	ErrShape = errors.New("tensorloss: tensor shape mismatch")
	// ErrDType: pred is not float32 or float64, or target or weights have another dtype.
	ErrDType = errors.New("tensorloss: tensor dtype mismatch")
	// ErrDevice: target or weights live on another device than pred, or the Go engine was
	// asked to work on tensors that are not on the CPU.
	ErrDevice = errors.New("tensorloss: tensor device mismatch")
)

// inputError has the message of a check and wraps one of the errors above.
type inputError struct {
	kind error
	msg  string
}

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return e.kind }

func inputErr(kind error, format string, args ...any) error {
	return &inputError{kind: kind, msg: "tensorloss: " + fmt.Sprintf(format, args...)}
}

// batch describes the checked inputs of one Forward.
type batch struct {
	n, d    int64
	dtype   gotch.DType
	dev     gotch.Device
	weights *ts.Tensor // nil when absent
	rowW    bool       // weights are [N]
}

func (b batch) numel() int64 { return b.n * b.d }
func (b batch) onCPU() bool  { return b.dev.Name == "CPU" }

func dtypeName(k gotch.DType) string {
	switch k {
	case gotch.Float:
		return "float32"
	case gotch.Double:
		return "float64"
	}
	return k.String()
}

// defined reports whether x is a tensor with storage (not nil, not ts.NewTensor()).
func defined(x *ts.Tensor) (bool, error) {
	if x == nil {
		return false, nil
	}
	return x.Defined()
}

// checkBatch validates pred, target and weights (nil allowed) as documented on Loss.
func checkBatch(pred, target, weights *ts.Tensor) (batch, error) {
	var b batch
	for _, x := range []struct {
		name string
		t    *ts.Tensor
	}{{"prediction", pred}, {"target", target}} {
		ok, err := defined(x.t)
		if err != nil {
			return b, err
		}
		if !ok {
			return b, inputErr(ErrShape, "%s is nil or undefined", x.name)
		}
	}
	ps, err := pred.Size()
	if err != nil {
		return b, err
	}
	ys, err := target.Size()
	if err != nil {
		return b, err
	}
	if len(ps) != 2 {
		return b, inputErr(ErrShape, "prediction %v is not [N, D]", ps)
	}
	if !equalShape(ps, ys) {
		return b, inputErr(ErrShape, "prediction %v and target %v differ", ps, ys)
	}
	b.n, b.d, b.dtype = ps[0], ps[1], pred.DType()
	if b.dtype != gotch.Float && b.dtype != gotch.Double {
		return b, inputErr(ErrDType, "prediction has dtype %s, want float32 or float64", dtypeName(b.dtype))
	}
	if k := target.DType(); k != b.dtype {
		return b, inputErr(ErrDType, "prediction %s and target %s differ in dtype", dtypeName(b.dtype), dtypeName(k))
	}
	if b.dev, err = pred.Device(); err != nil {
		return b, err
	}
	if dv, err := target.Device(); err != nil {
		return b, err
	} else if dv.Name != b.dev.Name || dv.Value != b.dev.Value {
		return b, inputErr(ErrDevice, "prediction on %v and target on %v", b.dev, dv)
	}
	ok, err := defined(weights)
	if err != nil || !ok {
		return b, err
	}
	ws, err := weights.Size()
	if err != nil {
		return b, err
	}
	switch {
	case len(ws) == 1 && ws[0] == b.n:
		b.rowW = true
	case equalShape(ws, ps):
	default:
		return b, inputErr(ErrShape, "weights %v fit neither [N] = [%d] nor [N D] = %v", ws, b.n, ps)
	}
	if k := weights.DType(); k != b.dtype {
		return b, inputErr(ErrDType, "prediction %s and weights %s differ in dtype", dtypeName(b.dtype), dtypeName(k))
	}
	if dv, err := weights.Device(); err != nil {
		return b, err
	} else if dv.Name != b.dev.Name || dv.Value != b.dev.Value {
		return b, inputErr(ErrDevice, "prediction on %v and weights on %v", b.dev, dv)
	}
	b.weights = weights
	return b, nil
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkReduction returns an error wrapping static.ErrUnknownReduction for an unknown r.
func checkReduction(r static.Reduction) error {
	_, err := r.MarshalText()
	return err
}

// torchReduction is torch's reduction code for r (0 none, 1 mean, 2 sum).
func torchReduction(r static.Reduction) int64 {
	switch r {
	case static.None:
		return ts.ReductionNone
	case static.Sum:
		return ts.ReductionSum
	}
	return ts.ReductionMean
}

// NewStaticLoss returns the tensor form of a fixed-shape loss of package static (L1, L2,
// SmoothL1, Huber, BalancedL1, as values or pointers) with reduction r. Values and gradients
// are those of static.Eval on the same data, up to the rounding of torch's kernels and
// float32 sums (float64: 1e-12 relative; float32: 1e-6).
//
// The forms: L1, Smooth L1, Huber and L2 (½·mse_loss) run libtorch's fused native losses;
// Smooth L1 with β = 0 is l1_loss, exact L1 with gradient 0 at d = 0 (torch's smooth_l1_loss
// would give −1 there). Balanced L1 has no native op and is composed with where in float64
// from the residual formed in pred's dtype, as static computes it. Weights multiply the
// elementwise loss before the reduction.
//
// It returns an error wrapping static.ErrUnknownReduction for an unknown r, the loss's own
// validation error for an invalid Huber or BalancedL1, and an error for a loss of another
// package, which has no tensor form.
func NewStaticLoss(l static.Loss, r static.Reduction) (Loss, error) {
	if err := checkReduction(r); err != nil {
		return nil, err
	}
	var s staticLoss
	switch v := l.(type) {
	case static.L1:
		s.kind = kindL1
	case *static.L1:
		s.kind = kindL1
	case static.L2:
		s.kind = kindL2
	case *static.L2:
		s.kind = kindL2
	case static.SmoothL1:
		s.kind, s.p = kindSmoothL1, v.Beta()
	case *static.SmoothL1:
		s.kind, s.p = kindSmoothL1, v.Beta()
	case static.Huber:
		s.kind, s.p = kindHuber, v.Delta()
	case *static.Huber:
		s.kind, s.p = kindHuber, v.Delta()
	case static.BalancedL1:
		s.kind, s.bl = kindBalanced, v
	case *static.BalancedL1:
		s.kind, s.bl = kindBalanced, *v
	default:
		return nil, fmt.Errorf("tensorloss: no tensor form for the loss %v (%T)", l, l)
	}
	if v, ok := l.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	if s.kind == kindSmoothL1 && s.p == 0 {
		s.kind = kindL1 // exact L1, gradient 0 at d = 0
	}
	s.name, s.red = l.String(), r
	return &s, nil
}

type lossKind int

const (
	kindL1 lossKind = iota
	kindL2
	kindSmoothL1
	kindHuber
	kindBalanced
)

// staticLoss is NewStaticLoss's Loss: a kind with its parameter, run by libtorch's ops.
type staticLoss struct {
	name string
	kind lossKind
	p    float64 // β of Smooth L1 (> 0), δ of Huber
	bl   static.BalancedL1
	red  static.Reduction
	d    int // columns of the last batch
}

func (s *staticLoss) Name() string { return s.name }

// LastBeta returns the β per column of the last Forward for Smooth L1 and L1 (β = 0), so that
// fixed-β runs log their β like scheduled ones; nil for losses without a β.
func (s *staticLoss) LastBeta() []float64 {
	var beta float64
	switch s.kind {
	case kindL1:
	case kindSmoothL1:
		beta = s.p
	default:
		return nil
	}
	out := make([]float64, s.d)
	for i := range out {
		out[i] = beta
	}
	return out
}

func (s *staticLoss) Forward(pred, target, weights *ts.Tensor) (*ts.Tensor, error) {
	return tt.Call(func() (*ts.Tensor, error) {
		b, err := checkBatch(pred, target, weights)
		if err != nil {
			return nil, err
		}
		s.d = int(b.d)
		if s.kind == kindBalanced {
			return balancedL1(pred, target, b, s.bl, s.red)
		}
		return nativeLoss(pred, target, b, s.kind, s.p, s.red)
	})
}

// nativeLoss runs libtorch's fused loss of the kind (L1, L2 as ½·mse, Smooth L1 with β > 0,
// Huber) on pred and the detached target, with weights and reduction r.
func nativeLoss(pred, target *ts.Tensor, b batch, kind lossKind, p float64, r static.Reduction) (*ts.Tensor, error) {
	var tmp tt.Scratch
	defer tmp.Drop()
	td := tmp.Add(tt.Must(target.Detach(false)))
	red := r
	if b.weights != nil {
		red = static.None // weight the elements, then reduce
	} else if r == static.Mean && b.numel() == 0 {
		red = static.Sum // torch's mean of nothing is NaN; the sum is 0 with an empty gradient
	}
	code := torchReduction(red)
	var el *ts.Tensor
	switch kind {
	case kindL1:
		el = tt.Must(pred.L1Loss(td, code, false))
	case kindL2:
		mse := tmp.Add(tt.Must(pred.MseLoss(td, code, false)))
		el = tt.Must(mse.MulScalar(tmp.Scalar(0.5), false))
	case kindSmoothL1:
		el = tt.Must(pred.SmoothL1Loss(td, code, p, false))
	case kindHuber:
		el = tt.Must(pred.HuberLoss(td, code, p, false))
	default:
		panic("tensorloss: nativeLoss of an unknown kind")
	}
	if b.weights == nil {
		return el, nil
	}
	tmp.Add(el)
	return weightAndReduce(el, b, r, &tmp)
}

// weightAndReduce returns reduce(el·w) for the elementwise loss el [N, D]; el is not dropped.
func weightAndReduce(el *ts.Tensor, b batch, r static.Reduction, tmp *tt.Scratch) (*ts.Tensor, error) {
	w := tmp.Add(tt.Must(b.weights.Detach(false)))
	if b.rowW {
		w = tmp.Add(tt.Must(w.Unsqueeze(1, false)))
	}
	wl := tt.Must(el.Mul(w, false))
	switch {
	case r == static.None:
		return wl, nil
	case r == static.Mean && b.numel() > 0:
		tmp.Add(wl)
		return wl.Mean(b.dtype, false)
	default: // Sum, and the Mean of an empty batch (0)
		tmp.Add(wl)
		return wl.Sum(b.dtype, false)
	}
}

// balancedL1 composes Balanced L1 (see static.BalancedL1) with autograd in float64 from the
// residual formed in pred's dtype, with β rounded to that dtype as static does, and casts the
// elementwise loss back to pred's dtype:
//
//	a = |d|,  b = e^(γ/α) − 1
//	ℓ = (α/b)·(b·a + 1)·log1p(b·a/β) − α·a   where a < β
//	    γ·a + γ/b − α·β                       elsewhere
//
// The outer branch's inputs are finite wherever the inner one is, so where's masked gradients
// are zeros, never NaN.
func balancedL1(pred, target *ts.Tensor, b batch, l static.BalancedL1, r static.Reduction) (*ts.Tensor, error) {
	var tmp tt.Scratch
	defer tmp.Drop()
	alpha, gamma := l.Alpha(), l.Gamma()
	beta := roundTo(l.Beta(), b)
	bb := math.Expm1(gamma / alpha)
	td := tmp.Add(tt.Must(target.Detach(false)))
	d := tmp.Add(tt.Must(pred.Sub(td, false)))
	d64 := tmp.Add(tt.Must(d.Totype(gotch.Double, false)))
	a := tmp.Add(tt.Must(d64.Abs(false)))
	ba := tmp.Add(tt.Must(a.MulScalar(tmp.Scalar(bb), false)))
	q := tmp.Add(tt.Must(ba.DivScalar(tmp.Scalar(beta), false)))
	lg := tmp.Add(tt.Must(q.Log1p(false)))
	ba1 := tmp.Add(tt.Must(ba.AddScalar(tmp.Scalar(1), false)))
	prod := tmp.Add(tt.Must(ba1.Mul(lg, false)))
	inner0 := tmp.Add(tt.Must(prod.MulScalar(tmp.Scalar(alpha/bb), false)))
	aa := tmp.Add(tt.Must(a.MulScalar(tmp.Scalar(alpha), false)))
	inner := tmp.Add(tt.Must(inner0.Sub(aa, false)))
	ga := tmp.Add(tt.Must(a.MulScalar(tmp.Scalar(gamma), false)))
	outer := tmp.Add(tt.Must(ga.AddScalar(tmp.Scalar(gamma/bb-alpha*beta), false)))
	ad := tmp.Add(tt.Must(a.Detach(false)))
	mask := tmp.Add(tt.Must(ad.Lt(tmp.Scalar(beta), false)))
	el64 := tmp.Add(tt.Must(inner.WhereSelf(mask, outer, false)))
	el := tmp.Add(tt.Must(el64.Totype(b.dtype, false)))
	if b.weights == nil {
		switch {
		case r == static.None:
			return el.ShallowClone()
		case r == static.Mean && b.numel() > 0:
			return el.Mean(b.dtype, false)
		default:
			return el.Sum(b.dtype, false)
		}
	}
	return weightAndReduce(el, b, r, &tmp)
}

// Engine says where DynamicLoss and SummarizeTensor do their per-element work. The zero value
// is EngineAuto.
type Engine int

const (
	// EngineAuto is EngineGo for CPU tensors and EngineTorch otherwise.
	EngineAuto Engine = iota
	// EngineTorch runs libtorch ops on the tensors' device; only D-sized (and K-sized)
	// results cross to the host, in one copy per step.
	EngineTorch
	// EngineGo runs the Go kernels of packages dynamic and static (dynamic.Summarize,
	// static.SmoothL1Columns) directly on the CPU tensors' memory: no copy, and the very
	// statistics and gradients of the pure-Go path. Tensors on another device are an error
	// wrapping ErrDevice.
	EngineGo
)

var engineNames = [...]string{EngineAuto: "auto", EngineTorch: "torch", EngineGo: "go"}

// String returns "auto", "torch" or "go", and "Engine(k)" for an unknown value.
func (e Engine) String() string {
	if e >= 0 && int(e) < len(engineNames) {
		return engineNames[e]
	}
	return fmt.Sprintf("Engine(%d)", int(e))
}

// resolve returns the engine that runs a batch on device dev.
func (e Engine) resolve(b batch) (Engine, error) {
	switch e {
	case EngineAuto:
		if b.onCPU() {
			return EngineGo, nil
		}
		return EngineTorch, nil
	case EngineTorch:
		return e, nil
	case EngineGo:
		if !b.onCPU() {
			return e, inputErr(ErrDevice, "engine go needs CPU tensors, the prediction is on %v", b.dev)
		}
		return e, nil
	}
	return e, fmt.Errorf("tensorloss: unknown engine %v", e)
}

// form is how DynamicLoss applies β; formAuto picks by engine and β (see DynamicLoss).
type form int

const (
	formAuto form = iota
	// formNative: libtorch's smooth_l1_loss with the one β of every column (l1_loss for
	// β = 0). Any engine; all columns must share β.
	formNative
	// formGradient: g = clamp(d/β, −1, 1) computed on the device with libtorch ops and
	// injected into the graph by a custom autograd function (see inject). Any engine, any β.
	formGradient
	// formKernel: static.SmoothL1Columns computes the value and the gradient in one pass
	// over the CPU memory, injected the same way. EngineGo only.
	formKernel
)

// DynamicLoss is Smooth L1 with a β per column chosen by a dynamic.Scheduler. Each Forward
//
//  1. summarizes the batch for the scheduler's Requirement: statistics of |d| over the rows
//     without NaN or ±Inf (those are counted in Moments.Skipped and never reach the scheduler;
//     the loss itself still sees them, and is NaN or +Inf, as static's is), from d detached
//     from the graph and formed in pred's dtype, accumulated in float64 (see SummarizeTensor);
//  2. lets the scheduler Observe the summary, then reads β = Beta (the published order: the
//     batch counts before its own loss);
//  3. returns the Smooth L1 loss with that β, per column: ℓ_ij = SmoothL1_{β_j}(d_ij), whose
//     values and gradients are static.SmoothL1Columns's (β_j = 0 is exact L1, gradient 0 at
//     d = 0, never NaN).
//
// How β is applied was chosen by benchmark (loss_bench_test.go; float32 [N, 4], forward and
// backward, one libtorch thread, time over native smooth_l1_loss with a fixed β; runs
// interleaved on a shared 2-core machine, N = 1e6, three sessions):
//
//	β applied to a fixed per-column β, no statistics:
//	  kernel (below)                                    0.29–0.31× (0.50–0.54× at N = 1e5)
//	  identity β·SmoothL1_1(d/β) on the native op        3.1–4.5×
//	  gradient form (below) with libtorch ops           3.0–3.4×
//	  RetinaMask's composition with where, + its stats  16×
//
// So, on the CPU (EngineGo), the kernel form: static.SmoothL1Columns runs on the tensors'
// memory, one fused pass that returns the value and writes the gradient G = g·w·scale into a
// new tensor, which a custom autograd function (inject) hands to the backward as it is: the
// graph adds no pass over the elements, where the native op makes one in its forward and
// another in its backward. A whole step adds the statistics pass (below). A β shared by every
// column (Fixed, DynamicRCNN, a shared SelfAdjusting) takes the kernel form too: whole steps
// that ran libtorch's smooth_l1_loss with it instead took 1.1–1.3× as long at N = 1e3 and 1e4
// and 1.5–2.7× from 1e5 (interleaved on the CPU clock, up to N = 2¹⁹).
// With EngineTorch (any device) a shared β runs the native op, and per-column β the gradient
// form: g = clamp(d/β, −1, 1), the exact derivative, computed on the device, the value from
// ℓ = g·(d − ½·β·g), both injected the same way. What the whole steps add over the loss is the
// statistics pass: dynamic.Summarize (about 0.4× of the native loss at N = 1e6), or the
// lighter count and smallest-e pass of SummarizeTensor.
//
// Statistics ignore the weights: pass only the rows that should shape β (the positives).
// The zero value is not usable: make one with NewDynamicLoss. A DynamicLoss is not safe for
// concurrent use; LastBeta and LastSummary belong to it and change at the next Forward.
type DynamicLoss struct {
	sched  dynamic.Scheduler
	red    static.Reduction
	engine Engine
	form   form // formAuto except in tests and benchmarks
	sum    dynamic.Summary
	beta   []float64
	images int // SetImages; 0: not told
	// SetCombine: the shards of a data-parallel batch (1 alone), how this shard's summary
	// becomes the whole batch's (nil alone), and the last one it returned.
	parts   int
	combine Combine
	merged  dynamic.Summary
}

// Combine turns the summary of this process's shard of a data-parallel batch into the summary
// of the whole batch: it exchanges the shards' summaries (dynamic.Summary's binary form
// carries them) and merges them with Summary.Merge, in the same order on every process (rank
// order), so that every process gets the same bits and its scheduler the same β. It must not
// keep local, and the summary it returns must not share storage with anything it reuses.
type Combine func(local *dynamic.Summary) (dynamic.Summary, error)

// NewDynamicLoss returns the Smooth L1 loss whose β per column s chooses, with reduction r
// and EngineAuto. It returns an error wrapping static.ErrUnknownReduction for an unknown r
// and an error for a nil s.
func NewDynamicLoss(s dynamic.Scheduler, r static.Reduction) (*DynamicLoss, error) {
	if s == nil {
		return nil, errors.New("tensorloss: NewDynamicLoss: nil scheduler")
	}
	if err := checkReduction(r); err != nil {
		return nil, err
	}
	return &DynamicLoss{sched: s, red: r, parts: 1}, nil
}

// Name returns the scheduler's name, e.g. "sasl:momentum=0.1,...".
func (l *DynamicLoss) Name() string { return l.sched.Name() }

// Scheduler returns the scheduler (for its counters and checkpoints).
func (l *DynamicLoss) Scheduler() dynamic.Scheduler { return l.sched }

// LastBeta returns the β per column used by the last successful Forward (nil before the
// first). The slice belongs to l.
func (l *DynamicLoss) LastBeta() []float64 { return l.beta }

// LastSummary returns the summary the scheduler observed in the last Forward: the whole
// batch's, as Combine returned it, when SetCombine set one. It belongs to l. Moments.Mean and
// M2 are filled only when the scheduler's Requirement asks for moments.
func (l *DynamicLoss) LastSummary() *dynamic.Summary {
	if l.combine != nil {
		return &l.merged
	}
	return &l.sum
}

// SetCombine makes l a replica of a data-parallel loss whose batch is split into parts
// shards of equal size, one per process: each Forward summarizes its own shard, passes the
// summary to combine, and feeds the scheduler the whole batch's summary combine returns,
// so that every replica applies the β one process would compute on the whole batch. The
// loss itself (its value and gradient) stays the shard's.
//
// A scheduler whose statistic counts per image needs the k = K × images smallest values of the
// whole batch (Dynamic R-CNN; images from SetImages, the shard's own): each shard collects
// K × images × parts of them, which holds the whole batch's k smallest when the shards have
// equal image counts, and the merged Summary.Images adds up to the batch's. Summary.Count,
// Skipped and Smallest are then those of the whole batch exactly; Moments.Mean and M2 agree
// with one pass over it to the rounding of Chan et al.'s merge (about 1e-16 relative).
//
// parts must be at least 1; a nil combine (with parts 1) turns the hook off. Forward returns
// combine's error wrapped. An error from combine leaves the scheduler and LastBeta as they were.
func (l *DynamicLoss) SetCombine(parts int, combine Combine) error {
	switch {
	case parts < 1:
		return fmt.Errorf("tensorloss: SetCombine(%d parts): want ≥ 1", parts)
	case combine == nil && parts != 1:
		return fmt.Errorf("tensorloss: SetCombine(%d parts) with no Combine: want 1 part without one", parts)
	}
	l.parts, l.combine = parts, combine
	return nil
}

// SetImages tells the loss how many images the rows of the next batches come from (a
// detector's positives of B images: B), for schedulers whose statistic counts per image:
// Dynamic R-CNN's k is K × images, as in mmdetection. 0 means unknown (read as one image).
// A negative n is an error.
func (l *DynamicLoss) SetImages(n int) error {
	if n < 0 {
		return fmt.Errorf("tensorloss: SetImages(%d): want ≥ 0", n)
	}
	l.images = n
	return nil
}

// requirement is the scheduler's requirement for a batch of l.images images, one of l.parts
// shards of equal size (SetCombine).
func (l *DynamicLoss) requirement() dynamic.Requirement {
	r := l.sched.Requirement()
	r.K *= max(1, l.images) * l.parts
	return r
}

// Engine returns the engine (EngineAuto unless SetEngine changed it).
func (l *DynamicLoss) Engine() Engine { return l.engine }

// SetEngine chooses where the per-element work runs; an unknown engine is an error.
func (l *DynamicLoss) SetEngine(e Engine) error {
	if e < EngineAuto || e > EngineGo {
		return fmt.Errorf("tensorloss: unknown engine %v", e)
	}
	l.engine = e
	return nil
}

// Forward observes the batch, then returns its loss with the scheduler's β (see the type's
// documentation and Loss). pred must be [N, D] with D = Scheduler().Dim(). An error from the
// scheduler's Observe is returned wrapped and leaves LastBeta as it was.
func (l *DynamicLoss) Forward(pred, target, weights *ts.Tensor) (*ts.Tensor, error) {
	return tt.Call(func() (*ts.Tensor, error) {
		b, err := checkBatch(pred, target, weights)
		if err != nil {
			return nil, err
		}
		if d := l.sched.Dim(); b.d != int64(d) {
			ps := []int64{b.n, b.d}
			return nil, inputErr(ErrShape, "prediction %v has D = %d, the scheduler %s has D = %d", ps, b.d, l.sched.Name(), d)
		}
		e, err := l.engine.resolve(b)
		if err != nil {
			return nil, err
		}
		if e == EngineGo {
			if b.dtype == gotch.Float {
				return forwardGo[float32](l, pred, target, b)
			}
			return forwardGo[float64](l, pred, target, b)
		}
		if err := summarizeTorch(pred, target, b, l.requirement(), &l.sum); err != nil {
			return nil, err
		}
		l.sum.Images = l.images
		beta, err := l.observe()
		if err != nil {
			return nil, err
		}
		f := l.form
		if f == formAuto || f == formKernel {
			f = formGradient
			if shared(beta) {
				f = formNative
			}
		}
		out, err := applyTorch(pred, target, b, beta, l.red, f)
		if err == nil {
			l.beta = append(l.beta[:0], beta...)
		}
		return out, err
	})
}

// observe feeds l.sum to the scheduler and returns its β (in a fresh slice: l.beta is only
// replaced once the loss is computed).
func (l *DynamicLoss) observe() ([]float64, error) {
	sum := &l.sum
	if l.combine != nil {
		merged, err := l.combine(&l.sum)
		if err != nil {
			return nil, fmt.Errorf("tensorloss: %s: combining the shards' summaries: %w", l.sched.Name(), err)
		}
		l.merged = merged
		sum = &l.merged
	}
	if err := l.sched.Observe(sum); err != nil {
		return nil, fmt.Errorf("tensorloss: %s: %w", l.sched.Name(), err)
	}
	return l.sched.Beta(make([]float64, 0, l.sched.Dim())), nil
}

// shared reports whether every column has the same β.
func shared(beta []float64) bool {
	for _, v := range beta {
		if v != beta[0] {
			return false
		}
	}
	return true
}

// forwardGo is Forward on EngineGo: the summary and the loss run on the CPU memory of pred
// and target (made contiguous if they are not).
func forwardGo[T float32 | float64](l *DynamicLoss, pred, target *ts.Tensor, b batch) (*ts.Tensor, error) {
	var tmp tt.Scratch
	defer tmp.Drop()
	p := hostSlice[T](pred, b.numel(), &tmp)
	y := hostSlice[T](target, b.numel(), &tmp)
	summarizeGo(p, y, int(b.d), l.requirement(), &l.sum)
	l.sum.Images = l.images
	beta, err := l.observe()
	if err != nil {
		return nil, err
	}
	f := l.form
	if f == formAuto {
		f = formKernel
	}
	var out *ts.Tensor
	if f == formKernel {
		out, err = applyKernel(pred, p, y, b, beta, l.red, &tmp)
	} else {
		out, err = applyTorch(pred, target, b, beta, l.red, f)
	}
	if err == nil {
		l.beta = append(l.beta[:0], beta...)
	}
	return out, err
}

// hostSlice returns the n elements of the CPU tensor x as a []T: x's own memory when x is
// contiguous (no tensor is made: writing the slice writes x, and it is valid while x is), else
// that of a contiguous copy of x detached, which tmp holds (valid until tmp.Drop).
func hostSlice[T float32 | float64](x *ts.Tensor, n int64, tmp *tt.Scratch) []T {
	if n == 0 {
		return nil
	}
	if !tt.Must(x.IsContiguous()) {
		xd := tmp.Add(tt.Must(x.Detach(false)))
		x = tmp.Add(tt.Must(xd.Contiguous(false)))
	}
	ptr := tt.Must(x.DataPtr())
	return unsafe.Slice((*T)(ptr), n)
}

// applyKernel is formKernel: static.SmoothL1Columns on p and y, slices over the CPU memory of
// pred and target (or of their contiguous copies, which tmp holds), injected into pred's graph.
func applyKernel[T float32 | float64](pred *ts.Tensor, p, y []T, b batch, beta []float64, r static.Reduction, tmp *tt.Scratch) (*ts.Tensor, error) {
	var w []T
	if b.weights != nil {
		wt := b.weights
		if b.rowW {
			wd := tmp.Add(tt.Must(wt.Detach(false)))
			wu := tmp.Add(tt.Must(wd.Unsqueeze(1, false)))
			wt = tmp.Add(tt.Must(wu.Expand([]int64{b.n, b.d}, false, false)))
		}
		w = hostSlice[T](wt, b.numel(), tmp)
	}
	grad := tmp.Add(tt.Must(ts.Empty([]int64{b.n, b.d}, b.dtype, b.dev)))
	g := hostSlice[T](grad, b.numel(), tmp)
	var values *ts.Tensor
	var v []T
	if r == static.None {
		values = tmp.Add(tt.Must(ts.Empty([]int64{b.n, b.d}, b.dtype, b.dev)))
		v = hostSlice[T](values, b.numel(), tmp)
	}
	sum, err := static.SmoothL1Columns(beta, r, g, v, p, y, w)
	if err != nil {
		return nil, err
	}
	return inject(pred, grad, values, sum) // values is nil unless r is None
}

// applyTorch applies β with libtorch ops on pred's device: formNative (every β equal) or
// formGradient.
func applyTorch(pred, target *ts.Tensor, b batch, beta []float64, r static.Reduction, f form) (*ts.Tensor, error) {
	if f == formNative {
		if !shared(beta) {
			return nil, errors.New("tensorloss: the native form needs one β for every column")
		}
		if roundTo(beta[0], b) == 0 {
			return nativeLoss(pred, target, b, kindL1, 0, r)
		}
		return nativeLoss(pred, target, b, kindSmoothL1, beta[0], r)
	}
	return gradientForm(pred, target, b, beta, r)
}

// gradientForm is formGradient. With the residual d = pred − target in pred's dtype and β as
// a [1, D] row in that dtype:
//
//	g = clamp(d/β, −1, 1)       (sign(d) in columns with β = 0: exact L1, 0 at d = 0)
//	ℓ = g·(d − ½·β·g)           = ½·d²/β inside, |d| − ½·β outside
//	G = g·w·scale               scale = 1/(N·D) for Mean, 1 otherwise
//
// d/β is a division, as static's scalar loop, so |d| ≥ β gives exactly ±1. The value is
// summed in float64.
func gradientForm(pred, target *ts.Tensor, b batch, beta []float64, r static.Reduction) (*ts.Tensor, error) {
	var tmp tt.Scratch
	defer tmp.Drop()
	pd := tmp.Add(tt.Must(pred.Detach(false)))
	td := tmp.Add(tt.Must(target.Detach(false)))
	d := tmp.Add(tt.Must(pd.Sub(td, false)))
	safe := make([]float64, len(beta))
	half := make([]float64, len(beta))
	zeros := false
	for j, v := range beta {
		safe[j], half[j] = v, -0.5*v
		if roundTo(v, b) == 0 { // as static: β rounded to the dtype decides the L1 branch
			safe[j], zeros = 1, true
		}
	}
	betaRow := tmp.Add(rowTensor(safe, b))
	x := tmp.Add(tt.Must(d.Div(betaRow, false)))
	g := tmp.Add(tt.Must(x.Clamp(tmp.Scalar(-1), tmp.Scalar(1), false)))
	if zeros {
		z := make([]float64, len(beta))
		for j, v := range beta {
			if roundTo(v, b) == 0 {
				z[j] = 1
			}
		}
		zr := tmp.Add(rowTensor(z, b))
		zmask := tmp.Add(tt.Must(zr.Gt(tmp.Scalar(0.5), false)))
		sg := tmp.Add(tt.Must(d.Sign(false)))
		g = tmp.Add(tt.Must(sg.WhereSelf(zmask, g, false)))
	}
	halfRow := tmp.Add(rowTensor(half, b))
	u := tmp.Add(tt.Must(g.Mul(halfRow, false)))
	u2 := tmp.Add(tt.Must(u.Add(d, false)))
	el := tmp.Add(tt.Must(u2.Mul(g, false)))
	grad := g
	if b.weights != nil {
		w := tmp.Add(tt.Must(b.weights.Detach(false)))
		if b.rowW {
			w = tmp.Add(tt.Must(w.Unsqueeze(1, false)))
		}
		el = tmp.Add(tt.Must(el.Mul(w, false)))
		grad = tmp.Add(tt.Must(g.Mul(w, false)))
	}
	value := el // stays on the device
	if r != static.None {
		sum := tmp.Add(tt.Must(el.Sum(gotch.Double, false)))
		if r == static.Mean && b.numel() > 0 {
			scale := roundTo(1/float64(b.numel()), b) // as static's gs
			grad = tmp.Add(tt.Must(grad.MulScalar(tmp.Scalar(scale), false)))
			sum = tmp.Add(tt.Must(sum.DivScalar(tmp.Scalar(float64(b.numel())), false)))
		}
		value = tmp.Add(tt.Must(sum.Totype(b.dtype, false)))
	}
	return inject(pred, grad, value, 0)
}

// roundTo returns v rounded to b's dtype.
func roundTo(v float64, b batch) float64 {
	if b.dtype == gotch.Float {
		return float64(float32(v))
	}
	return v
}

// rowTensor returns v as a [1, D] tensor of b's dtype on b's device; the caller drops it.
func rowTensor(v []float64, b batch) *ts.Tensor {
	var t *ts.Tensor
	if b.dtype == gotch.Float {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		t = tt.Must(tt.FromSlice(f, 1, int64(len(v))))
	} else {
		t = tt.Must(tt.FromSlice(v, 1, int64(len(v))))
	}
	if b.onCPU() {
		return t
	}
	return tt.Must(t.To(b.dev, true))
}

// FromSpec builds the loss a loss spec names (package spec), for [N, d] inputs reduced by r: a
// static loss, or a DynamicLoss with a fresh scheduler. Errors wrap spec.ErrSpec for a bad spec.
func FromSpec(text string, d int, r static.Reduction) (Loss, error) {
	s, err := spec.Parse(text)
	if err != nil {
		return nil, err
	}
	if !s.Scheduled() {
		return NewStaticLoss(s.Static, r)
	}
	sch, err := s.NewScheduler(d)
	if err != nil {
		return nil, err
	}
	return NewDynamicLoss(sch, r)
}
