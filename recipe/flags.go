package recipe

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
)

// Flags binds a Spec and its Options to command-line flags, the ones `smoothl1 train`
// documents. Flags keep their documented meaning: --clip 0 and --weight-decay 0 are off,
// --warmup -1 is the task's default and 0 none; Spec maps them to the package's rule.
type Flags struct {
	spec              Spec
	opt               Options
	weightDecay, clip float64
	warmup            int64
}

// Register defines the flags on fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	s, o := &f.spec, &f.opt
	fs.StringVar(&s.Task, "task", Regress, "`TASK`: "+strings.Join(Kinds(), " or "))
	fs.StringVar(&s.Loss, "loss", "", "loss `SPEC` (see `smoothl1 help specs`)")
	fs.Int64Var(&s.Steps, "steps", 0, "total training steps (0: the task's default schedule)")
	fs.Uint64Var(&s.Seed, "seed", 1, "seed of the initial weights and the batches")
	fs.StringVar(&o.Dir, "out", "", "output `DIR`: metrics.jsonl, checkpoints, final.json")
	fs.StringVar(&s.Data, "data", "", "detect: dataset `DIR` (train.json, val.json, images/); default: the synthetic one, generated into --out/data")
	fs.Int64Var(&s.CheckpointEvery, "checkpoint-every", DefaultCheckpointEvery, "steps between checkpoints (one is always written at the end)")
	fs.BoolVar(&o.Resume, "resume", false, "continue the run in --out from its last checkpoint to --steps")
	fs.StringVar(&s.Noise, "noise", "", "regress: label noise, clean, light or heavy (default heavy)")
	fs.IntVar(&s.Batch, "batch", 0, "rows (regress) or images (detect) per step (0: the task's default)")
	fs.StringVar(&s.Optimizer, "optimizer", "adamw", "sgd or adamw")
	fs.Float64Var(&s.LR, "lr", 0, "base learning rate (0: the task's default)")
	fs.Float64Var(&f.weightDecay, "weight-decay", DefaultWeightDecay, "weight decay")
	fs.Float64Var(&s.Momentum, "momentum", DefaultMomentum, "SGD momentum")
	fs.Float64Var(&f.clip, "clip", DefaultClip, "clip gradients to this global norm (0: off)")
	fs.Int64Var(&f.warmup, "warmup", -1, "linear warm-up steps (-1: the task's default)")
	fs.StringVar(&s.Decay, "decay", "cosine", "learning-rate decay after warm-up: constant, step or cosine")
	fs.IntVar(&s.MaxNonFinite, "max-nonfinite", DefaultMaxNonFinite, "consecutive non-finite losses that stop the run")
	fs.Int64Var(&o.LogEvery, "log-every", 0, "steps between log lines when stderr is not a terminal (0: steps/20)")
	fs.IntVar(&o.Threads, "threads", runtime.NumCPU(), "libtorch intra-op threads")
}

// Spec returns the spec and options the parsed flags describe, or an error wrapping ErrSpec
// that names the flag.
func (f *Flags) Spec() (Spec, Options, error) {
	s, o := f.spec, f.opt
	switch {
	case o.Dir == "":
		return s, o, fmt.Errorf("%w: --out is required", ErrSpec)
	case s.Loss == "":
		return s, o, fmt.Errorf("%w: --loss is required", ErrSpec)
	case s.CheckpointEvery <= 0 || s.MaxNonFinite <= 0:
		return s, o, fmt.Errorf("%w: --checkpoint-every and --max-nonfinite must be > 0", ErrSpec)
	case f.warmup < -1 || f.weightDecay < 0 || f.clip < 0:
		return s, o, fmt.Errorf("%w: --warmup must be ≥ -1, --weight-decay and --clip ≥ 0", ErrSpec)
	}
	s.WeightDecay, s.Clip = offIsNone(f.weightDecay), offIsNone(f.clip)
	switch f.warmup {
	case -1:
		s.Warmup = 0 // the task's default
	case 0:
		s.Warmup = -1 // none
	default:
		s.Warmup = f.warmup
	}
	return s, o, s.Validate()
}

// offIsNone maps a flag's 0 ("off") to the spec's negative ("none").
func offIsNone(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
}
