package tensorloss_test

import (
	"fmt"
	"log"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// The dynamic loss in a gotch step: forward, backward, and the β the scheduler chose. The
// whole step runs in one torchthread.Do. By hand: column 0 has |d| = 0.1, 0.3, so
// μ = 0.9·0.11 + 0.1·0.2, σ² = 0.1·0.02 and β = min(μ − σ², 0.11) = 0.11; its gradient at
// d = 0.1 < β is d/β over the 8 elements, 0.1136.
func ExampleNewDynamicLoss() {
	sch, err := dynamic.NewSelfAdjusting(dynamic.SelfAdjustingConfig{BetaMax: 0.11}, 4)
	if err != nil {
		log.Fatal(err)
	}
	loss, err := tensorloss.NewDynamicLoss(sch, static.Mean)
	if err != nil {
		log.Fatal(err)
	}
	err = tt.Do(func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		pred := tmp.Add(tt.Must(tt.FromSlice([]float32{0.1, 0.2, 0.05, 0, 0.3, -0.1, 0, 0.02}, 2, 4)))
		tt.Must(pred.SetRequiresGrad(true, false))
		target := tmp.Add(tt.Must(tt.FromSlice(make([]float32, 8), 2, 4)))
		value := tmp.Add(tt.Must(loss.Forward(pred, target, nil)))
		tt.Check(value.Backward())
		grad := tmp.Add(tt.Must(pred.Grad(false)))
		g := make([]float32, 8)
		tt.Check(tt.CopyTo(g, grad))
		fmt.Printf("loss %.5f\nβ %.4f\ngrad row 0 %.4f\n", tt.Must(tt.Item(value)), loss.LastBeta(), g[:4])
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// loss 0.06190
	// β [0.1100 0.1100 0.1014 0.1000]
	// grad row 0 [0.1136 0.1250 0.0617 0.0000]
}

// A loss from its spec string: a fixed-shape loss here.
func ExampleFromSpec() {
	loss, err := tensorloss.FromSpec("huber:delta=0.5", 4, static.Sum)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loss.Name())
	_, err = tensorloss.FromSpec("huber:delta=0", 4, static.Sum)
	fmt.Println(err)
	// Output:
	// huber:delta=0.5
	// spec: bad loss spec "huber:delta=0": static: non-positive delta: huber delta = 0
}
