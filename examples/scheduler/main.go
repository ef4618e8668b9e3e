// Command scheduler fits a linear box regressor in plain Go with the Self-Adjusting Smooth L1:
// the β scheduler of package dynamic and the loss values and gradients of package static, no
// libtorch. It builds with CGO_ENABLED=0:
//
//	CGO_ENABLED=0 go run ./examples/scheduler
package main

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
)

const (
	in, d = 8, 4 // features per box, box deltas per box (dx, dy, dw, dh)
	batch = 64
	steps = 600
	lr    = 2 // decayed linearly to 0
)

func main() {
	rng := rand.New(rand.NewPCG(1, 2))
	// The answer to learn: deltas = trueW·x, labelled with small noise and 5% outliers.
	trueW, w := make([]float32, d*in), make([]float32, d*in) // w is the model, [d, in]
	for i := range trueW {
		trueW[i] = float32(rng.NormFloat64())
	}

	// RetinaMask's rule with β̂ = 0.11, for d columns. The scheduler owns its running
	// statistics; State()/Restore() checkpoint them.
	sched, err := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{BetaMax: 0.11}, d)
	if err != nil {
		log.Fatal(err)
	}
	x, pred, target, grad := make([]float32, batch*in), make([]float32, batch*d), make([]float32, batch*d), make([]float32, batch*d)
	var sum dynamic.Summary // reused with beta: a step allocates nothing
	var beta []float64
	for step := 1; step <= steps; step++ {
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		matmul(target, trueW, x)
		for i := range target {
			target[i] += float32(0.05 * rng.NormFloat64())
			if rng.Float64() < 0.05 {
				target[i] += float32(rng.NormFloat64())
			}
		}
		matmul(pred, w, x)
		// Summarize the batch, let the scheduler observe it, get β per column.
		if beta, err = dynamic.Step(sched, pred, target, d, &sum, beta); err != nil {
			log.Fatal(err)
		}
		// Smooth L1 with that β per column: the mean loss, and its gradient in grad.
		loss, err := static.SmoothL1Columns(beta, static.Mean, grad, nil, pred, target, nil)
		if err != nil {
			log.Fatal(err)
		}
		// Back-propagate through pred = w·x and take an SGD step.
		rate := lr * float32(steps-step) / steps
		for r := 0; r < batch; r++ {
			for j := 0; j < d; j++ {
				for k := 0; k < in; k++ {
					w[j*in+k] -= rate * grad[r*d+j] * x[r*in+k]
				}
			}
		}
		if step%200 == 0 {
			fmt.Printf("step %d  loss %.4f  β %.3f\n", step, loss, beta)
		}
	}
	fmt.Printf("w[0,:3] = %.3f, true %.3f\n", w[:3], trueW[:3])
}

// matmul writes y[r, j] = Σ_k m[j, k]·x[r, k] for the rows r of x.
func matmul(y, m, x []float32) {
	for r := 0; r < len(x)/in; r++ {
		for j := 0; j < d; j++ {
			var s float32
			for k := 0; k < in; k++ {
				s += m[j*in+k] * x[r*in+k]
			}
			y[r*d+j] = s
		}
	}
}
