package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/internal/job"
	"github.com/smoothl1/smoothl1/trainer"
)

// trainFlags are the train command's flags.
type trainFlags struct {
	job.Job
	weightDecay, clip float64
	warmup            int64
}

func (f *trainFlags) register(fs *flag.FlagSet) {
	j := &f.Job
	fs.StringVar(&j.Task, "task", "regress", "`TASK`: regress or detect")
	fs.StringVar(&j.Loss, "loss", "", "loss `SPEC` (see `smoothl1 help specs`)")
	fs.Int64Var(&j.Steps, "steps", 0, "total training steps (0: the task's default schedule)")
	fs.Uint64Var(&j.Seed, "seed", 1, "seed of the initial weights and the batches")
	fs.StringVar(&j.Dir, "out", "", "output `DIR`: metrics.jsonl, checkpoints, final.json")
	fs.StringVar(&j.Data, "data", "", "detect: dataset `DIR` (train.json, val.json, images/); default: the synthetic one, generated into --out/data")
	fs.Int64Var(&j.CheckpointEvery, "checkpoint-every", 500, "steps between checkpoints (one is always written at the end)")
	fs.BoolVar(&j.Resume, "resume", false, "continue the run in --out from its last checkpoint to --steps")
	fs.StringVar(&j.Noise, "noise", "heavy", "regress: label noise, clean, light or heavy")
	fs.IntVar(&j.Batch, "batch", 0, "rows (regress) or images (detect) per step (0: the task's default)")
	fs.StringVar(&j.Optimizer, "optimizer", "adamw", "sgd or adamw")
	fs.Float64Var(&j.LR, "lr", 0, "base learning rate (0: the task's default)")
	fs.Float64Var(&f.weightDecay, "weight-decay", 1e-4, "weight decay")
	fs.Float64Var(&j.Momentum, "momentum", 0.9, "SGD momentum")
	fs.Float64Var(&f.clip, "clip", 10, "clip gradients to this global norm (0: off)")
	fs.Int64Var(&f.warmup, "warmup", -1, "linear warm-up steps (-1: the task's default)")
	fs.StringVar(&j.Decay, "decay", "cosine", "learning-rate decay after warm-up: constant, step or cosine")
	fs.IntVar(&j.MaxNonFinite, "max-nonfinite", 10, "consecutive non-finite losses that stop the run")
	fs.Int64Var(&j.LogEvery, "log-every", 0, "steps between log lines when stderr is not a terminal (0: steps/20)")
	fs.IntVar(&j.Threads, "threads", runtime.NumCPU(), "libtorch intra-op threads")
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	var f trainFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.Dir == "" || f.Loss == "" {
		return usagef("--out and --loss are required")
	}
	if f.CheckpointEvery <= 0 || f.MaxNonFinite <= 0 || f.warmup < -1 || f.weightDecay < 0 || f.clip < 0 {
		return usagef("--checkpoint-every and --max-nonfinite must be > 0, --warmup ≥ -1, --weight-decay and --clip ≥ 0")
	}
	// The job reads 0 as "default" and a negative value as "none".
	f.WeightDecay, f.Clip, f.Warmup = orNone(f.weightDecay), orNone(f.clip), f.warmup
	if f.warmup == -1 {
		f.Warmup = 0
	} else if f.warmup == 0 {
		f.Warmup = -1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	f.Progress, f.Status = stderr, stderr
	final, err := job.Run(ctx, f.Job)
	var ce job.ConfigError
	switch {
	case errors.As(err, &ce):
		return usageError{err}
	case errors.Is(err, context.Canceled):
		return interrupted{fmt.Errorf("interrupted; the checkpoint in %s resumes the run (--resume)", f.Dir)}
	case err != nil:
		return err
	}
	data, err := json.MarshalIndent(final, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", data)
	return nil
}

// orNone maps a flag's 0 ("off") to the job's negative ("none").
func orNone(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
}

// interrupted is a run stopped by SIGINT or SIGTERM after writing its checkpoint: exit 130.
type interrupted struct{ error }

func runDataset(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dataset", stderr)
	out := fs.String("out", "", "output `DIR`: images/, train.json, val.json")
	n := fs.Int("images", job.DefaultDatasetImages, "number of images (a fifth go to val.json)")
	seed := fs.Uint64("seed", job.DefaultDatasetSeed, "seed: the same seed writes the same files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || *n < 2 {
		return usagef("--out is required and --images must be at least 2")
	}
	if err := coco.Generate(*out, coco.GenerateOptions{Images: *n, Seed: *seed}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d images, train.json and val.json to %s\n", *n, *out)
	return nil
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	data := fs.String("data", "", "dataset `DIR` (train.json, val.json, images/); val.json is evaluated")
	ckpt := fs.String("checkpoint", "", "checkpoint `FILE` of a `train --task detect` run")
	jsonOut := fs.String("json", "", "also write the metrics as JSON to `FILE`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" || *ckpt == "" {
		return usagef("--data and --checkpoint are required")
	}
	det, err := detectors.New(detectors.Config{Data: *data})
	if err != nil {
		return err
	}
	vs, _, err := trainer.LoadModel(*ckpt, det)
	if err != nil {
		return err
	}
	defer trainer.DestroyVarStore(vs)
	res, err := det.EvaluateResult()
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res.String())
	if *jsonOut != "" {
		m := map[string]float64{"ap": res.AP, "ap50": res.AP50, "ap75": res.AP75, "ap_small": res.APSmall,
			"ap_medium": res.APMedium, "ap_large": res.APLarge, "ar100": res.AR100}
		b, _ := json.MarshalIndent(m, "", "  ")
		return atomicfile.WriteFile(*jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}
