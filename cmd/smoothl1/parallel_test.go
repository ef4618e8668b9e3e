package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smoothl1/smoothl1/distributed"
	"github.com/smoothl1/smoothl1/internal/testsupport/slurmtest"
	"github.com/smoothl1/smoothl1/trainer"
)

// regressArgs is `smoothl1 train` of the regression task with a global batch of 128 rows, one
// libtorch thread per process (bitwise reproducible), and extra flags.
func regressArgs(dir, loss string, steps, every int, extra ...string) []string {
	return append([]string{"train", "--task", "regress", "--loss", loss, "--steps", strconv.Itoa(steps),
		"--batch", "128", "--checkpoint-every", strconv.Itoa(every), "--threads", "1", "--seed", "4", "--out", dir}, extra...)
}

// runProcess runs cmd and returns its exit code and output; a command that cannot run fails
// the test.
func runProcess(t *testing.T, cmd *exec.Cmd) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), o.String(), e.String()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return 0, o.String(), e.String()
}

// train runs `smoothl1 args...` (this test binary) and returns its exit code and output.
func train(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runProcess(t, smoothl1Command(args...))
}

// mustTrain is train that fails the test unless the run succeeds.
func mustTrain(t *testing.T, args ...string) {
	t.Helper()
	if code, out, errs := train(t, args...); code != 0 {
		t.Fatalf("smoothl1 %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
}

// checkpointWeights returns the model variables of a checkpoint (float32 in this project's
// models) and its header's world size; the format is documented in trainer/checkpoint.go.
func checkpointWeights(t *testing.T, path string) (map[string][]float32, float64) {
	t.Helper()
	hdr, data := checkpointParts(t, path)
	out := map[string][]float32{}
	for _, e := range hdr["tensors"].([]any) {
		e := e.(map[string]any)
		name := e["name"].(string)
		if !strings.HasPrefix(name, "model.") {
			continue
		}
		if e["dtype"] != "float32" {
			t.Fatalf("%s: %s is %v", path, name, e["dtype"])
		}
		off, n := int(e["offset"].(float64)), int(e["bytes"].(float64))
		v := make([]float32, n/4)
		binary.Read(bytes.NewReader(data[off:off+n]), binary.LittleEndian, v)
		out[name] = v
	}
	world, _ := hdr["world_size"].(float64)
	return out, world
}

// withoutTimes drops the wall times of metrics lines: seconds, and comm_seconds, which it
// returns.
func withoutTimes(lines []map[string]any) (comm []float64) {
	for _, m := range lines {
		if c, ok := m["comm_seconds"].(float64); ok {
			comm = append(comm, c)
		}
		delete(m, "comm_seconds")
	}
	return comm
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// TestParallelMatchesOneProcess trains the regression task for 40 steps of a global batch of
// 128 rows in one process and as 2 ranks (`--nproc 2`, 64 rows each), with SASL (β from the
// moments of the residuals) and Dynamic SmoothL1 (β from the k smallest regression targets,
// a window of 5 steps).
//
// Every step of the 2-rank run checks that the ranks applied the same β bit for bit (the
// trainer stops the run with an error otherwise), so that a run that completes is the check.
// Against one process, the runs start from the same weights and see the same batches; they
// differ by float32 rounding only: the mean gradient of two 64-row means is not the same
// float32 sums as one 128-row mean (about one ulp, 6e-8 relative, per reduction), and the
// merged moments round differently from one pass (1e-16). AdamW carries these differences
// along, so they grow over the steps; over 40 steps the largest measured were 1.6e-7
// relative in the loss and the gradient norm, 3.4e-7 in SASL's β and 3e-8 in a weight (of
// magnitude ≤ 1), and the bounds below leave a margin of 10 to 30. Dynamic SmoothL1's
// statistic, the k smallest targets, does not depend on the weights, and the merged k
// smallest of the shards are exactly those of the batch: its β trace is asserted bit for bit.
//
// Then the world-size rule: each folder refuses a resume with the other's number of ranks.
func TestParallelMatchesOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in subprocesses for about 10 s")
	}
	const (
		lossTol   = 2e-6 // relative, loss and gradient norm
		betaTol   = 1e-5 // relative, SASL's β
		weightTol = 1e-6 // absolute, every weight
		steps     = 40
	)
	for _, loss := range []string{"sasl", "dsl:interval=5"} {
		t.Run(loss, func(t *testing.T) {
			tmp := t.TempDir()
			one, two := filepath.Join(tmp, "one"), filepath.Join(tmp, "two")
			mustTrain(t, regressArgs(one, loss, steps, 20)...)
			t0 := time.Now()
			mustTrain(t, regressArgs(two, loss, steps, 20, "--nproc", "2")...)
			t.Logf("2 ranks: %v", time.Since(t0).Round(time.Millisecond))

			m1, m2 := metricsWithoutTime(t, one), metricsWithoutTime(t, two)
			if comm := withoutTimes(m1); len(comm) != 0 {
				t.Errorf("one process recorded comm_seconds: %v", comm)
			}
			if comm := withoutTimes(m2); len(comm) != steps {
				t.Errorf("2 ranks recorded comm_seconds in %d of %d steps", len(comm), steps)
			}
			if len(m1) != steps || len(m2) != steps {
				t.Fatalf("%d and %d metrics lines, want %d", len(m1), len(m2), steps)
			}
			var worstLoss, worstNorm, worstBeta float64
			betaMoved := false
			for i := range m1 {
				a, b := m1[i], m2[i]
				if a["step"] != b["step"] || a["lr"] != b["lr"] || a["skipped_rows"] != b["skipped_rows"] {
					t.Fatalf("line %d: %v / %v", i+1, a, b)
				}
				worstLoss = max(worstLoss, relDiff(a["loss"].(float64), b["loss"].(float64)))
				worstNorm = max(worstNorm, relDiff(a["grad_norm"].(float64), b["grad_norm"].(float64)))
				ba, bb := a["beta"].([]any), b["beta"].([]any)
				for j := range ba {
					x, y := ba[j].(float64), bb[j].(float64)
					worstBeta = max(worstBeta, relDiff(x, y))
					betaMoved = betaMoved || x != ba[0] || x != m1[0]["beta"].([]any)[j]
				}
			}
			if !betaMoved {
				t.Errorf("β never moved in %d steps: the comparison of β traces shows nothing", steps)
			}
			exact := strings.HasPrefix(loss, "dsl")
			if worstLoss > lossTol || worstNorm > lossTol || !exact && worstBeta > betaTol || exact && worstBeta != 0 {
				t.Errorf("2 ranks vs one process: loss %.3g, grad norm %.3g, β %.3g relative (bounds %g, %g, %g; β exact for dsl)",
					worstLoss, worstNorm, worstBeta, lossTol, lossTol, betaTol)
			}
			w1, world1 := checkpointWeights(t, filepath.Join(one, trainer.CheckpointFile))
			w2, world2 := checkpointWeights(t, filepath.Join(two, trainer.CheckpointFile))
			if world1 != 0 || world2 != 2 {
				t.Errorf("checkpoint world sizes %v and %v, want absent and 2", world1, world2)
			}
			var worstWeight float64
			for name, a := range w1 {
				b := w2[name]
				if len(a) != len(b) {
					t.Fatalf("%s: %d and %d values", name, len(a), len(b))
				}
				for i := range a {
					worstWeight = max(worstWeight, math.Abs(float64(a[i])-float64(b[i])))
				}
			}
			if worstWeight > weightTol {
				t.Errorf("largest weight difference %.3g, bound %g", worstWeight, weightTol)
			}
			f1, f2 := finalWithoutTime(t, one), finalWithoutTime(t, two)
			l1 := relDiff(f1["test_l1"].(float64), f2["test_l1"].(float64))
			if l1 > lossTol {
				t.Errorf("held-out L1 %v and %v", f1["test_l1"], f2["test_l1"])
			}
			t.Logf("2 ranks vs one process over %d steps: largest relative difference in the loss %.3g, gradient norm %.3g, β %.3g; largest weight difference %.3g; held-out L1 %.6f vs %.6f",
				steps, worstLoss, worstNorm, worstBeta, worstWeight, f1["test_l1"], f2["test_l1"])

			if loss != "sasl" {
				return
			}
			for _, c := range []struct {
				dir  string
				args []string
				want string
			}{
				{one, []string{"--resume", "--nproc", "2"}, "written by a run of 1 process; this one has 2 ranks"},
				{two, []string{"--resume"}, "written by a run of 2 ranks; this one has 1 process"},
			} {
				code, _, errs := train(t, regressArgs(c.dir, loss, 2*steps, 20, c.args...)...)
				if code != 1 || !strings.Contains(errs, c.want) || !strings.Contains(errs, "resume with another number of ranks") {
					t.Errorf("resume %v of %s: exit %d, want 1 and %q in:\n%s", c.args, c.dir, code, c.want, errs)
				}
			}
		})
	}
}

// launched is a `smoothl1 train --nproc` started by a test: its stderr line by line, and
// the pids of its ranks.
type launched struct {
	cmd   *exec.Cmd
	lines chan string
	log   strings.Builder
	pids  []int
}

// launchTrain starts `smoothl1 args...` (with --nproc), reads the ranks' pids from the
// launcher's first line, and returns once dir holds a checkpoint.
func launchTrain(t *testing.T, dir string, args ...string) *launched {
	t.Helper()
	l := &launched{cmd: smoothl1Command(args...), lines: make(chan string, 1000)}
	stderr, err := l.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.cmd.Process.Kill(); l.cmd.Wait() })
	go func() {
		defer close(l.lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
	}()
	pidLine := regexp.MustCompile(`rank \d+ pid (\d+)`)
	for l.pids == nil {
		line, ok := <-l.lines
		if !ok {
			t.Fatalf("the launcher ended without naming its ranks:\n%s", l.log.String())
		}
		l.log.WriteString(line + "\n")
		for _, m := range pidLine.FindAllStringSubmatch(line, -1) {
			pid, _ := strconv.Atoi(m[1])
			l.pids = append(l.pids, pid)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for fileSize(filepath.Join(dir, trainer.CheckpointFile)) <= 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint within a minute:\n%s", l.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return l
}

// wait reads the rest of the output and waits for the launcher: its exit code, its last line,
// and the error rank 0 printed, with the time from since to when it did.
func (l *launched) wait(t *testing.T, since time.Time) (code int, last, rank0 string, rank0After time.Duration) {
	t.Helper()
	for line := range l.lines {
		l.log.WriteString(line + "\n")
		if s, ok := strings.CutPrefix(line, "[rank 0] smoothl1 train: "); ok {
			rank0, rank0After = s, time.Since(since)
		}
		last = line
	}
	code = -1
	if err := l.cmd.Wait(); err == nil {
		code = 0
	} else if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return code, last, rank0, rank0After
}

// sameRun fails the test unless the run in dir equals the one in ref: metrics (β trace
// included, wall times excluded), the final checkpoint bit for bit (but the metrics file's
// length, which holds wall times), and final.json.
func sameRun(t *testing.T, ref, dir string) {
	t.Helper()
	a, b := metricsWithoutTime(t, ref), metricsWithoutTime(t, dir)
	withoutTimes(a)
	withoutTimes(b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s: metrics differ from the uninterrupted run's (%d and %d lines)", dir, len(a), len(b))
	}
	ha, da := checkpointParts(t, filepath.Join(ref, trainer.CheckpointFile))
	hb, db := checkpointParts(t, filepath.Join(dir, trainer.CheckpointFile))
	if !reflect.DeepEqual(ha, hb) || !bytes.Equal(da, db) {
		t.Errorf("%s: the final checkpoint differs from the uninterrupted run's", dir)
	}
	if fa, fb := finalWithoutTime(t, ref), finalWithoutTime(t, dir); !reflect.DeepEqual(fa, fb) {
		t.Errorf("%s: final.json differs:\n%v\n%v", dir, fa, fb)
	}
}

// TestParallelKillAndResume SIGKILLs rank 1 of a `--nproc 2` run after its first checkpoint.
// Rank 0 must stop on its own, before the launcher's grace period ends (it would SIGTERM
// it), with an error naming rank 1 and its pid, and the launcher must exit 1 naming rank 1.
// `--nproc 2 --resume` then completes the run, which must equal an uninterrupted 2-rank run
// bit for bit: the metrics (β trace included), the final checkpoint (weights, optimizer
// buffers, scheduler state) and final.json. (Exact, not within a tolerance: rank 0's
// checkpoint holds the whole state, which it broadcasts to rank 1 on resume, the batches are
// a function of the step, and two ranks' all-reduce is one rounded sum and an exact halving.)
// Last, a SIGINT to the launcher: every rank stops after the same step, rank 0 writes its
// checkpoint, the launcher exits 130, and the resumed run is again the uninterrupted one.
func TestParallelKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in subprocesses for about 20 s")
	}
	tmp := t.TempDir()
	args := func(dir string, extra ...string) []string {
		return regressArgs(dir, "sasl", 600, 100, append([]string{"--nproc", "2"}, extra...)...)
	}
	ref := filepath.Join(tmp, "ref")
	mustTrain(t, args(ref)...)

	dir := filepath.Join(tmp, "killed")
	l := launchTrain(t, dir, args(dir)...)
	pid := l.pids[1]
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill rank 1 (pid %d): %v", pid, err)
	}
	killed := time.Now()
	code, last, rank0, after := l.wait(t, killed)
	exited := time.Since(killed)
	t.Logf("rank 0 printed its error %v after the kill: %s\nthe launcher exited %d, %v after the kill: %s",
		after.Round(time.Millisecond), rank0, code, exited.Round(time.Millisecond), last)
	host, _ := os.Hostname()
	if want := fmt.Sprintf("rank 1 (pid %d on %s) is gone", pid, host); !strings.Contains(rank0, want) {
		t.Errorf("rank 0's error %q does not name rank 1 as %q", rank0, want)
	}
	if code != 1 || !strings.HasPrefix(last, "smoothl1 train: rank 1 of 2 failed: signal: killed; rank 0 stopped because of it: ") {
		t.Errorf("the launcher exited %d with\n%s\nwant 1 and rank 1 named as the cause", code, last)
	}
	if exited >= failGrace {
		t.Errorf("rank 0 took %v to stop: it did not stop on its own before the launcher's grace of %v", exited, failGrace)
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", l.log.String())
	}
	mustTrain(t, args(dir, "--resume")...)
	sameRun(t, ref, dir)

	dir = filepath.Join(tmp, "interrupted")
	l = launchTrain(t, dir, args(dir)...)
	if err := l.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code, last, rank0, _ = l.wait(t, time.Now())
	hdr, _ := checkpointParts(t, filepath.Join(dir, trainer.CheckpointFile))
	step, lines := hdr["step"].(float64), len(metricsWithoutTime(t, dir))
	if code != 130 || !strings.Contains(last, "interrupted") || !strings.HasPrefix(rank0, "interrupted") || step >= 600 || int(step) != lines {
		t.Errorf("SIGINT: exit %d, last line %q, rank 0 %q, checkpoint of step %v, %d metrics lines; want 130, interrupted, "+
			"a checkpoint of the last step written (the interruption's)\n%s", code, last, rank0, step, lines, l.log.String())
	}
	t.Logf("SIGINT: every rank stopped after step %v: %s", step, last)
	mustTrain(t, args(dir, "--resume")...)
	sameRun(t, ref, dir)
}

// TestParallelOnSlurm: `srun --ntasks=2 smoothl1 train ...` on a real single-node Slurm
// (package slurmtest) forms the group from Slurm's variables (distributed.FromSlurm; the port
// set through SMOOTHL1_MASTER_PORT, as two private clusters' first jobs would derive the same
// one) and trains the run a `--nproc 2` run trains, bit for bit.
func TestParallelOnSlurm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Slurm cluster")
	}
	cluster := slurmtest.Start(t)
	bin := buildSmoothl1(t)
	tmp := t.TempDir()
	local, slurm := filepath.Join(tmp, "local"), filepath.Join(tmp, "slurm")
	mustTrain(t, regressArgs(local, "sasl", 60, 20, "--nproc", "2")...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srun := cluster.Command("srun", append([]string{"--ntasks=2", "--time=2", "--kill-on-bad-exit=1", bin}, regressArgs(slurm, "sasl", 60, 20)...)...)
	cmd := exec.CommandContext(ctx, srun.Path, srun.Args[1:]...)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(cluster.Env(), distributed.MasterPortEnv+"="+strconv.Itoa(port))
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		t.Fatalf("srun: %v\n%s%s\n%s", err, out.String(), errs.String(), cluster.Logs())
	}
	for r := range 2 {
		if want := fmt.Sprintf("rank %d of 2: meeting the others at %s:", r, cluster.Node); !strings.Contains(errs.String(), want) {
			t.Errorf("srun's output lacks %q:\n%s", want, errs.String())
		}
	}
	var final map[string]any
	if err := json.Unmarshal(out.Bytes(), &final); err != nil || final["steps"] != 60.0 {
		t.Errorf("stdout is not rank 0's final JSON alone: %v\n%s", err, out.String())
	}
	a, b := metricsWithoutTime(t, local), metricsWithoutTime(t, slurm)
	withoutTimes(a)
	if comm := withoutTimes(b); len(comm) != 60 {
		t.Errorf("%d of 60 steps with comm_seconds: not a run of 2 ranks", len(comm))
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("the srun run's metrics differ from the --nproc 2 run's")
	}
	if _, world := checkpointWeights(t, filepath.Join(slurm, trainer.CheckpointFile)); world != 2 {
		t.Errorf("checkpoint world size %v, want 2", world)
	}
	ha, da := checkpointParts(t, filepath.Join(local, trainer.CheckpointFile))
	hb, db := checkpointParts(t, filepath.Join(slurm, trainer.CheckpointFile))
	if !reflect.DeepEqual(ha, hb) || !bytes.Equal(da, db) {
		t.Errorf("the final checkpoints of srun's and --nproc's runs differ")
	}
}

// TestBenchParallelRow runs row 8 of `smoothl1 bench` once (one repetition: a 1-rank and a
// 2-rank run of the detector), with this test binary as the smoothl1 it starts: two lines,
// a speed-up and the collectives' share of the 2-rank step, positive and finite, the share
// below 1. It checks the row's form, never its speed.
func TestBenchParallelRow(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the detector in subprocesses")
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	mustTrain(t, "bench", "--rows", "8", "--reps", "1", "--quick", "--json", out)
	var lines []struct {
		Row          int
		Name         string
		Reps         int
		RatioMedian  float64 `json:"ratio_median"`
		Target       any
		Note, Status string
		Num, Den     struct{ Seconds float64 }
	}
	if err := json.Unmarshal(readFile(t, out), &lines); err != nil || len(lines) != 2 {
		t.Fatalf("%d lines, %v:\n%s", len(lines), err, readFile(t, out))
	}
	for i, l := range lines {
		if l.Row != 8 || l.Reps != 1 || l.Status != "" || l.Target != nil || !(l.RatioMedian > 0) || !(l.Num.Seconds > 0) || !(l.Den.Seconds > 0) {
			t.Errorf("line %d: %+v", i, l)
		}
	}
	if !strings.Contains(lines[0].Name, "1 rank / 2 ranks") || !strings.Contains(lines[0].Note, "ms in collectives") {
		t.Errorf("first line: %+v", lines[0])
	}
	if share := lines[1].RatioMedian; !strings.Contains(lines[1].Name, "collectives / step") || !(share < 1) {
		t.Errorf("second line: %+v", lines[1])
	}
	t.Logf("%s: %.3g; %s: %.3g\n%s", lines[0].Name, lines[0].RatioMedian, lines[1].Name, lines[1].RatioMedian, lines[0].Note)
}
