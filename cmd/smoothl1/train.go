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
	"path/filepath"
	"syscall"

	"github.com/smoothl1/smoothl1/detectors"
	"github.com/smoothl1/smoothl1/detectors/coco"
	"github.com/smoothl1/smoothl1/detectors/cocoeval"
	"github.com/smoothl1/smoothl1/distributed"
	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/recipe"
	"github.com/smoothl1/smoothl1/trainer"
)

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	var f recipe.Flags
	f.Register(fs)
	var d distFlags
	d.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	spec, opt, err := f.Spec()
	if err != nil {
		return usageError{err}
	}
	switch {
	case d.nproc < 0:
		return usagef("--nproc %d: want ≥ 1", d.nproc)
	case d.nproc > 0 && (d.worldSize != 0 || d.rank != -1 || d.master != ""):
		return usagef("--nproc starts all the ranks of a run here; --world-size, --rank and --master run one rank")
	case d.nproc > 1:
		if r, err := spec.Resolve(); err == nil && r.Batch%d.nproc != 0 {
			return usagef("--batch %d (the whole batch of a step) does not split into %d equal shards: use a multiple of --nproc", r.Batch, d.nproc)
		}
		return launch(d.nproc, childArgs(fs), stdout, stderr)
	}
	cfg, parallel, err := d.config()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	opt.Progress, opt.Status = stderr, stderr
	if parallel && cfg.WorldSize > 1 {
		fmt.Fprintf(stderr, "rank %d of %d: meeting the others at %s\n", cfg.Rank, cfg.WorldSize, cfg.Master)
		g, err := distributed.New(cfg)
		switch {
		case errors.Is(err, distributed.ErrConfig):
			return usageError{err}
		case errors.As(err, new(*distributed.RankError)):
			return otherRank{err}
		case err != nil:
			return err
		}
		defer g.Close()
		opt.Group = g
		opt.Logger = opt.Logger.With("rank", cfg.Rank)
		if cfg.Rank != 0 {
			opt.Status = nil // rank 0 says what the run does
		}
	}
	final, err := recipe.Run(ctx, spec, opt)
	switch {
	case errors.Is(err, recipe.ErrSpec):
		return usageError{err}
	case errors.Is(err, context.Canceled):
		why := "interrupted"
		if err != context.Canceled { // another rank was
			why += " (" + err.Error() + ")"
		}
		return interrupted{fmt.Errorf("%s; the checkpoint in %s resumes the run (--resume)", why, opt.Dir)}
	case errors.Is(err, trainer.ErrOtherRank) || errors.As(err, new(*distributed.RankError)):
		return otherRank{err}
	case err != nil:
		return err
	}
	if opt.Group != nil && opt.Group.Rank() != 0 {
		return nil // rank 0 prints the result
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
	dets := fs.String("dets", "", "score this COCO results `FILE` instead of a checkpoint")
	ann := fs.String("ann", "", "with --dets: the COCO instances `FILE` to score against (default DIR/val.json)")
	results := fs.String("results", "", "with --checkpoint: also write the detections as a COCO results `FILE`")
	jsonOut := fs.String("json", "", "also write the metrics as JSON to `FILE`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var res cocoeval.Result
	switch {
	case (*ckpt == "") == (*dets == ""):
		return usagef("give one of --checkpoint and --dets")
	case *ckpt != "" && *data == "":
		return usagef("--checkpoint needs --data")
	case *ckpt != "" && *ann != "":
		return usagef("--ann goes with --dets (a checkpoint is evaluated on --data's val.json)")
	case *dets != "" && *results != "":
		return usagef("--results goes with --checkpoint (--dets already is a results file)")
	case *dets != "" && *data == "" && *ann == "":
		return usagef("--dets needs --data or --ann")
	case *dets != "":
		var err error
		if res, err = evalResultsFile(*data, *ann, *dets, stderr); err != nil {
			return err
		}
	default:
		det, vs, _, err := detectors.Load(*ckpt, detectors.Config{Data: *data})
		if err != nil {
			return err
		}
		defer trainer.DestroyVarStore(vs)
		got, err := det.ValDetections()
		if err != nil {
			return err
		}
		rs := detectors.ToResults(got)
		if *results != "" {
			if err := coco.WriteResults(*results, rs); err != nil {
				return err
			}
		}
		if res, err = detectors.EvaluateResults(det.Val(), rs); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, res.String())
	if *jsonOut != "" {
		b, err := json.MarshalIndent(detectors.MetricsJSON(res), "", "  ")
		if err != nil {
			return err
		}
		return atomicfile.WriteFile(*jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

// evalResultsFile scores the COCO results file dets against ann (default data/val.json),
// reading the annotations alone: the images need not be there, as in pycocotools.
func evalResultsFile(data, ann, dets string, stderr io.Writer) (cocoeval.Result, error) {
	if ann == "" {
		ann = filepath.Join(data, "val.json")
	}
	ds, err := coco.Load(ann, filepath.Join(data, "images"), coco.LoadOptions{NoImageFiles: true})
	if err != nil {
		return cocoeval.Result{}, err
	}
	if n := ds.Skipped.Total(); n > 0 {
		fmt.Fprintf(stderr, "note: %s: %d annotations with a non-finite, empty or outside box are not scored (%+v)\n", ann, n, ds.Skipped)
	}
	rs, err := coco.ReadResults(dets)
	if err != nil {
		return cocoeval.Result{}, err
	}
	return detectors.EvaluateResults(ds, rs)
}
