package trainer

import (
	"errors"
	"fmt"
	"math"

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
type Optimizer struct {
	cfg    OptimizerConfig
	params []*ts.Tensor
	names  []string
	// Per parameter: SGD's momentum buffer, or AdamW's m and v. Undefined (nil) until the
	// first step.
	buf1, buf2 []*ts.Tensor
	steps      int64
	zero       *ts.Tensor // a one-element zero, broadcast by Copy_ to clear a gradient in place
}

// NewOptimizer returns an optimizer of the named parameters.
func NewOptimizer(cfg OptimizerConfig, names []string, params []*ts.Tensor) (*Optimizer, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if len(names) != len(params) {
		return nil, errors.New("trainer: NewOptimizer: names and params differ in length")
	}
	o := &Optimizer{cfg: cfg, params: params, names: names,
		buf1: make([]*ts.Tensor, len(params)), buf2: make([]*ts.Tensor, len(params))}
	err = tt.Do(func() error {
		o.zero = tt.Must(ts.OfSlice([]float32{0})) // shape [1]: Copy_ broadcasts it
		return nil
	})
	return o, err
}

// Steps returns the number of updates applied.
func (o *Optimizer) Steps() int64 { return o.steps }

// ZeroGrad clears every parameter's gradient in place.
func (o *Optimizer) ZeroGrad() error {
	return tt.Do(func() error {
		for _, p := range o.params {
			g := tt.Must(p.Grad(false))
			if g.MustDefined() {
				g.Copy_(o.zero)
			}
			g.MustDrop()
		}
		return nil
	})
}

// Step applies one update with learning rate lr. Parameters without a gradient are skipped.
func (o *Optimizer) Step(lr float64) error {
	// The update is not part of the graph, and an in-place copy into a leaf that requires grad
	// is only allowed with grad mode off.
	return tt.NoGrad(func() error {
		o.steps++
		for i, p := range o.params {
			g := tt.Must(p.Grad(false))
			if !g.MustDefined() {
				g.MustDrop()
				continue
			}
			var next *ts.Tensor
			switch o.cfg.Kind {
			case SGD:
				next = o.sgd(i, p, g, lr)
			case AdamW:
				next = o.adamw(i, p, g, lr)
			}
			p.Copy_(next) // in place: the VarStore and the autograd graph keep p
			next.MustDrop()
			g.MustDrop()
		}
		return nil
	})
}

func scalar(v float64) *ts.Scalar { return ts.FloatScalar(v) }

// mulS returns x·v as a new tensor.
func mulS(x *ts.Tensor, v float64) *ts.Tensor {
	s := scalar(v)
	y := tt.Must(x.MulScalar(s, false))
	s.MustDrop()
	return y
}

func (o *Optimizer) sgd(i int, p, g *ts.Tensor, lr float64) *ts.Tensor {
	c := o.cfg
	d := g
	if c.WeightDecay != 0 {
		wp := mulS(p, c.WeightDecay)
		d = tt.Must(g.Add(wp, false))
		wp.MustDrop()
	}
	if c.Momentum != 0 {
		var b *ts.Tensor
		if o.buf1[i] == nil {
			b = tt.Must(d.DetachCopy(false)) // own storage, not the gradient's
		} else {
			mb := mulS(o.buf1[i], c.Momentum)
			b = tt.Must(mb.Add(d, false))
			mb.MustDrop()
			o.buf1[i].MustDrop()
		}
		o.buf1[i] = b
		if d != g {
			d.MustDrop()
		}
		d = b
	}
	step := mulS(d, lr)
	next := tt.Must(p.Sub(step, false))
	step.MustDrop()
	if d != g && d != o.buf1[i] {
		d.MustDrop()
	}
	return next
}

func (o *Optimizer) adamw(i int, p, g *ts.Tensor, lr float64) *ts.Tensor {
	c := o.cfg
	if o.buf1[i] == nil {
		o.buf1[i] = tt.Must(g.ZerosLike(false))
		o.buf2[i] = tt.Must(g.ZerosLike(false))
	}
	// m ← β₁·m + (1 − β₁)·g
	m1 := mulS(o.buf1[i], c.Beta1)
	g1 := mulS(g, 1-c.Beta1)
	m := tt.Must(m1.Add(g1, false))
	// v ← β₂·v + (1 − β₂)·g²
	v1 := mulS(o.buf2[i], c.Beta2)
	g2 := mulS(g, 1-c.Beta2)
	v := tt.Must(v1.Addcmul(g2, g, false))
	for _, x := range []*ts.Tensor{m1, g1, v1, g2, o.buf1[i], o.buf2[i]} {
		x.MustDrop()
	}
	o.buf1[i], o.buf2[i] = m, v

	t := float64(o.steps)
	bc1 := 1 - math.Pow(c.Beta1, t)
	bc2 := 1 - math.Pow(c.Beta2, t)
	vh := mulS(v, 1/bc2)
	den := tt.Must(vh.Sqrt(true))
	eps := scalar(c.Eps)
	den = tt.Must(den.AddScalar(eps, true))
	eps.MustDrop()
	ratio := tt.Must(m.Div(den, false))
	den.MustDrop()
	step := mulS(ratio, lr/bc1)
	ratio.MustDrop()
	decayed := mulS(p, 1-lr*c.WeightDecay)
	next := tt.Must(decayed.Sub(step, false))
	decayed.MustDrop()
	step.MustDrop()
	return next
}

// ClipGradNorm scales all gradients by min(1, max/‖g‖) where ‖g‖ is the global L2 norm over
// every parameter's gradient, and returns ‖g‖ before clipping. max ≤ 0 only measures.
func (o *Optimizer) ClipGradNorm(max float64) (float64, error) {
	return tt.Call(func() (float64, error) {
		var sq float64
		var grads []*ts.Tensor
		for _, p := range o.params {
			g := tt.Must(p.Grad(false))
			if !g.MustDefined() {
				g.MustDrop()
				continue
			}
			grads = append(grads, g)
			n := tt.Must(g.Square(false))
			s := tt.Must(n.Sum(gotch.Double, true))
			sq += tt.Must(tt.Item(s))
			s.MustDrop()
		}
		norm := math.Sqrt(sq)
		if max > 0 && norm > max && !math.IsInf(norm, 0) && !math.IsNaN(norm) {
			f := max / (norm + 1e-6)
			for _, g := range grads {
				scaled := mulS(g, f)
				g.Copy_(scaled)
				scaled.MustDrop()
			}
		}
		for _, g := range grads {
			g.MustDrop()
		}
		return norm, nil
	})
}

// namedBuffers lists the optimizer's state tensors for a checkpoint, with stable names.
func (o *Optimizer) namedBuffers() (names []string, tensors []*ts.Tensor) {
	for i, n := range o.names {
		if o.buf1[i] != nil {
			names = append(names, "opt.buf1."+n)
			tensors = append(tensors, o.buf1[i])
		}
		if o.buf2[i] != nil {
			names = append(names, "opt.buf2."+n)
			tensors = append(tensors, o.buf2[i])
		}
	}
	return names, tensors
}

// allBuffers lists every buffer, for dropping.
func (o *Optimizer) allBuffers() []*ts.Tensor {
	_, t := o.namedBuffers()
	if o.zero != nil {
		t = append(t, o.zero)
	}
	return t
}

// setBuffers installs buffers read from a checkpoint (by the names namedBuffers gives).
func (o *Optimizer) setBuffers(steps int64, byName map[string]*ts.Tensor) error {
	o.steps = steps
	for i, n := range o.names {
		for j, bufs := range [][]*ts.Tensor{o.buf1, o.buf2} {
			key := fmt.Sprintf("opt.buf%d.%s", j+1, n)
			if t, ok := byName[key]; ok {
				if bufs[i] != nil {
					bufs[i].MustDrop()
				}
				bufs[i] = t
				delete(byName, key)
			}
		}
	}
	return nil
}
