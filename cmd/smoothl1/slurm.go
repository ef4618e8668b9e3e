package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/smoothl1/smoothl1/experiments"
)

// slurmFlags are `smoothl1 ablate`'s flags for Slurm (experiments.SubmitSlurm).
type slurmFlags struct {
	slurm, resume, wait bool
	dryRun              bool // --dry-run: print the scripts and the sbatch lines, submit nothing
	shards              int
	args                stringList
}

func (f *slurmFlags) define(fs *flag.FlagSet) {
	fs.BoolVar(&f.slurm, "slurm", false, "submit the sweep to Slurm: a job array of shards, then a merge job (--out on storage every node sees)")
	fs.IntVar(&f.shards, "shards", 0, fmt.Sprintf("with --slurm: array tasks, one shard each (0: %d, at most one per run)", experiments.DefaultSlurmShards))
	fs.Var(&f.args, "slurm-arg", "with --slurm: an sbatch option `ARG` for both jobs, e.g. --partition=cpu, --account=X, --time=4:00:00 (repeatable)")
	fs.BoolVar(&f.wait, "wait", false, "with --slurm: wait until the merge job has ended and exit with its result")
	fs.BoolVar(&f.resume, "resume", false, "with --slurm: submit what the Slurm sweep in DIR (--out DIR, or the argument) has not finished, then the merge")
}

func (f *slurmFlags) used() bool {
	return f.slurm || f.resume || f.wait || f.shards != 0 || len(f.args) > 0
}

// parse parses ablate's flags; with --resume the sweep folder may follow as an argument
// (`smoothl1 ablate --slurm --resume DIR`), with more flags after it.
func (f *slurmFlags) parse(fs *flag.FlagSet, args []string, out *string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if f.resume && fs.NArg() > 0 && *out == "" {
		*out = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return usageError{err}
		}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if f.used() && !f.slurm {
		return usagef("--shards, --slurm-arg, --wait and --resume go with --slurm")
	}
	if f.shards < 0 {
		return usagef("--shards %d: want ≥ 1 (0: %d)", f.shards, experiments.DefaultSlurmShards)
	}
	return nil
}

// runAblateSlurm submits the sweep (or resumes it), prints the jobs and how to watch them, and
// with --wait waits for the merge.
func runAblateSlurm(f slurmFlags, cfg experiments.Config, out string, jobs int, stdout, stderr io.Writer) error {
	if out == "" {
		return usagef("--slurm needs --out DIR, a folder on storage that every node sees")
	}
	if jobs < 0 {
		return usagef("--jobs %d: want ≥ 0", jobs)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sub, err := experiments.SubmitSlurm(ctx, experiments.SlurmOptions{
		Config: cfg, Out: out, Shards: f.shards, Jobs: jobs, Executable: exe,
		SbatchArgs: f.args, Resume: f.resume, DryRun: f.dryRun,
	})
	if errors.Is(err, experiments.ErrConfig) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	dir := sub.Out
	if f.dryRun {
		for _, name := range []string{experiments.ShardScript, experiments.MergeScript, experiments.SubmitScript} {
			fmt.Fprintf(stdout, "==> %s <==\n%s\n", filepath.Join(dir, experiments.SlurmDir, name), sub.Scripts[name])
		}
		fmt.Fprintf(stdout, "dry run: %d runs in %d shards (%d finished); nothing was written or submitted\n", sub.Runs, sub.Shards, sub.Finished)
		return nil
	}
	fmt.Fprintf(stdout, "sweep %s: %d runs in %d shards, %d finished\n", dir, sub.Runs, sub.Shards, sub.Finished)
	if sub.Array != "" {
		fmt.Fprintf(stdout, "job array %s: tasks %v (shard i into %s/i; logs %s/shard-<i>.log)\n",
			sub.Array, sub.Tasks, filepath.Join(dir, experiments.ShardsDir), filepath.Join(dir, experiments.SlurmDir, "logs"))
		fmt.Fprintf(stdout, "merge job %s: after the array succeeds, the report into %s\n", sub.Merge, filepath.Join(dir, "report.md"))
	} else {
		fmt.Fprintf(stdout, "merge job %s: every run had finished; the report into %s\n", sub.Merge, filepath.Join(dir, "report.md"))
	}
	fmt.Fprintf(stdout, "scripts: %s (the sbatch lines in %s)\n", filepath.Join(dir, experiments.SlurmDir, experiments.ShardScript),
		filepath.Join(dir, experiments.SlurmDir, experiments.SubmitScript))
	ids := sub.Merge
	if sub.Array != "" {
		ids = sub.Array + "," + sub.Merge
	}
	fmt.Fprintf(stdout, "watch: squeue --jobs=%s   or   smoothl1 ablate status %s\n", ids, dir)
	if !f.wait {
		return nil
	}
	st, err := experiments.WaitSlurm(ctx, dir)
	if errors.Is(err, context.Canceled) {
		return interrupted{fmt.Errorf("stopped waiting; the jobs go on (smoothl1 ablate status %s)", dir)}
	}
	st.Write(stdout)
	if err != nil {
		return err
	}
	return nil
}

// runAblateStatus is `smoothl1 ablate status DIR`.
func runAblateStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ablate status", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: smoothl1 ablate status DIR

Where the sweep in DIR stands: runs finished, running, failed and left (per shard and with the
jobs' states when it was submitted with --slurm and squeue answers), and what to do next.
`)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() != 1 {
		return usagef("status takes one sweep folder (smoothl1 ablate status DIR)")
	}
	st, err := experiments.ReadStatus(context.Background(), fs.Arg(0))
	if errors.Is(err, os.ErrNotExist) {
		return usagef("%s is not a sweep folder: %v", fs.Arg(0), err)
	}
	if err != nil {
		return err
	}
	st.Write(stdout)
	return nil
}
