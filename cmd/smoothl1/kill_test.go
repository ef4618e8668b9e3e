package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/internal/testsupport/runcheck"
	"github.com/smoothl1/smoothl1/trainer"
)

// The test binary doubles as the smoothl1 command for the tests that need a process to kill.
const asMainEnv = "SMOOTHL1_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// smoothl1Command returns the command `smoothl1 args...` run by this test binary.
func smoothl1Command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	return cmd
}

// killTrainArgs is the run the kill test interrupts: a scheduled loss (its state is in the
// checkpoint), a checkpoint every 3 steps (many writes to land in), one thread (bitwise
// reproducible).
func killTrainArgs(dir string) []string {
	return []string{"train", "--task", "regress", "--loss", "sasl", "--steps", "400", "--batch", "128",
		"--checkpoint-every", "3", "--threads", "1", "--seed", "4", "--out", dir}
}

// temps returns the names of the checkpoint temporary files in dir.
func temps(dir string) map[string]bool {
	m := map[string]bool{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if atomicfile.IsTemp(e.Name()) && strings.HasPrefix(e.Name(), "."+trainer.CheckpointFile) {
			m[e.Name()] = true
		}
	}
	return m
}

// newTemp reports whether a checkpoint write is in progress in dir (or was, when its writer
// died): a temporary file not among stale.
func newTemp(dir string, stale map[string]bool) bool {
	for n := range temps(dir) {
		if !stale[n] {
			return true
		}
	}
	return false
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// TestKillAndResume runs `smoothl1 train` as a subprocess, SIGKILLs it again and again (at
// random moments of training, and while a checkpoint is being written), resumes it each time, and
// compares the result with an uninterrupted run: the same final checkpoint byte for byte
// (weights, optimizer buffers, scheduler state), the same metrics (β trace included) and the
// same final metrics.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in subprocesses for about 20 s")
	}
	tmp := t.TempDir()
	ref := filepath.Join(tmp, "ref")
	start := time.Now()
	if out, err := smoothl1Command(killTrainArgs(ref)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	refWall := time.Since(start)
	// Random kills fire within a twentieth of the uninterrupted run's training time (start-up
	// excluded): seven of them cannot add up to a finished run even if each is the longest.
	var refFinal struct{ Seconds float64 }
	if err := json.Unmarshal(readFile(t, filepath.Join(ref, "final.json")), &refFinal); err != nil || refFinal.Seconds <= 0 {
		t.Fatalf("final.json of the uninterrupted run: %v (training seconds %v)", err, refFinal.Seconds)
	}
	window := time.Duration(refFinal.Seconds * float64(time.Second) / 20)

	dir := filepath.Join(tmp, "killed")
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var kills, midWrite, sessions int
	var log strings.Builder
	for done := false; !done; {
		sessions++
		if sessions > 60 {
			t.Fatalf("no end after %d sessions:\n%s", sessions, log.String())
		}
		args := killTrainArgs(dir)
		if _, err := os.Stat(dir); err == nil {
			args = append(args, "--resume")
		}
		cmd := smoothl1Command(args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		staleTemps := temps(dir) // a previous session's, until this one's resume removes them
		startSize := fileSize(filepath.Join(dir, trainer.MetricsFile))
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Odd sessions die while a checkpoint is being written; even ones at a random moment
		// once training has resumed (metrics.jsonl grew past its size at the start), within the
		// window above. From the 15th session on,
		// sessions die during a checkpoint write until 7 kills have (a kill that lands just
		// after the rename does not count), then the run is left to finish.
		var killAt <-chan time.Time
		watch := (sessions < 15 && sessions%2 == 1) || (sessions >= 15 && midWrite < 7)
		random := sessions < 15 && sessions%2 == 0
		var err error
	wait:
		for {
			select {
			case err = <-exited:
				done = true
				break wait
			case <-killAt:
				cmd.Process.Signal(syscall.SIGKILL)
				err = <-exited
				break wait
			default:
				if watch && newTemp(dir, staleTemps) {
					cmd.Process.Signal(syscall.SIGKILL)
					err = <-exited
					break wait
				}
				if random && killAt == nil && fileSize(filepath.Join(dir, trainer.MetricsFile)) > startSize {
					killAt = time.After(time.Duration(r.Int64N(int64(window))))
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
		if done {
			if err != nil {
				t.Fatalf("session %d: %v\n%s", sessions, err, stderr.String())
			}
			fmt.Fprintf(&log, "session %d finished\n", sessions)
			break
		}
		kills++
		during := newTemp(dir, staleTemps)
		if during {
			midWrite++
		}
		fmt.Fprintf(&log, "session %d: killed, checkpoint write in progress: %v\n", sessions, during)
		runcheck.Check(t, dir, true)
	}
	runcheck.Check(t, dir, false)
	if kills < 14 || midWrite < 7 {
		t.Fatalf("%d kills, %d during a checkpoint write; want at least 14 and 7:\n%s", kills, midWrite, log.String())
	}
	t.Logf("%d kills (%d during a checkpoint write), %d sessions; uninterrupted run %v\n%s", kills, midWrite, sessions, refWall.Round(time.Millisecond), log.String())

	ha, da := checkpointParts(t, filepath.Join(ref, trainer.CheckpointFile))
	hb, db := checkpointParts(t, filepath.Join(dir, trainer.CheckpointFile))
	if !reflect.DeepEqual(ha, hb) {
		t.Errorf("the final checkpoints' headers differ:\n%v\n%v", ha, hb)
	}
	if !bytes.Equal(da, db) {
		t.Error("the final checkpoints' tensors differ")
	}
	if a, b := metricsWithoutTime(t, ref), metricsWithoutTime(t, dir); !reflect.DeepEqual(a, b) {
		t.Errorf("metrics differ: %d lines vs %d", len(a), len(b))
	}
	fa, fb := finalWithoutTime(t, ref), finalWithoutTime(t, dir)
	if !reflect.DeepEqual(fa, fb) {
		t.Errorf("final.json differs:\n%v\n%v", fa, fb)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// metricsWithoutTime returns metrics.jsonl's lines without the wall-time field.
func metricsWithoutTime(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, filepath.Join(dir, trainer.MetricsFile))))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "seconds")
		out = append(out, m)
	}
	return out
}

// checkpointParts returns a checkpoint's header (without metrics_bytes, the length of a
// metrics file whose lines hold wall times) and its tensor data, after verifying it. The format
// is documented in trainer/checkpoint.go.
func checkpointParts(t *testing.T, path string) (map[string]any, []byte) {
	t.Helper()
	if err := trainer.VerifyCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	b := readFile(t, path)
	hlen := binary.LittleEndian.Uint64(b[12:20])
	var hdr map[string]any
	if err := json.Unmarshal(b[20:20+hlen], &hdr); err != nil {
		t.Fatal(err)
	}
	delete(hdr, "metrics_bytes")
	return hdr, b[20+hlen : len(b)-sha256.Size]
}

// finalWithoutTime returns final.json without the timings, the process's peak memory and the
// resume step.
func finalWithoutTime(t *testing.T, dir string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "final.json")), &m); err != nil {
		t.Fatal(err)
	}
	for k := range m {
		// (A resumed run does not evaluate the untrained model: init_*.)
		if strings.Contains(k, "second") || k == "resumed_from" || k == "peak_rss_bytes" || strings.HasPrefix(k, "init_") {
			delete(m, k)
		}
	}
	return m
}

// TestKillAblate SIGKILLs `smoothl1 ablate` (two worker processes) three times mid-sweep,
// reruns it each time, and checks that finished runs are kept byte for byte, no JSON file is
// ever truncated or corrupt, and the final report equals an uninterrupted sweep's.
func TestKillAblate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sweeps in subprocesses for about 30 s")
	}
	cfg, err := filepath.Abs("../../experiments/testdata/resume.json")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	clean, killed := filepath.Join(tmp, "clean"), filepath.Join(tmp, "killed")
	if out, err := smoothl1Command("ablate", "--config", cfg, "--jobs", "2", "--out", clean).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted sweep: %v\n%s", err, out)
	}
	kept := map[string][]byte{} // run.json of runs finished before a kill
	for kill := 1; kill <= 3; kill++ {
		cmd := smoothl1Command("ablate", "--config", cfg, "--jobs", "2", "--out", killed)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Kill once one more run has finished than at the start, and another has a checkpoint.
		start := len(finishedRuns(killed))
		deadline := time.After(2 * time.Minute)
	wait:
		for {
			select {
			case err := <-exited:
				t.Fatalf("kill %d: the sweep ended (%v) before the kill", kill, err)
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("kill %d: the sweep made no progress in 2 minutes", kill)
			default:
				if len(finishedRuns(killed)) > start && len(checkpointedRuns(killed)) > 0 {
					cmd.Process.Signal(syscall.SIGKILL)
					<-exited
					break wait
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		runcheck.Check(t, killed, true)
		for id, b := range finishedRuns(killed) {
			if old, ok := kept[id]; ok && !bytes.Equal(old, b) {
				t.Errorf("kill %d: finished run %s was rewritten", kill, id)
			}
			kept[id] = b
		}
	}
	if out, err := smoothl1Command("ablate", "--config", cfg, "--jobs", "2", "--out", killed).CombinedOutput(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	runcheck.Check(t, killed, false)
	for id, b := range finishedRuns(killed) {
		if old, ok := kept[id]; ok && !bytes.Equal(old, b) {
			t.Errorf("finished run %s was rewritten by the rerun", id)
		}
	}
	for _, f := range []string{"report.md", "results.csv", "results.md"} {
		if a, b := readFile(t, filepath.Join(clean, f)), readFile(t, filepath.Join(killed, f)); !bytes.Equal(a, b) {
			t.Errorf("%s differs from the uninterrupted sweep's", f)
		}
	}
}

// finishedRuns returns the run.json content of every finished run of a sweep folder.
func finishedRuns(out string) map[string][]byte {
	m := map[string][]byte{}
	dirs, _ := filepath.Glob(filepath.Join(out, "runs", "*"))
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "run.json")); err == nil {
			m[filepath.Base(d)] = b
		}
	}
	return m
}

// checkpointedRuns lists the unfinished runs that have a checkpoint.
func checkpointedRuns(out string) []string {
	var ids []string
	dirs, _ := filepath.Glob(filepath.Join(out, "runs", "*"))
	for _, d := range dirs {
		_, errRun := os.Stat(filepath.Join(d, "run.json"))
		_, errCkpt := os.Stat(filepath.Join(d, trainer.CheckpointFile))
		if errRun != nil && errCkpt == nil {
			ids = append(ids, filepath.Base(d))
		}
	}
	return ids
}
