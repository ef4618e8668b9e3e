package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RunState is where a run of a sweep stands, as ReadStatus sees it.
type RunState int

const (
	RunLeft     RunState = iota // not finished and not running: it runs when its shard runs (again)
	RunRunning                  // started, unfinished, and its shard's task is running
	RunFailed                   // started, unfinished, and its shard's task has ended without success
	RunFinished                 // its run.json exists (diverged runs included: a result)
)

func (s RunState) String() string {
	return [...]string{"left", "running", "failed", "finished"}[s]
}

// ShardStatus is one shard of a sweep: its runs by state and, for a Slurm sweep, the array
// task that ran it last.
type ShardStatus struct {
	Shard Shard
	Dir   string                // the shard's sweep folder
	Runs  map[RunState][]string // run IDs by state, in plan order
	Job   *SlurmJob             // nil when not on Slurm, never submitted or forgotten by Slurm
	JobID string                // the last array task of this shard ("123_4"), "" if none
	Log   string                // the task's log file, "" when not on Slurm
}

// Count returns the number of the shard's runs in state s.
func (s ShardStatus) Count(st RunState) int { return len(s.Runs[st]) }

// Status is the state of a sweep folder, local or on Slurm.
type Status struct {
	Dir     string
	Planned int
	Shards  []ShardStatus // one for a local sweep (Shard All, Dir itself)
	Slurm   bool          // the folder was submitted with SubmitSlurm
	// Merge is the last merge job, MergeID its ID; Merge is nil when Slurm does not know it.
	Merge   *SlurmJob
	MergeID string
	// SlurmErr says why the jobs' states are unknown (squeue missing or unreachable), nil
	// when they were read.
	SlurmErr error
	Report   bool     // report.md exists and is newer than the last submission
	Next     []string // what to do next, one line each
}

// Total returns the number of runs in state s over all shards.
func (st Status) Total(s RunState) int {
	n := 0
	for _, sh := range st.Shards {
		n += sh.Count(s)
	}
	return n
}

// ReadStatus reads where the sweep in dir stands: the runs finished, running, failed and left
// per shard, and for a sweep submitted to Slurm the jobs' states from squeue when it answers
// (Status.SlurmErr says why not otherwise), and what to do next.
func ReadStatus(ctx context.Context, dir string) (Status, error) {
	st := Status{Dir: dir}
	cfg, err := LoadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return st, err
	}
	plan, err := cfg.Plan()
	if err != nil {
		return st, err
	}
	st.Planned = len(plan)
	ss, err := ReadSlurmState(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		sh := ShardStatus{Shard: All, Dir: dir, Runs: map[RunState][]string{}}
		for _, r := range plan {
			s := runState(RunDir(dir, r.ID), nil)
			sh.Runs[s] = append(sh.Runs[s], r.ID)
		}
		st.Shards = []ShardStatus{sh}
		if _, err := os.Stat(filepath.Join(dir, ReportFile)); err == nil && sh.Count(RunFinished) == len(plan) {
			st.Report = true
			st.Next = []string{"done: " + filepath.Join(dir, ReportFile)}
		} else {
			st.Next = []string{"to continue the sweep, rerun the command that started it with --out " + dir +
				" (or: smoothl1 ablate --config " + filepath.Join(dir, ConfigFile) + " --out " + dir + ")"}
		}
		return st, nil
	case err != nil:
		return st, err
	}
	st.Slurm = true
	var ids []string
	last := map[int]string{}
	var lastTime time.Time
	for _, s := range ss.Submitted {
		ids = append(ids, s.Array, s.Merge)
		for _, t := range s.Tasks {
			last[t] = fmt.Sprintf("%s_%d", s.Array, t)
		}
		if s.Merge != "" {
			st.MergeID = s.Merge
		}
		lastTime = s.Time
	}
	jobs, err := QueryJobs(ctx, ids...)
	if err != nil {
		st.SlurmErr = err
	}
	if j, ok := jobs[st.MergeID]; ok {
		st.Merge = &j
	}
	for i := 0; i < ss.Shards; i++ {
		sh := ShardStatus{Shard: Shard{i, ss.Shards}, Dir: ShardDir(dir, i), Runs: map[RunState][]string{},
			JobID: last[i], Log: filepath.Join(dir, SlurmDir, "logs", fmt.Sprintf("shard-%d.log", i))}
		if j, ok := jobs[sh.JobID]; ok {
			sh.Job = &j
		}
		for _, r := range sh.Shard.Select(plan) {
			s := runState(RunDir(sh.Dir, r.ID), sh.Job)
			sh.Runs[s] = append(sh.Runs[s], r.ID)
		}
		st.Shards = append(st.Shards, sh)
	}
	if fi, err := os.Stat(filepath.Join(dir, ReportFile)); err == nil && !fi.ModTime().Before(lastTime) {
		st.Report = true
	}
	st.Next = st.next()
	return st, nil
}

// runState is the state of the run in folder dir, whose shard's task is job (nil: unknown or
// not on Slurm).
func runState(dir string, job *SlurmJob) RunState {
	if _, err := ReadRecord(dir); err == nil {
		return RunFinished
	}
	if _, err := os.Stat(dir); err != nil {
		return RunLeft
	}
	switch {
	case job == nil:
		return RunLeft
	case job.State == "RUNNING" || job.State == "COMPLETING":
		return RunRunning
	case !job.Active():
		return RunFailed
	}
	return RunLeft
}

func (st Status) next() []string {
	resume := "smoothl1 ablate --slurm --resume " + st.Dir
	var failed, active []string
	for _, sh := range st.Shards {
		if sh.Job == nil {
			continue
		}
		if sh.Job.Active() {
			active = append(active, sh.Job.ID)
		} else if sh.Job.State != "COMPLETED" {
			failed = append(failed, fmt.Sprintf("shard %d (task %s %s; log %s)", sh.Shard.Index, sh.Job.ID, sh.Job.State, sh.Log))
		}
	}
	unfinished := st.Planned - st.Total(RunFinished)
	var next []string
	switch {
	case st.Report && unfinished == 0:
		return []string{"done: " + filepath.Join(st.Dir, ReportFile)}
	case len(failed) > 0:
		next = append(next, "failed: "+strings.Join(failed, "; "))
		if st.Merge != nil && st.Merge.NeverRuns() {
			next = append(next, fmt.Sprintf("merge job %s can never run (its dependency failed): the resume cancels it", st.Merge.ID))
		}
		if len(active) > 0 {
			next = append(next, "when the tasks still running have ended ("+strings.Join(active, ", ")+"), read the logs, fix the cause, then: "+resume)
		} else {
			next = append(next, "read the logs, fix the cause, then: "+resume+" (submits the unfinished shards, then the merge)")
		}
	case len(active) > 0 || (st.Merge != nil && st.Merge.Active()):
		ids := []string{}
		if len(active) > 0 {
			ids = append(ids, strings.SplitN(active[0], "_", 2)[0])
		}
		if st.Merge != nil {
			ids = append(ids, st.Merge.ID)
		}
		next = append(next, fmt.Sprintf("running: watch with `squeue --jobs=%s` or `smoothl1 ablate status %s`", strings.Join(ids, ","), st.Dir))
	case st.SlurmErr != nil:
		next = append(next, "the jobs' states are unknown ("+st.SlurmErr.Error()+")")
		if unfinished > 0 {
			next = append(next, "if no task of the sweep is queued or running any more: "+resume)
		} else {
			next = append(next, "every run has finished: "+resume+" (submits the merge), or without Slurm: smoothl1 ablate merge --out "+st.Dir+" "+filepath.Join(st.Dir, ShardsDir, "*"))
		}
	case st.Merge != nil && st.Merge.State != "COMPLETED":
		next = append(next, fmt.Sprintf("merge job %s ended %s (log %s): %s", st.Merge.ID, st.Merge.State,
			filepath.Join(st.Dir, SlurmDir, "logs", "merge.log"), resume))
	default:
		next = append(next, "nothing is queued or running: "+resume)
	}
	return next
}

// Write prints the status as a table and the next steps.
func (st Status) Write(w io.Writer) {
	fmt.Fprintf(w, "%s: %d runs: %d finished, %d running, %d failed, %d left\n", st.Dir, st.Planned,
		st.Total(RunFinished), st.Total(RunRunning), st.Total(RunFailed), st.Total(RunLeft))
	if st.Slurm {
		fmt.Fprintf(w, "\n%-6s %8s %7s %6s %4s  %-12s %-10s %s\n", "shard", "finished", "running", "failed", "left", "task", "state", "reason")
		for _, sh := range st.Shards {
			id, state, reason := sh.JobID, "-", "-"
			if id == "" {
				id = "-"
			}
			if sh.Job != nil {
				state, reason = sh.Job.State, sh.Job.Reason
			} else if sh.JobID != "" && st.SlurmErr == nil {
				state = "(forgotten)"
			}
			fmt.Fprintf(w, "%-6s %8d %7d %6d %4d  %-12s %-10s %s\n", sh.Shard.String(), sh.Count(RunFinished),
				sh.Count(RunRunning), sh.Count(RunFailed), sh.Count(RunLeft), id, state, reason)
		}
		switch {
		case st.Merge != nil:
			fmt.Fprintf(w, "merge  job %s %s (%s)\n", st.Merge.ID, st.Merge.State, st.Merge.Reason)
		case st.MergeID != "" && st.SlurmErr == nil:
			fmt.Fprintf(w, "merge  job %s (forgotten by Slurm)\n", st.MergeID)
		}
	}
	if st.SlurmErr != nil {
		fmt.Fprintf(w, "the jobs' states are unknown: %v\n", st.SlurmErr)
	}
	for _, sh := range st.Shards {
		for _, id := range sh.Runs[RunFailed] {
			fmt.Fprintf(w, "failed run: %s (%s)\n", id, RunDir(sh.Dir, id))
		}
	}
	fmt.Fprintln(w)
	for _, n := range st.Next {
		fmt.Fprintln(w, n)
	}
}

// WaitSlurm polls squeue until the merge job of the Slurm sweep in dir has ended and returns
// nil when it completed. Polls start at a second and grow to 5 s (sbatch --wait's own polling
// grows to about 10 s); squeue failing five times in a row is an error. A merge that can never run (a task it depends on failed, and
// the controller kept it pending or cancelled it) returns ErrMergeBlocked with the status; a
// merge that failed returns ErrSlurm naming its log. ctx cancels the wait, not the jobs.
func WaitSlurm(ctx context.Context, dir string) (Status, error) {
	interval := time.Second
	for unreachable := 0; ; {
		st, err := ReadStatus(ctx, dir)
		if err != nil {
			return st, err
		}
		if st.SlurmErr != nil {
			if unreachable++; unreachable == 5 {
				return st, st.SlurmErr
			}
		} else {
			unreachable = 0
		}
		if !st.Slurm || st.MergeID == "" {
			return st, fmt.Errorf("%w: %s has no merge job to wait for", ErrConfig, dir)
		}
		failed := false
		for _, sh := range st.Shards {
			failed = failed || (sh.Job != nil && !sh.Job.Active() && sh.Job.State != "COMPLETED")
		}
		log := filepath.Join(dir, SlurmDir, "logs", "merge.log")
		switch m := st.Merge; {
		case m != nil && m.State == "COMPLETED":
			return st, nil
		case m != nil && (m.NeverRuns() || (failed && !m.Active())):
			return st, fmt.Errorf("%w: merge job %s is %s (%s): a shard failed", ErrMergeBlocked, m.ID, m.State, m.Reason)
		case m != nil && !m.Active():
			return st, fmt.Errorf("%w: merge job %s ended %s (%s); its log: %s", ErrSlurm, m.ID, m.State, m.Reason, log)
		case m == nil && st.SlurmErr == nil:
			// Forgotten after MinJobAge: the report says whether it ran.
			if st.Report {
				return st, nil
			}
			return st, fmt.Errorf("%w: Slurm no longer knows merge job %s and there is no new report; its log: %s", ErrSlurm, st.MergeID, log)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(interval):
		}
		interval = min(interval*3/2, 5*time.Second)
	}
}
