package bench

import (
	"maps"
	"math"
	"slices"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	tt "github.com/smoothl1/smoothl1/torchthread"
	"github.com/smoothl1/smoothl1/trainer"
)

// Row 5's setting: a synthetic dataset of detectorImages images, batches of detectorBatch.
const (
	detectorImages = 16
	detectorBatch  = 8
)

// Row 5's box losses, as `smoothl1 train --task detect --loss SPEC` builds them.
const (
	specSASL     = "sasl"
	specSmoothL1 = "smoothl1:beta=0.11"
)

// detectorCases are row 5's cases: one training step of the detector of package detectors
// (zero the gradients, StepLoss, backward; no update, so both cases train the same weights)
// with the box loss built from specSASL and from specSmoothL1, in this order. The loss is
// built like recipe's detect kind builds it (static.Sum; StepLoss divides by the
// positives). The dataset is generated into dir; both cases share one network and VarStore,
// and the k-th call of either case runs the batch of step k, so that the cases see the same
// images. positives returns the median number of positive anchors (the rows of the box
// loss) over the steps run so far. Call it, the cases' Op and free inside torchthread.Do.
func detectorCases(dir string) (cases []Case, positives func() int, free func(), err error) {
	if err := coco.Generate(dir, coco.GenerateOptions{Images: detectorImages, Seed: 1}); err != nil {
		return nil, nil, nil, err
	}
	d, err := detectors.New(detectors.Config{Data: dir, BatchSize: detectorBatch, Seed: 1, Flip: true})
	if err != nil {
		return nil, nil, nil, err
	}
	tt.Check(tt.ManualSeed(1))
	vs := nn.NewVarStore(gotch.CPU)
	free = vs.Destroy
	if err := d.Build(vs.Root()); err != nil {
		free()
		return nil, nil, nil, err
	}
	vars := vs.Variables()
	var names []string
	var params []*ts.Tensor
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		v := vars[name]
		if tt.Must(v.RequiresGrad()) {
			names, params = append(names, name), append(params, &v)
		}
	}
	// The optimizer only clears the gradients, as the training loop does before each step.
	opt, err := trainer.NewOptimizer(trainer.OptimizerConfig{Kind: trainer.AdamW}, names, params)
	if err != nil {
		free()
		return nil, nil, nil, err
	}
	var seen []float64 // positives per step
	for _, spec := range []string{specSASL, specSmoothL1} {
		loss, err := tensorloss.FromSpec(spec, D, static.Sum)
		if err != nil {
			free()
			return nil, nil, nil, err
		}
		var step int64
		cases = append(cases, Case{Name: spec, Op: func() error {
			if err := opt.ZeroGrad(); err != nil {
				return err
			}
			total, parts, err := d.StepLoss(step, loss)
			if err != nil {
				return err
			}
			step++
			defer total.MustDrop()
			seen = append(seen, parts["positives"]*detectorBatch) // "positives" is per image
			return total.Backward()
		}})
	}
	positives = func() int { return int(math.Round(spread(seen).Median)) }
	return cases, positives, free, nil
}

// boxLossCases are the box losses of detectorCases alone, forward and backward on float32
// [rows, 4] tensors (rows: the positives of a detector step), in the same order.
// Call it, the cases' Op and free inside torchthread.Do.
func boxLossCases(rows int) (cases []Case, free func(), err error) {
	pred, target := boxTensors(boxData(rows))
	free = func() {
		pred.MustDrop()
		target.MustDrop()
	}
	for _, spec := range []string{specSASL, specSmoothL1} {
		loss, err := tensorloss.FromSpec(spec, D, static.Sum)
		if err != nil {
			free()
			return nil, nil, err
		}
		cases = append(cases, Case{Name: spec, Op: func() error {
			return forwardBackward(pred, func() (*ts.Tensor, error) { return loss.Forward(pred, target, nil) })
		}})
	}
	return cases, free, nil
}
