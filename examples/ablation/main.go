// Command ablation runs the loss ablation on a task of your own: it registers the task with
// package recipe and sweeps three losses over three seeds with package experiments, which
// writes the same report as `smoothl1 ablate` (mean ± 95% CI, paired tests, β traces, plots).
//
//	go run ./examples/ablation [OUT]   (after `make setup`; OUT defaults to a temporary folder)
package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/experiments"
	"github.com/smoothl1/smoothl1/recipe"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
	"github.com/smoothl1/smoothl1/trainer"
)

// shift is the task, a trainer.Task: box deltas y = 0.5·x from 4 features, 10% of the labels
// gross outliers. trainer.Run calls its methods on the torch thread.
type shift struct {
	seed  uint64
	batch int
	fc    *nn.Linear
}

func (t *shift) Build(root *nn.Path) error { // the model: one linear layer
	t.fc = nn.NewLinear(root.Sub("fc"), 4, 4, &nn.LinearConfig{WsInit: nn.NewUniformInit(-0.5, 0.5), Bias: false})
	return nil
}

// data draws n rows; the batch of step s depends only on (seed, s), as resume requires.
func (t *shift) data(r *rand.Rand, n int, outliers float64) (x, y *ts.Tensor) {
	xs, ys := make([]float32, n*4), make([]float32, n*4)
	for i := range xs {
		xs[i] = float32(r.NormFloat64())
		ys[i] = 0.5 * xs[i]
		if r.Float64() < outliers {
			ys[i] += float32(2 * r.NormFloat64())
		}
	}
	return tt.Must(tt.FromSlice(xs, int64(n), 4)), tt.Must(tt.FromSlice(ys, int64(n), 4))
}

func (t *shift) StepLoss(s int64, boxLoss tensorloss.Loss) (*ts.Tensor, map[string]float64, error) {
	var tmp tt.Scratch
	defer tmp.Drop()
	x, y := t.data(rand.New(rand.NewPCG(t.seed, uint64(s))), t.batch, 0.1)
	pred := tmp.Add(t.fc.Forward(tmp.Add(x)))
	loss, err := boxLoss.Forward(pred, tmp.Add(y), nil)
	return loss, nil, err
}

// Evaluate is the mean absolute error on clean held-out data (the same for every seed).
func (t *shift) Evaluate() (map[string]float64, error) {
	var tmp tt.Scratch
	defer tmp.Drop()
	x, y := t.data(rand.New(rand.NewPCG(0, 0)), 2048, 0)
	pred := tmp.Add(t.fc.Forward(tmp.Add(x)))
	mae := tt.Must(tt.Item(tmp.Add(tt.Must(pred.L1Loss(tmp.Add(y), 1, false))))) // 1: mean
	return map[string]float64{"mae": mae}, nil
}

func main() {
	err := recipe.Register(recipe.Kind{
		Name:     "shift",
		Defaults: recipe.Defaults{Steps: 150, Batch: 64, LR: 0.05, Warmup: 10},
		Metrics:  []recipe.Metric{{Key: "mae", Label: "held-out MAE", Lower: true, Table: true}},
		New: func(r recipe.Resolved, _ string) (trainer.Task, error) {
			return &shift{seed: r.Seed, batch: r.Batch}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	out := filepath.Join(os.TempDir(), "ablation-example")
	if len(os.Args) > 1 {
		out = os.Args[1] // a rerun with the same OUT resumes, keeping finished runs
	}
	cfg := experiments.Config{Name: "shift", Seeds: 3,
		Variants: []string{"smoothl1:beta=0.11", "smoothl1:beta=1", "sasl:betamax=0.11"},
		Tasks:    []experiments.TaskConfig{{Name: "shift", Task: "shift"}}}
	res, err := experiments.Sweep(context.Background(), experiments.Options{Config: cfg, Out: out})
	if err != nil {
		log.Fatal(err)
	}
	table, _ := os.ReadFile(filepath.Join(out, "results.md")) // report.md has the plots too
	fmt.Printf("%s\nreport: %s\n", table, res.Report)
}
