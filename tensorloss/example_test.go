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

// Rank 0 of a data-parallel step of two ranks: it has the first two rows of the batch, rank 1
// the last two. Its scheduler observes the merged summary of both shards, so its β is the one
// a loss on the whole batch chooses (as is rank 1's). In a run, Combine exchanges the
// summaries' binary form with distributed.Group.AllGather (package trainer does this); here
// rank 1's summary is made in place.
func ExampleDynamicLoss_SetCombine() {
	batch := []float32{0.1, 0.2, 0.05, 0, 0.3, -0.1, 0, 0.02, 0.4, 0.1, 0.2, 0.01, -0.2, 0.05, 0.1, 0.03} // pred; targets 0
	zeros := make([]float32, 16)
	var rank1 dynamic.Summary
	dynamic.Summarize(batch[8:], zeros[8:], 4, dynamic.Requirement{Moments: true}, &rank1)
	wire, _ := rank1.MarshalBinary()

	beta := func(rows []float32, combine tensorloss.Combine) []float64 {
		loss, err := tensorloss.FromSpec("sasl", 4, static.Mean)
		if err != nil {
			log.Fatal(err)
		}
		if combine != nil {
			tt.Check(loss.(*tensorloss.DynamicLoss).SetCombine(2, combine))
		}
		err = tt.Do(func() error {
			var tmp tt.Scratch
			defer tmp.Drop()
			n := int64(len(rows) / 4)
			pred := tmp.Add(tt.Must(tt.FromSlice(rows, n, 4)))
			target := tmp.Add(tt.Must(tt.FromSlice(zeros[:len(rows)], n, 4)))
			tmp.Add(tt.Must(loss.Forward(pred, target, nil)))
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
		return loss.(*tensorloss.DynamicLoss).LastBeta()
	}
	merge := func(local *dynamic.Summary) (dynamic.Summary, error) {
		var other, merged dynamic.Summary
		if err := other.UnmarshalBinary(wire); err != nil {
			return merged, err
		}
		for _, s := range []*dynamic.Summary{local, &other} { // rank order
			if err := merged.Merge(s); err != nil {
				return merged, err
			}
		}
		return merged, nil
	}
	fmt.Printf("whole batch %.5f\nrank 0      %.5f\nalone       %.5f\n", beta(batch, nil), beta(batch[:8], merge), beta(batch[:8], nil))
	// Output:
	// whole batch [0.11000 0.10985 0.10702 0.10048]
	// rank 0      [0.11000 0.10985 0.10702 0.10048]
	// alone       [0.11000 0.11000 0.10138 0.09998]
}
