package recipe

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/regress"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/trainer"
)

// The built-in task kinds.
const (
	Regress = "regress" // package regress: the controlled box-regression task
	Detect  = "detect"  // package detectors: the RetinaNet-style detector on COCO data
)

// The default synthetic detection dataset.
const (
	DefaultDatasetImages = 1000
	DefaultDatasetSeed   = 1
)

func init() {
	must(Register(Kind{
		Name:        Regress,
		Summary:     "synthetic box regression with label noise (MLP 16-64-64-4), held-out L1",
		Defaults:    Defaults{Steps: 2000, Warmup: 100, Batch: 256, LR: 2e-3, Noise: "heavy"},
		Reads:       struct{ Noise, Data bool }{Noise: true},
		Reduction:   static.Mean,
		EvalInitial: true,
		Metrics: []Metric{{Key: "test_l1", Label: "held-out L1", Lower: true, Table: true},
			{Key: "test_l2", Label: "held-out L2", Lower: true}},
		Validate: func(s Settings) error {
			if s.Noise == "" {
				return nil
			}
			if _, err := regress.ParseNoise(s.Noise); err != nil {
				return &FieldError{"noise", fmt.Errorf("%q: accepted: clean, light, heavy", s.Noise)}
			}
			return nil
		},
		New: func(r Resolved, _ string) (trainer.Task, error) {
			noise, err := regress.ParseNoise(r.Noise)
			if err != nil {
				return nil, err
			}
			return regress.New(r.Seed, noise, r.Batch)
		},
		Identity: func(r Resolved) any {
			noise, _ := regress.ParseNoise(r.Noise)
			return &noise
		},
		Setting: func(s Settings) string { return s.Noise + " noise" },
		Estimate: func(steps int64, batch int) float64 {
			return float64(steps)*(0.004+0.00004*float64(batch)) + 0.5
		},
	}))
	must(Register(Kind{
		Name:      Detect,
		Summary:   "RetinaNet-style detector (FPN, focal loss) on COCO data, COCO AP",
		Defaults:  Defaults{Steps: detectors.DefaultSteps, Warmup: detectors.DefaultWarmup, Batch: detectors.DefaultBatch, LR: detectors.DefaultLR},
		Reads:     struct{ Noise, Data bool }{Data: true},
		Reduction: static.Sum, // summed over the positive anchors and divided by their number
		Metrics: []Metric{{Key: "ap", Label: "AP", Table: true}, {Key: "ap50", Label: "AP50", Table: true},
			{Key: "ap75", Label: "AP75", Table: true}, {Key: "ap_small", Label: "AP small", Table: true},
			{Key: "ap_medium", Label: "AP medium", Table: true}, {Key: "ap_large", Label: "AP large"},
			{Key: "ar100", Label: "AR@100"}},
		Prepare: EnsureDataset,
		New: func(r Resolved, data string) (trainer.Task, error) {
			return detectors.New(detectors.Config{Data: data, BatchSize: r.Batch, Seed: r.Seed, Flip: true})
		},
		Final: func(task trainer.Task, r Resolved, res trainer.Result, final Final) {
			trained := float64(res.Steps - res.ResumedFrom)
			final["train_images_per_second"] = float64(r.Batch) * trained / res.Seconds
			final["eval_seconds"] = res.EvalSeconds
			if d, ok := task.(interface{ ValImages() int }); ok {
				final["eval_images_per_second"] = float64(d.ValImages()) / res.EvalSeconds
			}
		},
		Setting: func(s Settings) string {
			if s.Data == "" {
				return "default synthetic COCO"
			}
			return "dataset " + s.Data
		},
		Estimate: func(steps int64, batch int) float64 {
			return float64(steps)*0.035*float64(batch) + 8 // ≈ 0.55 s per step of 16 images, evaluation ≈ 4 s
		},
	}))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// EnsureDataset generates the default synthetic detection dataset into dir unless it is there
// (its val.json exists), saying so on status when not nil.
func EnsureDataset(dir string, status io.Writer) error {
	if _, err := os.Stat(filepath.Join(dir, "val.json")); err == nil {
		return nil
	}
	if status != nil {
		fmt.Fprintf(status, "generating the default synthetic dataset (%d images, seed %d) into %s\n", DefaultDatasetImages, DefaultDatasetSeed, dir)
	}
	return coco.Generate(dir, coco.GenerateOptions{Images: DefaultDatasetImages, Seed: DefaultDatasetSeed})
}
