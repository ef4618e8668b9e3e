package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/smoothl1/smoothl1/experiments"
)

// runAblate is `smoothl1 ablate`: the loss ablation sweep, its merge and its worker.
func runAblate(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "merge":
			return runAblateMerge(args[1:], stdout, stderr)
		case "worker":
			return runAblateWorker(args[1:], stderr)
		case "status":
			return runAblateStatus(args[1:], stdout, stderr)
		}
	}
	fs := newFlags("ablate", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: smoothl1 ablate [--quick | --full | --config FILE] [flags]
       smoothl1 ablate merge [--out DIR] DIR...
       smoothl1 ablate --slurm [--shards N] [--slurm-arg ARG ...] [--wait] --out DIR [selection flags]
       smoothl1 ablate --slurm --resume [--wait] DIR
       smoothl1 ablate status DIR

Runs the loss ablation: every loss variant on every task over several seeds, then writes
results.csv, results.md, report.md and plots/ into the sweep folder. Rerunning the same command
resumes it: finished runs are kept, interrupted ones continue from their checkpoint.
With --slurm it submits the sweep to Slurm instead: a job array of shards and a merge job
(docs/ablate.md, "On a Slurm cluster").

flags:
`)
		fs.PrintDefaults()
	}
	quick := fs.Bool("quick", false, "the quick preset (the default): minutes on two cores")
	full := fs.Bool("full", false, "the full preset: every variant on every task at the default schedules, 5 seeds")
	configPath := fs.String("config", "", "sweep config `FILE` (JSON; see docs/ablate.md) instead of a preset")
	seeds := fs.Int("seeds", 0, "seeds per cell, 1..`N` (0: the config's)")
	steps := fs.String("steps", "", "training steps: `N` for every task, or task=N,... by task name or kind")
	tasks := fs.String("tasks", "", "comma-separated task names or kinds to keep (e.g. regress-heavy,detect)")
	var variants stringList
	fs.Var(&variants, "variants", "loss `SPECS` replacing every task's variants, separated by spaces or ';' (repeatable)")
	out := fs.String("out", "", "sweep `DIR` (default: runs/<UTC timestamp>)")
	shardFlag := fs.String("shard", "", "run only shard `i/n` of the sweep (runs whose index mod n is i); merge the shards with `ablate merge`")
	jobs := fs.Int("jobs", 0, "worker processes training side by side (0: one per available CPU, divided by the config's threads)")
	dryRun := fs.Bool("dry-run", false, "print the runs and exit")
	var sf slurmFlags
	sf.define(fs)
	if err := sf.parse(fs, args, out); err != nil {
		return err
	}
	if sf.used() {
		if *shardFlag != "" {
			return usagef("--slurm shards the sweep itself (--shards N): --shard does not go with it")
		}
		sf.dryRun = *dryRun
		if sf.resume && (*quick || *full || *configPath != "" || *seeds != 0 || *steps != "" || *tasks != "" || len(variants) > 0) {
			return usagef("--resume takes the sweep's own config (DIR/sweep.json): drop the selection flags")
		}
		var cfg experiments.Config
		if !sf.resume {
			var err error
			if cfg, err = ablateConfig(*quick, *full, *configPath, *seeds, *steps, *tasks, variants); err != nil {
				return err
			}
		}
		return runAblateSlurm(sf, cfg, *out, *jobs, stdout, stderr)
	}
	cfg, err := ablateConfig(*quick, *full, *configPath, *seeds, *steps, *tasks, variants)
	if err != nil {
		return err
	}
	shard := experiments.All
	if *shardFlag != "" {
		if shard, err = experiments.ParseShard(*shardFlag); err != nil {
			return usageError{err}
		}
	}
	if *jobs < 0 {
		return usagef("--jobs %d: want ≥ 0", *jobs)
	}
	if *jobs == 0 {
		// GOMAXPROCS can follow a container's CPU quota (Go ≥ 1.25 semantics); NumCPU never does.
		*jobs = max(1, runtime.GOMAXPROCS(0)/max(cfg.Threads, 1))
	}
	plan, err := cfg.Plan()
	if err != nil {
		return usageError{err}
	}
	if *dryRun {
		for _, r := range shard.Select(plan) {
			fmt.Fprintln(stdout, r.ID)
		}
		return nil
	}
	if *out == "" {
		*out = filepath.Join("runs", time.Now().UTC().Format("20060102-150405"))
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := experiments.Sweep(ctx, experiments.Options{
		Config: cfg, Out: *out, Shard: shard, Jobs: *jobs,
		WorkerCommand: func() *exec.Cmd { return exec.Command(exe, "ablate", "worker") },
		Progress:      stderr, Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	})
	switch {
	case errors.Is(err, context.Canceled) && os.Getenv("SLURM_JOB_ID") != "":
		return interrupted{fmt.Errorf("interrupted (Slurm job %s): the runs in flight wrote a checkpoint; the task resumes them when Slurm requeues it or it is resubmitted", os.Getenv("SLURM_JOB_ID"))}
	case errors.Is(err, context.Canceled):
		return interrupted{fmt.Errorf("interrupted; rerun the same command with --out %s to resume", *out)}
	case errors.Is(err, experiments.ErrConfig):
		return usageError{err}
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "%d runs (%s) in %v\n", res.Runs, counts(res.Counts), res.Elapsed.Round(time.Second))
	if res.Report != "" {
		fmt.Fprintf(stdout, "report: %s\n", res.Report)
	} else {
		fmt.Fprintf(stdout, "shard %s done in %s; build the report with: smoothl1 ablate merge --out DIR %s ...\n", shard, *out, *out)
	}
	return nil
}

// ablateConfig is the preset or the config file, with the flags' overrides.
func ablateConfig(quick, full bool, path string, seeds int, steps, tasks string, variants []string) (experiments.Config, error) {
	var cfg experiments.Config
	var err error
	switch {
	case quick && full, path != "" && (quick || full):
		return cfg, usagef("choose one of --quick, --full and --config")
	case path != "":
		cfg, err = experiments.LoadConfig(path)
	case full:
		cfg, err = experiments.Preset("full")
	default:
		cfg, err = experiments.Preset("quick")
	}
	if err != nil {
		return cfg, usageError{err}
	}
	var o experiments.Overrides
	o.Seeds = seeds
	if seeds < 0 {
		return cfg, usagef("--seeds %d: want ≥ 1", seeds)
	}
	if steps != "" {
		if o.Steps, err = experiments.ParseSteps(steps); err != nil {
			return cfg, usageError{err}
		}
	}
	for _, t := range strings.Split(tasks, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.Tasks = append(o.Tasks, t)
		}
	}
	for _, v := range variants {
		o.Variants = append(o.Variants, strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' })...)
	}
	if cfg, err = cfg.Apply(o); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func counts(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func runAblateMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ablate merge", stderr)
	out := fs.String("out", "merged", "`DIR` for the merged sweep: run records, results, report, plots")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() == 0 {
		return usagef("merge needs the sweep folders to merge (smoothl1 ablate merge --out DIR DIR...)")
	}
	res, err := experiments.Merge(fs.Args(), *out)
	if err != nil {
		if errors.Is(err, experiments.ErrConfig) {
			return usageError{err}
		}
		return err
	}
	fmt.Fprintf(stdout, "merged %d of %d runs from %d folders\nreport: %s\n", res.Found, res.Planned, fs.NArg(), res.Report)
	if len(res.Missing) > 0 {
		fmt.Fprintf(stderr, "smoothl1 ablate merge: %d runs are missing (listed in the report), e.g. %s\n", len(res.Missing), res.Missing[0])
	}
	return nil
}

// runAblateWorker is the worker process of a sweep with --jobs > 1: requests on standard
// input, replies on file descriptor 3 (see experiments.ServeWorker).
func runAblateWorker(args []string, stderr io.Writer) error {
	if len(args) > 0 {
		return usagef("worker takes no arguments: it is started by `smoothl1 ablate`")
	}
	replies := os.NewFile(experiments.WorkerReplyFD, "replies")
	if replies == nil {
		return errors.New("worker: no reply descriptor")
	}
	defer replies.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err := experiments.ServeWorker(ctx, os.Stdin, replies, logger)
	if errors.Is(err, context.Canceled) {
		return nil // the sweep reports the interruption
	}
	return err
}
