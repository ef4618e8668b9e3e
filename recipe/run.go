package recipe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/smoothl1/smoothl1/distributed"
	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/internal/rss"
	"github.com/smoothl1/smoothl1/tensorloss"
	"github.com/smoothl1/smoothl1/torchthread"
	"github.com/smoothl1/smoothl1/trainer"
)

// FinalFile is written in the run's folder when it completes.
const FinalFile = "final.json"

// Final is the content of final.json: task, loss, seed, steps, last_loss, seconds, peak_rss_bytes
// (the process's peak resident memory, on Linux),
// train_steps_per_second, the task's metrics (and init_ ones), resumed_from after a resume,
// beta for a scheduled loss, and the task's own keys (Kind.Final).
type Final map[string]any

// Options are how a run is carried out, beside what it is (the Spec).
type Options struct {
	Dir    string // output folder: metrics.jsonl, checkpoints, final.json (required)
	Resume bool   // continue the run in Dir from its last checkpoint
	// DataDir is where a task that reads a dataset finds its default one when Spec.Data is
	// "" (prepared there on first use); "" means Dir/data.
	DataDir string
	// Threads sets libtorch's intra-op thread count when > 0; 0 leaves it as it is.
	Threads int
	// LogEvery is the steps between log lines when Progress is not a terminal (0: steps/20).
	LogEvery int64
	Logger   *slog.Logger              // nil: slog.Default()
	Progress io.Writer                 // progress bar; nil: os.Stderr
	Status   io.Writer                 // one line per event a person should see; nil: none
	OnStep   func(trainer.StepMetrics) // called after every step; may be nil
	// Group, when it has more than one rank, makes this process one rank of a data-parallel
	// run (trainer.Config.Group): the batch is split over the ranks, rank 0 alone writes Dir
	// (final.json included) and evaluates, and a task that reads the default dataset has it
	// prepared by rank 0 first.
	Group *distributed.Group
}

// identity is what a resumed run must share with the run it continues (its JSON is kept in
// every checkpoint: the field order is part of the checkpoint format).
type identity struct {
	Task      string                  `json:"task"`
	Loss      string                  `json:"loss"`
	Seed      uint64                  `json:"seed"`
	Noise     any                     `json:"noise,omitempty"` // Kind.Identity
	Data      string                  `json:"data,omitempty"`
	Batch     int                     `json:"batch"`
	Optimizer trainer.OptimizerConfig `json:"optimizer"`
	Schedule  trainer.Schedule        `json:"schedule"`
	ClipNorm  float64                 `json:"clip_norm"`
}

// identity returns the run's identity JSON, data being the dataset folder the task reads.
func (r Resolved) identity(data string) ([]byte, error) {
	id := identity{Task: r.Task, Loss: r.Loss, Seed: r.Seed, Batch: r.Batch, ClipNorm: r.Clip,
		Optimizer: r.Optimizer, Schedule: r.Schedule}
	if r.Kind.Identity != nil {
		id.Noise = r.Kind.Identity(r)
	}
	if r.Kind.Reads.Data {
		id.Data = data
	}
	return json.Marshal(id)
}

// Run trains s into opt.Dir and writes final.json there. A cancelled ctx stops it after a
// checkpoint and returns ctx's error. Errors in s wrap ErrSpec. With opt.Group of several
// ranks it is one rank of a data-parallel run; a rank other than 0 returns its Final
// without the evaluation and writes nothing.
func Run(ctx context.Context, s Spec, opt Options) (Final, error) {
	r, err := s.Resolve()
	if err != nil {
		return nil, err
	}
	if opt.Dir == "" {
		return nil, fmt.Errorf("%w: Options.Dir: missing", ErrSpec)
	}
	k := r.Kind
	data := r.Data
	if k.Reads.Data && data == "" {
		data = opt.DataDir
		if data == "" {
			data = filepath.Join(opt.Dir, "data")
		}
		if err := prepareOnce(opt.Group, func() error { return k.Prepare(data, opt.Status) }); err != nil {
			return nil, err
		}
	}
	task, err := k.New(r, data)
	if err != nil {
		return nil, err
	}
	loss, err := tensorloss.FromSpec(r.Loss, 4, k.Reduction)
	if err != nil {
		return nil, err
	}
	if opt.Threads > 0 {
		if err := torchthread.SetNumThreads(opt.Threads); err != nil {
			return nil, err
		}
	}
	idJSON, err := r.identity(data)
	if err != nil {
		return nil, err
	}
	res, err := trainer.Run(ctx, trainer.Config{
		Dir: opt.Dir, Steps: r.Steps, Seed: r.Seed, Optimizer: r.Optimizer, Schedule: r.Schedule,
		ClipNorm: r.Clip, CheckpointEvery: r.CheckpointEvery, MaxNonFinite: r.MaxNonFinite,
		LogEvery: opt.LogEvery, Resume: opt.Resume, EvalInitial: k.EvalInitial, Identity: idJSON,
		Logger: opt.Logger, Progress: opt.Progress, OnStep: opt.OnStep, Group: opt.Group,
	}, task, loss)
	if err != nil {
		return nil, err
	}
	trained := float64(res.Steps - res.ResumedFrom)
	final := Final{"task": r.Task, "loss": r.Loss, "steps": res.Steps, "seed": r.Seed,
		"last_loss": res.LastLoss, "seconds": res.Seconds, "train_steps_per_second": trained / res.Seconds}
	if k.Final != nil {
		k.Final(task, r, res, final)
	}
	for key, v := range res.Eval {
		final[key] = v
	}
	for key, v := range res.InitialEval {
		final["init_"+key] = v
	}
	if res.ResumedFrom > 0 {
		final["resumed_from"] = res.ResumedFrom
	}
	if b, ok := loss.(interface{ LastBeta() []float64 }); ok {
		final["beta"] = b.LastBeta()
	}
	if peak, err := rss.Peak(); err == nil { // Linux only
		final["peak_rss_bytes"] = peak
	}
	if g := opt.Group; g != nil && g.Rank() != 0 {
		return final, nil
	}
	out, err := json.MarshalIndent(final, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(opt.Dir, FinalFile), append(out, '\n'), 0o644); err != nil {
		return nil, err
	}
	return final, nil
}

// prepareOnce runs prepare (a default dataset's generation) on rank 0 first, then, after a
// barrier, on the other ranks, where it finds the dataset done when the folder is shared and
// makes its own copy, the same bytes, where it is not; alone, it just runs it.
func prepareOnce(g *distributed.Group, prepare func() error) error {
	if g == nil || g.WorldSize() == 1 {
		return prepare()
	}
	if g.Rank() == 0 {
		if err := prepare(); err != nil {
			return err
		}
	}
	if err := g.Barrier(); err != nil {
		return fmt.Errorf("recipe: waiting for rank 0 to prepare the dataset: %w", err)
	}
	if g.Rank() == 0 {
		return nil
	}
	return prepare()
}
