package distributed_test

import (
	"fmt"
	"log"

	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/distributed"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// One data-parallel step. Under `srun` each task is a rank of the group that FromSlurm
// describes; elsewhere the process is a group of one, whose collectives change nothing, so the
// same code runs in both.
func Example() {
	cfg, ok, err := distributed.FromSlurm()
	if err != nil {
		log.Fatal(err)
	}
	if !ok {
		cfg = distributed.Config{WorldSize: 1}
	}
	g, err := distributed.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()

	err = tt.Do(func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		w := tmp.Add(tt.Must(tt.FromSlice([]float32{0.5, -1, 2}, 3)))
		tt.Check(g.Broadcast([]*ts.Tensor{w}, 0)) // every rank starts from rank 0's weights

		grad := tmp.Add(tt.Must(tt.FromSlice([]float32{0.1, 0.2, 0.3}, 3))) // this rank's gradient
		tt.Check(g.AllReduceMean([]*ts.Tensor{grad}))                       // now the mean over the ranks
		mean := make([]float32, 3)
		tt.Check(tt.CopyTo(mean, grad))
		fmt.Printf("rank %d of %d, mean gradient %v\n", g.Rank(), g.WorldSize(), mean)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	// Small buffers, such as the β scheduler's batch summaries, come back in rank order.
	all, err := g.AllGather([]byte("n=128 mean=0.03"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d summaries: %q\n", len(all), all)
	// Output:
	// rank 0 of 1, mean gradient [0.1 0.2 0.3]
	// 1 summaries: ["n=128 mean=0.03"]
}
