package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/internal/strictjson"
)

// A sweep on Slurm (SubmitSlurm) lives in one folder that every node sees:
//
//	sweep.json                the config
//	slurm/shard.sbatch        the batch script of the job array: task i runs shard i/n
//	slurm/merge.sbatch        the batch script of the merge job
//	slurm/submit.sh           the sbatch command lines of the last submission, to read or rerun
//	slurm/slurm.json          the shard count and every submission's job IDs (SlurmState)
//	slurm/logs/shard-<i>.log  task i's output, appended across requeues and resubmissions
//	slurm/logs/merge.log      the merge job's output
//	shards/<i>/               shard i's sweep folder (Sweep with Shard i/n)
//	runs/, results.*, report.md, plots/   the merged sweep, written by the merge job
const (
	SlurmDir       = "slurm"
	ShardsDir      = "shards"
	SlurmStateFile = "slurm.json"
	ShardScript    = "shard.sbatch"
	MergeScript    = "merge.sbatch"
	SubmitScript   = "submit.sh"
)

// DefaultSlurmShards is the number of array tasks when SlurmOptions.Shards is 0 (fewer when
// the sweep has fewer runs).
const DefaultSlurmShards = 8

// SlurmSignalLead is how many seconds before a task's time limit Slurm sends it SIGTERM
// (sbatch --signal=B:TERM@120): the runs in flight write a checkpoint and the task exits, so
// that a resubmission loses nothing. Slurm may send it up to a minute earlier.
const SlurmSignalLead = 120

var (
	// ErrSlurm is wrapped by the errors of Slurm's commands (see SlurmError).
	ErrSlurm = errors.New("experiments: slurm")
	// ErrMergeBlocked is returned by WaitSlurm when the merge job can never run: a task of
	// the array it depends on failed.
	ErrMergeBlocked = errors.New("experiments: the merge job can never run")
)

// SlurmError is a Slurm command that could not run or failed: the command line and what Slurm
// said. It wraps ErrSlurm and the command's error (exec.ErrNotFound when it is not on PATH).
type SlurmError struct {
	Command []string
	Output  string // the command's standard error (or output), trimmed
	Err     error
}

func (e *SlurmError) Error() string {
	cmd := strings.Join(e.Command, " ")
	if errors.Is(e.Err, exec.ErrNotFound) {
		return fmt.Sprintf("%v: %s: %s is not on PATH (run this on a machine where Slurm's commands are installed, e.g. a login node, or load Slurm's module)", ErrSlurm, cmd, e.Command[0])
	}
	if e.Output == "" {
		return fmt.Sprintf("%v: %s: %v", ErrSlurm, cmd, e.Err)
	}
	return fmt.Sprintf("%v: %s: %v: %q", ErrSlurm, cmd, e.Err, e.Output)
}

func (e *SlurmError) Unwrap() []error { return []error{ErrSlurm, e.Err} }

// slurmCommand runs a Slurm command and returns its standard output; a failure is a
// *SlurmError quoting the command's standard error.
func slurmCommand(ctx context.Context, name string, args ...string) (string, error) {
	line := append([]string{name}, args...)
	path, err := exec.LookPath(name)
	if err != nil {
		return "", &SlurmError{Command: line, Err: exec.ErrNotFound}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return "", &SlurmError{Command: line, Output: msg, Err: err}
	}
	return stdout.String(), nil
}

// SlurmOptions configure SubmitSlurm.
type SlurmOptions struct {
	Config Config
	// Out is the sweep folder, on a filesystem that every node sees (made absolute).
	Out string
	// Shards is the number of array tasks; each runs shard i/Shards of the plan. 0:
	// DefaultSlurmShards, and never more than the runs. A resumed sweep keeps its count.
	Shards int
	// Jobs is the number of worker processes per task (Options.Jobs); 0 means 1. Each task
	// asks for Jobs × Config.Threads CPUs (--cpus-per-task).
	Jobs int
	// Executable is the smoothl1 program as the nodes reach it: an absolute path on shared
	// storage or one that exists on every node.
	Executable string
	// SbatchArgs are more sbatch options for both jobs (--partition=..., --account=...,
	// --time=...), one option per element, written as #SBATCH lines of the scripts.
	SbatchArgs []string
	// Resume submits what a sweep submitted before has not finished: the array tasks of the
	// shards with unfinished runs, then the merge. Config is then read from Out/sweep.json.
	Resume bool
	// DryRun returns the scripts and the sbatch command lines without writing or submitting
	// anything.
	DryRun bool
}

// SlurmState is slurm/slurm.json: what SubmitSlurm submitted, for status and resume.
type SlurmState struct {
	Version    int          `json:"version"` // 1
	Shards     int          `json:"shards"`
	Executable string       `json:"executable"`
	Jobs       int          `json:"jobs"`
	SbatchArgs []string     `json:"sbatch_args,omitempty"`
	Submitted  []Submission `json:"submitted"`
}

// Submission is one call of SubmitSlurm: the array job and its tasks (shard indexes), the
// merge job, and the exact command lines.
type Submission struct {
	Time     time.Time  `json:"time"`
	Array    string     `json:"array,omitempty"` // job ID of the array; "" when every shard had finished
	Tasks    []int      `json:"tasks,omitempty"`
	Merge    string     `json:"merge,omitempty"` // job ID of the merge; "" if its submission failed
	Commands [][]string `json:"commands"`
}

const slurmStateVersion = 1

// ReadSlurmState reads dir/slurm/slurm.json; os.ErrNotExist when the sweep was not submitted
// to Slurm.
func ReadSlurmState(dir string) (SlurmState, error) {
	var st SlurmState
	data, err := os.ReadFile(filepath.Join(dir, SlurmDir, SlurmStateFile))
	if err != nil {
		return st, err
	}
	if err := strictjson.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("%w: %s: %v", ErrConfig, filepath.Join(dir, SlurmDir, SlurmStateFile), err)
	}
	if st.Version != slurmStateVersion || st.Shards < 1 {
		return st, fmt.Errorf("%w: %s: version %d with %d shards: want version %d and at least one shard",
			ErrConfig, filepath.Join(dir, SlurmDir, SlurmStateFile), st.Version, st.Shards, slurmStateVersion)
	}
	return st, nil
}

func writeSlurmState(dir string, st SlurmState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, SlurmDir, SlurmStateFile), append(b, '\n'), 0o644)
}

// ShardDir is the folder of shard i in the Slurm sweep folder dir.
func ShardDir(dir string, i int) string { return filepath.Join(dir, ShardsDir, strconv.Itoa(i)) }

// SlurmSubmission is what SubmitSlurm did.
type SlurmSubmission struct {
	Out        string // the sweep folder, absolute
	Shards     int
	Submission     // the job IDs and command lines
	Finished   int // runs already finished (resume)
	Runs       int // runs of the sweep
	// Scripts are the texts of shard.sbatch, merge.sbatch and submit.sh, by file name.
	Scripts map[string]string
}

// SubmitSlurm submits the sweep to Slurm: it writes the config, the batch scripts and
// submit.sh into opt.Out, then submits one job array (task i runs `smoothl1 ablate --shard
// i/n` into shards/i, with --requeue and --signal=B:TERM@SlurmSignalLead, so that a requeued
// or preempted task resumes its runs from their checkpoints) and a merge job with
// --dependency=afterok:<array> and --kill-on-invalid-dep=yes that runs `smoothl1 ablate
// merge` into opt.Out. The job IDs are recorded in slurm/slurm.json before anything else can
// fail, and nothing already in opt.Out is removed.
//
// With opt.Resume only the shards with unfinished runs are submitted, then the merge; a merge
// job of an earlier submission that is still pending is cancelled first, and array tasks
// still pending or running, or a merge job running, are an error (two tasks of one shard must
// not run at once).
//
// Errors: ErrConfig for a bad config or options, ErrConflict for a folder that holds another
// sweep, a *SlurmError (wrapping ErrSlurm) when sbatch is missing, the controller cannot be
// reached or the submission is refused.
func SubmitSlurm(ctx context.Context, opt SlurmOptions) (SlurmSubmission, error) {
	var sub SlurmSubmission
	out, err := filepath.Abs(opt.Out)
	if err != nil {
		return sub, err
	}
	sub.Out = out
	if opt.Jobs < 0 || opt.Shards < 0 {
		return sub, fmt.Errorf("%w: %d jobs and %d shards: want ≥ 0", ErrConfig, opt.Jobs, opt.Shards)
	}
	for _, a := range opt.SbatchArgs {
		for _, owned := range []string{"--array", "-a", "--dependency", "-d", "--output", "-o", "--error", "-e", "--open-mode", "--wrap", "--parsable"} {
			if a == owned || strings.HasPrefix(a, owned+"=") || (len(owned) == 2 && strings.HasPrefix(a, owned+" ")) {
				return sub, fmt.Errorf("%w: --slurm-arg %q: %s is set by smoothl1 itself", ErrConfig, a, owned)
			}
		}
		if strings.ContainsAny(a, "\n\r") {
			return sub, fmt.Errorf("%w: --slurm-arg %q holds a line break", ErrConfig, a)
		}
	}
	st, prev := SlurmState{}, error(nil)
	st, prev = ReadSlurmState(out)
	cfg := opt.Config
	if opt.Resume {
		switch {
		case errors.Is(prev, os.ErrNotExist):
			return sub, fmt.Errorf("%w: %s holds no Slurm sweep to resume (no %s)", ErrConfig, out, filepath.Join(SlurmDir, SlurmStateFile))
		case prev != nil:
			return sub, prev
		case opt.Shards != 0 && opt.Shards != st.Shards:
			return sub, fmt.Errorf("%w: --shards %d: %s was submitted as %d shards", ErrConfig, opt.Shards, out, st.Shards)
		}
		if cfg, err = LoadConfig(filepath.Join(out, ConfigFile)); err != nil {
			return sub, err
		}
		if opt.Executable == "" {
			opt.Executable = st.Executable
		}
		if opt.Jobs == 0 {
			opt.Jobs = st.Jobs
		}
		if opt.SbatchArgs == nil {
			opt.SbatchArgs = st.SbatchArgs
		}
	} else {
		if prev == nil {
			return sub, fmt.Errorf("%w: %s already holds a Slurm sweep: resume it (--resume) or use another folder", ErrConflict, out)
		} else if !errors.Is(prev, os.ErrNotExist) {
			return sub, prev
		}
		if old, err := LoadConfig(filepath.Join(out, ConfigFile)); err == nil && !old.Equal(cfg) {
			return sub, fmt.Errorf("%w: %s holds a sweep of another config (use another folder)", ErrConflict, out)
		}
	}
	plan, err := cfg.Plan()
	if err != nil {
		return sub, err
	}
	if !filepath.IsAbs(opt.Executable) {
		return sub, fmt.Errorf("%w: the smoothl1 executable %q: want an absolute path the nodes reach", ErrConfig, opt.Executable)
	}
	shards := opt.Shards
	if opt.Resume {
		shards = st.Shards
	} else if shards == 0 {
		shards = DefaultSlurmShards
	}
	shards = min(shards, len(plan))
	jobs := max(opt.Jobs, 1)
	sub.Shards, sub.Runs = shards, len(plan)

	var tasks []int
	for i := 0; i < shards; i++ {
		done := 0
		runs := Shard{i, shards}.Select(plan)
		for _, r := range runs {
			if _, err := ReadRecord(RunDir(ShardDir(out, i), r.ID)); err == nil {
				done++
			}
		}
		sub.Finished += done
		if done < len(runs) {
			tasks = append(tasks, i)
		}
	}
	sub.Time = time.Now().UTC().Truncate(time.Second)
	arrayCmd := []string{"sbatch", "--parsable", "--array=" + arrayList(tasks), filepath.Join(out, SlurmDir, ShardScript)}
	mergeCmd := []string{"sbatch", "--parsable", "--dependency=afterok:$array", "--kill-on-invalid-dep=yes", filepath.Join(out, SlurmDir, MergeScript)}
	if len(tasks) == 0 {
		mergeCmd = []string{"sbatch", "--parsable", filepath.Join(out, SlurmDir, MergeScript)}
	} else {
		sub.Commands = append(sub.Commands, arrayCmd)
	}
	sub.Commands = append(sub.Commands, mergeCmd)
	sub.Scripts = map[string]string{
		ShardScript:  shardScript(cfg, out, opt.Executable, shards, jobs, opt.SbatchArgs),
		MergeScript:  mergeScript(cfg, out, opt.Executable, shards, opt.SbatchArgs),
		SubmitScript: submitScript(out, sub.Time, sub.Commands),
	}
	if opt.DryRun {
		return sub, nil
	}

	if opt.Resume {
		if err := settlePrevious(ctx, st); err != nil {
			return sub, err
		}
	}
	if err := os.MkdirAll(filepath.Join(out, SlurmDir, "logs"), 0o755); err != nil {
		return sub, err
	}
	if err := writeConfig(out, cfg); err != nil {
		return sub, err
	}
	for _, name := range []string{ShardScript, MergeScript, SubmitScript} {
		if err := atomicfile.WriteFile(filepath.Join(out, SlurmDir, name), []byte(sub.Scripts[name]), 0o755); err != nil {
			return sub, err
		}
	}
	st = SlurmState{Version: slurmStateVersion, Shards: shards, Executable: opt.Executable, Jobs: jobs,
		SbatchArgs: opt.SbatchArgs, Submitted: st.Submitted}
	record := func() error {
		s := st
		s.Submitted = append(append([]Submission(nil), st.Submitted...), sub.Submission)
		return writeSlurmState(out, s)
	}
	if len(tasks) > 0 {
		id, err := slurmCommand(ctx, arrayCmd[0], arrayCmd[1:]...)
		if err != nil {
			return sub, err
		}
		sub.Array, sub.Tasks = jobID(id), tasks
		if err := record(); err != nil {
			return sub, fmt.Errorf("job array %s was submitted but not recorded (cancel it with scancel %s): %w", sub.Array, sub.Array, err)
		}
		mergeCmd[2] = "--dependency=afterok:" + sub.Array
	}
	id, err := slurmCommand(ctx, mergeCmd[0], mergeCmd[1:]...)
	if err != nil {
		if sub.Array != "" {
			err = fmt.Errorf("%w (job array %s was submitted and is recorded: once it has ended, `smoothl1 ablate --slurm --resume %s` submits the merge)", err, sub.Array, out)
		}
		return sub, err
	}
	sub.Merge = jobID(id)
	if err := record(); err != nil {
		return sub, fmt.Errorf("merge job %s was submitted but not recorded: %w", sub.Merge, err)
	}
	return sub, nil
}

// settlePrevious makes way for a resubmission: array tasks of earlier submissions that are
// still pending or running, and a merge job that runs, are an error; merge jobs that are
// pending (on a dependency that failed, or that the new submission replaces) are cancelled.
func settlePrevious(ctx context.Context, st SlurmState) error {
	var ids []string
	for _, s := range st.Submitted {
		ids = append(ids, s.Array, s.Merge)
	}
	jobs, err := QueryJobs(ctx, ids...)
	if err != nil {
		return err
	}
	var active, merges []string
	for _, s := range st.Submitted {
		for _, t := range s.Tasks {
			if j, ok := jobs[fmt.Sprintf("%s_%d", s.Array, t)]; ok && j.Active() {
				active = append(active, j.ID)
			}
		}
		if j, ok := jobs[s.Merge]; ok && j.Active() {
			if j.State != "PENDING" {
				return fmt.Errorf("%w: merge job %s is %s: wait for it", ErrConflict, j.ID, strings.ToLower(j.State))
			}
			merges = append(merges, j.ID)
		}
	}
	if len(active) > 0 {
		return fmt.Errorf("%w: array tasks %s are still %s: wait for them, or cancel them (scancel) first",
			ErrConflict, strings.Join(active, ", "), strings.ToLower(jobs[active[0]].State))
	}
	if len(merges) > 0 {
		if _, err := slurmCommand(ctx, "scancel", merges...); err != nil {
			return err
		}
	}
	return nil
}

// jobID is the job ID in sbatch --parsable's output ("id" or "id;cluster").
func jobID(out string) string {
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	return id
}

// arrayList is sbatch's --array list of task indexes: "0-7" or "1,3,4".
func arrayList(tasks []int) string {
	var parts []string
	for i := 0; i < len(tasks); {
		j := i
		for j+1 < len(tasks) && tasks[j+1] == tasks[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", tasks[i], tasks[j]))
		} else {
			parts = append(parts, strconv.Itoa(tasks[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shardScript(cfg Config, out, exe string, shards, jobs int, extra []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/bash
# Task i of this job array runs shard i/%[1]d of the sweep in %[2]s into shards/i.
# Written by smoothl1 ablate --slurm; submitted with the lines of submit.sh. A task that is
# requeued, preempted or resubmitted resumes its shard: finished runs are kept, runs in flight
# continue from their last checkpoint. SIGTERM (preemption, scancel, or %[3]d s before the time
# limit) makes the runs write a checkpoint and the task exit.
#SBATCH --job-name=smoothl1-%[4]s
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=%[5]d
#SBATCH --requeue
#SBATCH --signal=B:TERM@%[3]d
#SBATCH --open-mode=append
#SBATCH --output=%[2]s/slurm/logs/shard-%%a.log
`, shards, out, SlurmSignalLead, cfg.Name, jobs*max(cfg.Threads, 1))
	for _, a := range extra {
		fmt.Fprintf(&b, "#SBATCH %s\n", a)
	}
	fmt.Fprintf(&b, `
echo "smoothl1: task ${SLURM_ARRAY_TASK_ID} (job ${SLURM_JOB_ID}, restart ${SLURM_RESTART_COUNT:-0}) on $(hostname) at $(date -u +%%FT%%TZ)"
exec %s ablate --config %s --jobs %d --shard "${SLURM_ARRAY_TASK_ID}/%d" --out %s/"${SLURM_ARRAY_TASK_ID}"
`, shellQuote(exe), shellQuote(filepath.Join(out, ConfigFile)), jobs, shards, shellQuote(filepath.Join(out, ShardsDir)))
	return b.String()
}

func mergeScript(cfg Config, out, exe string, shards int, extra []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/bash
# Merges the %[1]d shards of the sweep in %[2]s into it: runs/, results, report.md, plots/.
# Written by smoothl1 ablate --slurm; submitted after the job array (afterok).
#SBATCH --job-name=smoothl1-%[3]s-merge
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --open-mode=append
#SBATCH --output=%[2]s/slurm/logs/merge.log
`, shards, out, cfg.Name)
	for _, a := range extra {
		fmt.Fprintf(&b, "#SBATCH %s\n", a)
	}
	fmt.Fprintf(&b, "\nexec %s ablate merge --out %s", shellQuote(exe), shellQuote(out))
	for i := 0; i < shards; i++ {
		fmt.Fprintf(&b, " %s", shellQuote(ShardDir(out, i)))
	}
	b.WriteString("\n")
	return b.String()
}

func submitScript(out string, at time.Time, cmds [][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# The submission of %s by smoothl1 ablate --slurm.\n", at.Format(time.RFC3339))
	b.WriteString("# Rerunning this submits the same jobs again, unrecorded: prefer `smoothl1 ablate --slurm --resume " + shellQuote(out) + "`.\nset -e\n")
	for i, c := range cmds {
		var q []string
		for _, a := range c {
			if strings.Contains(a, "$array") {
				q = append(q, `"`+a+`"`)
			} else {
				q = append(q, shellQuote(a))
			}
		}
		if i == 0 && len(cmds) == 2 {
			fmt.Fprintf(&b, "array=$(%s)\narray=${array%%%%;*}\n", strings.Join(q, " "))
			continue
		}
		fmt.Fprintf(&b, "%s\n", strings.Join(q, " "))
	}
	return b.String()
}

// SlurmJob is a job or array task as squeue reports it.
type SlurmJob struct {
	ID     string // "123" or "123_4" for task 4 of array 123
	State  string // PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
	Reason string // why it is pending or ended ("Dependency", "DependencyNeverSatisfied", "None")
	Time   string // the time it has run, as squeue prints it
}

// Active reports whether the job is waiting or running.
func (j SlurmJob) Active() bool {
	switch j.State {
	case "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
		"RESIZING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD", "SPECIAL_EXIT":
		return true
	}
	return false
}

// NeverRuns reports whether the job waits on a dependency that can never be satisfied.
func (j SlurmJob) NeverRuns() bool {
	return j.State == "PENDING" && j.Reason == "DependencyNeverSatisfied"
}

// QueryJobs asks squeue for the jobs with these IDs (array jobs: one entry per task, by
// "array_task"), finished ones included while the controller remembers them (MinJobAge). IDs
// that Slurm no longer knows are absent from the map. Empty IDs are ignored.
func QueryJobs(ctx context.Context, ids ...string) (map[string]SlurmJob, error) {
	jobs := map[string]SlurmJob{}
	var want []string
	for _, id := range ids {
		if id != "" {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return jobs, nil
	}
	query := func(ids []string) error {
		out, err := slurmCommand(ctx, "squeue", "--noheader", "--array", "--states=all",
			"--jobs="+strings.Join(ids, ","), "--format=%i|%T|%r|%M")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Split(strings.TrimSpace(line), "|")
			if len(f) == 4 {
				jobs[f[0]] = SlurmJob{ID: f[0], State: f[1], Reason: f[2], Time: f[3]}
			}
		}
		return nil
	}
	err := query(want)
	var se *SlurmError
	if errors.As(err, &se) && strings.Contains(se.Output, "Invalid job id") {
		// One of them is forgotten, and squeue then lists none: ask one by one.
		for _, id := range want {
			if err := query([]string{id}); err != nil {
				if !errors.As(err, &se) || !strings.Contains(se.Output, "Invalid job id") {
					return jobs, err
				}
			}
		}
		return jobs, nil
	}
	return jobs, err
}
