package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smoothl1/smoothl1/experiments"
	"github.com/smoothl1/smoothl1/internal/testsupport/slurmtest"
)

// slurmSweep is the tiny sweep of the Slurm test: 2 variants × 2 seeds of the regression task,
// long enough (600 steps, a checkpoint every 10) that a task can be caught in the middle of a
// run.
const slurmSweep = `{"name":"slurmtest","seeds":2,"threads":1,"variants":["smoothl1:beta=1","sasl:betamax=0.11"],
 "tasks":[{"name":"r","task":"regress","noise":"heavy","steps":600,"batch":64,"warmup":10,"checkpoint_every":10}]}`

// buildSmoothl1 builds the command into a temporary folder: Slurm's jobs run it as a program
// of their own.
func buildSmoothl1(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the Slurm test builds smoothl1 and needs go on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "smoothl1")
	if out, err := exec.Command(goCmd, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestAblateOnSlurm runs a sweep through a real single-node Slurm (package slurmtest) and
// compares it with the same sweep run locally: results.csv, results.md and report.md must be
// the same bytes. A second submission is interrupted twice: one array task is requeued in the
// middle of a run (scontrol requeue: SIGTERM, a checkpoint, a restart that resumes it), then
// SIGKILLed in the middle of its next run (the task fails, the merge can never run, status
// names the failed run); `--slurm --resume --wait` then submits that shard alone and the
// merge, and the report is again the local one. Last, the errors: a rejected submission, an
// unreachable controller, no sbatch on PATH.
func TestAblateOnSlurm(t *testing.T) {
	start := time.Now()
	cluster := slurmtest.Start(t)
	t.Logf("cluster up in %v: %s (node %s, %d CPUs)", time.Since(start).Round(time.Millisecond), cluster.Conf, cluster.Node, cluster.CPUs)
	bin := buildSmoothl1(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sweep-config.json")
	if err := os.WriteFile(cfg, []byte(slurmSweep), 0o644); err != nil {
		t.Fatal(err)
	}
	smoothl1 := func(env []string, args ...string) (code int, stdout, stderr string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		return runProcess(t, cmd)
	}
	env := cluster.Env()

	// The reference: the same sweep, unsharded, in this process's machine.
	t0 := time.Now()
	local := filepath.Join(dir, "local")
	if code, out, errs := smoothl1(env, "ablate", "--config", cfg, "--jobs", "1", "--out", local); code != 0 {
		t.Fatalf("local sweep: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("local sweep: %v", time.Since(t0).Round(time.Millisecond))

	// 1. Submitted and waited for.
	t0 = time.Now()
	a := filepath.Join(dir, "slurm-a")
	code, out, errs := smoothl1(env, "ablate", "--config", cfg, "--slurm", "--shards", "2", "--wait", "--out", a)
	t.Logf("smoothl1 ablate --slurm --shards 2 --wait (exit %d, %v):\n%s%s", code, time.Since(t0).Round(time.Millisecond), out, errs)
	if code != 0 || !strings.Contains(out, "done: "+filepath.Join(a, "report.md")) {
		t.Fatalf("exit %d; want 0 and done\n%s", code, cluster.Logs())
	}
	sameReport(t, local, a)
	script := readFile(t, filepath.Join(a, "slurm", "shard.sbatch"))
	for _, want := range []string{"#SBATCH --cpus-per-task=1\n", "#SBATCH --requeue\n", "#SBATCH --signal=B:TERM@120\n",
		fmt.Sprintf("exec %s ablate --config %s --jobs 1 --shard \"${SLURM_ARRAY_TASK_ID}/2\"", bin, filepath.Join(a, "sweep.json"))} {
		if !strings.Contains(string(script), want) {
			t.Errorf("shard.sbatch lacks %q:\n%s", want, script)
		}
	}

	// 2. Requeued, then killed, then resumed.
	t0 = time.Now()
	b := filepath.Join(dir, "slurm-b")
	if code, out, errs := smoothl1(env, "ablate", "--config", cfg, "--slurm", "--shards", "2", "--out", b); code != 0 {
		t.Fatalf("submit: exit %d\n%s\n%s", code, out, errs)
	}
	st, err := experiments.ReadSlurmState(b)
	if err != nil || len(st.Submitted) != 1 {
		t.Fatalf("slurm.json: %v %+v", err, st)
	}
	// A resume while the tasks are queued or running would start a second task on a shard.
	if code, _, errs := smoothl1(env, "ablate", "--slurm", "--resume", b); code != 1 || !strings.Contains(errs, "are still") {
		t.Errorf("resume with tasks in flight: exit %d, want 1 and a refusal\n%s", code, errs)
	}
	task := st.Submitted[0].Array + "_1"
	shard1 := experiments.ShardDir(b, 1)
	log1 := filepath.Join(b, "slurm", "logs", "shard-1.log")
	runs := shardRuns(t, shard1)
	// A run of shard 1 has written a checkpoint and not finished: requeue its task.
	inFlight := waitInFlight(t, shard1, runs, "")
	if out, err := cluster.Command("scontrol", "requeue", task).CombinedOutput(); err != nil {
		t.Fatalf("scontrol requeue %s: %v\n%s", task, err, out)
	}
	t.Logf("%v: requeued task %s with run %s in flight", time.Since(t0).Round(time.Millisecond), task, inFlight)
	waitLog(t, log1, "DUE TO JOB REQUEUE")
	// Slurm makes a requeued job eligible two minutes after it has ended; a test need not wait
	// for that.
	waitState(t, cluster, task, "PENDING")
	if out, err := cluster.Command("scontrol", "update", "jobid="+task, "StartTime=now").CombinedOutput(); err != nil {
		t.Fatalf("scontrol update %s StartTime=now: %v\n%s", task, err, out)
	}
	waitLog(t, log1, `msg="run resumed" run=`+inFlight)
	t.Logf("%v: the requeued task resumed %s", time.Since(t0).Round(time.Millisecond), inFlight)
	// Its next run: SIGKILL the task's smoothl1 in the middle of it.
	killed := waitInFlight(t, shard1, runs, inFlight)
	pid := taskPID(t, st.Submitted[0].Array, 1)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("%v: SIGKILLed pid %d of task %s with run %s in flight", time.Since(t0).Round(time.Millisecond), pid, task, killed)
	var status string
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, status, errs = smoothl1(env, "ablate", "status", b)
		if code != 0 {
			t.Fatalf("status: exit %d\n%s", code, errs)
		}
		if strings.Contains(status, "CANCELLED (DependencyNeverSatisfied)") && !strings.Contains(status, "RUNNING") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the merge was not cancelled:\n%s", status)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("smoothl1 ablate status after the kill:\n%s", status)
	for _, want := range []string{"1 failed", "failed run: " + killed, task + "          FAILED", "smoothl1 ablate --slurm --resume " + b} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q", want)
		}
	}
	t1 := time.Now()
	code, out, errs = smoothl1(env, "ablate", "--slurm", "--resume", b, "--wait")
	t.Logf("smoothl1 ablate --slurm --resume DIR --wait (exit %d, %v):\n%s%s", code, time.Since(t1).Round(time.Millisecond), out, errs)
	if code != 0 || !strings.Contains(out, "3 finished") || !strings.Contains(out, "tasks [1]") {
		t.Fatalf("resume: exit %d; want 0, 3 runs finished before, only task 1 submitted", code)
	}
	sameReport(t, local, b)
	logText := string(readFile(t, log1))
	if n := strings.Count(logText, "msg=\"run resumed\""); n != 2 {
		t.Errorf("shard 1 resumed %d runs from checkpoints, want 2 (after the requeue and after the kill):\n%s", n, logText)
	}
	t.Logf("requeue, kill and resume: %v", time.Since(t0).Round(time.Millisecond))

	// 3. Errors: Slurm's message quoted, the command named, the folder kept.
	c := filepath.Join(dir, "slurm-c")
	// 4 runs: the default of 8 shards becomes 4.
	code, _, errs = smoothl1(env, "ablate", "--config", cfg, "--slurm", "--slurm-arg=--partition=nosuch", "--out", c)
	t.Logf("rejected submission: exit %d: %s", code, errs)
	if code != 1 || !strings.Contains(errs, "sbatch --parsable --array=0-3") || !strings.Contains(errs, "Invalid partition name specified") {
		t.Errorf("rejected submission: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(c, "slurm", "shard.sbatch")); err != nil {
		t.Errorf("rejected submission: the script to fix and resubmit is gone: %v", err)
	}
	badConf := filepath.Join(dir, "unreachable.conf")
	conf := regexp.MustCompile(`(?m)^SlurmctldPort=\d+$`).ReplaceAll(readFile(t, cluster.Conf), []byte("SlurmctldPort="+strconv.Itoa(deadPort(t))))
	if err := os.WriteFile(badConf, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	unreachable := append(append([]string(nil), env...), "SLURM_CONF="+badConf)
	t1 = time.Now()
	code, _, errs = smoothl1(unreachable, "ablate", "--config", cfg, "--slurm", "--out", filepath.Join(dir, "slurm-d"))
	t.Logf("unreachable controller (%v): exit %d: %s", time.Since(t1).Round(time.Millisecond), code, errs)
	if code != 1 || !strings.Contains(errs, "sbatch --parsable") || !strings.Contains(errs, "Unable to contact slurm controller") {
		t.Errorf("unreachable controller: exit %d\n%s", code, errs)
	}
	code, status, _ = smoothl1(unreachable, "ablate", "status", a)
	if code != 0 || !strings.Contains(status, "4 finished") || !strings.Contains(status, "Unable to contact slurm controller") {
		t.Errorf("status without a controller: exit %d\n%s", code, status)
	}
	noSlurm := append(append([]string(nil), env...), "PATH="+t.TempDir())
	code, _, errs = smoothl1(noSlurm, "ablate", "--config", cfg, "--slurm", "--out", filepath.Join(dir, "slurm-e"))
	t.Logf("no sbatch: exit %d: %s", code, errs)
	if code != 1 || !strings.Contains(errs, "sbatch is not on PATH") {
		t.Errorf("no sbatch: exit %d\n%s", code, errs)
	}
	t.Logf("TestAblateOnSlurm: %v in all", time.Since(start).Round(time.Millisecond))
}

// sameReport fails the test unless the sweep folders a and b hold the same results and report.
func sameReport(t *testing.T, a, b string) {
	t.Helper()
	for _, f := range []string{"results.csv", "results.md", "report.md"} {
		x, y := readFile(t, filepath.Join(a, f)), readFile(t, filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s", f, a, b)
		} else {
			t.Logf("%s: %d bytes, identical in %s and %s", f, len(x), filepath.Base(a), filepath.Base(b))
		}
	}
}

// shardRuns returns the run IDs of the shard folder's sweep, in plan order.
func shardRuns(t *testing.T, shardDir string) []string {
	t.Helper()
	var cfg experiments.Config
	if err := json.Unmarshal(readFile(t, filepath.Join(filepath.Dir(filepath.Dir(shardDir)), "sweep.json")), &cfg); err != nil {
		t.Fatal(err)
	}
	plan, err := cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range (experiments.Shard{Index: 1, Count: 2}).Select(plan) {
		ids = append(ids, r.ID)
	}
	return ids
}

// waitInFlight waits until a run of the shard other than skip has a checkpoint and no record.
func waitInFlight(t *testing.T, shardDir string, runs []string, skip string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, id := range runs {
			d := experiments.RunDir(shardDir, id)
			if id == skip {
				continue
			}
			_, ckpt := os.Stat(filepath.Join(d, "checkpoint.ckpt"))
			_, rec := os.Stat(filepath.Join(d, "run.json"))
			if ckpt == nil && rec != nil {
				return id
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no run of %s in flight within 60 s", shardDir)
	return ""
}

// waitState waits until squeue says the job is in state.
func waitState(t *testing.T, cluster *slurmtest.Cluster, job, state string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := cluster.Command("squeue", "--noheader", "--array", "--states=all", "--jobs="+job, "--format=%T").Output()
		if strings.TrimSpace(string(out)) == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %q, not %s, after 60 s", job, out, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog waits until the log file holds s.
func waitLog(t *testing.T, path, s string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		text, _ := os.ReadFile(path) // absent until the task starts
		if bytes.Contains(text, []byte(s)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not say %q within 60 s:\n%s", path, s, text)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// taskPID finds the smoothl1 process of task i of array job array.
func taskPID(t *testing.T, array string, i int) int {
	t.Helper()
	want := [][]byte{[]byte("\x00SLURM_ARRAY_JOB_ID=" + array + "\x00"), []byte(fmt.Sprintf("\x00SLURM_ARRAY_TASK_ID=%d\x00", i))}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		envb, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		envb = append([]byte{0}, envb...)
		if strings.TrimSpace(string(comm)) == "smoothl1" && bytes.Contains(envb, want[0]) && bytes.Contains(envb, want[1]) {
			return pid
		}
	}
	t.Fatalf("no smoothl1 process of task %s_%d", array, i)
	return 0
}

// deadPort is a TCP port nothing listens on (a moment ago).
func deadPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
