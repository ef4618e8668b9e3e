package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/recipe"
	"github.com/smoothl1/smoothl1/trainer"
)

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	var f recipe.Flags
	f.Register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	spec, opt, err := f.Spec()
	if err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	opt.Progress, opt.Status = stderr, stderr
	final, err := recipe.Run(ctx, spec, opt)
	switch {
	case errors.Is(err, recipe.ErrSpec):
		return usageError{err}
	case errors.Is(err, context.Canceled):
		return interrupted{fmt.Errorf("interrupted; the checkpoint in %s resumes the run (--resume)", opt.Dir)}
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

// interrupted is a run stopped by SIGINT or SIGTERM after writing its checkpoint: exit 130.
type interrupted struct{ error }

func runDataset(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dataset", stderr)
	out := fs.String("out", "", "output `DIR`: images/, train.json, val.json")
	n := fs.Int("images", recipe.DefaultDatasetImages, "number of images (a fifth go to val.json)")
	seed := fs.Uint64("seed", recipe.DefaultDatasetSeed, "seed: the same seed writes the same files")
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
