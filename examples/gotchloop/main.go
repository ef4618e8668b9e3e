// Command gotchloop is your own gotch training loop (your model, gotch's Adam) with this
// toolkit's dynamic loss: Smooth L1 whose β follows Dynamic R-CNN's rule. Everything that
// touches libtorch runs on the torch thread (package torchthread): libtorch's grad mode is per
// OS thread, and Go moves goroutines between threads.
//
//	go run ./examples/gotchloop   (after `make setup`)
package main

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"

	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	"github.com/smoothl1/smoothl1/torchthread"
)

const batch, in, d = 128, 8, 4 // rows per step, features, box deltas

func main() {
	// The loss, from the same spec string the CLI and sweeps use. Sum reduction, divided
	// below by the number of boxes, as RetinaNet normalises by its positives.
	loss, err := tensorloss.FromSpec("dsl:k=16,interval=20", d, static.Sum)
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	xs, ys := make([]float32, batch*in), make([]float32, batch*d)

	err = torchthread.Do(func() error { // one Do for the model's whole life
		vs := nn.NewVarStore(gotch.CPU)
		fc1 := nn.NewLinear(vs.Root().Sub("fc1"), in, 32, linearInit(in))
		fc2 := nn.NewLinear(vs.Root().Sub("fc2"), 32, d, linearInit(32))
		opt, err := nn.DefaultAdamConfig().Build(vs, 3e-3)
		if err != nil {
			return err
		}
		for step := 1; step <= 400; step++ {
			for i := range xs { // a batch: deltas = sin(x)·0.5, labels with 5% outliers
				xs[i] = float32(rng.NormFloat64())
			}
			for i := range ys {
				ys[i] = 0.5 * sin(xs[i/d*in+i%d])
				if rng.Float64() < 0.05 {
					ys[i] += float32(rng.NormFloat64())
				}
			}
			var tmp torchthread.Scratch // frees this step's tensors at its end
			x := tmp.Add(torchthread.Must(torchthread.FromSlice(xs, batch, in)))
			y := tmp.Add(torchthread.Must(torchthread.FromSlice(ys, batch, d)))
			h := tmp.Add(torchthread.Must(tmp.Add(fc1.Forward(x)).Relu(false)))
			pred := tmp.Add(fc2.Forward(h))
			sum := tmp.Add(torchthread.Must(loss.Forward(pred, y, nil)))
			l := tmp.Add(torchthread.Must(sum.DivScalar(tmp.Scalar(batch), false)))
			torchthread.Check(opt.BackwardStep(l))
			if step%100 == 0 {
				v := torchthread.Must(torchthread.Item(l))
				fmt.Printf("step %d  loss %.4f  β %.3f\n", step, v, loss.(*tensorloss.DynamicLoss).LastBeta()[0])
			}
			tmp.Drop()
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

func sin(v float32) float32 { return float32(math.Sin(float64(v))) }

// linearInit is PyTorch's default for nn.Linear, uniform in ±1/√fanIn (gotch v0.9.1's
// default draws N(0, 1) weights).
func linearInit(fanIn int) *nn.LinearConfig {
	b := 1 / math.Sqrt(float64(fanIn))
	return &nn.LinearConfig{WsInit: nn.NewUniformInit(-b, b), BsInit: nn.NewUniformInit(-b, b), Bias: true}
}
