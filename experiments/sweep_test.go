package experiments

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/smoothl1/smoothl1/internal/testsupport/runcheck"
)

// The test binary doubles as the subprocesses the sweep tests need: a pool worker, and a
// sweep to kill.
const roleEnv = "SMOOTHL1_EXPERIMENTS_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "worker":
		err := ServeWorker(context.Background(), os.Stdin, os.NewFile(WorkerReplyFD, "replies"), quietLogger())
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	case "sweep":
		cfg, err := LoadConfig(os.Getenv(roleEnv + "_CONFIG"))
		if err == nil {
			_, err = Sweep(context.Background(), Options{Config: cfg, Out: os.Getenv(roleEnv + "_OUT"),
				Progress: io.Discard, Logger: quietLogger()})
		}
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func selfCommand(role string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), roleEnv+"="+role), env...)
	return cmd
}

func sweep(t *testing.T, cfg Config, out string, shard Shard, jobs int) Result {
	t.Helper()
	res, err := Sweep(context.Background(), Options{Config: cfg, Out: out, Shard: shard, Jobs: jobs,
		WorkerCommand: func() *exec.Cmd { return selfCommand("worker") },
		Progress:      io.Discard, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("sweep %s (shard %v, %d jobs): %v", out, shard, jobs, err)
	}
	return res
}

// reportFiles are the files that must be equal, byte for byte, between two sweeps of the
// same runs.
func reportFiles(t *testing.T, cfg Config) []string {
	files := []string{ReportFile, ResultsCSVFile, ResultsMDFile, ConfigFile, filepath.Join(PlotsDir, LossCurvesImage)}
	for _, task := range cfg.Tasks {
		files = append(files, filepath.Join(PlotsDir, metricsImage(task.Name)), filepath.Join(PlotsDir, lossImage(task.Name)))
	}
	return files
}

func sameFiles(t *testing.T, a, b string, files []string) {
	t.Helper()
	for _, f := range files {
		x, err := os.ReadFile(filepath.Join(a, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s", f, a, b)
		}
	}
}

// TestShardsMergeToTheUnshardedReport runs a tiny grid whole (in two worker processes) and as
// two shards (in this process), merges the shards, and compares the reports byte for byte.
func TestShardsMergeToTheUnshardedReport(t *testing.T) {
	cfg, err := LoadConfig("testdata/tiny.json")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	whole := filepath.Join(tmp, "whole")
	res := sweep(t, cfg, whole, All, 2)
	if res.Report == "" || res.Counts["trained"] != 4 {
		t.Fatalf("whole sweep: %+v", res)
	}
	var shards []string
	for i := 0; i < 2; i++ {
		dir := filepath.Join(tmp, "shard-"+string(rune('0'+i)))
		res := sweep(t, cfg, dir, Shard{i, 2}, 1)
		if res.Report != "" || res.Runs != 2 {
			t.Fatalf("shard %d: %+v (a shard writes no report)", i, res)
		}
		shards = append(shards, dir)
	}
	merged := filepath.Join(tmp, "merged")
	mres, err := Merge(shards, merged)
	if err != nil {
		t.Fatal(err)
	}
	if mres.Found != 4 || len(mres.Missing) != 0 {
		t.Fatalf("merge: %+v", mres)
	}
	sameFiles(t, whole, merged, append(reportFiles(t, cfg), filepath.Join(PlotsDir, betaImage("regress-heavy"))))

	t.Run("one shard alone lists the missing runs", func(t *testing.T) {
		m, err := Merge(shards[:1], filepath.Join(tmp, "half"))
		if err != nil || len(m.Missing) != 2 {
			t.Fatalf("%+v, %v", m, err)
		}
		rep, _ := os.ReadFile(m.Report)
		if !bytes.Contains(rep, []byte("Missing runs (2)")) {
			t.Error("the report does not list the missing runs")
		}
	})
	t.Run("conflicting duplicates are refused", func(t *testing.T) {
		bad := filepath.Join(tmp, "bad")
		plan, _ := cfg.Plan()
		rec, err := ReadRecord(RunDir(whole, plan[0].ID))
		if err != nil {
			t.Fatal(err)
		}
		rec.Metrics["test_l1"] += 1e-9
		os.MkdirAll(RunDir(bad, rec.ID), 0o755)
		if err := WriteRecord(RunDir(bad, rec.ID), rec); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bad, ConfigFile), cfg.JSON(), 0o644)
		if _, err := Merge([]string{whole, bad}, filepath.Join(tmp, "m2")); !errors.Is(err, ErrConflict) {
			t.Errorf("merge of conflicting records: %v", err)
		}
		// The same record twice (timings aside) is fine.
		rec.Metrics["test_l1"] -= 1e-9
		orig, _ := ReadRecord(RunDir(whole, plan[0].ID))
		rec.Metrics = orig.Metrics
		rec.Timings.WallSeconds += 100
		WriteRecord(RunDir(bad, rec.ID), rec)
		if _, err := Merge([]string{whole, bad}, filepath.Join(tmp, "m3")); err != nil {
			t.Errorf("merge of equal records: %v", err)
		}
	})
	t.Run("different configs are refused", func(t *testing.T) {
		other := cfg
		other.Seeds = 3
		dir := filepath.Join(tmp, "other")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, ConfigFile), other.JSON(), 0o644)
		if _, err := Merge([]string{whole, dir}, filepath.Join(tmp, "m4")); !errors.Is(err, ErrConflict) {
			t.Errorf("merge of different sweeps: %v", err)
		}
	})
	t.Run("a rerun keeps everything", func(t *testing.T) {
		res := sweep(t, cfg, whole, All, 1)
		if res.Counts["kept"] != 4 || len(res.Counts) != 1 {
			t.Errorf("rerun: %+v", res.Counts)
		}
	})
	t.Run("a run of another configuration in the folder is refused", func(t *testing.T) {
		changed := cfg.clone()
		changed.Tasks[0].Batch = 16 // same IDs, other runs
		if _, err := Sweep(context.Background(), Options{Config: changed, Out: whole, Progress: io.Discard, Logger: quietLogger()}); !errors.Is(err, ErrConflict) {
			t.Errorf("got %v, want ErrConflict", err)
		}
	})
}

// TestResumeAfterKill kills a sweep process while it trains, reruns it, and checks that the
// finished runs were kept untouched, the interrupted one resumed from its checkpoint, and the
// report equals that of a sweep that was never interrupted.
func TestResumeAfterKill(t *testing.T) {
	const configPath = "testdata/resume.json"
	cfg, err := LoadConfig(configPath)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := cfg.Plan()
	tmp := t.TempDir()
	out := filepath.Join(tmp, "killed")
	abs, _ := filepath.Abs(configPath)
	cmd := selfCommand("sweep", roleEnv+"_CONFIG="+abs, roleEnv+"_OUT="+out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once two runs are finished and the third has a checkpoint.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the sweep did not get far enough in 60 s: %s", stderr.String())
		}
		finished, partial := folderState(out, plan)
		if len(finished) >= 2 && len(partial) >= 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	runcheck.Check(t, out, true)
	// A temporary file as a kill during a report write leaves it: the rerun removes it.
	stale := filepath.Join(out, "."+ReportFile+".tmp-77")
	if err := os.WriteFile(stale, []byte("# half a rep"), 0o644); err != nil {
		t.Fatal(err)
	}
	finished, partial := folderState(out, plan)
	if len(finished) == len(plan) {
		t.Fatal("the sweep finished before the kill")
	}
	before := map[string]snapshot{}
	for _, id := range finished {
		before[id] = snap(t, filepath.Join(RunDir(out, id), RecordFile))
	}

	res := sweep(t, cfg, out, All, 1)
	if res.Counts["kept"] != len(finished) || res.Counts["resumed"] != len(partial) ||
		res.Counts["trained"] != len(plan)-len(finished)-len(partial) {
		t.Errorf("after the kill: %d finished, %d with a checkpoint; the rerun did %v", len(finished), len(partial), res.Counts)
	}
	for id, s := range before {
		if now := snap(t, filepath.Join(RunDir(out, id), RecordFile)); !now.equal(s) {
			t.Errorf("%s was rewritten by the rerun", id)
		}
	}
	for _, id := range partial {
		rec, err := ReadRecord(RunDir(out, id))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Timings.ResumedFrom == 0 || rec.Timings.Sessions != 2 {
			t.Errorf("%s: resumed from %d in %d sessions; want a resume", id, rec.Timings.ResumedFrom, rec.Timings.Sessions)
		}
	}

	runcheck.Check(t, out, false)
	clean := filepath.Join(tmp, "clean")
	sweep(t, cfg, clean, All, 1)
	sameFiles(t, out, clean, append(reportFiles(t, cfg), filepath.Join(PlotsDir, betaImage("regress-light"))))

	t.Run("a stop between final.json and run.json loses nothing", func(t *testing.T) {
		id := plan[0].ID
		want, _ := ReadRecord(RunDir(clean, id))
		os.Remove(filepath.Join(RunDir(clean, id), RecordFile))
		rec, outcome, err := Execute(context.Background(), clean, plan[0], nil)
		if err != nil || outcome != Recorded || !bytes.Equal(rec.result(), want.result()) {
			t.Errorf("outcome %v, err %v, same result %v", outcome, err, bytes.Equal(rec.result(), want.result()))
		}
	})
}

// folderState lists the runs with a run.json, and those with a checkpoint but no run.json.
func folderState(out string, plan []Run) (finished, partial []string) {
	for _, r := range plan {
		dir := RunDir(out, r.ID)
		if _, err := os.Stat(filepath.Join(dir, RecordFile)); err == nil {
			finished = append(finished, r.ID)
		} else if hasCheckpoint(dir) {
			partial = append(partial, r.ID)
		}
	}
	return finished, partial
}

type snapshot struct {
	data  []byte
	mtime time.Time
}

func snap(t *testing.T, path string) snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	return snapshot{data, st.ModTime()}
}

func (s snapshot) equal(o snapshot) bool {
	return bytes.Equal(s.data, o.data) && s.mtime.Equal(o.mtime)
}
