package regress

import (
	"math"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"

	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// TestShardsAverageToTheBatch: the mean losses of the W shards of a batch (SetShard), averaged,
// are the batch's mean loss, to float32 rounding (1e-6 relative), for W = 2 and 4; a batch that
// W does not divide is refused.
func TestShardsAverageToTheBatch(t *testing.T) {
	task, err := New(3, NoiseHeavy, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.SetShard(0, 3, nil); err == nil || !strings.Contains(err.Error(), "64 rows does not split into 3") {
		t.Errorf("3 shards of 64 rows: error %v", err)
	}
	l, err := tensorloss.NewStaticLoss(static.L1{}, static.Mean)
	if err != nil {
		t.Fatal(err)
	}
	err = tt.Do(func() error {
		vs := nn.NewVarStore(gotch.CPU)
		defer vs.Destroy()
		if err := task.Build(vs.Root()); err != nil {
			return err
		}
		value := func(s int64) float64 {
			loss, _, err := task.StepLoss(s, l)
			tt.Check(err)
			defer loss.MustDrop()
			return tt.Must(tt.Item(loss))
		}
		for s := range int64(3) {
			task.rank, task.world = 0, 0
			whole := value(s)
			for _, w := range []int{2, 4} {
				var sum float64
				for r := range w {
					tt.Check(task.SetShard(r, w, nil))
					sum += value(s)
				}
				if math.Abs(sum/float64(w)-whole) > 1e-6*whole {
					t.Errorf("step %d, %d shards: mean %v, the batch's %v", s, w, sum/float64(w), whole)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
