package trainer

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// OptimizerKind selects the update rule.
type OptimizerKind int

const (
	// SGD with momentum and (coupled, L2) weight decay, PyTorch's rule:
	//
	//	g ← ∇ + λ·p;  b ← μ·b + g (b = g at the first step);  p ← p − η·b
	SGD OptimizerKind = iota
	// AdamW (Loshchilov & Hutter), PyTorch's rule with decoupled weight decay:
	//
	//	p ← p·(1 − η·λ)
	//	m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²
	//	p ← p − η·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
	AdamW
)

func (k OptimizerKind) String() string {
	switch k {
	case SGD:
		return "sgd"
	case AdamW:
		return "adamw"
	}
	return fmt.Sprintf("OptimizerKind(%d)", int(k))
}

// ParseOptimizer parses "sgd" or "adamw".
func ParseOptimizer(s string) (OptimizerKind, error) {
	switch s {
	case "sgd":
		return SGD, nil
	case "adamw":
		return AdamW, nil
	}
	return 0, fmt.Errorf("trainer: unknown optimizer %q (accepted: sgd, adamw)", s)
}

// OptimizerConfig configures an optimizer. Zero fields take the defaults named.
type OptimizerConfig struct {
	Kind        OptimizerKind
	Momentum    float64 // SGD's μ ∈ [0, 1); default 0 (plain SGD)
	WeightDecay float64 // λ ≥ 0; default 0
	Beta1       float64 // AdamW's β₁ ∈ (0, 1); 0 means 0.9
	Beta2       float64 // AdamW's β₂ ∈ (0, 1); 0 means 0.999
	Eps         float64 // AdamW's ε > 0; 0 means 1e-8
}

// Validate checks c as NewOptimizer does, naming the bad field.
func (c OptimizerConfig) Validate() error {
	_, err := c.resolve()
	return err
}

func (c OptimizerConfig) resolve() (OptimizerConfig, error) {
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	bad := func(field string, v float64, want string) error {
		return fmt.Errorf("trainer: optimizer %s = %v: want %s", field, v, want)
	}
	switch {
	case c.Kind != SGD && c.Kind != AdamW:
		return c, fmt.Errorf("trainer: unknown optimizer %v", c.Kind)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return c, bad("Momentum", c.Momentum, "[0, 1)")
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return c, bad("WeightDecay", c.WeightDecay, "a finite value ≥ 0")
	case !(c.Beta1 > 0 && c.Beta1 < 1):
		return c, bad("Beta1", c.Beta1, "(0, 1)")
	case !(c.Beta2 > 0 && c.Beta2 < 1):
		return c, bad("Beta2", c.Beta2, "(0, 1)")
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return c, bad("Eps", c.Eps, "a finite value > 0")
	}
	return c, nil
}

// Optimizer updates parameters from their gradients. It is written over gotch tensors, not
// gotch's optimizer (which wraps libtorch's and cannot save its state), so that its buffers
// checkpoint and a resumed run continues bit for bit. All methods run on the torch thread.
//
// When every parameter has the same dtype and device, the optimizer's state (SGD's momentum
// buffer, AdamW's m and v) lives in flat buffers with one view per parameter, and from the
// first call that finds every parameter with a gradient (the first ClipGradNorm or Step after
// a backward pass) the gradients become views of one flat buffer too: libtorch's autograd
// adds into a gradient that exists in place, so they stay there. Clearing, clipping and the
// update are then a few operations on the flat buffers, plus two per parameter (its weight
// decay and its update), in place, with no tensor allocated per step; the old form made about
// fifteen new tensors per parameter and step. AdamW's update on contiguous CPU tensors of
// float32 or float64 is one pass of a Go kernel over the memory of each parameter, its
// gradient and its state, with the roundings of torch.optim.AdamW in PyTorch 1.13 (bit for bit
// on float32: TestAdamWAgainstTorch); libtorch operations do it elsewhere. The kernel writes
// the parameters' memory directly, so autograd's version counters do not see the update:
// step after the backward pass, as every training loop does, not between a backward that
// retains the graph and another. Do not replace a parameter's gradient tensor
// (set it to an undefined tensor or assign another) while the optimizer is in use; clearing it
// in place (Zero_, gotch's VarStore.ZeroGrad) is fine. Parameters of mixed dtypes or devices,
// or steps where a parameter has no gradient, take the same operations parameter by
// parameter.
type Optimizer struct {
	cfg    OptimizerConfig
	params []*ts.Tensor
	names  []string
	steps  int64
	// uniform: every parameter has the same dtype and device, so the flat buffers exist.
	uniform bool
	// State: SGD's momentum buffer (buf1) or AdamW's m and v (buf1, buf2), one tensor per
	// parameter (a view of flat1/flat2 when uniform); nil until the first step or a restore.
	buf1, buf2   []*ts.Tensor
	flat1, flat2 *ts.Tensor
	// dir is the scratch of an update (the step each parameter takes), as buf1.
	dir     []*ts.Tensor
	flatDir *ts.Tensor
	// grads are views of flatGrad, installed as the parameters' gradients (adopted).
	grads    []*ts.Tensor
	flatGrad *ts.Tensor
	adopted  bool
}

// NewOptimizer returns an optimizer of the named parameters. Call it on the torch thread or
// not: it takes the torch thread itself.
func NewOptimizer(cfg OptimizerConfig, names []string, params []*ts.Tensor) (*Optimizer, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if len(names) != len(params) {
		return nil, errors.New("trainer: NewOptimizer: names and params differ in length")
	}
	o := &Optimizer{cfg: cfg, params: params, names: names}
	err = tt.Do(func() error {
		o.uniform = len(params) > 0
		for i, p := range params {
			if !p.MustDefined() {
				return fmt.Errorf("trainer: NewOptimizer: parameter %s is an undefined tensor", names[i])
			}
			if p.DType() != params[0].DType() || p.MustDevice() != params[0].MustDevice() {
				o.uniform = false
			}
		}
		return nil
	})
	return o, err
}

// Steps returns the number of updates applied.
func (o *Optimizer) Steps() int64 { return o.steps }

// Close drops the optimizer's buffers. It is idempotent; the optimizer must not be used after.
func (o *Optimizer) Close() error {
	return tt.Do(func() error { // a second Close finds no buffer left to drop
		for _, t := range o.allBuffers() {
			t.MustDrop()
		}
		o.buf1, o.buf2, o.dir, o.grads = nil, nil, nil, nil
		o.flat1, o.flat2, o.flatDir, o.flatGrad = nil, nil, nil, nil
		return nil
	})
}

// newState returns zero buffers shaped as the parameters: a flat one and its views when
// uniform, else one tensor per parameter.
func (o *Optimizer) newState() (flat *ts.Tensor, each []*ts.Tensor) {
	each = make([]*ts.Tensor, len(o.params))
	if !o.uniform {
		for i, p := range o.params {
			each[i] = tt.Must(p.ZerosLike(false))
		}
		return nil, each
	}
	var n int64
	for _, p := range o.params {
		n += int64(p.Numel())
	}
	p0 := o.params[0]
	flat = tt.Must(ts.Zeros([]int64{n}, p0.DType(), p0.MustDevice()))
	var off int64
	for i, p := range o.params {
		k := int64(p.Numel())
		part := tt.Must(flat.Narrow(0, off, k, false))
		each[i] = tt.Must(part.View(tt.Must(p.Size()), true))
		off += k
	}
	return flat, each
}

// ensureState allocates the buffers the update rule needs (zeros) and the scratch.
func (o *Optimizer) ensureState() {
	if o.dir == nil {
		o.flatDir, o.dir = o.newState()
	}
	needs2 := o.cfg.Kind == AdamW
	needs1 := needs2 || o.cfg.Momentum != 0
	if needs1 && o.buf1 == nil {
		o.flat1, o.buf1 = o.newState()
	}
	if needs2 && o.buf2 == nil {
		o.flat2, o.buf2 = o.newState()
	}
}

// adopt makes every parameter's gradient a view of one flat buffer, once every parameter has
// a gradient, and reports whether they are. Only uniform parameters are adopted.
func (o *Optimizer) adopt() bool {
	if o.adopted || !o.uniform {
		return o.adopted
	}
	gs := make([]*ts.Tensor, len(o.params))
	defer func() {
		for _, g := range gs {
			if g != nil {
				g.MustDrop()
			}
		}
	}()
	for i, p := range o.params {
		gs[i] = tt.Must(p.Grad(false))
		if !gs[i].MustDefined() {
			return false
		}
	}
	o.flatGrad, o.grads = o.newState()
	for i, g := range gs {
		o.grads[i].Copy_(g)
		tt.Check(g.SetSourceTensor_(o.grads[i])) // g's storage is now flatGrad's
	}
	o.adopted = true
	return true
}

// eachGrad calls fn with each parameter's index and its gradient, skipping parameters without
// one; the gradient handle is dropped after.
func (o *Optimizer) eachGrad(fn func(i int, g *ts.Tensor)) {
	for i, p := range o.params {
		g := tt.Must(p.Grad(false))
		if g.MustDefined() {
			fn(i, g)
		}
		g.MustDrop()
	}
}

// presentGrads returns the indices of the parameters that have a gradient and those
// gradients' handles, which the caller drops.
func (o *Optimizer) presentGrads() (idx []int, grads []*ts.Tensor) {
	for i, p := range o.params {
		g := tt.Must(p.Grad(false))
		if !g.MustDefined() {
			g.MustDrop()
			continue
		}
		idx, grads = append(idx, i), append(grads, g)
	}
	return idx, grads
}

// ZeroGrad clears every parameter's gradient in place.
func (o *Optimizer) ZeroGrad() error {
	return tt.Do(func() error {
		if o.adopted {
			return o.flatGrad.Zero_()
		}
		o.eachGrad(func(_ int, g *ts.Tensor) { tt.Check(g.Zero_()) })
		return nil
	})
}

// Step applies one update with learning rate lr. Parameters without a gradient are skipped.
func (o *Optimizer) Step(lr float64) error {
	// The update is not part of the graph, and an in-place change of a leaf that requires grad
	// is only allowed with grad mode off.
	return tt.NoGrad(func() error {
		o.steps++
		o.ensureState()
		decay := 1.0
		if o.cfg.Kind == AdamW {
			decay = 1 - lr*o.cfg.WeightDecay
		}
		if o.adopted || o.adopt() {
			if o.hostAdamW(lr, nil, o.grads) {
				return nil
			}
			switch o.cfg.Kind {
			case SGD:
				if o.cfg.WeightDecay != 0 {
					for i, p := range o.params {
						mulOut(o.dir[i], p, o.cfg.WeightDecay)
					}
				}
				o.sgd(o.flatGrad, o.flat1, o.flatDir, lr)
			case AdamW:
				o.adamw(o.flatGrad, o.flat1, o.flat2, o.flatDir, lr)
			}
			for i, p := range o.params {
				o.apply(p, o.dir[i], decay)
			}
			return nil
		}
		// Parameter by parameter, those with a gradient: AdamW on the host when it can be.
		idx, grads := o.presentGrads()
		defer func() {
			for _, g := range grads {
				g.MustDrop()
			}
		}()
		if o.hostAdamW(lr, idx, grads) {
			return nil
		}
		for k, i := range idx {
			p, g := o.params[i], grads[k]
			switch o.cfg.Kind {
			case SGD:
				if o.cfg.WeightDecay != 0 {
					mulOut(o.dir[i], p, o.cfg.WeightDecay)
				}
				o.sgd(g, at(o.buf1, i), o.dir[i], lr)
			case AdamW:
				o.adamw(g, o.buf1[i], o.buf2[i], o.dir[i], lr)
			}
			o.apply(p, o.dir[i], decay)
		}
		return nil
	})
}

func at(ts []*ts.Tensor, i int) *ts.Tensor {
	if ts == nil {
		return nil
	}
	return ts[i]
}

func scalar(v float64) *ts.Scalar { return ts.FloatScalar(v) }

// mulOut sets out = x·v.
func mulOut(out, x *ts.Tensor, v float64) {
	s := scalar(v)
	tt.Must(x.MulScalarOut(out, s, false)).MustDrop()
	s.MustDrop()
}

// mulIn sets x = x·v.
func mulIn(x *ts.Tensor, v float64) {
	s := scalar(v)
	tt.Check(x.MulScalar_(s))
	s.MustDrop()
}

// apply updates p in place: p ← p·decay + d. It writes through out= forms: gotch's in-place
// ops (MulScalar_, Add_) replace the Go tensor's C handle, and a parameter's handle is shared
// with its VarStore and model.
func (o *Optimizer) apply(p, d *ts.Tensor, decay float64) {
	if decay != 1 {
		mulOut(p, p, decay)
	}
	tt.Must(p.AddOut(p, d, false)).MustDrop()
}

// sgd sets d to the step of PyTorch's SGD from g (d holds λ·p on entry when the weight decay
// λ is not 0) and advances the momentum buffer b (nil without momentum):
//
//	d ← g + λ·p;  b ← μ·b + d (b starts at 0, so b = d at the first step);  d ← −η·b
func (o *Optimizer) sgd(g, b, d *ts.Tensor, lr float64) {
	c := o.cfg
	src := g
	if c.WeightDecay != 0 {
		tt.Check(d.Add_(g))
		src = d
	}
	if c.Momentum != 0 {
		mulIn(b, c.Momentum)
		tt.Check(b.Add_(src))
		src = b
	}
	mulOut(d, src, -lr)
}

// adamw advances AdamW's moments m and v from g and sets d to the step (without the weight
// decay, which apply takes as a factor):
//
//	m ← m + (1 − β₁)·(g − m);  v ← β₂·v + (1 − β₂)·g·g
//	d ← −η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
func (o *Optimizer) adamw(g, m, v, d *ts.Tensor, lr float64) {
	c := o.cfg
	w := scalar(1 - c.Beta1)
	tt.Check(m.Lerp_(g, w))
	w.MustDrop()
	mulIn(v, c.Beta2)
	mulOut(d, g, 1-c.Beta2)
	tt.Check(v.Addcmul_(d, g))
	tt.Must(v.SqrtOut(d, false)).MustDrop()
	t := float64(o.steps)
	bc1 := 1 - math.Pow(c.Beta1, t)
	bc2 := 1 - math.Pow(c.Beta2, t)
	s := scalar(math.Sqrt(bc2))
	tt.Check(d.DivScalar_(s))
	s.MustDrop()
	eps := scalar(c.Eps)
	tt.Check(d.AddScalar_(eps))
	eps.MustDrop()
	tt.Must(m.DivOut(d, d, false)).MustDrop()
	mulIn(d, -lr/bc1)
}

// ClipGradNorm scales all gradients by min(1, max/‖g‖) where ‖g‖ is the global L2 norm over
// every parameter's gradient, and returns ‖g‖ before clipping. max ≤ 0 only measures.
func (o *Optimizer) ClipGradNorm(max float64) (float64, error) {
	return tt.Call(func() (float64, error) {
		norm2 := func(g *ts.Tensor) float64 {
			sq := tt.Must(g.Square(false))
			s := tt.Must(sq.Sum(gotch.Double, true))
			defer s.MustDrop()
			return tt.Must(tt.Item(s))
		}
		if o.adopted || o.adopt() {
			norm := math.Sqrt(norm2(o.flatGrad))
			if clips(norm, max) {
				mulIn(o.flatGrad, max/(norm+1e-6))
			}
			return norm, nil
		}
		var sq float64
		o.eachGrad(func(_ int, g *ts.Tensor) { sq += norm2(g) })
		norm := math.Sqrt(sq)
		if clips(norm, max) {
			o.eachGrad(func(_ int, g *ts.Tensor) { mulIn(g, max/(norm+1e-6)) })
		}
		return norm, nil
	})
}

// clips reports whether a gradient of this norm is clipped at max.
func clips(norm, max float64) bool {
	return max > 0 && norm > max && !math.IsInf(norm, 0) && !math.IsNaN(norm)
}

// namedBuffers lists the optimizer's state tensors for a checkpoint, with stable names.
func (o *Optimizer) namedBuffers() (names []string, tensors []*ts.Tensor) {
	for i, n := range o.names {
		if o.buf1 != nil {
			names = append(names, "opt.buf1."+n)
			tensors = append(tensors, o.buf1[i])
		}
		if o.buf2 != nil {
			names = append(names, "opt.buf2."+n)
			tensors = append(tensors, o.buf2[i])
		}
	}
	return names, tensors
}

// allBuffers lists every tensor the optimizer owns, for dropping.
func (o *Optimizer) allBuffers() []*ts.Tensor {
	var out []*ts.Tensor
	for _, t := range [][]*ts.Tensor{o.buf1, o.buf2, o.dir, o.grads, {o.flat1, o.flat2, o.flatDir, o.flatGrad}} {
		for _, x := range t {
			if x != nil {
				out = append(out, x)
			}
		}
	}
	return out
}

// setBuffers copies buffers read from a checkpoint (by the names namedBuffers gives) into the
// optimizer's state, dropping each tensor it took from byName and deleting its key.
func (o *Optimizer) setBuffers(steps int64, byName map[string]*ts.Tensor) error {
	o.steps = steps
	for j := range 2 {
		var bufs []*ts.Tensor
		for i, n := range o.names {
			key := fmt.Sprintf("opt.buf%d.%s", j+1, n)
			t, ok := byName[key]
			if !ok {
				continue
			}
			if bufs == nil {
				o.ensureState()
				bufs = o.buf1
				if j == 1 {
					bufs = o.buf2
				}
				if bufs == nil {
					return fmt.Errorf("trainer: optimizer state %s: the %v optimizer has no such buffer", key, o.cfg.Kind)
				}
			}
			if !slices.Equal(tt.Must(t.Size()), tt.Must(bufs[i].Size())) || t.DType() != bufs[i].DType() {
				return fmt.Errorf("trainer: optimizer state %s: %v %v, the parameter is %v %v", key, t.DType(), tt.Must(t.Size()), bufs[i].DType(), tt.Must(bufs[i].Size()))
			}
			bufs[i].Copy_(t)
			t.MustDrop()
			delete(byName, key)
		}
	}
	return nil
}
