package trainer

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/sugarme/gotch/ts"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// ulpsOf returns |a − b| in units in the last place of a float32 of magnitude scale: an
// update p ← p − δ that cancels most of p is exact only to the rounding of p before it, so
// the differences are measured in ulps of max(|p before|, |p after|).
func ulpsOf(a, b, scale float32) float64 {
	scale = float32(math.Abs(float64(scale)))
	ulp := math.Nextafter32(scale, float32(math.Inf(1))) - scale
	return math.Abs(float64(a)-float64(b)) / float64(ulp)
}

// TestAdamWAgainstTorch runs the optimizer on float32 parameters with the gradients of
// testdata/adamw_golden.json and compares every parameter after every step with
// torch.optim.AdamW's (adamw_golden.py), flat and per parameter: the host kernel bit for bit;
// the libtorch form (for tensors the kernel does not take: another device, mixed dtypes),
// which interpolates m with lerp and orders the step's roundings otherwise, within 16 ulps of
// the larger of the parameter's magnitudes before and after the step (8 measured).
func TestAdamWAgainstTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/adamw_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var gold struct {
		Shapes            [][]int64
		WeightDecay       float64 `json:"weight_decay"`
		Beta1, Beta2, Eps float64
		Params0           [][]float64
		Steps             []struct {
			LR     float64
			Grads  [][]float64
			Params [][]float64
		}
	}
	if err := json.Unmarshal(b, &gold); err != nil {
		t.Fatal(err)
	}
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	for _, c := range []struct {
		name       string
		host, flat bool
		maxULP     float64
	}{{"host, flat", true, true, 0}, {"host, per parameter", true, false, 0}, {"libtorch flat", false, true, 16}, {"libtorch per parameter", false, false, 16}} {
		t.Run(c.name, func(t *testing.T) {
			useHostAdamW = c.host
			defer func() { useHostAdamW = true }()
			var worst float64
			err := tt.Do(func() error {
				var params []*ts.Tensor
				var names []string
				for j, s := range gold.Shapes {
					params = append(params, tt.Must(ts.NewTensorFromData(f32(gold.Params0[j]), s)).MustSetRequiresGrad(true, true))
					names = append(names, fmt.Sprint("p", j))
				}
				defer func() {
					for _, p := range params {
						p.MustDrop()
					}
				}()
				opt, err := NewOptimizer(OptimizerConfig{Kind: AdamW, WeightDecay: gold.WeightDecay, Beta1: gold.Beta1, Beta2: gold.Beta2, Eps: gold.Eps}, names, params)
				if err != nil {
					return err
				}
				defer opt.Close()
				opt.uniform = c.flat
				before := make([][]float32, len(params))
				for j := range params {
					before[j] = f32(gold.Params0[j])
				}
				for k, st := range gold.Steps {
					tt.Check(opt.ZeroGrad())
					coefs := make([]*ts.Tensor, len(params))
					for j := range params {
						coefs[j] = tt.Must(ts.NewTensorFromData(f32(st.Grads[j]), gold.Shapes[j]))
					}
					loss := sumOfProducts(params, coefs) // the gradients are the golden ones exactly
					tt.Check(loss.Backward())
					loss.MustDrop()
					tt.Check(opt.Step(st.LR))
					if k == 0 && opt.adopted != c.flat {
						return fmt.Errorf("gradients adopted %v, want %v", opt.adopted, c.flat)
					}
					for j, p := range params {
						got := make([]float32, p.Numel())
						tt.Check(tt.CopyTo(got, p))
						for i, want := range f32(st.Params[j]) {
							d := ulpsOf(got[i], want, max(float32(math.Abs(float64(want))), float32(math.Abs(float64(before[j][i])))))
							worst = max(worst, d)
							if d > c.maxULP {
								return fmt.Errorf("step %d: p%d[%d] = %v, torch %v (%.3g ulps)", k+1, j, i, got[i], want, d)
							}
						}
						before[j] = f32(st.Params[j])
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("largest difference from torch.optim.AdamW over %d steps: %.3g ulps", len(gold.Steps), worst)
		})
	}
}
