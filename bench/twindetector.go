package bench

import (
	"fmt"
	"path/filepath"

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

// Row 7's setting: `smoothl1 train --task detect --loss smoothl1:beta=0.11` with its defaults
// (detectors: the default network, batch 16, AdamW lr 8e-3; recipe: weight decay 1e-4, clip
// at norm 10) on a synthetic dataset of twinDetectorImages images.
const (
	twinDetectorBatch  = detectors.DefaultBatch
	twinDetectorImages = detectors.DefaultBatch
	twinDetectorLR     = detectors.DefaultLR
)

// detectorSide prepares row 7's Go half: the detector of package detectors (default Config
// and Arch, seed 1) on a generated dataset in dir; its step is one training step of step 0's
// batch (zero the gradients, StepLoss, which fills the batch and matches the anchors in Go,
// the loss read to the host, backward, clip at norm 10, AdamW). It writes the initial
// weights, step 0's images and targets (detectors.StepInput) and the settings to
// dir/detector.twin, then runs one step and the loss after it. Call it, step and free inside
// torchthread.Do.
func detectorSide(dir string) (*goSide, error) { return detectorSideOn(dir, nil) }

// detectorSideOn is detectorSide with edit, when not nil, run on the generated dataset's
// folder before it is loaded (the tests add crowd regions).
func detectorSideOn(dir string, edit func(data string) error) (*goSide, error) {
	data := filepath.Join(dir, "data")
	if err := coco.Generate(data, coco.GenerateOptions{Images: twinDetectorImages, Seed: 1}); err != nil {
		return nil, err
	}
	if edit != nil {
		if err := edit(data); err != nil {
			return nil, err
		}
	}
	d, err := detectors.New(detectors.Config{Data: data, BatchSize: twinDetectorBatch, Seed: 1, Flip: true})
	if err != nil {
		return nil, err
	}
	tt.Check(tt.ManualSeed(1))
	vs := nn.NewVarStore(gotch.CPU)
	g := &goSide{file: filepath.Join(dir, "detector.twin"), free: vs.Destroy}
	fail := func(err error) (*goSide, error) {
		g.free()
		return nil, err
	}
	if err := d.Build(vs.Root()); err != nil {
		return fail(err)
	}
	names, params := namedParams(vs)
	opt, err := trainer.NewOptimizer(trainer.OptimizerConfig{Kind: trainer.AdamW, WeightDecay: regressWeightDecay}, names, params)
	if err != nil {
		return fail(err)
	}
	loss, err := tensorloss.FromSpec(specSmoothL1, D, static.Sum)
	if err != nil {
		return fail(err)
	}
	in := d.StepInput(0)
	var arrays []Array
	for i, p := range params {
		a := tensorArray(names[i], p)
		g.hello.Params += int64(len(a.Data))
		arrays = append(arrays, a)
	}
	ba := int64(in.Batch * in.Anchors)
	if ba > 1<<24 {
		return fail(fmt.Errorf("%d anchors in the batch: the exchange file carries their indices as float32, exact below 2²⁴", ba))
	}
	pos := make([]float32, len(in.Pos))
	for i, v := range in.Pos {
		pos[i] = float32(v)
	}
	arrays = append(arrays,
		Array{Name: "images", Shape: []int64{int64(in.Batch), 3, int64(in.Size), int64(in.Size)}, Data: in.Images},
		Array{Name: "cls", Shape: []int64{ba, int64(in.Classes)}, Data: in.Cls},
		Array{Name: "valid", Shape: []int64{ba, 1}, Data: in.Valid},
		Array{Name: "pos", Shape: []int64{int64(len(pos))}, Data: pos},
		Array{Name: "deltas", Shape: []int64{int64(len(pos)), 4}, Data: in.Deltas})
	// The batch's sources, for the twin to draw and match it every step as ours does.
	S := int64(in.Size)
	pixels := make([]float32, 0, len(in.Images))
	var flips []bool
	var srcBoxes [][][4]float64
	var labels [][]int
	var crowd [][]bool
	for _, src := range in.Sources {
		for _, v := range src.Pixels {
			pixels = append(pixels, float32(v))
		}
		flips = append(flips, src.Flipped)
		// Non-nil copies: an image without boxes is [] in the JSON, not null.
		srcBoxes = append(srcBoxes, append([][4]float64{}, src.Boxes...))
		labels = append(labels, append([]int{}, src.Labels...))
		crowd = append(crowd, append([]bool{}, src.Crowd...))
	}
	var lut []float32
	for c := range in.Normalization {
		lut = append(lut, in.Normalization[c][:]...)
	}
	arrays = append(arrays,
		Array{Name: "pixels", Shape: []int64{int64(in.Batch), 3, S, S}, Data: pixels},
		Array{Name: "lut", Shape: []int64{3, 256}, Data: lut})
	weights := in.Coder.Weights
	if weights == ([4]float64{}) {
		weights = [4]float64{1, 1, 1, 1}
	}
	meta := map[string]any{"threads": 1, "lr": twinDetectorLR, "weight_decay": regressWeightDecay, "beta": regressBeta,
		"clip": regressClip, "alpha": 0.25, "gamma": 2.0,
		"flips": flips, "boxes": srcBoxes, "labels": labels, "crowd": crowd, "anchors": in.AnchorBoxes,
		"matcher":       map[string]any{"positive": in.Matcher.PositiveIoU, "negative": in.Matcher.NegativeIoU, "low_quality": in.Matcher.AllowLowQuality},
		"coder_weights": weights}
	g.hello.Targets = &twinTargets{Anchors: ba, Positives: int64(len(in.Pos))}
	if err := WriteArrays(g.file, meta, arrays); err != nil {
		return fail(err)
	}
	forward := func() (*ts.Tensor, error) {
		total, _, err := d.StepLoss(0, loss) // step 0's batch, every time
		return total, err
	}
	if err := g.trainAndCheck(opt, forward, twinDetectorLR); err != nil {
		return fail(err)
	}
	return g, nil
}
