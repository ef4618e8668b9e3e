// Package experiments runs the loss ablation: a sweep of training runs (package recipe) over
// tasks, loss variants and seeds, and the report that compares them.
//
// A sweep is described by a Config (JSON, or Preset "quick" / "full"), expanded by Plan into
// Runs in a fixed order, and executed by Sweep into a sweep folder:
//
//	sweep.json               the config
//	runs/<Run.ID>/run.json   a Record per finished run, written atomically
//	results.csv, results.md  per task and variant: Summary and Comparison with the baseline
//	report.md, plots/        the report and its figures (WriteReport)
//
// Conventions:
//
//   - Run IDs are <task name>_<variant slug>_s<seed>_n<steps>: a rerun finds its runs by name,
//     and a finished run is one whose run.json exists. Sweep and Execute resume everything else.
//   - A Shard i/n is the runs whose index in the plan is i mod n; Merge builds the report of
//     the shards' folders, equal byte for byte to the unsharded one (reports never read timings).
//   - On Slurm, SubmitSlurm writes batch scripts into the sweep folder and submits a job array
//     (task i runs shard i/n into shards/i) and a merge job that depends on it; ReadStatus and
//     WaitSlurm follow them with squeue, and a resubmission (SlurmOptions.Resume) submits only
//     the unfinished shards.
//   - Within a process all training runs on the one torch thread (package torchthread), so
//     Options.Jobs > 1 trains in worker processes (ServeWorker), each with Config.Threads
//     libtorch threads.
//   - Metrics: a task's table metrics are TableMetrics; the first is the main one (held-out L1
//     for regress, lower is better; AP for detect, higher is better).
//   - Statistics (Summarize, PairedT, Wilcoxon, ShapiroWilk, Holm, Compare): samples are per
//     seed; paired comparisons take the seeds both variants finished, in seed order; tests are
//     two-sided at Alpha = 0.05; NaN means "not computed" and never enters a test.
//
// Errors: ErrConfig for bad configs and flags, ErrConflict for runs that do not match what a
// folder holds, ErrRunsFailed when some runs of a sweep failed (the others are kept), ErrBusy
// when another sweep holds the folder, ErrSlurm (a *SlurmError) when a Slurm command is missing
// or fails, ErrMergeBlocked when a Slurm sweep's merge job can never run.
package experiments
