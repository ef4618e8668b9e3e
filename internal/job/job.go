// Package job runs one training job, the unit that `smoothl1 train` runs from flags and the
// ablation runs from a sweep: a task, a loss spec, a seed and a schedule in, a folder with
// metrics.jsonl, checkpoints and final.json out.
package job

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/regress"
	"github.com/smoothl1/smoothl1/spec"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
	"github.com/smoothl1/smoothl1/torchthread"
	"github.com/smoothl1/smoothl1/trainer"
)

// FinalFile is written in the job's folder when it completes.
const FinalFile = "final.json"

// Tasks and their defaults: the regression task trains in half a minute, the detector in
// minutes.
var Defaults = map[string]struct {
	Steps, Warmup int64
	Batch         int
	LR            float64
}{
	"regress": {Steps: 2000, Warmup: 100, Batch: 256, LR: 2e-3},
	"detect":  {Steps: detectors.DefaultSteps, Warmup: 300, Batch: detectors.DefaultBatch, LR: 2e-3},
}

// The default synthetic detection dataset.
const (
	DefaultDatasetImages = 1000
	DefaultDatasetSeed   = 1
)

// Job is one training run. Zero fields take the task's defaults (see Defaults).
type Job struct {
	Task  string `json:"task"` // "regress" or "detect"
	Loss  string `json:"loss"` // loss spec
	Seed  uint64 `json:"seed"`
	Steps int64  `json:"steps"`
	Dir   string `json:"-"` // output folder
	// Regress: label noise "clean", "light" or "heavy" ("" means heavy).
	Noise string `json:"noise,omitempty"`
	// Detect: dataset folder; "" means the default synthetic dataset in Dir/data (generated
	// on first use).
	Data            string  `json:"data,omitempty"`
	Batch           int     `json:"batch,omitempty"`
	Optimizer       string  `json:"optimizer,omitempty"` // "sgd" or "adamw" ("" means adamw)
	LR              float64 `json:"lr,omitempty"`
	WeightDecay     float64 `json:"weight_decay,omitempty"` // "0" means 1e-4; negative means none
	Momentum        float64 `json:"momentum,omitempty"`     // SGD; 0 means 0.9
	Clip            float64 `json:"clip,omitempty"`         // 0 means 10; negative means none
	Warmup          int64   `json:"warmup,omitempty"`       // 0 means the task's; negative means none
	Decay           string  `json:"decay,omitempty"`        // "" means cosine
	CheckpointEvery int64   `json:"-"`                      // 0 means 500
	MaxNonFinite    int     `json:"-"`                      // 0 means 10
	LogEvery        int64   `json:"-"`
	Resume          bool    `json:"-"`
	// Threads sets libtorch's intra-op thread count when > 0 (its default on this machine kind
	// is 1, which leaves the second core idle); 0 leaves it as the caller set it.
	Threads  int `json:"-"`
	Logger   *slog.Logger
	Progress io.Writer // progress bar target; nil: stderr
	// Status, when set, receives one line per event that a person should see (dataset
	// generation).
	Status io.Writer `json:"-"`
	// OnStep is passed to trainer.Config.OnStep.
	OnStep func(trainer.StepMetrics) `json:"-"`
}

// Final is the content of final.json.
type Final map[string]any

// identity is what a resumed run must share with the run it continues.
type identity struct {
	Task      string                  `json:"task"`
	Loss      string                  `json:"loss"`
	Seed      uint64                  `json:"seed"`
	Noise     *regress.Noise          `json:"noise,omitempty"`
	Data      string                  `json:"data,omitempty"`
	Batch     int                     `json:"batch"`
	Optimizer trainer.OptimizerConfig `json:"optimizer"`
	Schedule  trainer.Schedule        `json:"schedule"`
	ClipNorm  float64                 `json:"clip_norm"`
}

// ConfigError is a bad job configuration (a usage error for a command).
type ConfigError struct{ Err error }

func (e ConfigError) Error() string { return e.Err.Error() }
func (e ConfigError) Unwrap() error { return e.Err }

func configErr(err error) error { return ConfigError{err} }

// NewLoss builds the tensor loss a spec names, for d columns, with reduction r.
func NewLoss(text string, d int, r static.Reduction) (tensorloss.Loss, error) {
	s, err := spec.Parse(text)
	if err != nil {
		return nil, configErr(err)
	}
	if !s.Scheduled() {
		return tensorloss.NewStaticLoss(s.Static, r)
	}
	sch, err := s.NewScheduler(d)
	if err != nil {
		return nil, err
	}
	return tensorloss.NewDynamicLoss(sch, r)
}

// resolve fills the defaults.
func (j *Job) resolve() error {
	def, ok := Defaults[j.Task]
	if !ok {
		return configErr(fmt.Errorf("task %q: accepted: regress, detect", j.Task))
	}
	if j.Dir == "" || j.Loss == "" {
		return configErr(fmt.Errorf("a job needs an output folder and a loss spec"))
	}
	if j.Steps < 0 || j.Batch < 0 || j.LR < 0 || j.CheckpointEvery < 0 || j.MaxNonFinite < 0 || j.LogEvery < 0 {
		return configErr(fmt.Errorf("steps, batch, lr, checkpoint-every, max-nonfinite and log-every must not be negative"))
	}
	if j.Steps == 0 {
		j.Steps = def.Steps
	}
	if j.Batch == 0 {
		j.Batch = def.Batch
	}
	if j.LR == 0 {
		j.LR = def.LR
	}
	switch {
	case j.Warmup == 0:
		j.Warmup = def.Warmup
	case j.Warmup < 0:
		j.Warmup = 0
	}
	switch {
	case j.WeightDecay == 0:
		j.WeightDecay = 1e-4
	case j.WeightDecay < 0:
		j.WeightDecay = 0
	}
	switch {
	case j.Clip == 0:
		j.Clip = 10
	case j.Clip < 0:
		j.Clip = 0
	}
	if j.Momentum == 0 {
		j.Momentum = 0.9
	}
	if j.Optimizer == "" {
		j.Optimizer = "adamw"
	}
	if j.Decay == "" {
		j.Decay = "cosine"
	}
	if j.Noise == "" {
		j.Noise = "heavy"
	}
	if j.CheckpointEvery == 0 {
		j.CheckpointEvery = 500
	}
	if j.Logger == nil {
		j.Logger = slog.Default()
	}
	if j.Progress == nil {
		j.Progress = os.Stderr
	}
	return nil
}

// Run runs the job and writes final.json into its folder. A cancelled ctx stops it after a
// checkpoint and returns ctx's error. Errors in the job's configuration are ConfigErrors.
func Run(ctx context.Context, j Job) (Final, error) {
	if err := j.resolve(); err != nil {
		return nil, err
	}
	opt, err := trainer.ParseOptimizer(j.Optimizer)
	if err != nil {
		return nil, configErr(err)
	}
	decay, err := trainer.ParseDecay(j.Decay)
	if err != nil {
		return nil, configErr(err)
	}
	id := identity{Task: j.Task, Loss: j.Loss, Seed: j.Seed, Batch: j.Batch, ClipNorm: j.Clip,
		Optimizer: trainer.OptimizerConfig{Kind: opt, WeightDecay: j.WeightDecay},
		Schedule:  trainer.Schedule{Base: j.LR, Warmup: j.Warmup, Decay: decay}}
	if opt == trainer.SGD {
		id.Optimizer.Momentum = j.Momentum
	}
	var (
		task      trainer.Task
		reduction = static.Mean
	)
	switch j.Task {
	case "regress":
		noise, err := regress.ParseNoise(j.Noise)
		if err != nil {
			return nil, configErr(err)
		}
		id.Noise = &noise
		if task, err = regress.New(j.Seed, noise, j.Batch); err != nil {
			return nil, configErr(err)
		}
	case "detect":
		// Box losses are summed over the positive anchors and divided by their number.
		reduction = static.Sum
		if j.Data == "" {
			j.Data = filepath.Join(j.Dir, "data")
			if err := EnsureDataset(j.Data, j.Status); err != nil {
				return nil, err
			}
		}
		id.Data = j.Data
		if task, err = detectors.New(detectors.Config{Data: j.Data, BatchSize: j.Batch, Seed: j.Seed, Flip: true}); err != nil {
			return nil, err
		}
	}
	loss, err := NewLoss(j.Loss, 4, reduction)
	if err != nil {
		return nil, err
	}
	if j.Threads > 0 {
		if err := torchthread.SetNumThreads(j.Threads); err != nil {
			return nil, err
		}
	}
	idJSON, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	res, err := trainer.Run(ctx, trainer.Config{
		Dir: j.Dir, Steps: j.Steps, Seed: j.Seed, Optimizer: id.Optimizer, Schedule: id.Schedule,
		ClipNorm: j.Clip, CheckpointEvery: j.CheckpointEvery, MaxNonFinite: j.MaxNonFinite,
		LogEvery: j.LogEvery, Resume: j.Resume, EvalInitial: j.Task == "regress", Identity: idJSON,
		Logger: j.Logger, Progress: j.Progress, OnStep: j.OnStep,
	}, task, loss)
	if err != nil {
		return nil, err
	}
	trained := float64(res.Steps - res.ResumedFrom)
	final := Final{"task": j.Task, "loss": j.Loss, "steps": res.Steps, "seed": j.Seed,
		"last_loss": res.LastLoss, "seconds": res.Seconds, "train_steps_per_second": trained / res.Seconds}
	if j.Task == "detect" {
		final["train_images_per_second"] = float64(j.Batch) * trained / res.Seconds
		final["eval_seconds"] = res.EvalSeconds
		final["eval_images_per_second"] = float64(task.(*detectors.Detector).ValImages()) / res.EvalSeconds
	}
	for k, v := range res.Eval {
		final[k] = v
	}
	for k, v := range res.InitialEval {
		final["init_"+k] = v
	}
	if res.ResumedFrom > 0 {
		final["resumed_from"] = res.ResumedFrom
	}
	if b, ok := loss.(interface{ LastBeta() []float64 }); ok {
		final["beta"] = b.LastBeta()
	}
	data, err := json.MarshalIndent(final, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(j.Dir, FinalFile), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	return final, nil
}

// EnsureDataset generates the default synthetic dataset into dir unless it is there.
func EnsureDataset(dir string, status io.Writer) error {
	if _, err := os.Stat(filepath.Join(dir, "val.json")); err == nil {
		return nil
	}
	if status != nil {
		fmt.Fprintf(status, "generating the default synthetic dataset (%d images, seed %d) into %s\n", DefaultDatasetImages, DefaultDatasetSeed, dir)
	}
	return coco.Generate(dir, coco.GenerateOptions{Images: DefaultDatasetImages, Seed: DefaultDatasetSeed})
}
