package regress

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// Noise is the label noise of the regression task: each target coordinate gets a Gaussian
// error of standard deviation Sigma, except a fraction Outliers of them that get one of
// standard deviation Scale instead (a contaminated normal, Huber's model of gross errors).
type Noise struct {
	Sigma    float64 `json:"sigma"`
	Outliers float64 `json:"outliers"`
	Scale    float64 `json:"scale"`
}

// Noise presets for the ablation: the optimum β depends on which one holds.
var (
	NoiseClean = Noise{}
	NoiseLight = Noise{Sigma: 0.05, Outliers: 0.02, Scale: 0.5}
	NoiseHeavy = Noise{Sigma: 0.05, Outliers: 0.25, Scale: 2}
)

// ParseNoise parses "clean", "light" or "heavy".
func ParseNoise(s string) (Noise, error) {
	switch s {
	case "clean":
		return NoiseClean, nil
	case "light":
		return NoiseLight, nil
	case "heavy":
		return NoiseHeavy, nil
	}
	return Noise{}, fmt.Errorf("regress: unknown noise %q (accepted: clean, light, heavy)", s)
}

func (n Noise) validate() error {
	if !(n.Sigma >= 0) || !(n.Outliers >= 0 && n.Outliers <= 1) || !(n.Scale >= 0) ||
		math.IsInf(n.Sigma, 0) || math.IsInf(n.Scale, 0) {
		return fmt.Errorf("regress: noise %+v: want sigma ≥ 0, outliers in [0, 1], scale ≥ 0, all finite", n)
	}
	return nil
}

// Task is a controlled box-regression task with a known answer: inputs x ∈ ℝ¹⁶ map to four
// box deltas through a fixed random network f (the same for every seed),
//
//	y = f(x) + noise,  f(x) = A₂·tanh(A₁·x + b₁)  (scaled so each delta has std ≈ 0.5)
//
// and a small MLP (16 → 64 → 64 → 4, ReLU) learns it. The seed draws the MLP's initial weights
// (through libtorch) and the training batches; the clean held-out set is the same for every
// seed, so runs compare on one yardstick. Batch s is drawn from a generator seeded by
// (seed, s), which makes a run's data position its step.
type Task struct {
	Seed      uint64
	Noise     Noise
	BatchSize int // rows per step; 0 means 256
	TestSize  int // held-out rows; 0 means 4096

	gt          groundTruth
	l1, l2, o   *nn.Linear
	rank, world int // SetShard; world 0: the whole batch
}

const (
	regressIn     = 16
	regressHidden = 64
	regressOut    = 4
	regressGTSeed = 20261128 // the ground-truth map and the held-out set, fixed for all runs
)

type groundTruth struct {
	a1    []float64 // [32][16]
	b1    []float64 // [32]
	a2    []float64 // [4][32]
	scale float64
}

func newGroundTruth() groundTruth {
	r := rand.New(rand.NewPCG(regressGTSeed, 1))
	const h = 32
	g := groundTruth{a1: make([]float64, h*regressIn), b1: make([]float64, h), a2: make([]float64, regressOut*h)}
	for i := range g.a1 {
		g.a1[i] = r.NormFloat64() / math.Sqrt(regressIn)
	}
	for i := range g.b1 {
		g.b1[i] = 0.5 * r.NormFloat64()
	}
	for i := range g.a2 {
		g.a2[i] = r.NormFloat64() / math.Sqrt(h)
	}
	// Scale the outputs to a standard deviation of 0.5, measured on a fixed sample.
	var ss float64
	x := make([]float64, regressIn)
	y := make([]float64, regressOut)
	const n = 4096
	g.scale = 1
	for i := 0; i < n; i++ {
		for j := range x {
			x[j] = r.NormFloat64()
		}
		g.eval(x, y)
		for _, v := range y {
			ss += v * v
		}
	}
	g.scale = 0.5 / math.Sqrt(ss/(n*regressOut))
	return g
}

func (g *groundTruth) eval(x, y []float64) {
	const h = 32
	var hid [h]float64
	for i := 0; i < h; i++ {
		s := g.b1[i]
		for j := 0; j < regressIn; j++ {
			s += g.a1[i*regressIn+j] * x[j]
		}
		hid[i] = math.Tanh(s)
	}
	for k := 0; k < regressOut; k++ {
		var s float64
		for i := 0; i < h; i++ {
			s += g.a2[k*h+i] * hid[i]
		}
		y[k] = g.scale * s
	}
}

// sample draws n rows of inputs and targets with noise from r.
func (t *Task) sample(r *rand.Rand, n int, noise Noise) (x, y []float32) {
	x = make([]float32, n*regressIn)
	y = make([]float32, n*regressOut)
	xf := make([]float64, regressIn)
	yf := make([]float64, regressOut)
	for i := 0; i < n; i++ {
		for j := range xf {
			xf[j] = r.NormFloat64()
			x[i*regressIn+j] = float32(xf[j])
		}
		t.gt.eval(xf, yf)
		for k, v := range yf {
			e := noise.Sigma
			if noise.Outliers > 0 && r.Float64() < noise.Outliers {
				e = noise.Scale
			}
			y[i*regressOut+k] = float32(v + e*r.NormFloat64())
		}
	}
	return x, y
}

// New returns the task. Its model is created by Build.
func New(seed uint64, noise Noise, batchSize int) (*Task, error) {
	if err := noise.validate(); err != nil {
		return nil, err
	}
	if batchSize < 0 {
		return nil, fmt.Errorf("regress: batch size %d: want > 0", batchSize)
	}
	if batchSize == 0 {
		batchSize = 256
	}
	return &Task{Seed: seed, Noise: noise, BatchSize: batchSize, TestSize: 4096, gt: newGroundTruth()}, nil
}

// Build implements Task.
func (t *Task) Build(root *nn.Path) error {
	t.l1 = nn.NewLinear(root.Sub("fc1"), regressIn, regressHidden, LinearInit(regressIn))
	t.l2 = nn.NewLinear(root.Sub("fc2"), regressHidden, regressHidden, LinearInit(regressHidden))
	t.o = nn.NewLinear(root.Sub("out"), regressHidden, regressOut, LinearInit(regressHidden))
	return nil
}

// LinearInit is PyTorch's default initialisation of nn.Linear: weights and bias uniform in
// ±1/√fanIn. gotch v0.9.1's DefaultLinearConfig cannot be used: its Kaiming-uniform init was
// replaced by plain randn (N(0, 1) weights), which makes activations grow by √fanIn per layer.
func LinearInit(fanIn int64) *nn.LinearConfig {
	b := 1 / math.Sqrt(float64(fanIn))
	return &nn.LinearConfig{WsInit: nn.NewUniformInit(-b, b), BsInit: nn.NewUniformInit(-b, b), Bias: true}
}

// Forward runs the MLP built by Build on x, float32 [rows, 16], and returns its [rows, 4]
// output; the caller drops it. Call it on the torch thread.
func (t *Task) Forward(x *ts.Tensor) *ts.Tensor {
	h1 := t.l1.Forward(x)
	a1 := tt.Must(h1.Relu(true))
	h2 := t.l2.Forward(a1)
	a1.MustDrop()
	a2 := tt.Must(h2.Relu(true))
	out := t.o.Forward(a2)
	a2.MustDrop()
	return out
}

// Batch returns the training batch of step s, as StepLoss draws it: inputs float32
// [BatchSize, 16] and targets [BatchSize, 4], row-major.
func (t *Task) Batch(s int64) (x, y []float32) {
	r := rand.New(rand.NewPCG(t.Seed, uint64(s)))
	return t.sample(r, t.BatchSize, t.Noise)
}

// SetShard implements trainer.ShardedTask: StepLoss then trains on rows r·B/W to (r+1)·B/W of
// step s's batch of B = BatchSize rows (Batch(s)), whose mean loss averaged over the W ranks is
// the whole batch's. W must divide B.
// (The task needs no sum of the ranks.)
func (t *Task) SetShard(r, w int, _ func([]float64) ([]float64, error)) error {
	if w < 1 || r < 0 || r >= w {
		return fmt.Errorf("regress: shard %d of %d", r, w)
	}
	if t.BatchSize%w != 0 {
		return fmt.Errorf("regress: a batch of %d rows does not split into %d equal shards: the batch must be a multiple of the number of ranks", t.BatchSize, w)
	}
	t.rank, t.world = r, w
	return nil
}

// StepLoss implements Task: the mean loss of step s's batch, or of this rank's shard of it
// (SetShard).
func (t *Task) StepLoss(s int64, boxLoss tensorloss.Loss) (*ts.Tensor, map[string]float64, error) {
	xs, ys := t.Batch(s)
	rows := t.BatchSize
	if w := t.world; w > 1 {
		rows /= w
		r := t.rank
		xs, ys = xs[r*rows*regressIn:(r+1)*rows*regressIn], ys[r*rows*regressOut:(r+1)*rows*regressOut]
	}
	x := tt.Must(tt.FromSlice(xs, int64(rows), regressIn))
	y := tt.Must(tt.FromSlice(ys, int64(rows), regressOut))
	pred := t.Forward(x)
	loss, err := boxLoss.Forward(pred, y, nil)
	x.MustDrop()
	y.MustDrop()
	pred.MustDrop()
	return loss, nil, err
}

// Evaluate returns the mean absolute and mean squared error of the model on the clean
// held-out set, over all four coordinates:
//
//	test_l1 = mean |ŷ − f(x)|,  test_l2 = mean (ŷ − f(x))²
func (t *Task) Evaluate() (map[string]float64, error) {
	r := rand.New(rand.NewPCG(regressGTSeed, 2))
	xs, ys := t.sample(r, t.TestSize, NoiseClean)
	var out map[string]float64
	err := tt.NoGrad(func() error {
		x := tt.Must(tt.FromSlice(xs, int64(t.TestSize), regressIn))
		pred := t.Forward(x)
		x.MustDrop()
		p := make([]float32, len(ys))
		tt.Check(tt.CopyTo(p, pred))
		pred.MustDrop()
		var l1, l2 float64
		for i := range p {
			d := float64(p[i]) - float64(ys[i])
			l1 += math.Abs(d)
			l2 += d * d
		}
		n := float64(len(p))
		out = map[string]float64{"test_l1": l1 / n, "test_l2": l2 / n}
		return nil
	})
	return out, err
}
