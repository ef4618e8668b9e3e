package experiments

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smoothl1/smoothl1/internal/testsupport/slurmtest"
)

func TestArrayList(t *testing.T) {
	// Expected values: sbatch's --array syntax, written out by hand.
	cases := []struct {
		tasks []int
		want  string
	}{
		{[]int{0}, "0"},
		{[]int{0, 1, 2, 3}, "0-3"},
		{[]int{1, 3, 4}, "1,3-4"},
		{[]int{0, 2, 4, 5, 6, 9}, "0,2,4-6,9"},
	}
	for _, c := range cases {
		if got := arrayList(c.tasks); got != c.want {
			t.Errorf("arrayList(%v) = %q, want %q", c.tasks, got, c.want)
		}
	}
}

// TestShellQuote checks shellQuote against the shell itself: /bin/sh prints each quoted word
// back as it was.
func TestShellQuote(t *testing.T) {
	words := []string{"plain", "/shared/runs/x.1", "with space", "it's", `"double" $HOME ${X} \back`, "tab\there", "", "*?[a]", "semi;colon&|<>"}
	for _, w := range words {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+shellQuote(w)).Output()
		if err != nil || string(out) != w {
			t.Errorf("sh read %s back as %q (%v), want %q", shellQuote(w), out, err, w)
		}
	}
}

func tinySlurmConfig(t *testing.T) Config {
	t.Helper()
	c, err := ParseConfig([]byte(`{"name":"tiny","seeds":3,"threads":2,"variants":["smoothl1:beta=1","l1"],
		"tasks":[{"name":"r","task":"regress","noise":"light","steps":5}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSlurmScripts reads the batch scripts as a person would: the #SBATCH lines sbatch obeys
// and the command lines of the tasks and the merge.
func TestSlurmScripts(t *testing.T) {
	cfg := tinySlurmConfig(t)
	shard := shardScript(cfg, "/shared/my sweep", "/opt/bin/smoothl1", 3, 2, []string{"--partition=cpu", "--time=1:00:00"})
	for _, want := range []string{
		"#SBATCH --cpus-per-task=4\n", // 2 workers × 2 threads
		"#SBATCH --requeue\n",
		"#SBATCH --signal=B:TERM@120\n",
		"#SBATCH --output=/shared/my sweep/slurm/logs/shard-%a.log\n",
		"#SBATCH --partition=cpu\n#SBATCH --time=1:00:00\n",
		`exec /opt/bin/smoothl1 ablate --config '/shared/my sweep/sweep.json' --jobs 2 --shard "${SLURM_ARRAY_TASK_ID}/3" --out '/shared/my sweep/shards'/"${SLURM_ARRAY_TASK_ID}"` + "\n",
	} {
		if !strings.Contains(shard, want) {
			t.Errorf("shard script lacks %q:\n%s", want, shard)
		}
	}
	merge := mergeScript(cfg, "/shared/s", "/opt/bin/smoothl1", 3, nil)
	if want := "exec /opt/bin/smoothl1 ablate merge --out /shared/s /shared/s/shards/0 /shared/s/shards/1 /shared/s/shards/2\n"; !strings.HasSuffix(merge, want) {
		t.Errorf("merge script does not end with %q:\n%s", want, merge)
	}
	// Every #SBATCH line comes before the first command: sbatch stops reading them there.
	for _, s := range []string{shard, merge} {
		seenCommand := false
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(line, "#SBATCH") && seenCommand {
				t.Errorf("#SBATCH line after a command: %q", line)
			}
			seenCommand = seenCommand || (line != "" && !strings.HasPrefix(line, "#"))
		}
	}
}

// TestSubmitSlurmErrors: options refused before anything is submitted, and a folder's contents
// kept.
func TestSubmitSlurmErrors(t *testing.T) {
	cfg := tinySlurmConfig(t)
	dir := t.TempDir()
	keep := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Seeds = 2
	if err := writeConfig(dir, other); err != nil {
		t.Fatal(err)
	}
	exe := "/opt/bin/smoothl1"
	cases := []struct {
		name string
		opt  SlurmOptions
		want error
		text string
	}{
		{"array in sbatch args", SlurmOptions{Config: cfg, Out: t.TempDir(), Executable: exe, SbatchArgs: []string{"--array=0-3"}}, ErrConfig, "--array is set by smoothl1"},
		{"dependency", SlurmOptions{Config: cfg, Out: t.TempDir(), Executable: exe, SbatchArgs: []string{"-d afterok:1"}}, ErrConfig, "-d is set by smoothl1"},
		{"line break", SlurmOptions{Config: cfg, Out: t.TempDir(), Executable: exe, SbatchArgs: []string{"--time=1\n#SBATCH --x"}}, ErrConfig, "line break"},
		{"relative executable", SlurmOptions{Config: cfg, Out: t.TempDir(), Executable: "smoothl1"}, ErrConfig, "absolute path"},
		{"negative shards", SlurmOptions{Config: cfg, Out: t.TempDir(), Executable: exe, Shards: -1}, ErrConfig, "shards"},
		{"resume without a submission", SlurmOptions{Out: t.TempDir(), Executable: exe, Resume: true}, ErrConfig, "no Slurm sweep to resume"},
		{"another config in the folder", SlurmOptions{Config: cfg, Out: dir, Executable: exe}, ErrConflict, "another config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := SubmitSlurm(context.Background(), c.opt)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("err = %v; want %v with %q", err, c.want, c.text)
			}
		})
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Errorf("the folder's file changed: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, SlurmDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused submission wrote %s: %v", SlurmDir, err)
	}
	// No sbatch on PATH: a SlurmError wrapping ErrSlurm and exec.ErrNotFound, the scripts kept.
	t.Setenv("PATH", t.TempDir())
	out := t.TempDir()
	_, err := SubmitSlurm(context.Background(), SlurmOptions{Config: cfg, Out: out, Executable: exe})
	var se *SlurmError
	if !errors.Is(err, ErrSlurm) || !errors.Is(err, exec.ErrNotFound) || !errors.As(err, &se) || se.Command[0] != "sbatch" {
		t.Errorf("without sbatch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, SlurmDir, ShardScript)); err != nil {
		t.Errorf("without sbatch, the script is not kept: %v", err)
	}
	if _, err := ReadSlurmState(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("without sbatch, a submission was recorded: %v", err)
	}
}

func TestReadSlurmStateErrors(t *testing.T) {
	cases := []struct{ name, json, text string }{
		{"unknown field", `{"version":1,"shards":2,"executable":"/x","jobs":1,"submitted":[],"extra":1}`, `unknown field "extra"`},
		{"future version", `{"version":2,"shards":2,"executable":"/x","jobs":1,"submitted":[]}`, "version 2"},
		{"no shards", `{"version":1,"shards":0,"executable":"/x","jobs":1,"submitted":[]}`, "0 shards"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, SlurmDir), 0o755)
			os.WriteFile(filepath.Join(dir, SlurmDir, SlurmStateFile), []byte(c.json), 0o644)
			_, err := ReadSlurmState(dir)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("err = %v; want ErrConfig with %q", err, c.text)
			}
		})
	}
}

// TestWaitSlurmMergeNeverRuns runs on a real Slurm (package slurmtest) without
// kill_invalid_depend and without --kill-on-invalid-dep, as on a cluster that keeps a merge
// whose array failed pending forever: WaitSlurm must say so at once (ErrMergeBlocked), not
// wait, and ReadStatus must name the failed run.
func TestWaitSlurmMergeNeverRuns(t *testing.T) {
	cluster := slurmtest.Start(t)
	for _, kv := range cluster.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "SLURM_CONF" || k == "PATH" {
			t.Setenv(k, v)
		}
	}
	dir := t.TempDir()
	cfg := tinySlurmConfig(t)
	if err := writeConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	plan, _ := cfg.Plan()
	// Shard 0 of 1 started a run and failed.
	started := RunDir(ShardDir(dir, 0), plan[0].ID)
	if err := os.MkdirAll(started, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	array, err := slurmCommand(ctx, "sbatch", "--parsable", "--array=0", "--output=/dev/null", "--wrap", "exit 3")
	if err != nil {
		t.Fatal(err)
	}
	merge, err := slurmCommand(ctx, "sbatch", "--parsable", "--dependency=afterok:"+jobID(array), "--output=/dev/null", "--wrap", "true")
	if err != nil {
		t.Fatal(err)
	}
	st := SlurmState{Version: 1, Shards: 1, Executable: "/bin/true", Jobs: 1,
		Submitted: []Submission{{Time: time.Now().UTC(), Array: jobID(array), Tasks: []int{0}, Merge: jobID(merge)}}}
	if err := os.MkdirAll(filepath.Join(dir, SlurmDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeSlurmState(dir, st); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	status, err := WaitSlurm(ctx, dir)
	if !errors.Is(err, ErrMergeBlocked) {
		t.Fatalf("WaitSlurm: %v; want ErrMergeBlocked", err)
	}
	t.Logf("WaitSlurm after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if status.Merge == nil || !status.Merge.NeverRuns() || status.Shards[0].Job == nil || status.Shards[0].Job.State != "FAILED" {
		t.Errorf("merge %+v, task %+v; want PENDING (DependencyNeverSatisfied) and FAILED", status.Merge, status.Shards[0].Job)
	}
	if got := status.Shards[0].Runs[RunFailed]; len(got) != 1 || got[0] != plan[0].ID {
		t.Errorf("failed runs %v, want [%s]", got, plan[0].ID)
	}
	var b strings.Builder
	status.Write(&b)
	if !strings.Contains(b.String(), "can never run") || !strings.Contains(b.String(), "--resume") {
		t.Errorf("status does not say the merge can never run and how to resume:\n%s", b.String())
	}
}
